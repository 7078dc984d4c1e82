// `kernels build` without building a kernel: the config fragment, names and cache keys, the check
// that every requested option stuck (on hand-written .config text, and with `make allnoconfig` on a
// real extracted Debian source tree when the cache has one), and finding a built kernel by name.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BASE_OPTIONS,
  buildKey,
  buildName,
  fragmentOptions,
  fragmentText,
  missingOptions,
  parseBuildName,
  parseDotConfig,
  parseInstruments,
} from '../src/kernels/build-config.js';
import { builtDir, builtKernels, configure, resolveBuiltKernel } from '../src/kernels/build.js';
import { resolveKernel } from '../src/kernels/index.js';
import { CannotTestError } from '../src/util/errors.js';

describe('config fragment', () => {
  it('has the guest base and exactly the chosen instrumentation', () => {
    const names = (l: string[]) => fragmentOptions(l).map((o) => o.name);
    const base = names([]);
    for (const n of ['64BIT', 'VIRTIO_CONSOLE', 'SERIAL_8250_CONSOLE', 'DEVTMPFS', 'BLK_DEV_INITRD', 'USERFAULTFD', 'TRANSPARENT_HUGEPAGE', 'ANON_VMA_NAME', 'MEMFD_CREATE', 'HUGETLBFS', 'PROC_PAGE_MONITOR']) expect(base).toContain(n);
    expect(base).not.toContain('KASAN');
    expect(base).not.toContain('FAULT_INJECTION');
    const kf = names(['kasan', 'fault-injection']);
    for (const n of ['KASAN', 'FAULT_INJECTION', 'FAILSLAB', 'FAIL_PAGE_ALLOC', 'FAULT_INJECTION_DEBUG_FS', 'DEBUG_FS']) expect(kf).toContain(n);
    expect(kf).not.toContain('PROVE_LOCKING');
    expect(names(['lockdep'])).toContain('PROVE_LOCKING');
    expect(names(['debug-vm'])).toEqual(expect.arrayContaining(['DEBUG_VM', 'DEBUG_VM_MAPLE_TREE']));
    // DEBUG_KERNEL is asked by several instruments: once in the fragment
    expect(kf.filter((n) => n === 'DEBUG_KERNEL')).toHaveLength(1);
  });

  it('writes each option with its reason, in .config syntax', () => {
    const text = fragmentText(fragmentOptions(['kasan']));
    expect(text).toMatch(/^# memory-safety reports\nCONFIG_KASAN=y$/m);
    expect(text).toMatch(/^CONFIG_DEFAULT_MMAP_MIN_ADDR=65536$/m);
    expect(text).toMatch(/^CONFIG_LOCALVERSION="-vmafuzz\+kasan"$/m);
    expect(text).toMatch(/\(when the version has it\)\nCONFIG_KASAN_VMALLOC=y/);
    expect(text.split('\n').filter((l) => l.startsWith('CONFIG_'))).toHaveLength(BASE_OPTIONS.length + 7); // LOCALVERSION, and kasan adds 6 names the base lacks
  });

  it('names instrumentation canonically and rejects unknown names', () => {
    expect(parseInstruments('fault-injection,kasan')).toEqual(['kasan', 'fault-injection']);
    expect(parseInstruments('')).toEqual([]);
    expect(() => parseInstruments('kasan,kmsan')).toThrow(/unknown instrumentation "kmsan"/);
    expect(buildName('7.3', ['kasan', 'fault-injection'])).toBe('7.3+kasan+fault-injection');
    expect(parseBuildName('7.3+fault-injection+kasan')).toEqual({ series: '7.3', instruments: ['kasan', 'fault-injection'] });
    // Debian version strings are not build names
    expect(parseBuildName('6.12.107+deb13')).toBeNull();
    expect(parseBuildName('7.3.4-1~bpo13+1')).toBeNull();
    expect(parseBuildName('7.3')).toBeNull();
  });

  it('keys the cache by source version, fragment and compiler', () => {
    const f = fragmentText(fragmentOptions(['kasan']));
    const k = buildKey('7.3.4-1~bpo13+1', f, 'gcc 12.2.0');
    expect(k).toMatch(/^[0-9a-f]{16}$/);
    expect(buildKey('7.3.4-1~bpo13+1', f, 'gcc 12.2.0')).toBe(k);
    expect(buildKey('7.3.5-1', f, 'gcc 12.2.0')).not.toBe(k);
    expect(buildKey('7.3.4-1~bpo13+1', f, 'gcc 14.2.0')).not.toBe(k);
    expect(buildKey('7.3.4-1~bpo13+1', fragmentText(fragmentOptions(['kasan', 'lockdep'])), 'gcc 12.2.0')).not.toBe(k);
    expect(buildKey('7.3.4-1~bpo13+1', f.replace('# memory-safety reports', '# reworded'), 'gcc 12.2.0')).toBe(k);
    expect(buildKey('7.3.4-1~bpo13+1', f.replace('CONFIG_KASAN_INLINE=y', 'CONFIG_KASAN_OUTLINE=y'), 'gcc 12.2.0')).not.toBe(k);
  });
});

describe('option verification', () => {
  const opts = fragmentOptions(['fault-injection']);
  const full = opts.map((o) => `CONFIG_${o.name}=${o.value}`).join('\n') + '\n';

  it('parses set and unset lines', () => {
    const m = parseDotConfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_D=0x10\n# a comment\n');
    expect([...m]).toEqual([['A', 'y'], ['B', 'n'], ['C', '"x y"'], ['D', '0x10']]);
  });

  it('accepts a .config that has every option', () => {
    expect(missingOptions(opts, full, () => true)).toEqual({ missing: [], skipped: [] });
  });

  it('names an option that did not stick, and what it became', () => {
    const r = missingOptions(opts, full.replace('CONFIG_FAILSLAB=y', '# CONFIG_FAILSLAB is not set').replace('CONFIG_FAIL_PAGE_ALLOC=y\n', ''), () => true);
    expect(r.missing.map((m) => [m.option.name, m.got])).toEqual([
      ['FAILSLAB', 'n'],
      ['FAIL_PAGE_ALLOC', null],
    ]);
  });

  it('skips an optional option only when the version does not define it', () => {
    const k = fragmentOptions(['kasan']);
    const text = k.filter((o) => o.name !== 'KASAN_VMALLOC').map((o) => `CONFIG_${o.name}=${o.value}`).join('\n');
    expect(missingOptions(k, text, () => false)).toEqual({ missing: [], skipped: ['KASAN_VMALLOC'] });
    expect(missingOptions(k, text, () => true).missing.map((m) => m.option.name)).toEqual(['KASAN_VMALLOC']);
  });
});

// A Debian source tree extracted by an earlier `kernels build` (~1.5 GB: not fetched by the tests).
const cacheSrc = join(process.env.VMAFUZZ_CACHE || join(process.env.HOME ?? '/root', '.cache', 'vmafuzz'), 'kernel-src');
const tree = existsSync(cacheSrc) ? readdirSync(cacheSrc).map((d) => join(cacheSrc, d)).find((d) => existsSync(join(d, 'Makefile'))) : undefined;

describe.skipIf(!tree)('configure on a real source tree (allnoconfig + fragment, no build)', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('every option of every instrument sticks', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vmafuzz-kcfg-'));
    dirs.push(out);
    await configure(tree!, out, fragmentOptions(['kasan', 'lockdep', 'debug-vm', 'fault-injection']));
    const cfg = parseDotConfig(readFileSync(join(out, '.config'), 'utf8'));
    expect(cfg.get('KASAN')).toBe('y');
    expect(cfg.get('FAILSLAB')).toBe('y');
    expect(cfg.get('VIRTIO_CONSOLE')).toBe('y');
    expect(cfg.get('PROVE_LOCKING')).toBe('y');
    expect(cfg.get('DEBUG_MAPLE_TREE')).toBe('y'); // selected by DEBUG_VM_MAPLE_TREE
    expect(cfg.get('LOCALVERSION')).toBe('"-vmafuzz+kasan+lockdep+debug-vm+fault-injection"');
    expect(cfg.get('MODULES') ?? 'n').toBe('n'); // allnoconfig: nothing beyond the fragment's needs
  }, 120_000);

  it('an option whose dependency is missing is an error naming it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vmafuzz-kcfg-'));
    dirs.push(out);
    // MEMORY_FAILURE needs X86_MCE on x86: without it the option cannot stick
    const opts = fragmentOptions([]).filter((o) => o.name !== 'X86_MCE');
    await expect(configure(tree!, out, opts)).rejects.toThrow(/CONFIG_MEMORY_FAILURE=y \(got undefined\)/);
  }, 120_000);
});

