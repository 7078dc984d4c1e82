// The concurrent C reproducer (src/findings/repro-c-threads.ts + harness-c/repro/threads.c): built
// with cc -static -pthread, it runs the threads on the host kernel and loops until the recorded
// bad outcome (exit 1) or its time limit (exit 0).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRaceReproC } from '../src/findings/repro-c-threads.js';
import { judgeRace } from '../src/linearize/index.js';
import { makeProfile, type Profile } from '../src/model/index.js';
import { NativeRunner } from '../src/runner/native.js';
import { FAST_RUN } from '../src/runner/types.js';
import { parseSequence } from '../src/seq/io.js';
import { lateSplitApply } from './helpers/wrong-model.js';

const FIXED = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';
// Two threads on VMAs far apart: every run ends the same way. Judged with the late-split model,
// the mprotect's split fails the end state - a "finding" whose outcome is that of every run.
const seq = parseSequence({
  vmafuzz: 1,
  arenaPages: 32,
  calls: [
    { op: 'mmap', addr: 'A+0p', len: '8p', prot: 'PROT_READ|PROT_WRITE', flags: FIXED },
    { op: 'mmap', addr: 'NULL', len: '4p', prot: 'PROT_READ', flags: 'MAP_PRIVATE|MAP_ANONYMOUS' },
  ],
  threads: [
    { calls: [{ op: 'mprotect', addr: 'A+2p', len: '2p', prot: 'PROT_READ' }, { op: 'touch', addr: 'A+0p', access: 'write' }, { op: 'sync' }] },
    { calls: [{ op: 'touch', addr: 'A+29p', access: 'write' }, { op: 'sync' }] },
  ],
}, 'test');

let dir: string;
let runner: NativeRunner;
let profile: Profile;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmafuzz-repro-threads-'));
  runner = new NativeRunner();
  const t = await runner.start();
  profile = makeProfile(t.release, t.facts);
}, 120_000);
afterAll(async () => {
  await runner.close();
  rmSync(dir, { recursive: true, force: true });
});

async function build(text: string, name: string): Promise<string> {
  writeFileSync(join(dir, `${name}.c`), text);
  await execa('cc', ['-static', '-O2', '-Wall', '-Werror', '-pthread', '-o', join(dir, name), join(dir, `${name}.c`)]);
  return join(dir, name);
}

describe('concurrent C reproducer', () => {
  it('loops until the recorded outcome shows (exit 1), or gives up at its time limit (exit 0)', async () => {
    const [k] = await runner.run([seq], FAST_RUN);
    const o = judgeRace(seq, k!, profile, { apply: lateSplitApply });
    expect(o.verdict).toBe('fail');
    const bin = await build(renderRaceReproC(o, 'test'), 'repro');
    const r = await execa(bin, ['20'], { reject: false });
    expect(r.stdout).toContain('bad outcome reproduced');
    expect(r.stdout).toMatch(/A\+0p-A\+2p rw-p/);
    expect(r.exitCode).toBe(1);
    // an outcome no run has: the write at A+0p (read-write memory) faulting
    const never = { ...o, kernel: { ...o.kernel, calls: o.kernel.calls.map((c, i) => (i === 3 ? { ...c, signal: 11 } : c)) } };
    const bin2 = await build(renderRaceReproC(never, 'test'), 'never');
    const r2 = await execa(bin2, ['2'], { reject: false });
    expect(r2.stdout).toMatch(/not seen in \d+ runs/);
    expect(r2.exitCode).toBe(0);
  }, 120_000);
});
