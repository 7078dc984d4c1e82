// Files on real filesystems against the host kernel: the runner's loop-mounted ext4/xfs/btrfs
// directories (src/runner/fsdirs.ts), the harness's private directories and its `fs` fact,
// pre-filled contents (harness-c/fill.h) read back with `probe`, and what happens without a
// directory. Needs root for the loop mounts; without it the kinds are simply reported missing.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { makeProfile, predict } from '../src/model/index.js';
import { NativeRunner } from '../src/runner/native.js';
import { DETAIL_RUN } from '../src/runner/types.js';
import { parseSequence } from '../src/seq/io.js';
import { sequenceSchema } from '../src/seq/schema.js';
import { canonicalFileName } from '../src/seq/maps.js';

const KINDS = ['ext4', 'xfs', 'btrfs'] as const;
const root = process.getuid?.() === 0;
const fill = (i: number, k: number) => 0x80 | ((16 * i + k) & 0x7f);

let runner: NativeRunner;
beforeAll(() => {
  runner = new NativeRunner();
});
afterAll(() => runner.close());

describe('files on ext4, xfs and btrfs', () => {
  it('the harness reports the filesystems it has a private directory on', async () => {
    const info = await runner.start();
    expect(info.facts['fs']).toMatch(/^(-|[a-z0-9]+(,[a-z0-9]+)*)$/);
    if (root) expect(info.facts['fs']!.split(',').sort()).toEqual([...KINDS].sort());
    expect(info.facts['fs_noexec']).toBe('-');
  }, 300_000);

  it('creates pre-filled files there, unlinked, and probes read the pattern, zeroes past EOF, SIGBUS beyond', async () => {
    const info = await runner.start();
    const kinds = KINDS.filter((k) => info.facts['fs']?.split(',').includes(k));
    if (!kinds.length) return; // not root: nothing to create (the decline is tested below and in the model tests)
    const seqs = kinds.map((kind) =>
      parseSequence(
        {
          vmafuzz: 1,
          arenaPages: 16,
          files: [{ kind: 'memfd', size: '1p' }, { kind, size: '10240', fill: 'pattern' }],
          calls: [
            { op: 'mmap', addr: 'A+0p', len: '4p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_SHARED|MAP_FIXED', fd: 1, offset: '0' },
            { op: 'probe', addr: 'A+0p' },
            { op: 'probe', addr: 'A+1p+0xfff' },
            { op: 'probe', addr: 'A+2p+0x7ff' },
            { op: 'probe', addr: 'A+2p+0x800' },
            { op: 'probe', addr: 'A+3p' },
            { op: 'touch', addr: 'A+1p', access: 'write' },
            { op: 'probe', addr: 'A+1p' },
          ],
        },
        kind,
      ),
    );
    const obs = await runner.run(seqs, DETAIL_RUN);
    obs.forEach((o, i) => {
      expect(o.status, kinds[i]).toBe('ok');
      const byte = (c: number) => (o.calls[c]!.signal ? -o.calls[c]!.signal : o.calls[c]!.ret.kind === 'int' ? (o.calls[c]!.ret as { value: number }).value : NaN);
      expect([byte(1), byte(2), byte(3), byte(4), byte(5), byte(7)]).toEqual([fill(1, 0), fill(1, 1), fill(1, 2), 0, -7, 0x5a]);
      const name = o.snapshots.at(-1)!.maps[0]!.name;
      // a private directory of this harness on that filesystem, the file unlinked
      expect(name).toMatch(new RegExp(`/vmafuzz-\\d+-${kinds[i]}-[^/]+/f1 \\(deleted\\)$`));
      expect(canonicalFileName(name)).toBe(`<${kinds[i]}>/f1 (deleted)`);
    });
  }, 300_000);

  it('without a directory for the kind, file setup fails (the model declines such sequences)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-notxfs-'));
    const bare = new NativeRunner({ fsAuto: false, fsDirs: { xfs: dir } });
    try {
      const info = await bare.start();
      expect(info.facts['fs']).not.toMatch(/xfs|ext4|btrfs/); // a directory that is not on xfs is refused
      const seq = parseSequence({ vmafuzz: 1, arenaPages: 4, files: [{ kind: 'xfs', size: '1p' }], calls: [{ op: 'probe', addr: 'A+0p' }] }, 't');
      const [o] = await bare.run([seq], DETAIL_RUN);
      expect(o!.status).toBe('infra'); // the harness could not set the sequence up: no result to compare
      expect(o!.detail).toMatch(/file-setup-failed/);
    } finally {
      await bare.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('an ext4 directory with 1 KiB blocks is the fact fs_small_block, and the model declines its files', async () => {
    if (!root) return; // needs a loop mount
    const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-ext4-1k-'));
    const img = join(dir, 'img'), mnt = join(dir, 'mnt');
    await execa('truncate', ['-s', '32M', img]);
    await execa('mkfs.ext4', ['-q', '-F', '-b', '1024', img]);
    await execa('mkdir', [mnt]);
    await execa('mount', ['-o', 'loop', img, mnt]);
    const small = new NativeRunner({ fsAuto: false, fsDirs: { ext4: mnt } });
    try {
      const info = await small.start();
      expect(info.facts['fs']).toBe('ext4');
      expect(info.facts['fs_small_block']).toBe('ext4');
      const seq = parseSequence({ vmafuzz: 1, arenaPages: 4, files: [{ kind: 'ext4', size: '5000', fill: 'pattern' }], calls: [{ op: 'mmap', addr: 'A+0p', len: '2p', prot: 'PROT_READ', flags: 'MAP_SHARED|MAP_FIXED', fd: 0, offset: '0' }, { op: 'probe', addr: 'A+0p' }] }, 't');
      const p = predict(seq, makeProfile(info.release, info.facts), DETAIL_RUN);
      expect(p.unsupported?.reason).toMatch(/ext4 directory has blocks smaller than a page/);
      // the default runner's own images have page-sized blocks
      expect((await runner.start()).facts['fs_small_block']).toBe('-');
    } finally {
      await small.close();
      await execa('umount', [mnt], { reject: false });
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a corpus file names a filesystem kind, never a path', () => {
    const base = { vmafuzz: 1, arenaPages: 4, calls: [] };
    expect(sequenceSchema.safeParse({ ...base, files: [{ kind: 'ext4', size: '1p', fill: 'pattern' }] }).success).toBe(true);
    expect(sequenceSchema.safeParse({ ...base, files: [{ kind: '/etc/passwd', size: '1p' }] }).success).toBe(false);
    expect(sequenceSchema.safeParse({ ...base, files: [{ kind: 'ext4', size: '1p', path: '/etc/passwd' }] }).success).toBe(false);
    expect(sequenceSchema.safeParse({ ...base, files: [{ kind: 'ext4', size: '1p', fill: 'zeros' }] }).success).toBe(false);
  });
});
