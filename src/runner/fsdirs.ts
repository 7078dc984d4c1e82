// Directories on real filesystems for `file ext4|xfs|btrfs` (docs/harness-protocol.md "Files"): the
// user names one (`--fs-dir ext4=/mnt/x`), or the native runner loop-mounts an image of its own,
// made once and kept (~/.cache/vmafuzz/fs/<kind>.img, mounted on /run/vmafuzz-fs/<kind>, which
// later sessions and concurrent vmafuzz processes reuse). The harness makes a private directory
// inside each and reports in its hello line (`fs=`) which kinds it could use; a sequence needing
// another kind is declined by the model as a fact of the target, never a divergence.

import { existsSync, mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { ensureCommand } from '../util/ensure.js';

export const FS_KINDS = ['ext4', 'xfs', 'btrfs'] as const;
export type FsKind = (typeof FS_KINDS)[number];
export type FsDirs = Partial<Record<FsKind, string>>;

/** 512 MiB sparse images: xfs refuses filesystems under 300 MB, btrfs under ~114 MB. */
const IMAGE_BYTES = 512 << 20;
const MKFS: Record<FsKind, { cmd: string; pkg: string; args: string[] }> = {
  ext4: { cmd: 'mkfs.ext4', pkg: 'e2fsprogs', args: ['-q', '-F'] },
  xfs: { cmd: 'mkfs.xfs', pkg: 'xfsprogs', args: ['-q', '-f'] },
  btrfs: { cmd: 'mkfs.btrfs', pkg: 'btrfs-progs', args: ['-q', '-f'] },
};
const MOUNT_ROOT = '/run/vmafuzz-fs';

/** Parse `--fs-dir KIND=DIR` values; a message naming the bad one, or the map. */
export function parseFsDirs(values: readonly string[]): FsDirs | string {
  const out: FsDirs = {};
  for (const v of values) {
    const m = /^([a-z0-9]+)=(\/.*)$/.exec(v);
    if (!m || !(FS_KINDS as readonly string[]).includes(m[1]!)) return `--fs-dir ${JSON.stringify(v)}: expected KIND=/absolute/dir with KIND one of ${FS_KINDS.join(', ')}`;
    if (!existsSync(m[2]!) || !statSync(m[2]!).isDirectory()) return `--fs-dir ${JSON.stringify(v)}: ${m[2]} is not a directory`;
    out[m[1] as FsKind] = m[2]!;
  }
  return out;
}

/** The filesystem type mounted exactly on `dir` (from /proc/self/mountinfo), or null. */
function mountedType(dir: string): string | null {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return null;
  }
  let type: string | null = null;
  for (const line of text.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    if (pre.split(' ')[4] === dir) type = post.split(' ')[0] ?? null; // the last mount on top wins
  }
  return type;
}

/** Serialise set-up between vmafuzz processes: mkdir is atomic; a lock older than 2 minutes is stale. */
async function withLock<T>(dir: string, f: () => Promise<T>): Promise<T> {
  const lock = join(dir, '.lock');
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmdirSync(lock);
      } catch {
        /* gone meanwhile */
      }
      if (i > 600) throw new Error(`${lock} stays locked`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await f();
  } finally {
    rmdirSync(lock);
  }
}

/** Mount (making it first if needed) the image of one kind; its mount point, or why not. */
async function setUpKind(kind: FsKind, log: (s: string) => void): Promise<string | { why: string }> {
  const mnt = join(MOUNT_ROOT, kind);
  if (mountedType(mnt) === kind) return mnt;
  if (process.getuid?.() !== 0) return { why: 'loop mounts need root' };
  const cache = join(homedir(), '.cache', 'vmafuzz', 'fs');
  mkdirSync(cache, { recursive: true });
  mkdirSync(mnt, { recursive: true });
  return withLock(cache, async () => {
    if (mountedType(mnt) === kind) return mnt;
    const img = join(cache, `${kind}.img`);
    if (!existsSync(img)) {
      const mk = MKFS[kind];
      const missing = await ensureCommand(mk.cmd, mk.pkg, log);
      if (missing) return { why: missing };
      const tmp = `${img}.${process.pid}.tmp`;
      await execa('truncate', ['-s', String(IMAGE_BYTES), tmp]);
      const r = await execa(mk.cmd, [...mk.args, tmp], { reject: false, all: true });
      if (r.exitCode !== 0) {
        rmSync(tmp, { force: true });
        return { why: `${mk.cmd} failed: ${String(r.all ?? '').trim().split('\n').at(-1) ?? ''}` };
      }
      renameSync(tmp, img);
    }
    const r = await execa('mount', ['-t', kind, '-o', 'loop', img, mnt], { reject: false, all: true });
    if (r.exitCode !== 0) return { why: `mount failed: ${String(r.all ?? '').trim().split('\n').at(-1) ?? ''}` };
    return mnt;
  });
}

/**
 * The directory for every kind: the user's where named, else the runner's own loop mount. Kinds
 * that cannot be set up are left out (with one log line each); the harness then reports them
 * missing and sequences needing them are declined.
 */
export async function resolveFsDirs(given: FsDirs, log: (s: string) => void): Promise<FsDirs> {
  const out: FsDirs = { ...given };
  for (const kind of FS_KINDS) {
    if (out[kind]) continue;
    try {
      const r = await setUpKind(kind, log);
      if (typeof r === 'string') out[kind] = r;
      else log(`${kind}: no directory for ${kind} files (${r.why}); sequences with ${kind} files are declined`);
    } catch (e) {
      log(`${kind}: no directory for ${kind} files (${(e as Error).message}); sequences with ${kind} files are declined`);
    }
  }
  return out;
}

