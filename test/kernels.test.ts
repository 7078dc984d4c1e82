// Kernel catalogue: Debian version order, version-string matching, package selection (image,
// linux-binary, linux-base, whichever the mirror has), mirror discovery from the machine's apt
// configuration, and real fetches of 6.1 (bookworm), 6.12 (trixie), 7.3 (split
// linux-binary/linux-base packages) and a series whose linux-base the mirror lacks.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { z } from 'zod';
import { parseDeb822Sources, parseOneLineSources, parsePolicySuites, pickDebianMirror, parseRecords, systemDebianMirror } from '../src/kernels/apt.js';
import { readBzImage } from '../src/kernels/bzimage.js';
import { compareDebVersions } from '../src/kernels/debversion.js';
import { cacheRoot, cachedKernels, fetchKernel, kernelFromImage, kernelPackagesFrom, kernelSeries, listKernels, pickKernel, versionMatches } from '../src/kernels/index.js';
import { CannotTestError } from '../src/util/errors.js';

describe('Debian version order', () => {
  it('orders like dpkg --compare-versions', () => {
    const sorted = ['6.1.170-3', '6.1.176-1', '6.12.107-1', '6.12.117-1', '7.3~rc7-1~exp1', '7.3-1', '7.3.4-1~bpo13+1', '7.3.4-1', '1:0.1-1'];
    const shuffled = [...sorted].reverse();
    expect(shuffled.sort(compareDebVersions)).toEqual(sorted);
    expect(compareDebVersions('1.0-1', '1.0-1')).toBe(0);
    expect(compareDebVersions('1.0a', '1.0+')).toBeLessThan(0); // letters sort before other characters
    expect(compareDebVersions('1.0', '1.0~')).toBeGreaterThan(0);
  });
});

// Shapes of real apt-cache show records (trimmed).
const RECORDS = parseRecords(`Package: linux-image-6.1.0-50-cloud-amd64
Version: 6.1.176-1
Depends: kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool
Size: 26484304

Package: linux-image-6.12.117+deb13-cloud-amd64
Version: 6.12.117-1
Depends: kmod, initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool
Size: 34671208

Package: linux-image-7.3-cloud-amd64
Version: 7.3~rc7-1~exp1
Depends: dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, linux-base-7.3-cloud-amd64 (= 7.3~rc7-1~exp1), linux-binary-7.3-cloud-amd64 (= 7.3~rc7-1~exp1)
Size: 1916

Package: linux-binary-7.3-cloud-amd64
Version: 7.3~rc7-1~exp1
Size: 14000000

Package: linux-image-7.3.4+deb13-cloud-amd64
Version: 7.3.4-1~bpo13+1
Depends: dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, linux-base-7.3.4+deb13-cloud-amd64 (= 7.3.4-1~bpo13+1), linux-binary-7.3.4+deb13-cloud-amd64 (= 7.3.4-1~bpo13+1),
 linux-modules-7.3.4+deb13-cloud-amd64 (= 7.3.4-1~bpo13+1)
Size: 1928

Package: linux-binary-7.3.4+deb13-cloud-amd64
Version: 7.3.4-1~bpo13+1
Size: 13030208

Package: linux-image-6.12.117+deb13-cloud-amd64-dbg
Version: 6.12.117-1
Size: 900000000
`);

describe('choosing a kernel package', () => {
  const pkgs = kernelPackagesFrom(RECORDS, 'cloud-amd64', new Set());
  it('reads image packages of the flavour and the split packages they need', () => {
    expect(pkgs.map((p) => p.release)).toEqual(['6.1.0-50-cloud-amd64', '6.12.117+deb13-cloud-amd64', '7.3-cloud-amd64', '7.3.4+deb13-cloud-amd64']);
    const p73 = pkgs.find((p) => p.release === '7.3.4+deb13-cloud-amd64')!;
    expect(p73.debs).toEqual(['linux-image-7.3.4+deb13-cloud-amd64=7.3.4-1~bpo13+1', 'linux-binary-7.3.4+deb13-cloud-amd64=7.3.4-1~bpo13+1']);
    // linux-base has no record here: not downloaded (the config is optional), but named as missing
    expect(p73.size).toBe(1928 + 13030208);
    expect(p73).toMatchObject({ fetchable: true, hasConfig: false, missing: ['linux-base-7.3.4+deb13-cloud-amd64=7.3.4-1~bpo13+1'] });
  });
  it('matches dotted prefixes by whole components and picks the newest', () => {
    expect(pickKernel(pkgs, '6.1')?.release).toBe('6.1.0-50-cloud-amd64');
    expect(pickKernel(pkgs, '6.12')?.release).toBe('6.12.117+deb13-cloud-amd64');
    expect(pickKernel(pkgs, '7.3')?.release).toBe('7.3.4+deb13-cloud-amd64'); // 7.3.4 > 7.3~rc7
    expect(pickKernel(pkgs, '7')?.release).toBe('7.3.4+deb13-cloud-amd64');
    expect(pickKernel(pkgs, '6.12.117+deb13')?.release).toBe('6.12.117+deb13-cloud-amd64');
    expect(pickKernel(pkgs, '7.3~rc7-1~exp1')?.release).toBe('7.3-cloud-amd64');
    expect(pickKernel(pkgs, '6.1.0-50-cloud-amd64')?.version).toBe('6.1.176-1');
    expect(pickKernel(pkgs, '6.2')).toBeNull();
    expect(pickKernel(pkgs, '6.1x')).toBeNull();
    expect(versionMatches('6.1', pkgs[1]!)).toBe(false); // 6.12 is not 6.1
  });
});

