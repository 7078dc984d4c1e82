// madvise: mm/madvise.c:do_madvise, madvise_walk_vmas, madvise_vma_behavior, madvise_update_vma.
import { describe, expect, it } from 'vitest';
import { makeProfile, Unsupported } from '../../src/model/index.js';
import { expectLayout, mmap, mprotect, touch, world } from './helpers.js';
import { madvise, mlock, mseal, pm } from './helpers-mem.js';

const EPERM = 1;
const EAGAIN = 11;
const ENOMEM = 12;
const EACCES = 13;
const EFAULT = 14;
const EINVAL = 22;
const p61 = () => makeProfile('6.1.158', { base_map_count: '0', thp: 'madvise' });

describe('madvise errno before any VMA is looked at', () => {
  it('checks advice, alignment, wrap, then len 0 (mm/madvise.c:do_madvise)', () => {
    const w = world(10).ok(mmap(0, 4, 'rw', 'fixed'));
    expect(w.errno(madvise(0, 1, 26, 1))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.madvise.bad_advice']);
    expect(w.errno(madvise(0, 0n, 'MADV_DONTNEED', 1))).toBe(EINVAL); // unaligned wins over len 0
    expect(w.hits).toEqual(['errno.madvise.unaligned']);
    expect(w.errno(madvise(0, (1n << 64n) - 1n, 'MADV_DONTNEED'))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.madvise.len_wrap']);
    expect(w.errno(madvise(8, 0n, 'MADV_DONTNEED'))).toBe(0); // nothing mapped, but len 0
    expect(w.hits).toEqual(['madvise.len_zero']);
  });

  it('guard advice and THP advice depend on the kernel', () => {
    expect(world(4, makeProfile('6.12.107', { thp: 'madvise', base_map_count: '0' })).errno(madvise(0, 1, 'MADV_GUARD_INSTALL'))).toBe(EINVAL);
    expect(world(4, { thp: 'none' }).errno(madvise(0, 1, 'MADV_HUGEPAGE'))).toBe(EINVAL);
  });

  it('never predicts MADV_HWPOISON / MADV_SOFT_OFFLINE', () => {
    expect(() => world(4).run(madvise(0, 1, 100))).toThrow(Unsupported);
  });
});

describe('flag advice: merge-then-split (madvise_update_vma -> vma_modify_flags)', () => {
  it('splits around the range and merges back when the flags agree again', () => {
    //      01234567
    //      AAAAAAAA      madvise(A+2p, 2p, DONTFORK)
    // ->   AABBCCCC      B has "dc"
    // ->   AAAAAAAA      madvise(A+0p, 8p, DOFORK): B and C merge back into A
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), madvise(2, 2, 'MADV_DONTFORK'));
    expectLayout(w, 'AABBCCCC', { A: '!dc', B: 'dc', C: '!dc' });
    w.ok(madvise(0, 8, 'MADV_DOFORK'));
    expectLayout(w, 'AAAAAAAA', { A: '!dc' });
  });

  it('each advice sets or clears its flag', () => {
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'));
    const cases: Array<[Parameters<typeof madvise>[2], string]> = [
      ['MADV_HUGEPAGE', 'hg !nh'], ['MADV_NOHUGEPAGE', 'nh !hg'], ['MADV_SEQUENTIAL', 'sr !rr'], ['MADV_RANDOM', 'rr !sr'],
      ['MADV_NORMAL', '!rr !sr'], ['MADV_WIPEONFORK', 'wf'], ['MADV_KEEPONFORK', '!wf'], ['MADV_DONTDUMP', 'dd'],
      ['MADV_DODUMP', '!dd'], ['MADV_MERGEABLE', 'mg'], ['MADV_UNMERGEABLE', '!mg'],
    ];
    for (const [adv, spec] of cases) {
      w.ok(madvise(0, 8, adv));
      expectLayout(w, 'AAAAAAAA', { A: spec });
    }
  });

  it('unchanged flags skip the VMA: two identical neighbours stay apart until a change', () => {
    //      0123456789abcd
    //      AAAABBBBBBBBBB   identical VMAs left by an mprotect that failed at the map_count limit
    const w = world(14, { maxMapCount: 2 }).ok(mmap(0, 14, 'rw', 'fixed'));
    expect(w.errno(mprotect(4, 4, 'r'))).toBe(ENOMEM);
    w.ok(madvise(0, 14, 'MADV_NORMAL'));
    expect(w.hits).toEqual(['madvise.flags.unchanged']);
    expectLayout(w, 'AAAABBBBBBBBBB');
    // DONTDUMP changes A, then B merges into it (vma_merge_existing_range, no new VMA needed)
    w.ok(madvise(0, 14, 'MADV_DONTDUMP'));
    expectLayout(w, 'AAAAAAAAAAAAAA', { A: 'dd' });
  });

  it('a hole: the mapped parts are advised, then ENOMEM (madvise_walk_vmas)', () => {
    //      0123456789
    //      AAA...BBBB    madvise(A+1p, 8p, DONTDUMP) -> ENOMEM
    // ->   ACC...DDDB
    const w = world(10).ok(mmap(0, 3, 'rw', 'fixed'), mmap(6, 4, 'rw', 'fixed'));
    expect(w.errno(madvise(1, 8, 'MADV_DONTDUMP'))).toBe(ENOMEM);
    expect(w.hits).toContain('errno.madvise.hole');
    expectLayout(w, 'ACC...DDDB', { A: '!dd', C: 'dd', D: 'dd', B: '!dd' });
    // a range starting in a hole advises nothing before it
    expect(w.errno(madvise(3, 3, 'MADV_DONTDUMP'))).toBe(ENOMEM);
  });

  it('a split at the map_count limit is EAGAIN, the head split stays', () => {
    const w = world(14, { maxMapCount: 2 }).ok(mmap(0, 14, 'rw', 'fixed'));
    expect(w.errno(madvise(4, 4, 'MADV_DONTFORK'))).toBe(EAGAIN);
    expect(w.hits).toEqual(expect.arrayContaining(['split.head', 'split.map_count', 'errno.madvise.split_eagain']));
    expectLayout(w, 'AAAABBBBBBBBBB', { A: '!dc', B: '!dc' });
  });

  it('refuses WIPEONFORK on shared memory, KEEPONFORK and DODUMP on MAP_DROPPABLE', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed', 'shared'), mmap(4, 2, 'rw', 'fixed', 'droppable'));
    expect(w.errno(madvise(0, 2, 'MADV_WIPEONFORK'))).toBe(EINVAL);
    expect(w.errno(madvise(4, 2, 'MADV_KEEPONFORK'))).toBe(EINVAL);
    expect(w.errno(madvise(4, 2, 'MADV_DODUMP'))).toBe(EINVAL);
    expect(w.errno(madvise(4, 2, 'MADV_MERGEABLE'))).toBe(0); // ksm_compatible: silently ignored
    expect(w.errno(madvise(0, 2, 'MADV_MERGEABLE'))).toBe(0);
    expectLayout(w, 'AA..BB', { A: '!mg !wf', B: 'wf dd !mg' });
  });
});

