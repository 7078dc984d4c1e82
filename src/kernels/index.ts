// Debian kernel images for the QEMU runner: list what the mirror offers for a flavour, fetch the
// newest package matching a version string ("6.1", "6.12", "7.3", "6.12.107+deb13"), and keep the
// vmlinuz and config in a cache with a small manifest. Since 6.18 the image package depends on
// linux-base-<release> (System.map, config), and since 6.19 it is a stub that also depends on
// linux-binary-<release> (the vmlinuz). The mirror does not carry every linux-base (none for 6.18 to
// 7.1 in trixie-backports), so only linux-binary is required when the image depends on it: the
// config is taken from whichever package has it (a whole image's /boot, linux-base), and is absent
// when none does - it is informative only, nothing reads it to run a kernel.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { createHash } from 'node:crypto';
import { execa } from 'execa';
import { z } from 'zod';
import { CannotTestError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { PrivateApt, systemDebianMirror } from './apt.js';
import { readBzImage } from './bzimage.js';
import { compareDebVersions, parseDebVersion } from './debversion.js';
import { withLock } from './lock.js';
import { resolveBuiltKernel } from './build.js';

export const DEFAULT_FLAVOUR = 'cloud-amd64';
/** Lists older than this are refreshed before choosing "the newest" package. */
const LISTS_MAX_AGE_S = 24 * 3600;

/** A kernel ready to boot. */
export interface KernelImage {
  /** Debian package version ("6.12.117-1"), or "custom" for --kernel-image */
  version: string;
  /** `uname -r` of that kernel */
  release: string;
  vmlinuz: string;
  /** the kernel's .config, when known */
  config: string | null;
}

/** A kernel package the mirror offers. */
export interface KernelPackage {
  package: string;
  version: string;
  upstream: string;
  release: string;
  flavour: string;
  /** "6.18": the upstream major.minor */
  series: string;
  /** suites of the mirror that carry this version (trixie-backports, sid, ...) */
  suites: string[];
  /** name=version of every package to download for this kernel (image, binary, base when present) */
  debs: string[];
  /** split packages the image depends on that the mirror lacks (name=version) */
  missing: string[];
  /** the vmlinuz is on the mirror (a stub image whose linux-binary is missing is not) */
  fetchable: boolean;
  /** the config should come with it: in a whole image package (up to 6.18) or in a linux-base on the mirror */
  hasConfig: boolean;
  /** bytes to download */
  size: number;
  /** already in the cache */
  cached: boolean;
}

const manifestSchema = z.strictObject({
  format: z.literal(1),
  package: z.string(),
  version: z.string(),
  release: z.string(),
  flavour: z.string(),
  vmlinuz: z.string().describe('file name inside the kernel directory'),
  config: z.string().nullable(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  mirror: z.string(),
  fetchedAt: z.string(),
});
export type KernelManifest = z.infer<typeof manifestSchema>;

export function cacheRoot(): string {
  return resolve(process.env.VMAFUZZ_CACHE || join(homedir(), '.cache', 'vmafuzz'));
}
const kernelsDir = () => join(cacheRoot(), 'kernels');

export function privateApt(): PrivateApt {
  return new PrivateApt(join(cacheRoot(), 'apt'), systemDebianMirror());
}

/** Does a version string select this package? Dotted prefixes match whole components: "6.1" is not "6.12". */
export function versionMatches(query: string, p: Pick<KernelPackage, 'version' | 'upstream' | 'release' | 'flavour'>): boolean {
  const q = query.trim();
  if (q === p.release || q === p.version || q === p.upstream) return true;
  if (q === p.release.slice(0, -(p.flavour.length + 1))) return true; // "6.12.107+deb13", "6.1.0-50"
  if (!/^[0-9]+(\.[0-9]+)*$/.test(q)) return false;
  const numeric = /^[0-9.]*/.exec(p.upstream)![0].split('.').filter(Boolean);
  const want = q.split('.');
  return want.length <= numeric.length && want.every((w, i) => Number(w) === Number(numeric[i]));
}

function readManifest(dir: string): KernelManifest | null {
  const f = join(dir, 'manifest.json');
  if (!existsSync(f)) return null;
  try {
    const m = manifestSchema.parse(JSON.parse(readFileSync(f, 'utf8')));
    return existsSync(join(dir, m.vmlinuz)) ? m : null;
  } catch {
    return null; // a damaged manifest means "not cached"; the next fetch rewrites it
  }
}

function imageOf(m: KernelManifest): KernelImage {
  const dir = join(kernelsDir(), m.release);
  return { version: m.version, release: m.release, vmlinuz: join(dir, m.vmlinuz), config: m.config ? join(dir, m.config) : null };
}

/** Kernels already in the cache. */
export function cachedKernels(): KernelManifest[] {
  const root = kernelsDir();
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .map((d) => readManifest(join(root, d)))
    .filter((m): m is KernelManifest => m !== null)
    .sort((a, b) => compareDebVersions(a.version, b.version));
}

/** Package records → kernel packages for one flavour; `suites` maps "name=version" to its suites. */
export function kernelPackagesFrom(
  records: readonly Record<string, string>[],
  flavour: string,
  cached: ReadonlySet<string>,
  suites: ReadonlyMap<string, readonly string[]> = new Map(),
): KernelPackage[] {
  const byKey = new Map<string, Record<string, string>>();
  for (const r of records) byKey.set(`${r.Package}=${r.Version}`, r);
  const seen = new Set<string>();
  const out: KernelPackage[] = [];
  for (const r of records) {
    const name = r.Package!;
    const m = new RegExp(`^linux-image-([0-9].*-${flavour.replace(/[.+]/g, '\\$&')})$`).exec(name);
    if (!m || !r.Version || seen.has(`${name}=${r.Version}`)) continue;
    seen.add(`${name}=${r.Version}`); // the same version in two suites is listed twice by apt-cache show
    const release = m[1]!;
    const debs = [`${name}=${r.Version}`];
    const missing: string[] = [];
    let needsBinary = false;
    let needsBase = false;
    // The split packages: "linux-binary-<release> (= <version>)", "linux-base-<release> (= <version>)".
    for (const dep of (r.Depends ?? '').split(',')) {
      const d = /^\s*(linux-(binary|base)-(\S+))\s*\(=\s*([^)\s]+)\)\s*$/.exec(dep);
      if (!d || d[3] !== release) continue;
      const key = `${d[1]}=${d[4]}`;
      if (d[2] === 'binary') needsBinary = true;
      else needsBase = true;
      (byKey.has(key) ? debs : missing).push(key);
    }
    const fetchable = !needsBinary || debs.some((k) => k.startsWith('linux-binary-'));
    // a whole image (6.18 too, though it also depends on linux-base) has /boot/config-*; a stub does not
    const hasConfig = !needsBinary || !needsBase || debs.some((k) => k.startsWith('linux-base-'));
    const size = debs.reduce((s, k) => s + Number(byKey.get(k)?.Size ?? 0), 0);
    const upstream = parseDebVersion(r.Version).upstream;
    out.push({
      package: name,
      version: r.Version,
      upstream,
      release,
      flavour,
      series: /^[0-9]+\.[0-9]+/.exec(upstream)?.[0] ?? upstream,
      suites: [...(suites.get(`${name}=${r.Version}`) ?? [])],
      debs,
      missing,
      fetchable,
      hasConfig,
      size,
      cached: cached.has(`${release}=${r.Version}`),
    });
  }
  return out.sort((a, b) => compareDebVersions(a.version, b.version) || a.release.localeCompare(b.release));
}

/** What `kernels list` shows per series: the newest fetchable package, and the newest one cached. */
export interface KernelSeries {
  series: string;
  newest: KernelPackage;
  /** packages of the series on the mirror */
  count: number;
  cached: KernelPackage | null;
}

export function kernelSeries(pkgs: readonly KernelPackage[]): KernelSeries[] {
  const by = new Map<string, KernelPackage[]>();
  for (const p of pkgs) by.set(p.series, [...(by.get(p.series) ?? []), p]);
  const out: KernelSeries[] = [];
  for (const [series, l] of by) {
    const newest = pickKernel(l, series);
    if (!newest) continue; // nothing fetchable in this series
    const cached = l.filter((p) => p.cached).at(-1) ?? null;
    out.push({ series, newest, count: l.length, cached });
  }
  return out.sort((a, b) => compareDebVersions(a.series, b.series));
}

export async function ensureLists(apt: PrivateApt, refresh: boolean): Promise<void> {
  if (!refresh && apt.hasLists() && apt.listsAge() < LISTS_MAX_AGE_S) return;
  try {
    await apt.update();
  } catch (e) {
    // Offline with old lists: choosing from them beats failing.
    if (!apt.hasLists()) throw e;
    process.stderr.write(`vmafuzz: warning: ${(e as Error).message.split('\n')[0]}; using the lists from the last update\n`);
  }
}

export interface ListOptions {
  flavour?: string;
  /** run apt-get update even when the lists are recent */
  refresh?: boolean;
}

/** Every kernel package of the flavour on the mirror, oldest first. */
export async function listKernels(o: ListOptions = {}): Promise<KernelPackage[]> {
  const flavour = o.flavour ?? DEFAULT_FLAVOUR;
  const apt = privateApt();
  return withLock(cacheRoot(), async () => {
    await ensureLists(apt, o.refresh ?? false);
    return listFromLists(apt, flavour);
  });
}

async function listFromLists(apt: PrivateApt, flavour: string): Promise<KernelPackage[]> {
  const names = (await apt.pkgnames('linux-')).filter((n) => n.endsWith(`-${flavour}`) && /^linux-(image|binary|base)-[0-9]/.test(n));
  const records = await apt.show(names);
  const suites = await apt.suites(names.filter((n) => n.startsWith('linux-image-')));
  const cached = new Set(cachedKernels().map((m) => `${m.release}=${m.version}`));
  return kernelPackagesFrom(records, flavour, cached, suites);
}

/** The newest fetchable package matching `version`. */
export function pickKernel(pkgs: readonly KernelPackage[], version: string): KernelPackage | null {
  const hits = pkgs.filter((p) => p.fetchable && versionMatches(version, p));
  return hits.reduce<KernelPackage | null>((best, p) => (!best || compareDebVersions(p.version, best.version) > 0 ? p : best), null);
}

export interface FetchOptions extends ListOptions {
  /** progress messages (default: none) */
  log?: (msg: string) => void;
}

/** Download (or find in the cache) the newest kernel matching `version`. */
export async function fetchKernel(version: string, o: FetchOptions = {}): Promise<KernelImage> {
  const flavour = o.flavour ?? DEFAULT_FLAVOUR;
  const log = o.log ?? (() => {});
  // An exact release or package version already in the cache needs no mirror at all.
  const exact = cachedKernels().filter((m) => m.flavour === flavour && (version === m.release || version === m.version || version === m.release.slice(0, -(flavour.length + 1))));
  if (exact.length) return imageOf(exact[exact.length - 1]!);

  const apt = privateApt();
  return withLock(cacheRoot(), async () => {
    let pkgs: KernelPackage[];
    try {
      await ensureLists(apt, o.refresh ?? false);
      pkgs = await listFromLists(apt, flavour);
      if (!pickKernel(pkgs, version) && !o.refresh && apt.listsAge() > 600) {
        await ensureLists(apt, true); // maybe it was uploaded since the last update
        pkgs = await listFromLists(apt, flavour);
      }
    } catch (e) {
      const local = cachedKernels().filter((m) => m.flavour === flavour && versionMatches(version, { ...m, upstream: parseDebVersion(m.version).upstream }));
      if (local.length) {
        log(`mirror unavailable (${(e as Error).message.split('\n')[0]}); using the cached ${local[local.length - 1]!.release}`);
        return imageOf(local[local.length - 1]!);
      }
      throw e;
    }
    const p = pickKernel(pkgs, version);
    if (!p) {
      const stub = pkgs.filter((k) => versionMatches(version, k)).at(-1);
      if (stub) throw new CannotTestError(`${stub.package} (${stub.version}) is a stub and the mirror ${apt.mirror.uri} lacks ${stub.missing.join(', ')}, which holds the vmlinuz`);
      const known = [...new Set(pkgs.map((k) => /^[0-9]+\.[0-9]+/.exec(k.upstream)?.[0]))].filter(Boolean).join(', ');
      throw new CannotTestError(`no ${flavour} kernel package matches "${version}" on ${apt.mirror.uri} (versions offered: ${known || 'none'})`);
    }
    const have = readManifest(join(kernelsDir(), p.release));
    if (have && have.version === p.version) return imageOf(have);
    log(`fetching ${p.debs.join(' ')} (${(p.size / 1e6).toFixed(1)} MB)`);
    if (p.missing.length) log(`not on the mirror: ${p.missing.join(', ')}`);
    const m = await download(apt, p);
    if (!m.config) log(`${p.release}: no kernel config in ${p.debs.map((d) => d.split('=')[0]).join(', ')}; fetched without one`);
    return imageOf(m);
  });
}

async function download(apt: PrivateApt, p: KernelPackage): Promise<KernelManifest> {
  const dir = join(kernelsDir(), p.release);
  const tmp = join(kernelsDir(), `.tmp-${process.pid}-${p.release}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    const debs = await apt.download(p.debs, join(tmp, 'debs'));
    const root = join(tmp, 'root');
    mkdirSync(root, { recursive: true });
    for (const deb of debs) await execa('dpkg-deb', ['-x', deb, root]);
    // /boot/vmlinuz-<release> up to 6.18; /usr/lib/modules/<release>/vmlinuz (linux-binary) since.
    const find = (cands: string[]) => cands.map((c) => join(root, c)).find((c) => existsSync(c)) ?? null;
    const vmlinuz = find([`boot/vmlinuz-${p.release}`, `usr/lib/modules/${p.release}/vmlinuz`, `lib/modules/${p.release}/vmlinuz`]);
    const config = find([`boot/config-${p.release}`, `usr/lib/modules/${p.release}/config`, `lib/modules/${p.release}/config`]);
    if (!vmlinuz) throw new CannotTestError(`${p.debs.join(' ')}: no vmlinuz for ${p.release} in the packages`);
    mkdirSync(dir, { recursive: true });
    const vName = `vmlinuz-${p.release}`;
    copyFileSync(vmlinuz, join(dir, vName));
    if (config) copyFileSync(config, join(dir, `config-${p.release}`));
    const m: KernelManifest = {
      format: 1,
      package: p.package,
      version: p.version,
      release: p.release,
      flavour: p.flavour,
      vmlinuz: vName,
      config: config ? `config-${p.release}` : null,
      sha256: createHash('sha256').update(readFileSync(join(dir, vName))).digest('hex'),
      mirror: apt.mirror.uri,
      fetchedAt: new Date().toISOString(),
    };
    writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
    return m;
  } finally {
    // the .debs are not kept: the vmlinuz and config are all a run needs
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** A kernel given as a bzImage path (a developer's own build): its release comes from the image header. */
export function kernelFromImage(path: string): KernelImage {
  const abs = resolve(path);
  if (!existsSync(abs) || !statSync(abs).isFile()) throw new CannotTestError(`--kernel-image ${path}: no such file`);
  const info = readBzImage(abs);
  if (!info) throw new CannotTestError(`--kernel-image ${path}: not an x86 bzImage (no "HdrS" setup header)`);
  // A build tree keeps .config two levels up from arch/x86/boot/bzImage.
  const config = [join(abs, '..', '..', '..', '..', '.config'), join(abs, '..', `config-${info.release}`)].find((c) => existsSync(c)) ?? null;
  return { version: 'custom', release: info.release, vmlinuz: abs, config };
}

/** What the CLI calls: --kernel-image wins, else a built kernel's name, else a Debian version string. */
export async function resolveKernel(o: { kernel?: string; kernelImage?: string; flavour?: string; log?: (m: string) => void }): Promise<KernelImage> {
  if (o.kernelImage) return kernelFromImage(o.kernelImage);
  if (!o.kernel) throw new CannotTestError('the qemu runner needs --kernel VERSION or --kernel-image PATH');
  // "7.3+kasan": a kernel built by `vmafuzz kernels build`
  const built = resolveBuiltKernel(o.kernel);
  if (built) return built;
  return fetchKernel(o.kernel, { ...(o.flavour ? { flavour: o.flavour } : {}), ...(o.log ? { log: o.log } : {}) });
}