// What the mirror carries for the 6.16 .. 7.3 backports (trimmed): 6.16 is a whole image (vmlinuz
// and config in /boot); 6.18 is whole too but wants a linux-base the mirror lacks; 6.19 is a
// stub whose linux-binary is there and linux-base is not; 7.2 has all three; 7.1.99 is a stub whose
// linux-binary is missing (not fetchable); the same 6.19 version appears in two suites.
const SPLIT = parseRecords(`Package: linux-image-6.16.12+deb13-cloud-amd64
Version: 6.16.12-1~bpo13+1
Depends: kmod, initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool
Size: 51193584

Package: linux-image-6.18.15+deb13-cloud-amd64
Version: 6.18.15-1~bpo13+1
Depends: dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, kmod, linux-base-6.18.15+deb13-cloud-amd64 (= 6.18.15-1~bpo13+1)
Size: 49146196

Package: linux-image-6.19.14+deb13-cloud-amd64
Version: 6.19.14-1~bpo13+1
Depends: dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, kmod, linux-base-6.19.14+deb13-cloud-amd64 (= 6.19.14-1~bpo13+1), linux-binary-6.19.14+deb13-cloud-amd64 (= 6.19.14-1~bpo13+1), linux-modules-6.19.14+deb13-cloud-amd64 (= 6.19.14-1~bpo13+1)
Size: 2072

Package: linux-image-6.19.14+deb13-cloud-amd64
Version: 6.19.14-1~bpo13+1
Depends: dracut | initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool, kmod, linux-base-6.19.14+deb13-cloud-amd64 (= 6.19.14-1~bpo13+1), linux-binary-6.19.14+deb13-cloud-amd64 (= 6.19.14-1~bpo13+1), linux-modules-6.19.14+deb13-cloud-amd64 (= 6.19.14-1~bpo13+1)
Size: 2072

Package: linux-binary-6.19.14+deb13-cloud-amd64
Version: 6.19.14-1~bpo13+1
Size: 13000000

Package: linux-modules-6.19.14+deb13-cloud-amd64
Version: 6.19.14-1~bpo13+1
Size: 40000000

Package: linux-image-7.1.99+deb13-cloud-amd64
Version: 7.1.99-1~bpo13+1
Depends: linux-base-7.1.99+deb13-cloud-amd64 (= 7.1.99-1~bpo13+1), linux-binary-7.1.99+deb13-cloud-amd64 (= 7.1.99-1~bpo13+1)
Size: 1916

Package: linux-image-7.1.13+deb13-cloud-amd64
Version: 7.1.13-1~bpo13+1
Depends: linux-base-7.1.13+deb13-cloud-amd64 (= 7.1.13-1~bpo13+1), linux-binary-7.1.13+deb13-cloud-amd64 (= 7.1.13-1~bpo13+1)
Size: 1916

Package: linux-binary-7.1.13+deb13-cloud-amd64
Version: 7.1.13-1~bpo13+1
Size: 13300000

Package: linux-image-7.2.13+deb14-cloud-amd64
Version: 7.2.13-1
Depends: linux-base-7.2.13+deb14-cloud-amd64 (= 7.2.13-1), linux-binary-7.2.13+deb14-cloud-amd64 (= 7.2.13-1), linux-modules-7.2.13+deb14-cloud-amd64 (= 7.2.13-1)
Size: 1916

Package: linux-binary-7.2.13+deb14-cloud-amd64
Version: 7.2.13-1
Size: 13900000

Package: linux-base-7.2.13+deb14-cloud-amd64
Version: 7.2.13-1
Size: 190000
`);

