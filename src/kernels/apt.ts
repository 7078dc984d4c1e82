// A private apt universe for kernel packages: its own sources file, lists and archive cache under
// the vmafuzz cache dir, pointed at whatever Debian mirror this machine already uses. Nothing of the
// system's apt state is touched (Dir::Etc::sourceparts=- hides the system's sources) but apt.conf.d
// still applies, so a configured proxy keeps working.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CannotTestError } from '../util/errors.js';

/** Suites that carry the kernels we care about: 6.1 (bookworm) up to the newest (experimental). */
export const KERNEL_SUITES = ['bookworm', 'trixie', 'trixie-backports', 'sid', 'experimental'] as const;
const DEFAULT_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const DEBIAN_SUITE = /^(buster|bullseye|bookworm|trixie|forky|duke|sid|unstable|testing|stable|oldstable|experimental)(-updates|-backports|-proposed-updates)?$/;

export interface Mirror {
  uri: string;
  keyring: string;
}

interface SourceEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  signedBy?: string;
}

/** Parse deb822 `.sources` text into entries (paragraphs separated by blank lines). */
export function parseDeb822Sources(text: string): SourceEntry[] {
  const out: SourceEntry[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const f: Record<string, string> = {};
    let last = '';
    for (const line of para.split('\n')) {
      if (/^\s*#/.test(line) || !line.trim()) continue;
      if (/^\s/.test(line) && last) {
        f[last] += '\n' + line.trim();
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      last = m[1]!.toLowerCase();
      f[last] = m[2]!;
    }
    if (!f.uris || (f.enabled ?? 'yes').toLowerCase() === 'no') continue;
    const words = (k: string) => (f[k] ?? '').split(/\s+/).filter(Boolean);
    const signed = f['signed-by']?.trim();
    out.push({
      types: words('types'),
      uris: words('uris'),
      suites: words('suites'),
      components: words('components'),
      // an inline key block is not a path; only keep file names
      ...(signed && signed.startsWith('/') && !signed.includes('\n') ? { signedBy: signed } : {}),
    });
  }
  return out;
}

/** Parse one-line-style sources.list text. */
export function parseOneLineSources(text: string): SourceEntry[] {
  const out: SourceEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    const m = /^(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    const opts = Object.fromEntries((m[2] ?? '').split(/\s+/).filter(Boolean).map((o) => o.split('=', 2) as [string, string]));
    out.push({
      types: [m[1]!],
      uris: [m[3]!],
      suites: [m[4]!],
      components: m[5]!.split(/\s+/).filter(Boolean),
      ...(opts['signed-by']?.startsWith('/') ? { signedBy: opts['signed-by'] } : {}),
    });
  }
  return out;
}

/** The main Debian archive among the entries: a `deb` source serving a Debian suite's main component. */
export function pickDebianMirror(entries: readonly SourceEntry[]): Mirror | null {
  for (const e of entries) {
    if (!e.types.includes('deb') || !e.components.includes('main')) continue;
    if (!e.suites.some((s) => DEBIAN_SUITE.test(s))) continue; // excludes -security and third-party suites
    const uri = e.uris.find((u) => /^(https?|file):/.test(u));
    if (!uri) continue;
    const keyring = e.signedBy && existsSync(e.signedBy) ? e.signedBy : DEFAULT_KEYRING;
    return { uri: uri.replace(/\/+$/, ''), keyring };
  }
  return null;
}

/** The Debian mirror this machine is configured with, read at run time (never a built-in host). */
export function systemDebianMirror(etcApt = '/etc/apt'): Mirror {
  const override = process.env.VMAFUZZ_DEBIAN_MIRROR;
  if (override) return { uri: override.replace(/\/+$/, ''), keyring: DEFAULT_KEYRING };
  const entries: SourceEntry[] = [];
  const dir = join(etcApt, 'sources.list.d');
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).sort()) {
      const p = join(dir, f);
      if (f.endsWith('.sources')) entries.push(...parseDeb822Sources(readFileSync(p, 'utf8')));
      else if (f.endsWith('.list')) entries.push(...parseOneLineSources(readFileSync(p, 'utf8')));
    }
  }
  const main = join(etcApt, 'sources.list');
  if (existsSync(main)) entries.push(...parseOneLineSources(readFileSync(main, 'utf8')));
  const m = pickDebianMirror(entries);
  if (!m) {
    throw new CannotTestError(
      `no Debian mirror found in ${etcApt}/sources.list.d/*.sources or ${main}; set VMAFUZZ_DEBIAN_MIRROR to the URI of a Debian archive`,
    );
  }
  return m;
}

/** A private apt configuration rooted at `dir`. */
export class PrivateApt {
  readonly sourcesFile: string;
  readonly listsDir: string;
  readonly cacheDir: string;
  private readonly stampFile: string;

  constructor(
    readonly dir: string,
    readonly mirror: Mirror,
  ) {
    this.sourcesFile = join(dir, 'sources.list');
    this.listsDir = join(dir, 'lists');
    this.cacheDir = join(dir, 'cache');
    this.stampFile = join(dir, 'updated');
  }

  private opts(): string[] {
    return [
      '-o', `Dir::Etc::sourcelist=${this.sourcesFile}`,
      '-o', 'Dir::Etc::sourceparts=-',
      '-o', `Dir::State::Lists=${this.listsDir}`,
      '-o', `Dir::Cache=${this.cacheDir}`,
      // Docker-derived systems disable the binary cache; ours is private and saves ~1.5 s per query
      // (the source cache would only double the disk use)
      '-o', 'Dir::Cache::pkgcache=pkgcache.bin',
      '-o', 'Dir::Cache::srcpkgcache=',
      '-o', 'Acquire::Languages=none',
      // the system status file is irrelevant to `download` and `show`; keep apt from resolving against it
      '-o', 'Dir::State::status=/dev/null',
      '-o', 'APT::Sandbox::User=root',
      '-o', 'Debug::NoLocking=1',
    ];
  }

