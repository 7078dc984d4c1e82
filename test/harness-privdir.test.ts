// Private directories of harnesses that share a filesystem directory across PID namespaces (a
// Docker container bind-mounts the runner's /run/vmafuzz-fs/<kind>): a starting harness removes the
// directories of dead harnesses only, never that of a live harness whose pid it cannot see
// (harness-c/privdir.c). Before, every container start removed the private directory of each native
// harness running beside it, and their disk-file sequences ended `error file-setup-failed` (about
// 1000 infra cases of 4800 in the campaign shard test during a full `npm test`).
// Runs in a private subdirectory of the runner's loop mount, so no other harness is disturbed.
// Needs root (loop mounts, unshare --pid).

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureHarness } from '../src/runner/harness-build.js';
import { FS_KINDS, resolveFsDirs, type FsKind } from '../src/runner/fsdirs.js';
import { NativeRunner } from '../src/runner/native.js';
import { DETAIL_RUN } from '../src/runner/types.js';
import { parseSequence } from '../src/seq/io.js';
import { ensureCommand } from './helpers/system.js';

const root = process.getuid?.() === 0;
let kind: FsKind | undefined;
let sub = '';
let harness = '';

beforeAll(async () => {
  if (!root) return;
  await ensureCommand('unshare', ['util-linux']);
  harness = await ensureHarness();
  const dirs = await resolveFsDirs({}, () => {});
  kind = FS_KINDS.find((k) => dirs[k]);
  if (kind) sub = mkdtempSync(join(dirs[kind]!, 'privdir-test-'));
}, 600_000);
afterAll(() => {
  if (sub) rmSync(sub, { recursive: true, force: true });
});

const fileSeq = () =>
  parseSequence(
    {
      vmafuzz: 1,
      arenaPages: 4,
      files: [{ kind: kind!, size: '1p', fill: 'pattern' }],
      calls: [
        { op: 'mmap', addr: 'A+0p', len: '1p', prot: 'PROT_READ', flags: 'MAP_SHARED|MAP_FIXED', fd: 0, offset: '0' },
        { op: 'probe', addr: 'A+0p' },
      ],
    },
    'privdir',
  );

const own = () => readdirSync(sub).filter((n) => n.startsWith('vmafuzz-')).sort();

/** A harness started on `sub` and killed with SIGKILL once it said hello (its directory stays). */
async function killedHarness(): Promise<number> {
  const p = spawn(harness, ['--serve', '--fs-dir', `${kind}=${sub}`], { stdio: ['pipe', 'pipe', 'ignore'] });
  await new Promise<void>((res, rej) => {
    p.stdout!.on('data', (d: Buffer) => d.toString().startsWith('hello ') && res());
    p.once('exit', () => rej(new Error('the harness ended before its hello')));
  });
  const exited = new Promise((res) => p.once('exit', res));
  p.kill('SIGKILL');
  await exited; // reaped: its pid is gone
  return p.pid!;
}

describe('private directories across PID namespaces', () => {
  it.runIf(root)('a harness in another PID namespace leaves a live harness its directory and removes a dead one', async () => {
    expect(kind, 'no loop-mounted filesystem directory').toBeDefined();
    const live = new NativeRunner({ fsAuto: false, fsDirs: { [kind!]: sub } });
    try {
      const info = await live.start();
      expect(info.facts['fs']).toBe(kind);
      const dead = await killedHarness();
      const before = own();
      expect(before).toHaveLength(2);
      expect(before.some((n) => n.startsWith(`vmafuzz-${dead}-`))).toBe(true);
      // a harness as in a container: PID namespace of its own (it sees neither pid), then quits
      const r = await execa('unshare', ['--pid', '--fork', '--mount-proc', 'sh', '-c', `echo quit | ${harness} --serve --fs-dir ${kind}=${sub}`], { reject: false });
      expect(r.stdout).toMatch(new RegExp(`^hello .* fs=${kind} `));
      // the dead harness's directory is gone, the live one's is there and usable
      expect(own()).toEqual(before.filter((n) => !n.startsWith(`vmafuzz-${dead}-`)));
      const [o] = await live.run([fileSeq()], DETAIL_RUN);
      expect(o!.detail ?? '').toBe('');
      expect(o!.status).toBe('ok');
    } finally {
      await live.close();
    }
    expect(own()).toEqual([]); // removed at exit
  }, 300_000);

  it.runIf(root)('when its directory was removed all the same, the harness says so (an environment problem, not the sequence)', async () => {
    expect(kind, 'no loop-mounted filesystem directory').toBeDefined();
    for (const persist of [true, false]) {
      const live = new NativeRunner({ fsAuto: false, fsDirs: { [kind!]: sub }, persist });
      try {
        await live.start();
        const [ok] = await live.run([fileSeq()], DETAIL_RUN);
        expect(ok!.status).toBe('ok');
        for (const d of own()) rmSync(join(sub, d), { recursive: true });
        const [o] = await live.run([fileSeq()], DETAIL_RUN);
        expect([o!.status, o!.detail]).toEqual(['infra', 'harness: error file-setup-failed private-dir-removed']);
      } finally {
        await live.close();
      }
    }
  }, 300_000);
});
