// Hostile corpus files through the built CLI (scripts/hostile.mjs; `node scripts/hostile.mjs
// --count 4000` is the full run): no crash, hang, runaway memory, or call outside the language.
import { describe, expect, it } from 'vitest';
// @ts-expect-error plain JavaScript module without types
import { runHostile } from '../scripts/hostile.mjs';

describe('hostile input', () => {
  it('200 hostile files: 0 crashes, 0 hangs, 0 runs over 1 GB, 0 calls outside the language', async () => {
    const f = await runHostile({ count: 200, seed: 11, batch: 50 });
    expect(f.examples).toEqual([]);
    expect({ crashes: f.crashes, hangs: f.hangs, over1GB: f.over1GB, escapes: f.escapes }).toEqual({ crashes: 0, hangs: 0, over1GB: 0, escapes: 0 });
    // both sides were exercised: files refused with a message, files run on the kernel
    expect(f.refused).toBeGreaterThan(50);
    expect(f.replayed).toBeGreaterThan(10);
  }, 600_000);
});
