// anon_vma acquisition (mm/rmap.c:__anon_vma_prepare, mm/vma.c:find_mergeable_anon_vma), VM_ACCOUNT
// bookkeeping in mprotect, and the THP read-fault path (mm/huge_memory.c:do_huge_pmd_anonymous_page).
import { describe, expect, it } from 'vitest';
import { makeProfile } from '../../src/model/index.js';
import { expectLayout, mmap, mprotect, munmap, touch, world } from './helpers.js';

describe('anon_vma', () => {
  it('a write fault gives the VMA an anon_vma, a read fault (zero page) does not', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), mmap(4, 2, 'rw', 'fixed'), touch(4, 'r'));
    expect(w.hits).toEqual(['fault.read.zero_page']);
    w.ok(touch(0, 'w'));
    expect(w.hits).toEqual(['fault.write.anon_vma', 'anon_vma.new']);
    expect(w.anon(0)).not.toBe(0);
    expect(w.anon(4)).toBe(0);
  });

  it('reuses the anon_vma of a compatible next VMA (flags differ only in rwx)', () => {
    //      0123
    //      AABB        A rw, B rwx written; write to A reuses B's anon_vma -> they can merge later
    const w = world(8).ok(mmap(0, 4, 'rwx', 'fixed'), mprotect(0, 2, 'rw'), touch(2, 'w'), touch(0, 'w'));
    expect(w.hits).toContain('anon_vma.reuse.next');
    expect(w.anon(0)).toBe(w.anon(2));
    w.ok(mprotect(0, 2, 'rwx'));
    expectLayout(w, 'AAAA');
  });

  it('reuses the anon_vma of a compatible prev VMA', () => {
    const w = world(8).ok(mmap(0, 4, 'rwx', 'fixed'), mprotect(2, 2, 'rw'), touch(0, 'w'), touch(2, 'w'));
    expect(w.hits).toContain('anon_vma.reuse.prev');
    w.ok(mprotect(2, 2, 'rwx'));
    expectLayout(w, 'AAAA');
  });

  it('does not reuse across a flag difference other than rwx (VM_NORESERVE vs VM_ACCOUNT)', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), mmap(2, 2, 'rw', 'fixed', 'noreserve'), touch(0, 'w'), touch(2, 'w'));
    expect(w.hits).toContain('anon_vma.new');
    expect(w.anon(0)).not.toBe(w.anon(2));
  });

  it('does not reuse the anon_vma of a VMA that is not adjacent', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), mmap(3, 2, 'rw', 'fixed'), touch(0, 'w'), touch(3, 'w'));
    expect(w.anon(0)).not.toBe(w.anon(3));
  });

  it('VM_ACCOUNT: set by mprotect(+W), cleared by mprotect(-W) only while unfaulted (6.12+)', () => {
    const w = world(8).ok(mmap(0, 2, 'r', 'fixed'), mmap(4, 2, 'r', 'fixed'));
    expectLayout(w, 'AA..BB', { A: '!ac', B: '!ac' });
    w.ok(mprotect(0, 2, 'rw'), mprotect(4, 2, 'rw'));
    expectLayout(w, 'AA..BB', { A: 'ac', B: 'ac' });
    expect(w.hits).toContain('mprotect.account_set');
    w.ok(touch(4, 'w'), mprotect(0, 2, 'r'), mprotect(4, 2, 'r'));
    expectLayout(w, 'AA..BB', { A: 'r--p !ac', B: 'r--p ac' });
    expect(w.hits).toContain('mprotect.account_kept_faulted');
    // 6.1 keeps VM_ACCOUNT even for the unfaulted one
    const old = world(8, makeProfile('6.1.158', { base_map_count: '0' }));
    old.ok(mmap(0, 2, 'rw', 'fixed'), mprotect(0, 2, 'r'));
    expectLayout(old, 'AA', { A: 'r--p ac' });
  });

  it('a read-only faulted-then-protected VMA keeps ac and does not merge with a never-writable neighbour', () => {
    const w = world(8).ok(mmap(0, 2, 'r', 'fixed'), mmap(2, 2, 'rw', 'fixed'), touch(2, 'w'), mprotect(2, 2, 'r'));
    expectLayout(w, 'AABB', { A: '!ac', B: 'ac' });
  });

  it('MAP_NORESERVE and shared VMAs never gain VM_ACCOUNT', () => {
    const w = world(8).ok(mmap(0, 2, 'r', 'fixed', 'noreserve'), mmap(4, 2, 'r', 'fixed', 'shared'), mprotect(0, 2, 'rw'), mprotect(4, 2, 'rw'));
    expectLayout(w, 'AA..BB', { A: 'rw-p nr !ac', B: 'rw-s !ac' });
  });

  it('writes to shared memory give no anon_vma', () => {
    const w = world(4).ok(mmap(0, 2, 'rw', 'fixed', 'shared'), touch(0, 'w'));
    expect(w.anon(0)).toBe(0);
    expect(w.hits).toContain('fault.shared');
  });
});

