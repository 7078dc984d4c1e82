// The guest's whole userspace: a newc cpio archive (Documentation/driver-api/early-userspace/
// buffer-format.rst) holding the static harness as /init, the mount points it uses and
// /dev/console (so that the kernel can give init its first stdio before devtmpfs is mounted).
// Written here rather than with cpio(1): no tool to install, and device nodes need no mknod.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../../util/fs.js';

export interface CpioEntry {
  name: string;
  /** full st_mode: type bits | permissions */
  mode: number;
  data?: Uint8Array;
  rdevMajor?: number;
  rdevMinor?: number;
}

export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFCHR = 0o020000;

const pad4 = (n: number) => (4 - (n % 4)) % 4;

function header(ino: number, e: CpioEntry, size: number): string {
  const f = (v: number) => v.toString(16).padStart(8, '0');
  const nameSize = Buffer.byteLength(e.name) + 1;
  // magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize, check
  return '070701' + [ino, e.mode, 0, 0, e.mode & S_IFDIR ? 2 : 1, 0, size, 0, 0, e.rdevMajor ?? 0, e.rdevMinor ?? 0, nameSize, 0].map(f).join('');
}

/** Serialise entries (parents before children) into a newc archive with its TRAILER!!!. */
export function buildCpio(entries: readonly CpioEntry[]): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  const push = (b: Buffer) => {
    parts.push(b);
    off += b.length;
  };
  const all = [...entries, { name: 'TRAILER!!!', mode: 0 }];
  all.forEach((e, i) => {
    const data = e.data ?? new Uint8Array(0);
    push(Buffer.from(header(e.name === 'TRAILER!!!' ? 0 : i + 1, e, data.length) + e.name + '\0', 'latin1'));
    push(Buffer.alloc(pad4(off)));
    push(Buffer.from(data));
    push(Buffer.alloc(pad4(off)));
  });
  return Buffer.concat(parts);
}

/** The entries of a guest image around the harness binary. */
export function harnessEntries(harness: Uint8Array): CpioEntry[] {
  return [
    { name: 'dev', mode: S_IFDIR | 0o755 },
    { name: 'dev/console', mode: S_IFCHR | 0o600, rdevMajor: 5, rdevMinor: 1 },
    { name: 'proc', mode: S_IFDIR | 0o555 },
    { name: 'sys', mode: S_IFDIR | 0o555 },
    { name: 'init', mode: S_IFREG | 0o755, data: harness },
  ];
}

/** Extra files of a guest image: kernel modules per filesystem, loaded by the harness in this order. */
export interface GuestModules {
  /** kind -> module files (absolute paths), dependencies first */
  kinds: Record<string, readonly string[]>;
}

/** /modules/<kind>/<NN>-<name>.ko: the harness loads a kind's directory in name order (harness-c/guestfs.c). */
export function moduleEntries(m: GuestModules): CpioEntry[] {
  const out: CpioEntry[] = [];
  const kinds = Object.keys(m.kinds).filter((k) => m.kinds[k]!.length > 0);
  if (kinds.length) out.push({ name: 'modules', mode: S_IFDIR | 0o755 });
  for (const k of kinds) {
    out.push({ name: `modules/${k}`, mode: S_IFDIR | 0o755 });
    m.kinds[k]!.forEach((f, i) => out.push({ name: `modules/${k}/${String(i).padStart(2, '0')}-${basename(f)}`, mode: S_IFREG | 0o644, data: readFileSync(f) }));
  }
  return out;
}

/**
 * Build (or reuse) the initramfs for a harness binary (and the modules of one kernel): named by
 * the hash of the harness alone when there are no modules (the name older runners use too), else
 * by the hash of everything it holds. Written atomically under a new name, never over another.
 */
export function ensureInitramfs(harnessPath: string, dir: string, modules?: GuestModules): string {
  const bin = readFileSync(harnessPath);
  const extra = modules ? moduleEntries(modules) : [];
  const h = createHash('sha256').update(bin);
  for (const e of extra) h.update(`\0${e.name}\0${e.mode}\0`).update(e.data ?? new Uint8Array(0));
  const hash = h.digest('hex').slice(0, 16);
  const out = join(dir, `harness-${hash}.cpio`);
  if (!existsSync(out)) {
    writeFileAtomic(out, buildCpio([...harnessEntries(bin), ...extra]));
    // images of older harness builds: keep a day's worth (another process may be about to boot one)
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (/^harness-[0-9a-f]+\.cpio$/.test(f) && p !== out && Date.now() - statSync(p).mtimeMs > 86_400_000) rmSync(p, { force: true });
    }
  }
  return out;
}
