// mlock, mseal and anon names on hugetlb VMAs (mm/mlock.c:mlock_fixup vma_supports_mlock,
// mm/mseal.c:mseal_apply, mm/madvise.c __MADV_SET_ANON_VMA_NAME), tools/testing/vma style: one
// character per 2 MiB block.
import { describe, expect, it } from 'vitest';
import { MAP } from '../../src/seq/consts.js';
import type { Call } from '../../src/seq/schema.js';
import { expectLayout, mmap, munmap, touch as touchAt, world } from './helpers.js';
import { makeProfile, Unsupported } from '../../src/model/index.js';
import { anonName, madvise, mlock, mlock2, munlock, mseal } from './helpers-mem.js';
import { mremap } from './helpers-files.js';

const HP = 512;
const EINVAL = 22;
const EPERM = 1;
const EBADF = 9;
const ENOMEM = 12;

function huge(block: number, blocks: number, prot: string, ...words: string[]): Call {
  const c = mmap(block * HP, blocks * HP, prot, 'fixed', ...words);
  return { ...c, flags: (c.flags | MAP.MAP_HUGETLB) >>> 0 } as Call;
}
const presentBlocks = (w: { mm: ReturnType<typeof world>['mm'] }) =>
  Array.from({ length: w.mm.arenaPages / HP }, (_, b) => (w.mm.pte.slice(b * HP, (b + 1) * HP).every((e) => e !== 0) ? 'P' : w.mm.pte.slice(b * HP, (b + 1) * HP).some((e) => e !== 0) ? '?' : '-')).join('');

describe('mlock on hugetlb', () => {
  it('never sets VM_LOCKED nor splits, but populates whole huge pages (ONFAULT too)', () => {
    // blocks  012
    //         AA.    mlock(A+1 block + 3p, 1p): no split off the grid, block 1 populated
    const w = world(3 * HP).ok(huge(0, 2, 'rw'));
    w.ok(mlock(HP + 3, 1));
    expect(w.hits).toContain('mlock.hugetlb_skipped');
    expectLayout(w, 'A'.repeat(2 * HP), { A: '!lo' });
    expect(presentBlocks(w)).toBe('-P-');
    w.ok(mlock2(5, 1, 1)); // MLOCK_ONFAULT: the VMA has no VM_LOCKONFAULT, so it is populated
    expect(presentBlocks(w)).toBe('PP-');
    w.ok(munlock(0, 2 * HP));
    expectLayout(w, 'A'.repeat(2 * HP), { A: '!lo' });
  });

  it('a PROT_NONE hugetlb VMA cannot be populated: ENOMEM (__mlock_posix_error_return of -EFAULT)', () => {
    const w = world(HP).ok(huge(0, 1, 'none'));
    expect(w.errno(mlock(0, 1))).toBe(ENOMEM);
  });
});

describe('mseal on hugetlb', () => {
  it('seals on the grid; off the grid the split is EINVAL and a head split already made stays', () => {
    // blocks  012
    //         AAA    mseal(A+1 block, 1p): head split at block 1 made, tail split at block 1 + 1p refused
    //      -> ABB
    const w = world(3 * HP, { mseal: true }).ok(huge(0, 3, 'rw'));
    expect(w.errno(mseal(HP, 1))).toBe(EINVAL);
    expect(w.hits).toContain('split.hugetlb_unaligned');
    expectLayout(w, 'A'.repeat(HP) + 'B'.repeat(2 * HP), { A: '!sl', B: '!sl' });
    //      -> ABC    mseal(block 2, 1 block): sealed; then munmap and mremap of it are EPERM
    w.ok(mseal(2 * HP, HP));
    expectLayout(w, 'A'.repeat(HP) + 'B'.repeat(HP) + 'C'.repeat(HP), { C: 'sl', B: '!sl' });
    expect(w.errno(munmap(2 * HP, HP))).toBe(EPERM);
    expect(w.errno(mremap(2 * HP, HP, 1))).toBe(EPERM);
  });
});

describe('anon names on hugetlb', () => {
  it('EBADF: a file VMA, not anonymous shmem (EINVAL where the kernel has no CONFIG_ANON_VMA_NAME)', () => {
    const w = world(HP, { anonVmaName: true }).ok(huge(0, 1, 'rw', 'shared'));
    expect(w.errno(anonName(0, 1, 'x'))).toBe(EBADF);
    expect(w.hits).toContain('errno.anon_name.file');
    const off = world(HP, { anonVmaName: false }).ok(huge(0, 1, 'rw'));
    expect(off.errno(anonName(0, 1, 'x'))).toBe(EINVAL);
  });
});

