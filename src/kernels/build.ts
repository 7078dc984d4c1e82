// `vmafuzz kernels build VERSION --with kasan,...`: a bzImage from Debian's linux-source-<series>
// package (downloaded through the private apt of apt.ts, never installed), configured by
// build-config.ts and cached by name and key (source version + fragment + compiler). The source
// tree is extracted once per package version; each name ("7.3+kasan") keeps its own out-of-tree
// build directory, so a changed fragment or a newer source rebuilds incrementally.

import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { execa } from 'execa';
import { z } from 'zod';
import { aptInstall, ensureCommand } from '../util/ensure.js';
import { CannotTestError, UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { buildKey, buildName, fragmentOptions, fragmentText, missingOptions, parseBuildName, type ConfigOption } from './build-config.js';
import { readBzImage } from './bzimage.js';
import { compareDebVersions } from './debversion.js';
import { cacheRoot, ensureLists, privateApt, type KernelImage } from './index.js';
import { withLock } from './lock.js';

export const builtSchema = z.strictObject({
  format: z.literal(1),
  name: z.string(),
  series: z.string(),
  instruments: z.array(z.string()),
  key: z.string().regex(/^[0-9a-f]{16}$/),
  sourcePackage: z.string(),
  sourceVersion: z.string(),
  compiler: z.string(),
  release: z.string(),
  bzImage: z.string(),
  config: z.string(),
  bytes: z.number().int(),
  buildSeconds: z.number(),
  /** user+sys CPU seconds of make and its children: the build's cost regardless of how busy the machine was */
  cpuSeconds: z.number(),
  jobs: z.number().int(),
  /** objects compiled (CC/AS lines of make): tells a full build from one that reused the build directory */
  objects: z.number().int().optional(),
  /** the 1-minute load average when make started and when it ended: how shared the CPUs were */
  load: z.tuple([z.number(), z.number()]).optional(),
  builtAt: z.string(),
});
export type BuiltKernel = z.infer<typeof builtSchema>;

const builtRoot = () => join(cacheRoot(), 'kernels-built');
const srcRoot = () => join(cacheRoot(), 'kernel-src');
const buildRoot = () => join(cacheRoot(), 'kernel-build');
/** A Debian version as a path component make copes with ("7.3.4-1~bpo13+1" -> "7.3.4-1_bpo13+1"). */
const pathSafe = (v: string) => v.replace(/[^A-Za-z0-9.+-]/g, '_');

/** The cache directory of one build: by name and key, so that every configuration has its own. */
export function builtDir(name: string, key: string): string {
  return join(builtRoot(), `${name}-${key}`);
}

function readBuilt(dir: string): BuiltKernel | null {
  try {
    const m = builtSchema.parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));
    return existsSync(join(dir, m.bzImage)) ? m : null;
  } catch {
    return null;
  }
}

/** Every built kernel in the cache, oldest build first. */
export function builtKernels(): (BuiltKernel & { dir: string })[] {
  if (!existsSync(builtRoot())) return [];
  return readdirSync(builtRoot())
    .map((d) => join(builtRoot(), d))
    .map((dir) => ({ dir, m: readBuilt(dir) }))
    .filter((x): x is { dir: string; m: BuiltKernel } => x.m !== null)
    .map(({ dir, m }) => ({ ...m, dir }))
    .sort((a, b) => a.builtAt.localeCompare(b.builtAt));
}

const imageOf = (b: BuiltKernel & { dir: string }): KernelImage => ({ version: `${b.sourceVersion}+${b.instruments.join('+')}`, release: b.release, vmlinuz: join(b.dir, b.bzImage), config: join(b.dir, b.config) });

/** `--kernel 7.3+kasan`: the newest build of exactly that name, or null when the string is no build name. */
export function resolveBuiltKernel(name: string): KernelImage | null {
  // a build's own release ("7.3.4-vmafuzz+kasan"), as crash findings and reports name it
  const byRelease = name.includes('-vmafuzz') ? builtKernels().filter((b) => b.release === name).at(-1) : undefined;
  if (byRelease) return imageOf(byRelease);
  const p = parseBuildName(name);
  if (!p) return null;
  const canonical = buildName(p.series, p.instruments);
  const hit = builtKernels()
    .filter((b) => b.name === canonical)
    .sort((a, b) => compareDebVersions(a.sourceVersion, b.sourceVersion) || a.builtAt.localeCompare(b.builtAt))
    .at(-1);
  if (!hit) {
    const have = [...new Set(builtKernels().map((b) => b.name))];
    throw new CannotTestError(`no built kernel ${canonical} in ${builtRoot()} (built: ${have.join(', ') || 'none'}); run: vmafuzz kernels build ${p.series} --with ${p.instruments.join(',')}`);
  }
  return imageOf(hit);
}

export interface BuildOptions {
  instruments: string[];
  jobs?: number;
  /** progress lines (default: none) */
  log?: (msg: string) => void;
  /** rebuild even when the cache has this key */
  force?: boolean;
}

export interface BuildResult {
  image: KernelImage;
  manifest: BuiltKernel;
  cached: boolean;
  /** optional options the version does not define */
  skipped: string[];
}

