// The xfs/btrfs modules a QEMU guest gets (src/kernels/fsmodules.ts): dependency order from each
// module's .modinfo, taken from the real Debian 7.3 and 6.1 packages, and the initramfs entries.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureFsModules, loadOrder, modinfoDepends } from '../src/kernels/fsmodules.js';
import { fetchKernel } from '../src/kernels/index.js';
import { moduleEntries } from '../src/runner/qemu/initramfs.js';

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
