// Fault injection on a real kernel: a kernel built by `vmafuzz kernels build 7.3 --with
// kasan,fault-injection` (skipped when the cache has none: building one takes the better part of an
// hour) boots under the QEMU runner, says fail_nth=1, and a fork swept over k fails with ENOMEM
// leaving the parent unchanged and no child, until k passes the allocations fork makes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failSweep } from '../src/cli/commands/fail-sweep.js';
import { builtKernels } from '../src/kernels/build.js';
import { resolveKernel } from '../src/kernels/index.js';
import { makeProfile, type Profile } from '../src/model/index.js';
import { QemuRunner } from '../src/runner/qemu.js';
import { parseSequence } from '../src/seq/io.js';

const built = builtKernels().filter((b) => b.instruments.includes('fault-injection')).at(-1);

describe.skipIf(!built)('fail-nth in a guest', () => {
  let runner: QemuRunner;
  let profile: Profile;
  let facts: Record<string, string>;
  const tmp = mkdtempSync(join(tmpdir(), 'vmafuzz-fnq-'));
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

  it('sweeps a fork: ENOMEM or EAGAIN with the parent unchanged and no child, then success', async () => {
    expect(facts.fail_nth).toBe('1');
    const seq = parseSequence(
      {
        vmafuzz: 1,
        arenaPages: 64,
        calls: [
          { op: 'mmap', addr: 'A+0p', len: '8p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_POPULATE' },
          { op: 'mmap', addr: 'A+16p', len: '4p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED' },
          { op: 'fork' },
          { op: 'munmap', addr: 'A+0p', len: '1p' },
        ],
      },
      'test',
    );
    const steps = await failSweep(runner, profile, seq, 2, { maxK: 400 });
    const last = steps.at(-1)!;
    expect(last.injected).toBe('not-fired'); // k passed the checks fork makes
    expect(last.errno).toBe(0);
    expect(last.child).toBe(true);
    const failed = steps.filter((s) => s.injected === 'fired' && s.errno !== 0);
    expect(failed.length).toBeGreaterThan(0);
    for (const s of failed) {
      expect([12, 11]).toContain(s.errno);
      expect(s.unchanged).toBe(true);
      expect(s.child).toBe(false);
    }
    expect(steps.filter((s) => s.verdict === 'diverge')).toEqual([]);
    expect(runner.takeCrashes().map((c) => c.title)).toEqual([]);
  }, 600_000);
});