async function compilerId(): Promise<string> {
  const r = await execa('gcc', ['--version'], { reject: false });
  if (r.exitCode !== 0) throw new CannotTestError('gcc is not installed: a kernel build needs it');
  return r.stdout.split('\n')[0]!.trim();
}

/** Build tools the kernel's Makefile needs; installed when possible (root on Debian). */
async function ensureTools(log: (m: string) => void): Promise<void> {
  for (const [cmd, pkg] of [['make', 'make'], ['flex', 'flex'], ['bison', 'bison'], ['bc', 'bc'], ['xz', 'xz-utils'], ['perl', 'perl']] as const) {
    const why = await ensureCommand(cmd, pkg, log);
    if (why) throw new CannotTestError(why);
  }
  // objtool links against libelf
  if (!existsSync('/usr/include/gelf.h') && !existsSync('/usr/include/libelf.h')) {
    log('libelf headers missing; installing libelf-dev with apt-get');
    const r = await aptInstall(['libelf-dev']);
    if (r.exitCode !== 0) throw new CannotTestError('the kernel build needs libelf-dev (objtool) and installing it failed');
  }
}

/** The newest linux-source-<series> on the mirror. */
export async function pickSource(series: string): Promise<{ pkg: string; version: string }> {
  const apt = privateApt();
  await ensureLists(apt, false);
  const pkg = `linux-source-${series}`;
  const recs = (await apt.show([pkg]).catch(() => [])).filter((r) => r.Package === pkg && r.Version);
  if (!recs.length) throw new CannotTestError(`no ${pkg} package on ${apt.mirror.uri}`);
  const version = recs.map((r) => r.Version!).sort(compareDebVersions).at(-1)!;
  return { pkg, version };
}