describe('built kernels in the cache', () => {
  const saved = process.env.VMAFUZZ_CACHE;
  afterEach(() => {
    if (saved === undefined) delete process.env.VMAFUZZ_CACHE;
    else process.env.VMAFUZZ_CACHE = saved;
  });

  function fakeBuild(root: string, name: string, key: string, sourceVersion: string, builtAt: string): string {
    process.env.VMAFUZZ_CACHE = root;
    const dir = builtDir(name, key);
    mkdirSync(dir, { recursive: true });
    const [series, ...instruments] = name.split('+');
    writeFileSync(join(dir, 'bzImage'), 'not booted here');
    writeFileSync(join(dir, 'config'), 'CONFIG_KASAN=y\n');
    writeFileSync(
      join(dir, 'manifest.json'),
      JSON.stringify({ format: 1, name, series, instruments, key, sourcePackage: `linux-source-${series}`, sourceVersion, compiler: 'gcc', release: `${series}.0-vmafuzz+${instruments.join('+')}`, bzImage: 'bzImage', config: 'config', bytes: 15, buildSeconds: 1, cpuSeconds: 2, jobs: 2, builtAt }),
    );
    return dir;
  }

  it('resolves --kernel 7.3+kasan to the newest build of exactly that name', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vmafuzz-kb-'));
    try {
      fakeBuild(root, '7.3+kasan', '0000000000000001', '7.3.4-1', '2026-12-01T00:00:00Z');
      const newer = fakeBuild(root, '7.3+kasan', '0000000000000002', '7.3.5-1', '2026-12-02T00:00:00Z');
      fakeBuild(root, '7.3+kasan+fault-injection', '0000000000000003', '7.3.9-1', '2026-12-03T00:00:00Z');
      expect(builtKernels()).toHaveLength(3);
      const img = resolveBuiltKernel('7.3+kasan')!;
      expect(img.vmlinuz).toBe(join(newer, 'bzImage'));
      expect(img.version).toBe('7.3.5-1+kasan');
      // the order of the instruments in the name does not matter; resolveKernel goes through it
      expect((await resolveKernel({ kernel: '7.3+fault-injection+kasan' })).version).toBe('7.3.9-1+kasan+fault-injection');
      expect(resolveBuiltKernel('7.3.4')).toBeNull(); // a Debian version: not a build name
      expect(resolveBuiltKernel('7.3.0')).toBeNull();
      expect(resolveBuiltKernel('7.3.0-vmafuzz+kasan+fault-injection')!.vmlinuz).toMatch(/kasan\+fault-injection-0000000000000003/); // a build's own release // a release without -vmafuzz is a Debian kernel's name
      expect(() => resolveBuiltKernel('7.3+lockdep')).toThrow(CannotTestError);
      expect(() => resolveBuiltKernel('7.3+lockdep')).toThrow(/built: 7.3\+kasan, 7.3\+kasan\+fault-injection.*kernels build 7.3 --with lockdep/);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('ignores a build whose manifest is damaged or whose image is gone', () => {
    const root = mkdtempSync(join(tmpdir(), 'vmafuzz-kb-'));
    try {
      const a = fakeBuild(root, '7.3+kasan', '0000000000000001', '7.3.4-1', '2026-12-01T00:00:00Z');
      const b = fakeBuild(root, '7.3+lockdep', '0000000000000002', '7.3.4-1', '2026-12-01T00:00:00Z');
      writeFileSync(join(a, 'manifest.json'), '{"format": 1');
      rmSync(join(b, 'bzImage'));
      copyFileSync(join(b, 'config'), join(b, 'config.bak'));
      expect(builtKernels()).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('documentation', () => {
  it('docs/kernels-build.md lists every option of the fragment and every instrument', () => {
    const doc = readFileSync(join(__dirname, '..', 'docs', 'kernels-build.md'), 'utf8');
    for (const o of fragmentOptions(['kasan', 'lockdep', 'debug-vm', 'fault-injection'])) expect(doc).toContain(`CONFIG_${o.name}`);
    for (const i of ['kasan', 'lockdep', 'debug-vm', 'fault-injection']) expect(doc).toContain(`| \`${i}\` |`);
  });
});

// The cache-hit path of buildKernel end to end (the mirror's newest linux-source-7.3, the compiler,
// the key), with a manifest planted under that key: nothing is configured or built.
const lists = join(process.env.VMAFUZZ_CACHE || join(process.env.HOME ?? '/root', '.cache', 'vmafuzz'), 'apt', 'lists');
describe.skipIf(!existsSync(lists))('buildKernel cache hit', () => {
  it('returns the cached build of the same source, options and compiler without building', async () => {
    const { buildKernel, pickSource } = await import('../src/kernels/build.js');
    const { execa } = await import('execa');
    const { version } = await pickSource('7.3');
    const compiler = (await execa('gcc', ['--version'])).stdout.split('\n')[0]!.trim();
    const instruments = ['debug-vm'];
    const key = buildKey(version, fragmentText(fragmentOptions(instruments)), compiler);
    const dir = builtDir('7.3+debug-vm', key);
    const existed = existsSync(dir);
    if (!existed) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'bzImage'), 'planted');
      writeFileSync(join(dir, 'config'), '');
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 1, name: '7.3+debug-vm', series: '7.3', instruments, key, sourcePackage: 'linux-source-7.3', sourceVersion: version, compiler, release: '7.3.0-vmafuzz+debug-vm', bzImage: 'bzImage', config: 'config', bytes: 7, buildSeconds: 1, cpuSeconds: 1, jobs: 2, builtAt: '2026-01-01T00:00:00Z' }));
    }
    try {
      const r = await buildKernel('7.3', { instruments });
      expect(r.cached).toBe(true);
      expect(r.image.vmlinuz).toBe(join(dir, 'bzImage'));
      expect(r.manifest.key).toBe(key);
    } finally {
      if (!existed) rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