/** Harness arguments naming the directories. */
export function fsDirArgs(dirs: FsDirs): string[] {
  return FS_KINDS.flatMap((k) => (dirs[k] ? ['--fs-dir', `${k}=${dirs[k]}`] : []));
}

/**
 * The QEMU guest's ext4 scratch disk: an image formatted here once (mkfs.ext4 on a file needs no
 * root), cached, and attached read-only with a throw-away overlay (snapshot=on), so every VM starts
 * from the same empty filesystem and concurrent VMs share it. It is an NVMe namespace: NVMe and ext4
 * are built into every Debian cloud kernel (virtio-blk is a module). null (with a log line) when it
 * cannot be made.
 */
export async function ensureScratchImage(log: (s: string) => void): Promise<string | null> {
  const cache = join(homedir(), '.cache', 'vmafuzz', 'fs');
  // 4 KiB blocks: mke2fs gives a filesystem under 512 MB 1 KiB blocks ("small" in mke2fs.conf), and
  // then a partly written page, e.g. a pre-filled file's EOF page, is not uptodate (fs/buffer.c:
  // block_commit_write leaves the folio !uptodate while a buffer outside the write is not), so
  // fault-around (mm/filemap.c:next_uptodate_folio) skips it; the model, like the native 512 MiB
  // images, assumes one block per page. (qemu-ext4.img, the 1 KiB one, is what older runners use.)
  const img = join(cache, 'qemu-ext4-4k.img');
  if (existsSync(img)) return img;
  try {
    mkdirSync(cache, { recursive: true });
    const missing = await ensureCommand('mkfs.ext4', 'e2fsprogs', log);
    if (missing) throw new Error(missing);
    const tmp = `${img}.${process.pid}.tmp`;
    await execa('truncate', ['-s', String(64 << 20), tmp]);
    // inode tables and journal zeroed here, not by the guest's ext4lazyinit thread while sequences run
    const r = await execa('mkfs.ext4', ['-q', '-F', '-b', '4096', '-E', 'lazy_itable_init=0,lazy_journal_init=0', tmp], { reject: false, all: true });
    if (r.exitCode !== 0) {
      rmSync(tmp, { force: true });
      throw new Error(`mkfs.ext4 failed: ${String(r.all ?? '').trim().split('\n').at(-1) ?? ''}`);
    }
    renameSync(tmp, img);
    return img;
  } catch (e) {
    log(`qemu: no ext4 scratch disk (${(e as Error).message}); sequences with ext4 files are declined`);
    return null;
  }
}

/** The guest's xfs and btrfs scratch images (512 MiB sparse, see IMAGE_BYTES). xfs gets the feature set
 *  of xfsprogs' LTS 6.1 profile where its mkfs accepts it (bookworm's xfsprogs 6.1 rejects its own
 *  file's nrext64; its defaults are 6.1's anyway), so that the oldest kernel we boot can mount it. */
const XFS_LTS = '/usr/share/xfsprogs/mkfs/lts_6.1.conf';
const QEMU_MKFS: Record<'xfs' | 'btrfs', { name: string; tries: () => string[][] }> = {
  xfs: { name: 'qemu-xfs.img', tries: () => [...(existsSync(XFS_LTS) ? [['-c', `options=${XFS_LTS}`]] : []), []] },
  btrfs: { name: 'qemu-btrfs.img', tries: () => [[]] },
};

/**
 * Every scratch disk of a QEMU guest: ext4 (ensureScratchImage), xfs and btrfs, each formatted here
 * once and cached under a name of its own (written under a temporary name, then renamed). A kind
 * whose image cannot be made is left out with a log line; its sequences are then declined.
 */
export async function ensureScratchImages(log: (s: string) => void): Promise<FsDirs> {
  const out: FsDirs = {};
  const ext4 = await ensureScratchImage(log);
  if (ext4) out.ext4 = ext4;
  const cache = join(homedir(), '.cache', 'vmafuzz', 'fs');
  for (const kind of ['xfs', 'btrfs'] as const) {
    const img = join(cache, QEMU_MKFS[kind].name);
    if (existsSync(img)) {
      out[kind] = img;
      continue;
    }
    try {
      mkdirSync(cache, { recursive: true });
      const mk = MKFS[kind];
      const missing = await ensureCommand(mk.cmd, mk.pkg, log);
      if (missing) throw new Error(missing);
      const tmp = `${img}.${process.pid}.tmp`;
      await execa('truncate', ['-s', String(IMAGE_BYTES), tmp]);
      let r = { exitCode: -1, all: '' } as { exitCode?: number; all?: unknown };
      for (const extra of QEMU_MKFS[kind].tries()) {
        r = await execa(mk.cmd, [...mk.args, ...extra, tmp], { reject: false, all: true });
        if (r.exitCode === 0) break;
      }
      if (r.exitCode !== 0) {
        rmSync(tmp, { force: true });
        throw new Error(`${mk.cmd} failed: ${String(r.all ?? '').trim().split('\n').at(-1) ?? ''}`);
      }
      renameSync(tmp, img);
      out[kind] = img;
    } catch (e) {
      log(`qemu: no ${kind} scratch disk (${(e as Error).message}); sequences with ${kind} files are declined`);
    }
  }
  return out;
}