describe('discarding advice', () => {
  it('DONTNEED zaps pages; VM_LOCKED refuses it, DONTNEED_LOCKED does not', () => {
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), touch(0, 'w'), touch(1, 'r'), touch(5, 'w'));
    expect(pm(w)).toBe('PP---P--');
    w.ok(madvise(0, 4, 'MADV_DONTNEED'));
    expect(pm(w)).toBe('-----P--');
    expect(w.anon(0)).not.toBe(0); // the anon_vma stays
    w.ok(mlock(4, 4));
    expect(w.errno(madvise(4, 4, 'MADV_DONTNEED'))).toBe(EINVAL);
    expect(w.hits).toContain('errno.madvise.locked');
    w.ok(madvise(4, 4, 'MADV_DONTNEED_LOCKED'));
    expect(pm(w)).toBe('--------');
  });

  it('FREE: written pages become lazy-free (reclaim may drop them), zero pages stay', () => {
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), mmap(4, 4, 'rw', 'fixed', 'shared'), touch(0, 'w'), touch(1, 'r'));
    w.ok(madvise(0, 4, 'MADV_FREE'));
    expect(pm(w)).toBe('?P------');
    expect(w.errno(madvise(4, 4, 'MADV_FREE'))).toBe(EINVAL);
    expect(w.hits).toContain('errno.madvise.free_not_anon');
  });

  it('REMOVE punches a hole in shared memory only', () => {
    //      01234567
    //      AAAABBBB   A private, B shared: B's pages 5 and 6 go, and leave the page cache
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), mmap(4, 4, 'rw', 'fixed', 'shared'));
    w.ok(touch(4, 'w'), touch(5, 'w'), touch(6, 'w'), touch(7, 'w'));
    expect(w.errno(madvise(0, 4, 'MADV_REMOVE'))).toBe(EINVAL);
    w.ok(madvise(5, 2, 'MADV_REMOVE'));
    expect(pm(w)).toBe('----P--P');
    // a read fault at 6 maps around it what the page cache still has: 4 and 7 are mapped already
    w.ok(touch(6, 'r'));
    expect(pm(w)).toBe('----P-PP');
    w.ok(mprotect(4, 4, 'r'));
    expect(w.errno(madvise(4, 4, 'MADV_REMOVE'))).toBe(0); // VM_MAYWRITE is what counts
    const ro = world(8).ok(mmap(0, 4, 'r', 'fixed', 'shared'));
    ro.vma(0).flags &= ~0x20; // a read-only file opened O_RDONLY has no VM_MAYWRITE
    expect(ro.errno(madvise(0, 4, 'MADV_REMOVE'))).toBe(EACCES);
  });

  it('a sealed VMA refuses discards when it is anonymous and read-only (can_madvise_modify)', () => {
    const w = world(8).ok(mmap(0, 4, 'r', 'fixed'), mmap(4, 4, 'rw', 'fixed'), mseal(0, 8));
    expect(w.errno(madvise(0, 4, 'MADV_DONTNEED'))).toBe(EPERM);
    expect(w.hits).toEqual(['errno.madvise.sealed']);
    expect(w.errno(madvise(0, 4, 'MADV_DONTFORK'))).toBe(EPERM);
    expect(w.errno(madvise(0, 4, 'MADV_GUARD_INSTALL'))).toBe(EPERM);
    expect(w.errno(madvise(0, 4, 'MADV_DONTDUMP'))).toBe(0); // not a discard
    expect(w.errno(madvise(4, 4, 'MADV_DONTNEED'))).toBe(0); // writable: allowed
  });

  it('COLD and PAGEOUT refuse VM_LOCKED; PAGEOUT makes written pages maybe-present', () => {
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), touch(0, 'w'), touch(1, 'r'));
    w.ok(madvise(0, 8, 'MADV_COLD'));
    expect(pm(w)).toBe('PP------');
    w.ok(madvise(0, 8, 'MADV_PAGEOUT'));
    expect(pm(w)).toBe('?P------');
    w.ok(mlock(0, 8));
    expect(w.errno(madvise(0, 8, 'MADV_PAGEOUT'))).toBe(EINVAL);
    expect(w.errno(madvise(0, 8, 'MADV_COLD'))).toBe(EINVAL);
    expect(w.errno(madvise(0, 8, 'MADV_WILLNEED'))).toBe(0);
  });
});

