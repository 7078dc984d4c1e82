// Existing-range merges and splits: mm/mprotect.c:mprotect_fixup -> mm/vma.c:vma_modify ->
// vma_merge_existing_range, then split_vma.
import { describe, expect, it } from 'vitest';
import { expectLayout, mmap, mprotect, touch, world } from './helpers.js';

// Three adjacent read-only VMAs from one mmap each (separate VMAs only because the middle one
// was created writable and made read-only: it stays apart until something changes it).
describe('vma_merge_existing_range', () => {
  it('whole VMA merges into prev', () => {
    //      0123456789
    // prev PPPP
    // mid      MMMM        mprotect(A+4p, 4p, READ) merges into prev
    // ->   PPPPPPPP
    const w = world(10).ok(mmap(0, 4, 'r', 'fixed'), mmap(4, 4, 'rw', 'fixed'), mprotect(4, 4, 'r'));
    expectLayout(w, 'PPPPPPPP', { P: 'r--p !ac' });
    expect(w.hits).toContain('merge.existing.prev');
  });

  it('whole VMA merges into next', () => {
    //      0123456789
    // mid  MMMM
    // next     NNNN        mprotect(A+0p, 4p, READ)
    // ->   NNNNNNNN
    const w = world(10).ok(mmap(4, 4, 'r', 'fixed'), mmap(0, 4, 'rw', 'fixed'), mprotect(0, 4, 'r'));
    expectLayout(w, 'NNNNNNNN');
    expect(w.hits).toContain('merge.existing.next');
    expect(w.vma(0).pgoff).toBe(0);
  });

  it('whole VMA merges with both', () => {
    //      0123456789
    //      PPPPMMMMNN      mprotect(A+4p, 4p, READ)
    // ->   PPPPPPPPPP
    const w = world(10).ok(mmap(0, 4, 'r', 'fixed'), mmap(8, 2, 'r', 'fixed'), mmap(4, 4, 'rw', 'fixed'));
    expectLayout(w, 'PPPPMMMMNN');
    w.ok(mprotect(4, 4, 'r'));
    expectLayout(w, 'PPPPPPPPPP');
    expect(w.hits).toContain('merge.existing.both');
  });

  it('head of a VMA merges into prev (VMA shrinks)', () => {
    //      0123456789
    //      PPPPMMMMMM      mprotect(A+4p, 2p, READ)
    // ->   PPPPPPMMMM
    const w = world(10).ok(mmap(0, 4, 'r', 'fixed'), mmap(4, 6, 'rw', 'fixed'), mprotect(4, 2, 'r'));
    expectLayout(w, 'PPPPPPMMMM', { P: 'r--p', M: 'rw-p ac' });
    expect(w.hits).toContain('merge.existing.prev_partial');
    expect(w.vma(6).pgoff).toBe(6);
  });

  it('tail of a VMA merges into next (VMA shrinks, next grows down)', () => {
    //      0123456789
    //      MMMMMMNNNN      mprotect(A+4p, 2p, READ)
    // ->   MMMMNNNNNN
    const w = world(10).ok(mmap(6, 4, 'r', 'fixed'), mmap(0, 6, 'rw', 'fixed'), mprotect(4, 2, 'r'));
    expectLayout(w, 'MMMMNNNNNN', { M: 'rw-p', N: 'r--p' });
    expect(w.hits).toContain('merge.existing.next_partial');
    expect(w.vma(4).pgoff).toBe(4);
  });

  it('an interior range never merges: split into three', () => {
    //      0123456789
    //      MMMMMMMMMM      mprotect(A+3p, 2p, READ)
    // ->   AAABBCCCCC
    const w = world(10).ok(mmap(0, 10, 'rw', 'fixed'), mprotect(3, 2, 'r'));
    expectLayout(w, 'AAABBCCCCC', { A: 'rw-p', B: 'r--p', C: 'rw-p' });
    expect(w.hits).toEqual(expect.arrayContaining(['merge.existing.interior', 'split.head', 'split.tail']));
    // and it comes back together when the middle is restored
    w.ok(mprotect(3, 2, 'rw'));
    expectLayout(w, 'MMMMMMMMMM');
  });

  it('VMAs whose flags do not change are skipped without a merge attempt', () => {
    //      0123456789
    //      AAAABBBB        A read-only from mmap, B made read-only later: identical but separate
    // mprotect(A+0p, 8p, READ) changes nothing -> still two VMAs
    const w = world(10).ok(mmap(0, 4, 'r', 'fixed'), mmap(4, 4, 'r', 'fixed', 'noreserve'));
    w.ok(mprotect(4, 4, 'r'));
    expectLayout(w, 'AAAABBBB');
    expect(w.hits).toEqual(['mprotect.unchanged']);
  });

  it('a multi-VMA mprotect coalesces left to right', () => {
    //      0123456789
    //      AABBCCDD        alternating rw / r
    // mprotect(A+0p, 8p, READ) -> one VMA
    const w = world(10).ok(
      mmap(0, 2, 'rw', 'fixed'), mmap(2, 2, 'r', 'fixed'), mmap(4, 2, 'rw', 'fixed'), mmap(6, 2, 'r', 'fixed'),
    );
    expectLayout(w, 'AABBCCDD');
    w.ok(mprotect(0, 8, 'r'));
    expectLayout(w, 'AAAAAAAA', { A: 'r--p !ac' });
  });

  it('faulted VMAs sharing an anon_vma re-merge after a split; distinct ones do not', () => {
    // one VMA written, split by mprotect, restored: same anon_vma, merges back
    const w = world(10).ok(mmap(0, 8, 'rw', 'fixed'), touch(0, 'w'), mprotect(4, 4, 'r'), mprotect(4, 4, 'rw'));
    expectLayout(w, 'AAAAAAAA');
    // two VMAs written while apart: different anon_vmas never merge
    const d = world(10).ok(mmap(0, 4, 'rw', 'fixed'), mmap(5, 3, 'rw', 'fixed'), touch(0, 'w'), touch(5, 'w'));
    d.ok(mmap(4, 1, 'rw', 'fixed')); // merges left only (anon_vmas incompatible)
    expectLayout(d, 'AAAAABBB');
    d.ok(mprotect(5, 3, 'r'), mprotect(5, 3, 'rw'));
    expectLayout(d, 'AAAAABBB');
    expect(d.hits).toContain('anon_vma.refuse.distinct');
  });

  it('a faulted range merges into an unfaulted neighbour on 6.16+, not on 6.12 (profile row)', () => {
    //      0123456789
    //      MMMMMMMM        written at 4, [4,8) made read-only (keeps ac: it has an anon_vma)
    //      PPPP            MAP_FIXED replaces [0,4) with a new, unfaulted rw VMA
    //      PPPPMMMM        mprotect(A+4p, 4p, RW): M carries an anon_vma, P has none
    // ->   PPPPPPPP        and the survivor P inherits the anon_vma (dup_anon_vma)
    const calls = [mmap(0, 8, 'rw', 'fixed'), touch(4, 'w'), mprotect(4, 4, 'r'), mmap(0, 4, 'rw', 'fixed')];
    const w = world(10).ok(...calls);
    expectLayout(w, 'PPPPMMMM', { P: 'rw-p ac', M: 'r--p ac' });
    expect(w.anon(0)).toBe(0);
    w.ok(mprotect(4, 4, 'rw'));
    expectLayout(w, 'PPPPPPPP');
    expect(w.anon(0)).not.toBe(0);
    expect(w.hits).toContain('anon_vma.dup');
    // 6.12: is_mergeable_anon_vma refuses (list_is_singular on the target's empty chain)
    const old = world(10, { rows: { ...w.mm.profile.rows, 'anon_vma.merge_faulted_into_unfaulted': false } });
    old.ok(...calls, mprotect(4, 4, 'rw'));
    expectLayout(old, 'PPPPMMMM');
    expect(old.hits).toContain('anon_vma.refuse.faulted_into_unfaulted');
  });
});