describe('THP read faults', () => {
  const always = { thp: 'always' as const };

  it('a read fault in a 2 MiB block fully inside the VMA takes the THP path (thp=always)', () => {
    const w = world(1024, always).ok(mmap(0, 1024, 'rw', 'fixed'), touch(5, 'r'));
    expect(w.hits).toContain('fault.thp.read');
    expect(w.anon(0)).not.toBe(0);
    // visible consequence: mprotect(-W) keeps VM_ACCOUNT
    w.ok(mprotect(0, 1024, 'r'));
    expectLayout(w, 'A'.repeat(1024), { A: 'ac' });
  });

  it('no THP path with thp=madvise (no VM_HUGEPAGE), MAP_STACK (nh), or a block not fully inside the VMA', () => {
    expect(world(1024).ok(mmap(0, 1024, 'rw', 'fixed'), touch(5, 'r')).anon(0)).toBe(0);
    expect(world(1024, always).ok(mmap(0, 1024, 'rw', 'fixed', 'stack'), touch(5, 'r')).anon(0)).toBe(0);
    expect(world(1024, always).ok(mmap(1, 1000, 'rw', 'fixed'), touch(5, 'r')).anon(5)).toBe(0);
    expect(world(1024, always).ok(mmap(0, 1000, 'rw', 'fixed'), touch(5, 'r')).anon(5)).not.toBe(0);
    expect(world(1024, always).ok(mmap(0, 1000, 'rw', 'fixed'), touch(600, 'r')).anon(5)).toBe(0);
  });

  it('a page table already in the block forces the 4K path until it is freed', () => {
    // read at 600 (block 1, VMA too small for THP) installs a page table; the VMA then grows to
    // cover block 1 by a MAP_FIXED neighbour merge, but the PMD is no longer empty
    const w = world(1024, always).ok(mmap(512, 100, 'rw', 'fixed'), touch(600, 'r'), mmap(612, 412, 'rw', 'fixed'));
    expectLayout(w, '.'.repeat(512) + 'A'.repeat(512));
    w.ok(touch(700, 'r'));
    expect(w.hits).toEqual(['fault.read.zero_page_pmd_present']);
    expect(w.anon(700)).toBe(0);
    // unmapping everything in the block frees the page table (mm/memory.c:free_pgtables)
    w.ok(munmap(512, 512));
    expect(w.hits).toContain('pgtable.freed');
    w.ok(mmap(512, 512, 'rw', 'fixed'), touch(700, 'r'));
    expect(w.hits).toContain('fault.thp.read');
  });

  it('the page table stays while another VMA still overlaps the block', () => {
    const w = world(1024, always).ok(mmap(512, 512, 'rw', 'fixed'), mprotect(1000, 24, 'r'), touch(600, 'w'));
    w.ok(munmap(512, 488)); // [1000,1024) remains in block 1
    expect(w.hits).not.toContain('pgtable.freed');
    w.ok(mmap(512, 488, 'r', 'fixed'), touch(600, 'r'));
    expect(w.hits).toEqual(['fault.read.zero_page_pmd_present']);
  });
});