describe('MADV_POPULATE_READ / MADV_POPULATE_WRITE', () => {
  it('fault the range in: read maps the zero page, write prepares the anon_vma', () => {
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'));
    w.ok(madvise(0, 4, 'MADV_POPULATE_READ'));
    expect(pm(w)).toBe('PPPP----');
    expect(w.anon(0)).toBe(0);
    w.ok(madvise(2, 4, 'MADV_POPULATE_WRITE'));
    expect(pm(w)).toBe('PPPPPP--');
    expect(w.anon(0)).not.toBe(0);
  });

  it('stop with ENOMEM at a hole (7.3) where 6.1 walks on and reports it at the end', () => {
    //      01234567
    //      AA..BBBB     POPULATE_READ(A+0p, 8p)
    const mk = (p: ReturnType<typeof p61> | object) => world(8, p).ok(mmap(0, 2, 'rw', 'fixed'), mmap(4, 4, 'rw', 'fixed'));
    const w = mk({});
    expect(w.errno(madvise(0, 8, 'MADV_POPULATE_READ'))).toBe(ENOMEM);
    expect(pm(w)).toBe('PP------');
    const old = mk(p61());
    expect(old.errno(madvise(0, 8, 'MADV_POPULATE_READ'))).toBe(ENOMEM);
    expect(pm(old)).toBe('PP..PPPP'.replace(/\./g, '-'));
  });

  it('EINVAL without the access, EFAULT at a guard marker (pages before it populated)', () => {
    const w = world(8).ok(mmap(0, 4, 'r', 'fixed'), mmap(4, 4, 'rw', 'fixed'), madvise(6, 1, 'MADV_GUARD_INSTALL'));
    expect(w.errno(madvise(0, 4, 'MADV_POPULATE_WRITE'))).toBe(EINVAL);
    expect(w.errno(madvise(4, 4, 'MADV_POPULATE_WRITE'))).toBe(EFAULT);
    expect(pm(w)).toBe('----PPG-');
  });
});