const POLICY = `linux-image-6.19.14+deb13-cloud-amd64:
  Installed: (none)
  Candidate: 6.19.14-1~bpo13+1
  Version table:
     6.19.14-1~bpo13+1 500
        100 http://mirror.example/debian trixie-backports/main amd64 Packages
        500 http://mirror.example/debian sid/main amd64 Packages
linux-image-7.2.13+deb14-cloud-amd64:
  Installed: (none)
  Candidate: 7.2.13-1
  Version table:
 *** 7.2.13-1 500
        500 http://mirror.example/debian sid/main amd64 Packages
        100 /var/lib/dpkg/status
`;

describe('choosing packages from what the mirror carries', () => {
  const suites = parsePolicySuites(POLICY);
  const pkgs = kernelPackagesFrom(SPLIT, 'cloud-amd64', new Set(['7.2.13+deb14-cloud-amd64=7.2.13-1']), suites);
  const by = (series: string) => pkgs.filter((p) => p.series === series);
  it('reads the suites of each version from apt-cache policy', () => {
    expect(suites.get('linux-image-6.19.14+deb13-cloud-amd64=6.19.14-1~bpo13+1')).toEqual(['trixie-backports', 'sid']);
    expect(suites.get('linux-image-7.2.13+deb14-cloud-amd64=7.2.13-1')).toEqual(['sid']);
  });
  it('takes a whole image package alone; its config is in it', () => {
    expect(by('6.16')).toMatchObject([{ debs: ['linux-image-6.16.12+deb13-cloud-amd64=6.16.12-1~bpo13+1'], missing: [], fetchable: true, hasConfig: true }]);
  });
  it('fetches an image whose linux-base the mirror lacks; a whole image has its own config', () => {
    expect(by('6.18')).toMatchObject([
      { debs: ['linux-image-6.18.15+deb13-cloud-amd64=6.18.15-1~bpo13+1'], missing: ['linux-base-6.18.15+deb13-cloud-amd64=6.18.15-1~bpo13+1'], fetchable: true, hasConfig: true, size: 49146196 },
    ]);
  });
  it('adds linux-binary to a stub image, never linux-modules, and lists a version in two suites once', () => {
    expect(by('6.19')).toHaveLength(1);
    expect(by('6.19')[0]).toMatchObject({
      debs: ['linux-image-6.19.14+deb13-cloud-amd64=6.19.14-1~bpo13+1', 'linux-binary-6.19.14+deb13-cloud-amd64=6.19.14-1~bpo13+1'],
      missing: ['linux-base-6.19.14+deb13-cloud-amd64=6.19.14-1~bpo13+1'],
      suites: ['trixie-backports', 'sid'],
      fetchable: true,
      hasConfig: false,
      size: 2072 + 13000000,
    });
  });
  it('takes image, binary and base when all are there', () => {
    expect(by('7.2')[0]).toMatchObject({ debs: [expect.stringMatching(/^linux-image-/), 'linux-base-7.2.13+deb14-cloud-amd64=7.2.13-1', 'linux-binary-7.2.13+deb14-cloud-amd64=7.2.13-1'], hasConfig: true, cached: true });
  });
  it('never picks a stub whose vmlinuz is not on the mirror: the newest fetchable one wins', () => {
    expect(by('7.1').map((p) => [p.upstream, p.fetchable])).toEqual([['7.1.13', true], ['7.1.99', false]]);
    expect(pickKernel(pkgs, '7.1')?.version).toBe('7.1.13-1~bpo13+1');
    expect(pickKernel(pkgs, '7.1.99')).toBeNull();
  });
  it('sums up each series: newest fetchable package and what is cached', () => {
    expect(kernelSeries(pkgs).map((s) => [s.series, s.newest.upstream, s.count, s.cached?.release ?? null])).toEqual([
      ['6.16', '6.16.12', 1, null],
      ['6.18', '6.18.15', 1, null],
      ['6.19', '6.19.14', 1, null],
      ['7.1', '7.1.13', 2, null],
      ['7.2', '7.2.13', 1, '7.2.13+deb14-cloud-amd64'],
    ]);
  });
});

describe('mirror discovery', () => {
  it('takes the main Debian archive from deb822 and one-line sources, never security or third parties', () => {
    const d = parseDeb822Sources(`Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main

Types: deb
# a comment
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /nonexistent/key.gpg
`);
    expect(pickDebianMirror(d)).toEqual({ uri: 'http://mirror.example/debian', keyring: '/usr/share/keyrings/debian-archive-keyring.gpg' });
    const l = parseOneLineSources(`deb [arch=amd64] https://deb.nodesource.example/node_20.x nodistro main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://other.example/debian trixie main # x
`);
    expect(pickDebianMirror(l)?.uri).toBe('http://other.example/debian');
  });
  it("uses this machine's configured mirror", () => {
    const m = systemDebianMirror();
    const etc = ['/etc/apt/sources.list', ...readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f))]
      .filter((f) => existsSync(f) && statSync(f).isFile())
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(etc).toContain(m.uri);
  });
});

