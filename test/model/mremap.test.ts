// mremap: shrink, grow in place, moves (page offset reset or kept), MREMAP_FIXED, DONTUNMAP,
// multi-VMA moves, errnos, and what a move does to a userfaultfd registration.
import { describe, expect, it } from 'vitest';
import { makeProfile } from '../../src/model/index.js';
import { expectLayout, mmap, mprotect, touch, world } from './helpers.js';
import { fmmap, fork, memfd, mremap, pm, uffdCreate, uffdRegister, withFiles } from './helpers-files.js';

const EFAULT = 14;
const EINVAL = 22;
const ENOMEM = 12;

describe('mremap in place', () => {
  it('shrinks (unmapping the tail, across VMAs) and is a no-op at the same size', () => {
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), mprotect(3, 1, 'r'));
    expect(w.run(mremap(0, 4, 1)).ret).toEqual({ kind: 'addr', page: 0, off: 0 });
    expectLayout(w, 'A');
    w.ok(mremap(0, 1, 1));
    expect(w.hits).toEqual(['mremap.noop']);
  });

  it('grows in place into free space and merges with a compatible next VMA', () => {
    //      AA..BB -> AAAAAA
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), mmap(4, 2, 'rw', 'fixed'), mremap(0, 2, 4));
    expectLayout(w, 'AAAAAA');
    expect(w.hits).toEqual(expect.arrayContaining(['mremap.expand', 'merge.new.both']));
  });

  it('grows a fork child\'s VMA in place on every kernel: the extension carries the VMA\'s own anon_vma', () => {
    //      AAAA.... (fork child, inherited anon_vma) -> AAAAAAA.
    // 7.3 vma_merge_extend and 6.1 vma_merge(mm, vma, extension_start, ..., vma->anon_vma, ...)
    // (6.1 mm/mremap.c): not __mmap_region's NULL anon_vma, which a fork child's VMA refuses.
    // corpus/seed/mremap-expand-fork-child.json replays it on 6.1 and the host.
    for (const p of [makeProfile('6.1.176', { base_map_count: '0' }), makeProfile('7.3.4', { base_map_count: '0' })]) {
      const w = world(8, p).ok(mmap(0, 4, 'w', 'fixed'), touch(3, 'w'), fork(), mremap(3, 1, 4, ['maymove']));
      expectLayout(w, 'AAAAAAA.');
      expect(w.hits).toContain('mremap.expand');
    }
  });

  it('cannot grow in place over a neighbour: ENOMEM, or a move with MREMAP_MAYMOVE', () => {
    const w = world(16).ok(mmap(0, 2, 'rw', 'fixed'), mmap(2, 1, 'r', 'fixed'));
    expect(w.errno(mremap(0, 2, 3))).toBe(ENOMEM);
    const r = w.run(mremap(0, 2, 3, ['maymove']));
    expect(r.ret).toEqual({ kind: 'addr', page: 13, off: 0 }); // top-down in the arena
    expectLayout(w, '..B..........AAA');
  });
});

