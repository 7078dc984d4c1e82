// A racing fork with injected allocation failures while two readers read the parent's maps and
// smaps, on a kernel with fault injection: a kernel built by `vmafuzz kernels build 7.3 --with
// kasan,fault-injection` (skipped when the cache has none, as test/fail-nth-qemu.test.ts: building
// one takes the better part of an hour) boots under the QEMU runner. Swept over k: every failure
// that surfaces is ENOMEM or EAGAIN with the parent unchanged, no child, and every read that
// overlapped the fork exactly the parent's maps before it; the oracle (src/linearize/fail-fork.ts)
// finds nothing; the sweep ends when k passes the allocation checks fork makes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failSweepRace } from '../src/cli/commands/fail-sweep-threads.js';
import { builtKernels } from '../src/kernels/build.js';
import { resolveKernel } from '../src/kernels/index.js';
import { makeProfile, type Profile } from '../src/model/index.js';
import { QemuRunner } from '../src/runner/qemu.js';
import { loadSequenceFile } from '../src/seq/io.js';

const built = builtKernels().filter((b) => b.instruments.includes('fault-injection')).at(-1);

describe.skipIf(!built)('a failing racing fork with maps readers in a guest', () => {
  let runner: QemuRunner;
  let profile: Profile;
  let facts: Record<string, string>;
  const tmp = mkdtempSync(join(tmpdir(), 'vmafuzz-fntq-'));
  beforeAll(async () => {
    const image = await resolveKernel({ kernel: built!.name });
    runner = new QemuRunner({ image, logDir: join(tmp, 'logs') });
    const t = await runner.start();
    facts = t.facts;
    profile = makeProfile(t.release, t.facts);
  }, 300_000);
  afterAll(async () => {
    await runner?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('sweeps k: each surfaced failure leaves the parent and every concurrent read as before the fork', async () => {
    expect(facts.fail_nth).toBe('1');
    const seq = loadSequenceFile('corpus/races/fork-fail-nth-readers.json');
    const steps = await failSweepRace(runner, profile, seq, 3, { maxK: 400 });
    const last = steps.at(-1)!;
    expect(last.injected).toBe('not-fired'); // k passed the checks fork makes
    expect(last.errno).toBe(0);
    expect(last.child).toBe(true);
    const failed = steps.filter((s) => s.injected === 'fired' && s.errno !== 0);
    expect(failed.length).toBeGreaterThan(10);
    for (const s of failed) {
      expect([12, 11], `k=${s.k}`).toContain(s.errno);
      expect(s.unchanged, `k=${s.k}`).toBe(true);
      expect(s.child, `k=${s.k}`).toBe(false);
      expect(s.readsSame, `k=${s.k}`).toBe(s.reads);
    }
    // the readers did read while forks failed (a run's reads fall inside its fork's interval or not)
    expect(failed.reduce((n, s) => n + s.reads, 0)).toBeGreaterThan(0);
    expect(steps.filter((s) => s.verdict === 'diverge')).toEqual([]);
    expect(runner.takeCrashes().map((c) => c.title)).toEqual([]);
  }, 600_000);
});
