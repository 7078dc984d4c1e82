// The xfs/btrfs modules a QEMU guest gets (src/kernels/fsmodules.ts): dependency order from each
// module's .modinfo, taken from the real Debian 7.3 and 6.1 packages, and the initramfs entries.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFsModules, loadOrder, modinfoDepends } from '../src/kernels/fsmodules.js';
import { fetchKernel } from '../src/kernels/index.js';
import { ensureInitramfs, moduleEntries } from '../src/runner/qemu/initramfs.js';

describe('module load order', () => {
  it('puts dependencies first, each once, and refuses a cycle', () => {
    const g: Record<string, string[]> = { btrfs: ['xor', 'raid6_pq', 'libcrc32c'], raid6_pq: ['xor'], xor: [], libcrc32c: [] };
    expect(loadOrder('btrfs', (m) => g[m] ?? [])).toEqual(['xor', 'raid6_pq', 'libcrc32c', 'btrfs']);
    expect(() => loadOrder('a', (m) => (m === 'a' ? ['b'] : ['a']))).toThrow(/cycle: a -> b -> a/);
  });

  it('reads depends= from .modinfo, normalising dashes', () => {
    const ko = Buffer.from('\x7fELF...\0license=GPL\0depends=xor,raid6-pq,libcrc32c\0vermagic=7.3\0');
    expect(modinfoDepends(ko)).toEqual(['xor', 'raid6_pq', 'libcrc32c']);
    expect(modinfoDepends(Buffer.from('\0license=GPL\0depends=\0'))).toEqual([]);
  });
});

describe.each(['7.3', '6.1'])('the modules of Debian %s', (version) => {
  it('are decompressed ELF files with their signature, dependencies before dependants', async () => {
    const image = await fetchKernel(version);
    const m = (await ensureFsModules(image, () => {}))!;
    expect(m.manifest.release).toBe(image.release);
    for (const fs of ['xfs', 'btrfs'] as const) {
      const files = m.manifest.kinds[fs];
      expect(files.at(-1)).toBe(`${fs}.ko`);
      const pos = new Map(files.map((f, i) => [f.replace(/\.ko$/, ''), i]));
      for (const f of files) {
        const ko = readFileSync(join(m.dir, f));
        expect(ko.subarray(0, 4).toString('latin1'), f).toBe('\x7fELF');
        expect(ko.subarray(-40).toString('latin1'), f).toMatch(/~Module signature appended~\n?$/);
        for (const d of modinfoDepends(ko)) expect(pos.get(d), `${f} needs ${d}`).toBeLessThan(pos.get(f.replace(/\.ko$/, ''))!);
      }
    }
    expect(m.manifest.kinds.btrfs).toContain('raid6_pq.ko');
    const entries = moduleEntries({ kinds: { xfs: m.manifest.kinds.xfs.map((f) => join(m.dir, f)) } });
    expect(entries.map((e) => e.name)).toEqual(['modules', 'modules/xfs', ...m.manifest.kinds.xfs.map((f, i) => `modules/xfs/${String(i).padStart(2, '0')}-${f}`)]);
    expect(existsSync(join(m.dir, 'manifest.json'))).toBe(true);
  }, 600_000);
});

describe('initramfs cache key', () => {
  it('is the harness hash alone without modules (the name older runners use), else the hash of everything in it', () => {
    const d = mkdtempSync(join(tmpdir(), 'vmafuzz-initramfs-'));
    try {
      const bin = join(d, 'harness');
      writeFileSync(bin, 'not really a harness');
      const [a, b] = ['a.ko', 'b.ko'].map((f) => join(d, f));
      writeFileSync(a!, 'module a');
      writeFileSync(b!, 'module b');
      const plain = ensureInitramfs(bin, join(d, 'cache'));
      expect(basename(plain)).toBe(`harness-${createHash('sha256').update(readFileSync(bin)).digest('hex').slice(0, 16)}.cpio`);
      const withAb = ensureInitramfs(bin, join(d, 'cache'), { kinds: { btrfs: [a!, b!] } });
      const withBa = ensureInitramfs(bin, join(d, 'cache'), { kinds: { btrfs: [b!, a!] } });
      expect(new Set([plain, withAb, withBa]).size).toBe(3); // the load order is part of the contents
      expect(ensureInitramfs(bin, join(d, 'cache'), { kinds: { btrfs: [a!, b!] } })).toBe(withAb);
      const text = readFileSync(withAb).toString('latin1');
      expect(text.indexOf('modules/btrfs/00-a.ko')).toBeGreaterThan(0);
      expect(text.indexOf('modules/btrfs/01-b.ko')).toBeGreaterThan(text.indexOf('modules/btrfs/00-a.ko'));
      expect(text).toContain('module b');
      expect(readFileSync(plain).toString('latin1')).not.toContain('modules');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