  private writeSources(): void {
    mkdirSync(join(this.listsDir, 'partial'), { recursive: true });
    mkdirSync(join(this.cacheDir, 'archives', 'partial'), { recursive: true });
    const text = KERNEL_SUITES.map((s) => `deb [signed-by=${this.mirror.keyring}] ${this.mirror.uri} ${s} main`).join('\n') + '\n';
    const old = existsSync(this.sourcesFile) ? readFileSync(this.sourcesFile, 'utf8') : '';
    if (old !== text) {
      writeFileSync(this.sourcesFile, text);
      // a different mirror invalidates the lists
      if (existsSync(this.stampFile)) writeFileSync(this.stampFile, '0');
    }
  }

  /** Seconds since the last successful `update`, or Infinity. */
  listsAge(): number {
    if (!existsSync(this.stampFile)) return Infinity;
    const t = Number(readFileSync(this.stampFile, 'utf8'));
    return t > 0 ? (Date.now() - t) / 1000 : Infinity;
  }

  hasLists(): boolean {
    return existsSync(this.listsDir) && readdirSync(this.listsDir).some((f) => f.includes('_Packages'));
  }

  async update(): Promise<void> {
    this.writeSources();
    const r = await execa('apt-get', [...this.opts(), '-q', 'update'], { reject: false, all: true });
    // apt-get update exits 0 even when some index failed to download; "W:"/"E:" lines tell.
    const failed = r.exitCode !== 0 || /^(E:|W: Failed to fetch)/m.test(r.all ?? '');
    if (failed) throw new CannotTestError(`apt-get update for ${this.mirror.uri} failed:\n${(r.all ?? '').split('\n').slice(-8).join('\n')}`);
    writeFileSync(this.stampFile, String(Date.now()));
  }

  /** Package names known to the private lists (apt-cache pkgnames PREFIX). */
  async pkgnames(prefix: string): Promise<string[]> {
    this.writeSources();
    const r = await execa('apt-cache', [...this.opts(), 'pkgnames', prefix]);
    return r.stdout.split('\n').filter(Boolean);
  }

  /** Every available version of the named packages, as deb822 records. */
  async show(names: readonly string[]): Promise<Record<string, string>[]> {
    if (names.length === 0) return [];
    const r = await execa('apt-cache', [...this.opts(), 'show', ...names], { reject: false });
    if (r.exitCode !== 0 && !r.stdout) throw new Error(`apt-cache show failed: ${r.stderr}`);
    return parseRecords(r.stdout);
  }

  /** The suites each version of the named packages comes from ("name=version" -> suites). */
  async suites(names: readonly string[]): Promise<Map<string, string[]>> {
    if (names.length === 0) return new Map();
    const r = await execa('apt-cache', [...this.opts(), 'policy', ...names], { reject: false });
    return parsePolicySuites(r.stdout);
  }

  /** Download exact package versions (name=version) into `dest`; returns the .deb paths. */
  async download(pkgs: readonly string[], dest: string): Promise<string[]> {
    mkdirSync(dest, { recursive: true });
    const r = await execa('apt-get', [...this.opts(), '-q', 'download', ...pkgs], { cwd: dest, reject: false, all: true });
    if (r.exitCode !== 0) throw new CannotTestError(`apt-get download ${pkgs.join(' ')} failed:\n${(r.all ?? '').split('\n').slice(-6).join('\n')}`);
    return readdirSync(dest)
      .filter((f) => f.endsWith('.deb'))
      .map((f) => join(dest, f))
      .filter((p) => statSync(p).size > 0);
  }
}

/** Parse deb822 package records (apt-cache show output). */
export function parseRecords(text: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const rec: Record<string, string> = {};
    let last = '';
    for (const line of para.split('\n')) {
      if (/^\s/.test(line) && last) rec[last] += '\n' + line.trim();
      else {
        const m = /^([A-Za-z0-9-]+):\s?(.*)$/.exec(line);
        if (m) rec[(last = m[1]!)] = m[2]!;
      }
    }
    if (rec.Package) out.push(rec);
  }
  return out;
}

/**
 * `apt-cache policy` output -> "name=version" -> suites. A version line ("     6.18.15-1~bpo13+1 100",
 * "*** 7.3-1 500" when installed) is followed by its origins ("        100 URI suite/component arch Packages").
 */
export function parsePolicySuites(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let pkg = '';
  let key = '';
  for (const line of text.split('\n')) {
    const p = /^(\S+):$/.exec(line);
    if (p) {
      pkg = p[1]!;
      key = '';
      continue;
    }
    const origin = /^\s+-?\d+\s+\S+\s+([^/\s]+)\/\S+\s+\S+\s+Packages$/.exec(line);
    if (origin && key) {
      const l = out.get(key)!;
      if (!l.includes(origin[1]!)) l.push(origin[1]!);
      continue;
    }
    const v = /^\s+(?:\*\*\*\s+)?(\S+)\s+-?\d+$/.exec(line);
    if (v && pkg) {
      key = `${pkg}=${v[1]}`;
      if (!out.has(key)) out.set(key, []);
    }
  }
  return out;
}