describe('mremap moves', () => {
  it('an unfaulted VMA gets the destination page offset and merges there', () => {
    //      AA..BB    move A (unfaulted) right before B: pgoff reset -> one VMA
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), mmap(4, 2, 'rw', 'fixed'), mremap(0, 2, 2, ['maymove', 'fixed'], 2));
    expectLayout(w, '..AAAA');
    expect(w.hits).toContain('mremap.move.pgoff_reset');
  });

  it('a faulted VMA keeps its page offset: no merge at the destination, but it re-merges when moved back', () => {
    //      AAAA     write page 1, move [1,2) away and back
    const w = world(16).ok(mmap(0, 4, 'rw', 'fixed'), touch(1, 'w'), mremap(1, 1, 1, ['maymove', 'fixed'], 8));
    expectLayout(w, 'A.BB....C');
    expect(w.hits).toContain('mremap.move.pgoff_kept');
    w.ok(mmap(9, 1, 'rw', 'fixed'));
    expectLayout(w, 'A.BB....CD'); // pgoff 1 then 9: not contiguous
    w.ok(mremap(8, 1, 1, ['maymove', 'fixed'], 1));
    expectLayout(w, 'AAAA.....B');
    expect(pm(w)).toBe('-P');
  });

  it('MREMAP_FIXED unmaps the destination first; the page tables move with the VMA', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), touch(0, 'w'), mmap(4, 3, 'r', 'fixed'), mremap(0, 2, 2, ['maymove', 'fixed'], 5));
    expectLayout(w, '....ABB', { A: 'r--p', B: 'rw-p' });
    expect(pm(w)).toBe('-----P');
  });

  it('MREMAP_DONTUNMAP with both addresses PMD-aligned takes whole PMD entries: the kept source faults afresh', () => {
    //   block 0       block 1       block 2
    //   AAAAAAAAAAAA  ............  ............   THP read fault in block 0 (a huge PMD)
    //   AAAAAAAAAAAA  ............  BBBBBBBBBBBB   DONTUNMAP to block 2: the PMD entry moves,
    //   the kept source has no page table, so its next read fault takes the THP path again
    const always = { thp: 'always' as const, base_map_count: 0 };
    const w = world(1536, always).ok(mmap(0, 512, 'rw', 'fixed'), touch(0, 'r'), mremap(0, 512, 512, ['maymove', 'fixed', 'dontunmap'], 1024));
    expect(w.hits).toContain('mremap.dontunmap.pmd_moved');
    w.ok(touch(3, 'r'));
    expect(w.hits).toContain('fault.thp.read');
    // a destination off the PMD grid: extents stop at its boundaries, PTEs move, the table stays
    const v = world(1536, always).ok(mmap(0, 512, 'rw', 'fixed'), touch(0, 'r'), mremap(0, 512, 512, ['maymove', 'fixed', 'dontunmap'], 1000));
    expect(v.hits).not.toContain('mremap.dontunmap.pmd_moved');
    v.ok(touch(3, 'r'));
    expect(v.hits).toContain('fault.read.zero_page_pmd_present');
  });

  it('MREMAP_DONTUNMAP keeps the emptied source; a whole VMA loses its anon_vma; no self-merge', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), touch(0, 'w'), mremap(0, 2, 2, ['maymove', 'fixed', 'dontunmap'], 2));
    //      AABB   B holds the pages, A is empty and unfaulted again
    expectLayout(w, 'AABB');
    expect(w.anon(0)).toBe(0);
    expect(pm(w)).toBe('--P');
    // an unfaulted source right next to its destination does not absorb it (6.12 and 7.3 copy_vma;
    // the 6.18.44 host merges: corpus/regression/mremap-dontunmap-self-merge.json)
    const v = world(8).ok(mmap(0, 2, 'rw', 'fixed'), mremap(1, 1, 1, ['maymove', 'fixed', 'dontunmap'], 2));
    expectLayout(v, 'AAB');
  });

  it('DONTUNMAP of part of an mlocked VMA splits it first: only the moved part loses VM_LOCKED', () => {
    //      AAAB..C   A stays locked, B (the kept, emptied source) is unlocked, C (the copy) locked
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed', 'locked'), mremap(3, 1, 1, ['maymove', 'fixed', 'dontunmap'], 6));
    expectLayout(w, 'AAAB..C', { A: 'lo', B: '!lo', C: 'lo' });
    expect(pm(w)).toBe('PPP---P');
  });

  it('the emptied DONTUNMAP source gets pgoff = its address again, so it merges like any unfaulted VMA', () => {
    //      AA......BB    A moved here from A+8p (faulted: pgoff 8), then DONTUNMAP'ed to A+12p
    const w = world(16).ok(
      mmap(8, 2, 'rw', 'fixed'), touch(8, 'w'), mremap(8, 2, 2, ['maymove', 'fixed'], 0),
      mremap(0, 2, 2, ['maymove', 'fixed', 'dontunmap'], 12), mmap(2, 2, 'rw', 'fixed'),
    );
    // the 6.18.44 host keeps pgoff 8 and shows AABB here: corpus/regression/mremap-dontunmap-pgoff.json
    expectLayout(w, 'AAAA........BB');
  });

  it('moves several VMAs at once (6.17+), keeping the gaps; older kernels EFAULT', () => {
    //      AA.B....  -> ....AA.B
    const seq = [mmap(0, 2, 'rw', 'fixed'), mmap(3, 1, 'r', 'fixed'), mremap(0, 4, 4, ['maymove', 'fixed'], 4)];
    const w = world(8).ok(...seq);
    expectLayout(w, '....AA.B');
    expect(w.hits).toContain('mremap.multi');
    const old = world(8, makeProfile('6.12.107', { base_map_count: '0' }));
    old.ok(seq[0]!, seq[1]!);
    expect(old.errno(seq[2]!)).toBe(EFAULT);
  });
});

