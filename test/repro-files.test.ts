// C reproducers of sequences with disk-filesystem files, pre-filled contents and probes
// (src/findings/repro-c-files.ts): compiled with cc -static -Wall -Werror and run on the host. They
// exit 0 where the model matches, 1 where the expectation is altered (a probed byte), and 125 when
// the directory they are given is not on the file's filesystem.
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictAgainst } from '../src/campaign/check.js';
import { renderReproC } from '../src/findings/repro-c.js';
import { makeProfile, type Prediction, type Profile } from '../src/model/index.js';
import { findCompiler } from '../src/runner/harness-build.js';
import { NativeRunner } from '../src/runner/native.js';
import { DETAIL_RUN, type TargetInfo } from '../src/runner/types.js';
import { loadSequenceFile } from '../src/seq/io.js';
import { ROOT } from './campaign-support.js';

const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-repro-files-'));
let n = 0;
let runner: NativeRunner;
let target: TargetInfo;
let profile: Profile;

async function buildAndRun(source: string, env: Record<string, string>): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const d = join(dir, String(n++));
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'repro.c'), source);
  const [ccBin, ...ccArgs] = findCompiler() ?? ['cc'];
  const cc = await execa(ccBin!, [...ccArgs, '-static', '-O2', '-Wall', '-Werror', '-o', join(d, 'repro'), join(d, 'repro.c')], { reject: false, all: true });
  expect(cc.all, 'compiler output').toBe('');
  const r = await execa(join(d, 'repro'), [], { reject: false, timeout: 60_000, cwd: d, env });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  runner = new NativeRunner();
  target = await runner.start();
  profile = makeProfile(target.release, target.facts);
}, 300_000);
afterAll(async () => {
  await runner.close();
  rmSync(dir, { recursive: true, force: true });
});

const FILES = ['guard-regions-file-map-private', 'guard-regions-xfs-truncation', 'guard-regions-btrfs-eof', 'map-populate-private-cow-tmpfs'];

describe('C reproducers with disk files, fill and probe', () => {
  for (const name of FILES) {
    it(`${name}: exit 0 on the host, 1 with a probed byte changed`, async () => {
      const seq = loadSequenceFile(join(ROOT, 'corpus', 'selftest', `${name}.json`));
      const kind = seq.files!.find((f) => ['ext4', 'xfs', 'btrfs'].includes(f.kind))?.kind;
      if (kind && !profile.fsKinds.includes(kind)) return; // no loop mounts without root
      const [k] = await runner.run([seq], DETAIL_RUN);
      const model = predictAgainst(seq, k!, profile, true);
      expect(model.unsupported).toBeUndefined();
      const env = { VMAFUZZ_EXT4_DIR: '/run/vmafuzz-fs/ext4', VMAFUZZ_XFS_DIR: '/run/vmafuzz-fs/xfs', VMAFUZZ_BTRFS_DIR: '/run/vmafuzz-fs/btrfs' };
      const ok = await buildAndRun(renderReproC({ seq, model, profile, target }), env);
      expect(ok.stdout + ok.stderr).toMatch(/OK: the kernel behaves as the model expects/);
      expect(ok.exitCode).toBe(0);
      // the last probe that read a byte now expects another byte
      const i = seq.calls.map((c, j) => (c.op === 'probe' && !model.calls[j]!.signal ? j : -1)).filter((j) => j >= 0).at(-1)!;
      const calls = model.calls.map((c, j) => (j === i && c.ret.kind === 'int' ? { ...c, ret: { kind: 'int' as const, value: c.ret.value ^ 1 } } : c));
      const wrong: Prediction = { ...model, calls };
      const bad = await buildAndRun(renderReproC({ seq, model: wrong, profile, target }), env);
      expect(bad.exitCode).toBe(1);
      expect(bad.stdout).toContain(`probe(`);
    }, 120_000);
  }

  it('exits 125 when the directory is not on the file\'s filesystem', async () => {
    const seq = loadSequenceFile(join(ROOT, 'corpus', 'selftest', 'guard-regions-xfs-basic.json'));
    if (!profile.fsKinds.includes('xfs')) return;
    const [k] = await runner.run([seq], DETAIL_RUN);
    const model = predictAgainst(seq, k!, profile, true);
    const r = await buildAndRun(renderReproC({ seq, model, profile, target }), { VMAFUZZ_XFS_DIR: '/dev/shm' }); // named: no fallback
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(/not on xfs/);
  }, 120_000);
});