describe('MADV_COLLAPSE', () => {
  it('EINVAL where no PMD THP is possible, 0 for a range without an aligned 2 MiB block', () => {
    const w = world(1024).ok(mmap(0, 1024, 'rw', 'fixed'));
    expect(w.errno(madvise(0, 1024, 'MADV_COLLAPSE'))).toBe(EINVAL); // no anon_vma yet
    w.ok(touch(3, 'w'));
    expect(w.errno(madvise(0, 100, 'MADV_COLLAPSE'))).toBe(0);
    expect(w.hits).toContain('madvise.collapse.nothing');
    expect(() => w.run(madvise(0, 1024, 'MADV_COLLAPSE'))).toThrow(Unsupported);
    w.ok(madvise(0, 1024, 'MADV_NOHUGEPAGE'));
    expect(w.errno(madvise(0, 1024, 'MADV_COLLAPSE'))).toBe(EINVAL);
  });
});

describe('page tables after MADV_DONTNEED (CONFIG_PT_RECLAIM)', () => {
  it('an emptied 2 MiB block is pmd_none again: the next read fault takes the THP path', () => {
    //   block 0 = pages 0..511 of a VM_HUGEPAGE VMA
    const w = world(1024).ok(mmap(0, 1024, 'rw', 'fixed'), madvise(0, 1024, 'MADV_HUGEPAGE'), touch(600, 'r'));
    expect(w.hits).toContain('fault.thp.read');
    w.ok(madvise(512, 512, 'MADV_DONTNEED'));
    expect(w.hits).toContain('pgtable.reclaimed');
    w.ok(touch(700, 'r'));
    expect(w.hits).toContain('fault.thp.read');
    // 6.12 keeps a PTE table it emptied (no reclaim_pt); a 4 KiB-populated block stays pmd-present
    const old = world(1024, makeProfile('6.12.107', { thp: 'madvise', base_map_count: '0' }));
    old.ok(mmap(0, 1024, 'rw', 'fixed'), touch(600, 'r'), madvise(0, 1024, 'MADV_HUGEPAGE'), madvise(512, 512, 'MADV_DONTNEED'), touch(700, 'r'));
    expect(old.hits).toContain('fault.read.zero_page_pmd_present');
  });
});