describe('fork with hugetlb VMAs (copy_hugetlb_page_range under vma_needs_copy)', () => {
  const fork = (): Call => ({ op: 'fork' });
  it('a faulted private VMA (anon_vma) is copied present; a shared one faults afresh in the child', () => {
    // blocks  012
    //         AB.    A private, B shared, both touched: the child sees A present, B empty
    const w = world(3 * HP).ok(huge(0, 1, 'rw'), huge(1, 1, 'rw', 'shared'), touchAt(3, 'r'), touchAt(HP + 3, 'w'));
    expect(w.vma(0).anonVma).not.toBe(0);
    expect(w.vma(HP).anonVma).toBe(0);
    w.ok(fork());
    expect(w.hits).toContain('fork.hugetlb');
    expect(w.cur).not.toBe(w.mm);
    expect(presentBlocks({ mm: w.cur } as never)).toBe('P--');
    // the child's own faults map whole huge pages again
    w.ok(touchAt(HP + 1, 'r'));
    expect(presentBlocks({ mm: w.cur } as never)).toBe('PP-');
  });

  it('a private read of a page a shared mapping of the same file cached prepares no anon_vma', () => {
    // a hugetlb memfd mapped shared (A, touched) and private (B, read): B maps the cached page as it
    // is, no anon_vma, so the child gets no entries for it
    const w = world(2 * HP);
    w.mm.sys.declareFiles([{ kind: 'hugetlb', size: BigInt(HP) * 4096n }]);
    const fmap = (block: number, ...words: string[]) => ({ ...mmap(block * HP, HP, 'rw', 'fixed', 'noanon', ...words), fd: 0 }) as Call;
    w.ok(fmap(0, 'shared'), touchAt(1, 'w'), fmap(1), touchAt(HP + 1, 'r'));
    expect(w.vma(HP).anonVma).toBe(0);
    w.ok(fork());
    expect(presentBlocks({ mm: w.cur } as never)).toBe('--');
  });

  it('is declined when copy-on-write could need more huge pages than the pool has free', () => {
    // 6 private huge pages: up to 18 pages with the copies, 16 free
    const w = world(6 * HP, { hugepagesFree: 16 }).ok(huge(0, 6, 'rw'));
    expect(() => w.run(fork())).toThrow(Unsupported);
  });
});

describe('flag advice on hugetlb (the ordinary madvise_update_vma path)', () => {
  const adv = (page: number, pages: number, a: Parameters<typeof madvise>[2]) => madvise(page, pages, a);
  it('a split off the grid is EINVAL, on the grid the flags are set; DODUMP allowed, WIPEONFORK EINVAL, MERGEABLE ignored', () => {
    // blocks  012
    //         AAA    DONTDUMP(1p): EINVAL (hugetlb_vm_op_split), not EAGAIN
    //      -> ABC    DONTFORK block 1, HUGEPAGE block 2
    const w = world(3 * HP).ok(huge(0, 3, 'rw'));
    expect(w.errno(adv(0, 1, 'MADV_DONTDUMP'))).toBe(EINVAL);
    w.ok(adv(HP, HP, 'MADV_DONTFORK'), adv(2 * HP, HP, 'MADV_HUGEPAGE'));
    expectLayout(w, 'A'.repeat(HP) + 'B'.repeat(HP) + 'C'.repeat(HP), { A: '!dc !hg', B: 'dc', C: 'hg' });
    w.ok(adv(0, 3 * HP, 'MADV_DONTDUMP'), adv(0, HP, 'MADV_DODUMP'), adv(0, 3 * HP, 'MADV_MERGEABLE'));
    expectLayout(w, 'A'.repeat(HP) + 'B'.repeat(HP) + 'C'.repeat(HP), { A: '!dd !mg', B: 'dd !mg', C: 'dd' });
    expect(w.errno(adv(0, HP, 'MADV_WIPEONFORK'))).toBe(EINVAL);
    w.ok(adv(2 * HP, 1, 'MADV_POPULATE_WRITE'));
    expect(presentBlocks(w)).toBe('--P');
  });

  it('MADV_DOFORK: 0 on 6.18 (VM_IO only), EINVAL from 7.0 (VM_SPECIAL; row madvise.dofork_special)', () => {
    const w618 = world(HP).ok(huge(0, 1, 'rw'), adv(0, HP, 'MADV_DONTFORK'));
    expect(w618.errno(adv(0, HP, 'MADV_DOFORK'))).toBe(0);
    expectLayout(w618, 'A'.repeat(HP), { A: '!dc' });
    const w73 = world(HP, makeProfile('7.3.4', { base_map_count: '0', thp: 'madvise', hugepages_free: '20' })).ok(huge(0, 1, 'rw'), adv(0, HP, 'MADV_DONTFORK'));
    expect(w73.errno(adv(0, HP, 'MADV_DOFORK'))).toBe(EINVAL);
    expect(w73.hits).toContain('errno.madvise.hugetlb_dofork');
  });
});

describe('MADV_REMOVE on hugetlb (hugetlbfs_punch_hole)', () => {
  it('punches whole huge pages only, from every mapping of the file, private copies included', () => {
    // blocks  012345
    //         SSPPQQ   one hugetlb memfd of 2 blocks: S shared, P private (block 0 written: a copy),
    //                  Q private (read: the file's pages)
    const w = world(6 * HP);
    w.mm.sys.declareFiles([{ kind: 'hugetlb', size: BigInt(2 * HP) * 4096n }]);
    const fmap = (block: number, ...words: string[]) => ({ ...mmap(block * HP, 2 * HP, 'rw', 'fixed', 'noanon', ...words), fd: 0 }) as Call;
    w.ok(fmap(0, 'shared'), fmap(2, 'noreserve'), fmap(4, 'noreserve'));
    w.ok(touchAt(0, 'w'), touchAt(HP, 'w'), touchAt(2 * HP, 'w'), touchAt(4 * HP, 'r'), touchAt(5 * HP, 'r'));
    expect(presentBlocks(w)).toBe('PPP-PP');
    // one page: no whole huge page inside, nothing unmapped
    w.ok(madvise(0, 1, 'MADV_REMOVE'));
    expect(w.hits).toContain('madvise.hugetlb.remove_partial');
    expect(presentBlocks(w)).toBe('PPP-PP');
    // block 0 + 1 page: block 0 goes from S, P (the copy too) and Q
    w.ok(madvise(0, HP + 1, 'MADV_REMOVE'));
    expect(w.hits).toContain('madvise.hugetlb.remove');
    expect(presentBlocks(w)).toBe('-P---P');
    expect(w.errno(madvise(2 * HP, HP, 'MADV_REMOVE'))).toBe(13); // EACCES: private
  });
});
