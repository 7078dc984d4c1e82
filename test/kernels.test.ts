// Kernel catalogue: Debian version order, version-string matching, mirror discovery from the
// machine's apt configuration, and real fetches of 6.1 (bookworm), 6.12 (trixie) and 7.3 (split
// linux-binary/linux-base packages) from that mirror.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDeb822Sources, parseOneLineSources, pickDebianMirror, parseRecords, systemDebianMirror } from '../src/kernels/apt.js';
import { readBzImage } from '../src/kernels/bzimage.js';
import { compareDebVersions } from '../src/kernels/debversion.js';
import { cacheRoot, cachedKernels, fetchKernel, kernelFromImage, kernelPackagesFrom, listKernels, pickKernel, versionMatches } from '../src/kernels/index.js';
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
    expect(p73.debs).toEqual([
      'linux-image-7.3.4+deb13-cloud-amd64=7.3.4-1~bpo13+1',
      'linux-base-7.3.4+deb13-cloud-amd64=7.3.4-1~bpo13+1',
      'linux-binary-7.3.4+deb13-cloud-amd64=7.3.4-1~bpo13+1',
    ]);
    expect(p73.size).toBe(1928 + 13030208); // linux-base has no record here: counted as 0
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