describe('fetching Debian kernels from the mirror', () => {
  it('lists 6.1, 6.12 and 7.x cloud kernels', async () => {
    const l = await listKernels();
    const majors = new Set(l.map((p) => /^\d+\.\d+/.exec(p.upstream)![0]));
    expect(majors).toContain('6.1');
    expect(majors).toContain('6.12');
    expect([...majors].some((v) => v.startsWith('7.'))).toBe(true);
    expect(l.every((p) => p.release.endsWith('-cloud-amd64'))).toBe(true);
  }, 300_000);

  for (const v of ['6.12', '6.1', '7.3']) {
    it(`fetches ${v}: a bootable bzImage of that release and its config, cached with a manifest`, async () => {
      const t0 = Date.now();
      const k = await fetchKernel(v);
      const ms = Date.now() - t0;
      console.log(`fetch ${v} -> ${k.release} (${k.version}): ${ms} ms`);
      expect(readBzImage(k.vmlinuz)?.release).toBe(k.release);
      expect(k.release.startsWith(v + (v === '6.1' ? '.0-' : '.'))).toBe(true);
      expect(readFileSync(k.config!, 'utf8')).toMatch(/^CONFIG_MMU=y$/m);
      const m = cachedKernels().find((c) => c.release === k.release)!;
      expect(m.version).toBe(k.version);
      expect(k.vmlinuz.startsWith(cacheRoot())).toBe(true);
      // the second time it comes from the cache, without downloading
      const t1 = Date.now();
      expect(await fetchKernel(k.release)).toEqual(k);
      expect(Date.now() - t1).toBeLessThan(2000);
    }, 600_000);
  }

  it('says clearly when no package matches', async () => {
    await expect(fetchKernel('9.99')).rejects.toThrow(CannotTestError);
    await expect(fetchKernel('9.99')).rejects.toThrow(/no cloud-amd64 kernel package matches "9.99".*versions offered: .*6\.12/);
  }, 300_000);

  it('accepts any bzImage with --kernel-image and names it by its own release', async () => {
    const k = await fetchKernel('6.12');
    const img = kernelFromImage(k.vmlinuz);
    expect(img).toMatchObject({ version: 'custom', release: k.release, vmlinuz: k.vmlinuz, config: k.config });
    expect(() => kernelFromImage('/etc/hostname')).toThrow(/not an x86 bzImage/);
    expect(() => kernelFromImage('/nonexistent/bzImage')).toThrow(/no such file/);
  }, 300_000);
});

// The CLI as a user runs it (npm test builds first).
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const fetchDoc = z.object({
  vmafuzz: z.literal(2),
  exitCode: z.number(),
  kernels: z.array(z.object({ query: z.string(), ok: z.boolean(), release: z.string().optional(), config: z.string().nullable().optional(), error: z.string().optional() })),
});

describe('a series whose linux-base the mirror lacks', () => {
  it('is fetched without a config, each version of the command independently of a failing one', async () => {
    // the smallest such series on the mirror today (6.19, 7.0 and 7.1 when this was written)
    const l = await listKernels();
    const lacking = kernelSeries(l)
      .map((s) => s.newest)
      .filter((p) => p.missing.some((m) => m.startsWith('linux-base-')))
      .sort((a, b) => a.size - b.size);
    expect(lacking.length).toBeGreaterThan(0);
    const p = lacking[0]!;
    const r = await execa(process.execPath, [CLI, 'kernels', 'fetch', '9.99', p.series, '--json'], { reject: false });
    expect(r.exitCode).toBe(125); // 9.99 failed, and said so, but did not stop the other
    const doc = fetchDoc.parse(JSON.parse(r.stdout));
    expect(doc.exitCode).toBe(125);
    expect(doc.kernels.map((k) => [k.query, k.ok])).toEqual([['9.99', false], [p.series, true]]);
    expect(doc.kernels[0]!.error).toMatch(/no cloud-amd64 kernel package matches "9.99"/);
    const got = doc.kernels[1]!;
    expect(got).toMatchObject({ release: p.release, config: null });
    const k = await fetchKernel(p.release);
    expect(readBzImage(k.vmlinuz)?.release).toBe(p.release);
    expect(k.config).toBeNull();
    expect(cachedKernels().find((m) => m.release === p.release)).toMatchObject({ version: p.version, config: null });
  }, 600_000);
});
