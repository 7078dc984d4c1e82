// `fuzz --threads N --fail-nth PERCENT` (src/gen/fail-nth-threads.ts): that share of the generated
// concurrent cases gets a racing fork with failNth while maps readers read - valid corpus files, the
// armed fork the only racing fork, replayable from (seed, index).
import { describe, expect, it } from 'vitest';
import { withRaceFailNth } from '../src/gen/fail-nth-threads.js';
import { generateConcurrent } from '../src/gen/threads.js';
import { armedFork } from '../src/linearize/fail-fork.js';
import { parseSequence, sequenceToJson } from '../src/seq/io.js';
import { racingCalls } from '../src/seq/threads.js';

const N = 600;
const gen = (i: number, percent = 30, seed = 5) => withRaceFailNth(generateConcurrent(seed, i), seed, i, percent, 20);

describe('generated concurrent cases with a failing racing fork', () => {
  const cases = Array.from({ length: N }, (_, i) => gen(i));
  const armed = cases.filter((s) => armedFork(s));

  it('gives about the asked share of the cases the shape: one armed racing fork, its only one, with readers', () => {
    expect(armed.length / N).toBeGreaterThan(0.2);
    expect(armed.length / N).toBeLessThan(0.32); // cases with several racing forks are left alone
    for (const s of armed) {
      expect(racingCalls(s).filter((r) => r.call.op === 'fork')).toHaveLength(1);
      expect(armedFork(s)!.call.failNth).toBeGreaterThanOrEqual(1);
      expect(armedFork(s)!.call.failNth).toBeLessThanOrEqual(20);
      expect(s.readers).toBeGreaterThanOrEqual(1);
    }
    // k spans its range
    expect(new Set(armed.map((s) => armedFork(s)!.call.failNth)).size).toBeGreaterThan(10);
  });

  it('makes valid corpus files, the same case from (seed, index), and leaves the rest as generated', () => {
    for (const [i, s] of cases.entries()) expect(() => parseSequence(JSON.parse(sequenceToJson(s)), `case ${i}`)).not.toThrow();
    expect(sequenceToJson(gen(17))).toBe(sequenceToJson(cases[17]!));
    const plain = cases.filter((s) => !armedFork(s));
    expect(plain.every((s) => sequenceToJson(s) === sequenceToJson(generateConcurrent(5, cases.indexOf(s))))).toBe(true);
    expect(Array.from({ length: 50 }, (_, i) => gen(i, 0)).some((s) => armedFork(s))).toBe(false);
  });
});
