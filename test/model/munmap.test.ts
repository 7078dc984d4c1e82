// munmap: mm/vma.c:do_vmi_munmap, vms_gather_munmap_vmas (splits, map_count limit).
import { describe, expect, it } from 'vitest';
import { expectLayout, mmap, mprotect, munmap, world } from './helpers.js';

const EINVAL = 22;
const ENOMEM = 12;

describe('munmap', () => {
  it('splits at both ends and removes everything in between, holes included', () => {
    //      0123456789ab
    //      AAAA BBB CCC
    // munmap(A+2p, 8p)
    // ->   AA        CC
    const w = world(12).ok(mmap(0, 4, 'rw', 'fixed'), mmap(5, 3, 'r', 'fixed'), mmap(9, 3, 'rw', 'fixed'), munmap(2, 8));
    expectLayout(w, 'AA........CC');
    expect(w.hits).toEqual(expect.arrayContaining(['munmap.split_start', 'munmap.split_end', 'munmap.removed']));
    expect(w.vma(10).pgoff).toBe(10);
  });

  it('unmapping the middle of a VMA leaves two pieces that do not re-merge by themselves', () => {
    const w = world(10).ok(mmap(0, 10, 'rw', 'fixed'), munmap(4, 2));
    expectLayout(w, 'AAAA..BBBB');
    w.ok(mmap(4, 2, 'rw', 'fixed'));
    expectLayout(w, 'AAAAAAAAAA');
  });

  it('returns 0 when nothing is mapped', () => {
    const w = world(10);
    expect(w.errno(munmap(0, 4))).toBe(0);
    expect(w.hits).toEqual(['munmap.nothing']);
  });

  it('errno: unaligned address, zero length, length beyond TASK_SIZE', () => {
    const w = world(10).ok(mmap(0, 4, 'rw', 'fixed'));
    expect(w.errno(munmap(0, 1, 0x10))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.munmap.unaligned']);
    expect(w.errno(munmap(0, 0n))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.munmap.len_zero']);
    expect(w.errno(munmap(0, (1n << 64n) - 1n))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.munmap.len_range']);
    // an unaligned length is rounded up
    w.ok(munmap(0, 4097n));
    expectLayout(w, '..AA');
  });

  it('map_count limit: only a split strictly inside one VMA fails, with nothing changed', () => {
    // base 0 + 3 arena VMAs; limit 3: an interior munmap would need a 4th
    const w = world(12, { maxMapCount: 3 }).ok(mmap(0, 2, 'rw', 'fixed'), mmap(3, 4, 'rw', 'fixed'), mmap(8, 2, 'rw', 'fixed'));
    expect(w.errno(munmap(4, 2))).toBe(ENOMEM);
    expect(w.hits).toEqual(['errno.munmap.map_count']);
    expectLayout(w, 'AA.BBBB.CC');
    // splitting at one end only is always allowed (net count does not grow)
    w.ok(munmap(5, 2));
    expectLayout(w, 'AA.BB...CC');
    // spanning two VMAs with splits at both ends is allowed too
    w.ok(mmap(5, 2, 'r', 'fixed'));
    expect(w.mm.mapCount).toBe(4);
    w.ok(munmap(4, 2));
    expectLayout(w, 'AA.B..B.CC');
  });

  it('munmap counts VMAs outside the arena towards map_count (base_map_count)', () => {
    const w = world(12, { maxMapCount: 10, baseMapCount: 9 }).ok(mmap(0, 6, 'rw', 'fixed'));
    expect(w.errno(munmap(2, 2))).toBe(ENOMEM);
    const v = world(12, { maxMapCount: 10, baseMapCount: 8 }).ok(mmap(0, 6, 'rw', 'fixed'));
    expect(v.errno(munmap(2, 2))).toBe(0);
  });

  it('a split VMA keeps its flags and anon_vma on both sides', () => {
    const w = world(10).ok(mmap(0, 6, 'rw', 'fixed', 'noreserve'), mprotect(0, 6, 'r'), munmap(2, 2));
    expectLayout(w, 'AA..BB', { A: 'r--p nr', B: 'r--p nr' });
  });
});
