// mseal: mm/mseal.c, and what a seal refuses: mm/vma.c:vms_gather_munmap_vmas (munmap, MAP_FIXED),
// mm/mprotect.c:mprotect_fixup, mm/madvise.c:can_madvise_modify.
import { describe, expect, it } from 'vitest';
import { makeProfile } from '../../src/model/index.js';
import { expectLayout, mmap, mprotect, munmap, world } from './helpers.js';
import { madvise, mseal } from './helpers-mem.js';

const EPERM = 1;
const ENOMEM = 12;
const EINVAL = 22;
const ENOSYS = 38;

describe('mseal', () => {
  it('checks flags, alignment, wrap and holes before sealing anything', () => {
    const w = world(8).ok(mmap(0, 3, 'rw', 'fixed'), mmap(4, 4, 'rw', 'fixed'));
    expect(w.errno(mseal(0, 1, 1))).toBe(EINVAL);
    expect(w.errno(mseal(0, 1, 0, 1))).toBe(EINVAL);
    expect(w.errno(mseal(0, (1n << 64n) - 1n))).toBe(EINVAL);
    expect(w.errno(mseal(6, 0n))).toBe(0);
    expect(w.errno(mseal(0, 8))).toBe(ENOMEM);
    expect(w.hits).toEqual(['errno.mseal.hole']);
    expectLayout(w, 'AAA.BBBB', { A: '!sl', B: '!sl' });
    expect(world(4, makeProfile('6.1.158', { base_map_count: '0', thp: 'madvise' })).errno(mseal(0, 1))).toBe(ENOSYS);
  });

  it('seals by merge-then-split: sealed VMAs merge only with sealed neighbours', () => {
    //      01234567
    //      AAAAAAAA   mseal(A+2p, 2p), mseal(A+4p, 2p)
    // ->   AABBBBCC   the second range merges into the first ("sl" is an ordinary flag)
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), mseal(2, 2), mseal(4, 2));
    expectLayout(w, 'AABBBBCC', { A: '!sl', B: 'sl', C: '!sl' });
    w.ok(mseal(2, 4));
    expect(w.hits).toEqual(['mseal.already']);
  });

  it('munmap and MAP_FIXED over a sealed VMA: EPERM, with the start split already done', () => {
    //      01234567
    //      AABBCCCC   B sealed; munmap(A+1p, 4p) splits A at 1, then refuses
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), mseal(2, 2));
    expect(w.errno(munmap(1, 4))).toBe(EPERM);
    expectLayout(w, 'ADBBCCCC', { A: '!sl', D: '!sl', B: 'sl' });
    expect(w.run(mmap(4, 2, 'r', 'fixed')).errno).toBe(0); // C is not sealed
    expect(w.run(mmap(3, 2, 'r', 'fixed')).errno).toBe(EPERM);
    expect(w.hits).toContain('errno.mmap.fixed_sealed');
    // a sealed VMA that would need a start split refuses before the split
    expect(w.errno(munmap(3, 1))).toBe(EPERM);
    expectLayout(w, 'ADBBEECC');
  });

  it('mprotect: the VMAs before the sealed one are changed, then EPERM', () => {
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), mseal(4, 2));
    expect(w.errno(mprotect(0, 8, 'r'))).toBe(EPERM);
    expect(w.hits).toContain('errno.mprotect.sealed');
    expectLayout(w, 'AAAABBCC', { A: 'r--p', B: 'rw-p sl', C: 'rw-p' });
  });

  it('madvise: discards refused on read-only anonymous sealed memory only', () => {
    const w = world(8).ok(mmap(0, 4, 'r', 'fixed'), mmap(4, 4, 'r', 'fixed', 'shared'), mseal(0, 8));
    expect(w.errno(madvise(0, 4, 'MADV_DONTNEED'))).toBe(EPERM);
    expect(w.errno(madvise(0, 4, 'MADV_WIPEONFORK'))).toBe(EPERM);
    expect(w.errno(madvise(0, 4, 'MADV_HUGEPAGE'))).toBe(0); // not a discard: may even split the sealed VMA
    expect(w.errno(madvise(4, 4, 'MADV_DONTNEED'))).toBe(0); // shmem is not anonymous
  });
});
