// The filesystem modules a QEMU guest needs for disk files on xfs and btrfs: Debian's cloud kernels
// build ext4 and NVMe in, but xfs and btrfs (and what they depend on: xor, raid6_pq, libcrc32c...)
// are modules, and the guest's userspace is the harness alone. This takes them from the kernel's own
// package (linux-image up to 6.18, linux-modules since 6.19), follows each module's `depends=`
// (its .modinfo; the packages carry no modules.dep, depmod makes it at install time), decompresses
// them here (6.12+ ship .ko.xz, which finit_module could decompress itself, slowly under TCG) and caches them
// under ~/.cache/vmafuzz/fsmodules/<release>_<version>/ with a manifest naming the load order. The
// initramfs (src/runner/qemu/initramfs.ts) carries them; the harness loads them (harness-c/guestfs.c).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { cacheRoot, cachedKernels, ensureLists, type KernelImage, privateApt } from './index.js';
import { withLock } from './lock.js';

/** The filesystems whose modules the guest may need (ext4 is built into every Debian kernel). */
export const MODULE_FS = ['xfs', 'btrfs'] as const;
export type ModuleFs = (typeof MODULE_FS)[number];

const manifestSchema = z.strictObject({
  format: z.literal(1),
  release: z.string(),
  version: z.string(),
  /** per filesystem: module file names in this directory, dependencies first; [] = not a module here */
  kinds: z.strictObject({ xfs: z.array(z.string()), btrfs: z.array(z.string()) }),
  from: z.array(z.string()),
});
export type FsModulesManifest = z.infer<typeof manifestSchema>;

export interface FsModules {
  dir: string;
  manifest: FsModulesManifest;
}

const norm = (name: string) => name.replace(/-/g, '_');

/** `depends=` of a module's .modinfo (NUL-separated key=value strings). */
export function modinfoDepends(ko: Buffer): string[] {
  const at = ko.indexOf('\0depends=');
  if (at < 0) return [];
  const end = ko.indexOf(0, at + 1);
  return ko
    .subarray(at + 9, end < 0 ? undefined : end)
    .toString('latin1')
    .split(',')
    .filter(Boolean)
    .map(norm);
}

/** Depth-first, dependencies before dependants; `deps` gives a module's direct dependencies. */
export function loadOrder(root: string, deps: (m: string) => string[]): string[] {
  const out: string[] = [];
  const visit = (m: string, path: string[]) => {
    if (out.includes(m)) return;
    if (path.includes(m)) throw new Error(`module dependency cycle: ${[...path, m].join(' -> ')}`);
    for (const d of deps(m)) visit(d, [...path, m]);
    out.push(m);
  };
  visit(root, []);
  return out;
}

async function decompress(file: string): Promise<Buffer> {
  const tool = file.endsWith('.xz') ? ['xz', '-dc'] : file.endsWith('.zst') ? ['zstd', '-dcq'] : file.endsWith('.gz') ? ['gzip', '-dc'] : null;
  if (!tool) return readFileSync(file);
  const r = await execa(tool[0]!, [...tool.slice(1), file], { encoding: 'buffer', maxBuffer: 256 << 20 });
  return Buffer.from(r.stdout);
}

/** Every *.ko* below `dir`, by normalised module name. */
function indexModules(dir: string, out = new Map<string, string>()): Map<string, string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) indexModules(p, out);
    else {
      const m = /^(.+)\.ko(\.xz|\.zst|\.gz)?$/.exec(e.name);
      if (m) out.set(norm(m[1]!), p);
    }
  }
  return out;
}

/** The packages that hold /lib/modules of a release: linux-modules-* where the mirror has one (6.19+), else the image. */
async function modulePackages(release: string, version: string, imagePkg: string): Promise<string[]> {
  const apt = privateApt();
  await ensureLists(apt, false);
  let recs: Record<string, string>[] = [];
  try {
    recs = await apt.show([`linux-modules-${release}`]);
  } catch {
    /* no such package: the image has the modules */
  }
  return recs.some((r) => r.Version === version) ? [`linux-modules-${release}=${version}`] : [`${imagePkg}=${version}`];
}

function readManifest(dir: string): FsModulesManifest | null {
  try {
    const m = manifestSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    return [...m.kinds.xfs, ...m.kinds.btrfs].every((f) => existsSync(join(dir, f))) ? m : null;
  } catch {
    return null;
  }
}

/**
 * The xfs/btrfs modules of a Debian kernel from the cache (fetching its package once), or null for
 * a kernel that is not a Debian package (--kernel-image, a built kernel): then the guest mounts
 * only what is built in.
 */
export async function ensureFsModules(image: KernelImage, log: (m: string) => void): Promise<FsModules | null> {
  const km = cachedKernels().find((m) => m.release === image.release && m.version === image.version);
  if (!km) return null;
  const root = join(cacheRoot(), 'fsmodules');
  const dir = join(root, `${image.release}_${image.version.replace(/[^A-Za-z0-9.+-]/g, '_')}`);
  const have = readManifest(dir);
  if (have) return { dir, manifest: have };
  return withLock(cacheRoot(), async () => {
    const again = readManifest(dir);
    if (again) return { dir, manifest: again };
    const tmp = join(root, `.tmp-${process.pid}-${image.release}`);
    rmSync(tmp, { recursive: true, force: true });
    try {
      const pkgs = await modulePackages(image.release, image.version, km.package);
      log(`qemu: fetching ${pkgs.join(' ')} for the xfs and btrfs modules of ${image.release}`);
      const debs = await privateApt().download(pkgs, join(tmp, 'debs'));
      const x = join(tmp, 'x');
      mkdirSync(x, { recursive: true });
      for (const deb of debs) await execa('dpkg-deb', ['-x', deb, x]);
      const modRoot = ['usr/lib/modules', 'lib/modules'].map((d) => join(x, d, image.release)).find((d) => existsSync(d));
      if (!modRoot) throw new Error(`${pkgs.join(' ')}: no modules directory for ${image.release}`);
      const index = indexModules(modRoot);
      const out = join(tmp, 'out');
      mkdirSync(out);
      const bytes = new Map<string, Buffer>();
      const read = async (m: string) => {
        if (!bytes.has(m)) {
          const f = index.get(m);
          if (!f) throw new Error(`${image.release}: module ${m} (a dependency) is not in ${pkgs.join(' ')}`);
          bytes.set(m, await decompress(f));
        }
        return bytes.get(m)!;
      };
      const kinds: FsModulesManifest['kinds'] = { xfs: [], btrfs: [] };
      for (const fs of MODULE_FS) {
        if (!index.has(fs)) continue; // built in, or not configured: the guest's mount tells
        const deps = new Map<string, string[]>();
        const pending: string[] = [fs];
        while (pending.length) {
          const m = pending.pop()!;
          if (deps.has(m)) continue;
          deps.set(m, modinfoDepends(await read(m)));
          pending.push(...deps.get(m)!);
        }
        kinds[fs] = loadOrder(fs, (m) => deps.get(m) ?? []).map((m) => `${m}.ko`);
      }
      for (const [m, b] of bytes) writeFileSync(join(out, `${m}.ko`), b);
      const manifest: FsModulesManifest = { format: 1, release: image.release, version: image.version, kinds, from: pkgs };
      writeFileSync(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
      mkdirSync(root, { recursive: true });
      renameSync(out, dir); // atomic: readers see no directory or a whole one
      return { dir, manifest };
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
}