describe('mremap errnos', () => {
  it('checks parameters first, then the VMA', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'));
    expect(w.errno(mremap(0, 1, 1, ['8']))).toBe(EINVAL); // unknown flag
    expect(w.errno(mremap(0, 1, 0))).toBe(EINVAL);
    expect(w.errno(mremap(0, 1, 1, ['fixed'], 4))).toBe(EINVAL); // FIXED without MAYMOVE
    expect(w.errno(mremap(0, 1, 2, ['maymove', 'dontunmap'], 4))).toBe(EINVAL); // size change
    expect(w.errno(mremap(0, 2, 2, ['maymove', 'fixed'], 1))).toBe(EINVAL); // overlap
    expect(w.errno(mremap(4, 1, 2, ['maymove']))).toBe(EFAULT); // no VMA
    expect(w.errno(mremap(0, 3, 4, ['maymove']))).toBe(EFAULT); // old range leaves the VMA
    expect(w.errno(mremap(0, 0, 1, ['maymove']))).toBe(EINVAL); // duplicating a private mapping
  });
});

describe('mremap check order before 6.17 (row mremap.check_params_first)', () => {
  const p612 = () => makeProfile('6.12.117', { base_map_count: '0' });
  const p616 = () => makeProfile('6.16.12', { base_map_count: '0' });

  it('6.1-6.16 look the VMA up before the overlap check: EFAULT, not EINVAL', () => {
    const call = mremap(4, 1, 1, ['maymove', 'fixed'], 4); // nothing at 4, destination overlaps
    expect(world(8).errno(call)).toBe(EINVAL);
    expect(world(8, p612()).errno(call)).toBe(EFAULT);
    expect(world(8, p616()).errno(call)).toBe(EFAULT);
  });

  it('6.15/6.16 check new_addr alignment before the lookup, 6.12 after it', () => {
    const call = { ...mremap(4, 1, 1, ['maymove', 'fixed'], 6), newAddr: { page: 6, off: 0x10 } };
    expect(world(8, p616()).errno(call)).toBe(EINVAL);
    expect(world(8, p612()).errno(call)).toBe(EFAULT);
  });

  it('mremap_to unmaps the MREMAP_FIXED destination before vma_to_resize refuses the source', () => {
    //      AB......CC     mremap(A, 2 pages, 3 pages, FIXED -> 8) leaves A: EFAULT
    //      7.3:  AB......CC   (check_prep_vma first)
    //      6.12: AB.......... (destination already unmapped)
    const seq = [mmap(0, 1, 'rw', 'fixed'), mmap(1, 1, 'r', 'fixed'), mmap(8, 2, 'rw', 'fixed')];
    const call = mremap(0, 2, 3, ['maymove', 'fixed'], 8);
    const w = world(12).ok(...seq);
    expect(w.errno(call)).toBe(EFAULT);
    expectLayout(w, 'AB......CC');
    const old = world(12, p612()).ok(...seq);
    expect(old.errno(call)).toBe(EFAULT);
    expectLayout(old, 'AB');
    expect(old.hits).toContain('mremap.to_unmapped_then_failed');
  });

  it('new_len beyond TASK_SIZE without a move: 7.3 EINVAL; 6.12 returns addr at the same size, EINVAL (munmap) to shrink', () => {
    const huge = 1n << 48n; // bytes, beyond TASK_SIZE
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'));
    expect(w.errno(mremap(0, huge, huge))).toBe(EINVAL);
    const old = world(8, p612()).ok(mmap(0, 2, 'rw', 'fixed'));
    expect(old.run(mremap(0, huge, huge)).ret).toEqual({ kind: 'addr', page: 0, off: 0 });
    expect(old.errno(mremap(0, huge + 4096n, huge))).toBe(EINVAL);
    expect(old.errno(mremap(4, huge, huge))).toBe(EFAULT); // no VMA
    expectLayout(old, 'AA');
  });

  it('old_len 0 of a private mapping: EINVAL, after the destination is gone on 6.12', () => {
    const seq = [mmap(0, 1, 'rw', 'fixed'), mmap(8, 2, 'rw', 'fixed')];
    const call = mremap(0, 0, 1, ['maymove', 'fixed'], 8);
    const w = world(12).ok(...seq);
    expect(w.errno(call)).toBe(EINVAL);
    expectLayout(w, 'A.......BB');
    const old = world(12, p612()).ok(...seq);
    expect(old.errno(call)).toBe(EINVAL);
    expectLayout(old, 'A........B');
  });
});