/** The extracted source tree of one package version (downloaded and extracted on first use). */
export async function sourceTree(pkg: string, version: string, log: (m: string) => void): Promise<string> {
  const dir = join(srcRoot(), `${pkg}-${pathSafe(version)}`);
  if (existsSync(join(dir, 'Makefile'))) return dir;
  const tmp = join(srcRoot(), `.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    log(`downloading ${pkg}=${version}`);
    const [deb] = await privateApt().download([`${pkg}=${version}`], join(tmp, 'deb'));
    if (!deb) throw new CannotTestError(`apt-get download ${pkg}=${version} produced no .deb`);
    // Debian's layout: the tree is one tarball, /usr/src/<package>.tar.xz (shell pipes: the
    // archive is streamed, never held in memory)
    const tarball = `./usr/src/${pkg}.tar.xz`;
    log(`extracting ${tarball.slice(2)}`);
    mkdirSync(join(tmp, 'x'), { recursive: true });
    const x = await execa('bash', ['-c', 'set -o pipefail; dpkg-deb --fsys-tarfile "$1" | tar -xO "$2" | tar -xJ -C "$3"', 'extract', deb, tarball, join(tmp, 'x')], { reject: false, all: true });
    if (x.exitCode !== 0) throw new CannotTestError(`${deb}: extracting ${tarball} failed: ${String(x.all).split('\n').slice(-3).join(' ')}`);
    const top = readdirSync(join(tmp, 'x'));
    if (top.length !== 1 || !existsSync(join(tmp, 'x', top[0]!, 'Makefile'))) throw new CannotTestError(`${tarball}: expected one top directory with a Makefile, found ${top.join(', ')}`);
    mkdirSync(srcRoot(), { recursive: true });
    renameSync(join(tmp, 'x', top[0]!), dir);
    return dir;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Is `name` a Kconfig symbol of this source tree? */
async function kconfigDefines(src: string, names: string[]): Promise<Set<string>> {
  if (!names.length) return new Set();
  const r = await execa('grep', ['-rhoE', '--include=Kconfig*', `^(menu)?config (${names.join('|')})$`, src], { reject: false });
  return new Set(r.stdout.split('\n').map((l) => l.replace(/^(menu)?config /, '')).filter(Boolean));
}

/** Configure `out` from the fragment and check every option stuck; returns the skipped optional ones. */
export async function configure(src: string, out: string, options: readonly ConfigOption[]): Promise<string[]> {
  mkdirSync(out, { recursive: true });
  const fragment = join(out, 'vmafuzz.fragment');
  writeFileSync(fragment, fragmentText(options));
  const make = (target: string, env: Record<string, string> = {}) => execa('make', ['-s', '-C', src, `O=${out}`, target], { env, all: true, reject: false });
  for (const [target, env] of [['allnoconfig', { KCONFIG_ALLCONFIG: fragment }], ['olddefconfig', {}]] as const) {
    const r = await make(target, env);
    if (r.exitCode !== 0) throw new CannotTestError(`make ${target} failed in ${out}:\n${String(r.all).split('\n').slice(-10).join('\n')}`);
  }
  const defined = await kconfigDefines(src, options.filter((o) => o.optional).map((o) => o.name));
  const { missing, skipped } = missingOptions(options, readFileSync(join(out, '.config'), 'utf8'), (n) => defined.has(n));
  if (missing.length) {
    const what = missing.map((m) => `CONFIG_${m.option.name}=${m.option.value} (got ${m.got ?? 'undefined'})`).join(', ');
    throw new CannotTestError(`kernel config: ${missing.length} requested option(s) did not stick (unmet dependencies or unknown to this version): ${what}`);
  }
  return skipped;
}

/** Run `make bzImage`, reporting a progress line (objects compiled, elapsed) every `everyMs`. */
async function makeImage(src: string, out: string, jobs: number, log: (m: string) => void, everyMs = 30_000): Promise<{ cpuSeconds: number; objects: number }> {
  const t0 = Date.now();
  let objects = 0;
  let tail: string[] = [];
  // bash's `times` after make: the CPU seconds of the whole build (what it would take on idle CPUs)
  const script = 'nice -n 19 make -C "$1" O="$2" -j"$3" bzImage; rc=$?; times; exit $rc';
  const child = execa('bash', ['-c', script, 'make', src, out, String(jobs)], { all: true, reject: false, buffer: false });
  let cpuSeconds = 0;
  child.all?.setEncoding('utf8');
  let partial = '';
  child.all?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const l of lines) {
      if (/^\s+(CC|AS)\s/.test(l)) objects++;
      // `times` prints the shell's then its children's "user sys" as "0m1.5s 0m0.2s"
      const t = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(l);
      if (t) cpuSeconds = Number(t[1]) * 60 + Number(t[2]) + Number(t[3]) * 60 + Number(t[4]);
    }
    tail = [...tail, ...lines].slice(-30);
  });
  const timer = setInterval(() => log(`building: ${objects} objects compiled, ${Math.round((Date.now() - t0) / 1000)} s`), everyMs);
  try {
    const r = await child;
    if (r.exitCode !== 0) throw new CannotTestError(`make bzImage failed (exit ${r.exitCode}) in ${out}:\n${tail.join('\n')}`);
    return { cpuSeconds: Math.round(cpuSeconds), objects };
  } finally {
    clearInterval(timer);
  }
}

/** Build (or find in the cache) the kernel `series` with `instruments`. */
export async function buildKernel(series: string, o: BuildOptions): Promise<BuildResult> {
  if (!/^[0-9]+\.[0-9]+$/.test(series)) throw new UsageError(`kernels build: VERSION must be a series like 7.3 (got "${series}")`);
  const log = o.log ?? (() => {});
  const jobs = o.jobs ?? 2;
  const name = buildName(series, o.instruments);
  const options = fragmentOptions(o.instruments);
  const [{ pkg, version }, compiler] = await withLock(cacheRoot(), async () => Promise.all([pickSource(series), compilerId()]));
  const key = buildKey(version, fragmentText(options), compiler);
  const dir = builtDir(name, key);
  const have = readBuilt(dir);
  if (have && !o.force) return { image: imageOf({ ...have, dir }), manifest: have, cached: true, skipped: [] };

  // one build per name at a time; the whole cache stays free for fetches meanwhile
  return withLock(join(buildRoot(), `.${name}`), async () => {
    await ensureTools(log);
    const src = await withLock(cacheRoot(), () => sourceTree(pkg, version, log));
    const out = join(buildRoot(), name);
    log(`configuring ${name} from ${pkg} ${version} (${options.length} options, key ${key})`);
    const skipped = await configure(src, out, options);
    if (skipped.length) log(`not in ${version}, skipped: ${skipped.join(', ')}`);
    log(`building ${name} with make -j${jobs} (nice 19)`);
    const t0 = Date.now();
    const load0 = loadavg()[0]!;
    const { cpuSeconds, objects } = await makeImage(src, out, jobs, log);
    const buildSeconds = Math.round((Date.now() - t0) / 1000);
    const load: [number, number] = [Math.round(load0 * 10) / 10, Math.round(loadavg()[0]! * 10) / 10];
    const bz = join(out, 'arch/x86/boot/bzImage');
    const info = readBzImage(bz);
    if (!info) throw new CannotTestError(`${bz}: not a bzImage after the build`);
    mkdirSync(dir, { recursive: true });
    copyFileSync(bz, join(dir, 'bzImage'));
    copyFileSync(join(out, '.config'), join(dir, 'config'));
    copyFileSync(join(out, 'vmafuzz.fragment'), join(dir, 'fragment.config'));
    const m: BuiltKernel = {
      format: 1,
      name,
      series,
      instruments: o.instruments,
      key,
      sourcePackage: pkg,
      sourceVersion: version,
      compiler,
      release: info.release,
      bzImage: 'bzImage',
      config: 'config',
      bytes: statSync(bz).size,
      buildSeconds,
      cpuSeconds,
      jobs,
      objects,
      load,
      builtAt: new Date().toISOString(),
    };
    writeFileAtomic(join(dir, 'manifest.json'), JSON.stringify(builtSchema.parse(m), null, 2) + '\n');
    return { image: imageOf({ ...m, dir }), manifest: m, cached: false, skipped };
  }, 2 * 3600_000);
}