describe('mremap copy_vma merge on 6.1 (mm/mmap.c:vma_merge, not the __mmap_region order)', () => {
  // A faulted private file VMA of file pages 5-7 moved right after an unfaulted VMA of pages 0-4
  // (corpus/seed/file-anon-pgoff-moved.json): file offsets line up.
  //      AAAAA...............BBB   ->   AAAAABBB (6.16 - 7.2)   or   AAAAA|BBB
  const seq = [fmmap(0, 5, 'rw', 0, 0, 'fixed'), fmmap(20, 3, 'rw', 0, 5, 'fixed'), touch(20, 'w'), mremap(20, 3, 3, ['maymove', 'fixed'], 5)];
  const run = (release: string) => withFiles(world(32, makeProfile(release, { base_map_count: '0' })), memfd(16)).ok(...seq);
  it('6.1 and 6.12 refuse: the moved anon_vma cannot go into the unfaulted prev (list_is_singular)', () => {
    for (const r of ['6.1.176', '6.12.117']) {
      const w = run(r);
      expectLayout(w, 'AAAAABBB');
      expect(w.hits, r).toContain('anon_vma.refuse.faulted_into_unfaulted');
    }
  });
  it('6.16 - 7.2 merge; 7.3 refuses again for the anonymous page offset (merge.anon_pgoff)', () => {
    expectLayout(run('6.16.12'), 'AAAAAAAA');
    expectLayout(run('7.2.13'), 'AAAAAAAA');
    expect(run('7.3.4').hits).toContain('merge.anon_pgoff_refused');
  });
});

describe('mremap and userfaultfd', () => {
  it('a registered VMA moved without UFFD_FEATURE_EVENT_REMAP loses its registration and does not merge', () => {
    const w = world(8).ok(mmap(2, 2, 'rw', 'fixed'), uffdCreate(), uffdRegister(0, 2, 2, 'm'), mremap(3, 1, 1, ['maymove', 'fixed'], 1));
    //      .AB.   A: moved page, unregistered; B: the rest, still registered
    expectLayout(w, '.AB', { A: '!um', B: 'um' });
    expect(w.events).toEqual([]);
  });

  it('with UFFD_FEATURE_EVENT_REMAP it keeps the registration and the call reads a remap event', () => {
    const w = world(8).ok(mmap(2, 2, 'rw', 'fixed'), uffdCreate('remap', 'unmap'), uffdRegister(0, 2, 2, 'm'));
    w.ok(mremap(3, 1, 1, ['maymove', 'fixed'], 1));
    //      .AA.   same context: the copy merges with the source's remaining page
    expectLayout(w, '.AA', { A: 'um' });
    expect(w.events).toEqual(['remap', 'unmap']);
  });
});
