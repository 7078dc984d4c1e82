// Read faults with and without the shared zero page (Profile.zeroPage, harness fact `zero_page`).
// mm/memory.c:do_anonymous_page maps the zero page for a read unless mm_forbids_zeropage(); then
// the read is served like a write: vmf_anon_prepare and a real page. Everything after that follows
// from the anon_vma: VM_ACCOUNT in mprotect_fixup, merges (is_mergeable_anon_vma), copy_vma's pgoff
// on mremap, fork's vma_needs_copy. Each test runs both settings; the expectations differ only
// where the anon_vma does.
import { describe, expect, it } from 'vitest';
import { expectLayout, mmap, mprotect, touch, world } from './helpers.js';
import { madvise, mlock } from './helpers-mem.js';
import { fmmap, fork, memfd, mremap, pm, uffdCreate, uffdRegister, withFiles } from './helpers-files.js';
import { makeProfile, Unsupported } from '../../src/model/index.js';

const SETTINGS = [
  { name: 'zero page', zeroPage: true },
  { name: 'no zero page (mm_forbids_zeropage)', zeroPage: false },
] as const;

describe.each(SETTINGS)('read faults with $name', ({ zeroPage }) => {
  const w0 = (pages: number, extra = {}) => world(pages, { zeroPage, ...extra });

  it('a read fault prepares an anon_vma only without the zero page', () => {
    //      0123
    //      AAAA        touch(A+1p, read)
    const w = w0(4).ok(mmap(0, 4, 'rw', 'fixed'), touch(1, 'r'));
    expect(w.anon(0) !== 0).toBe(!zeroPage);
    expect(w.hits).toContain(zeroPage ? 'fault.read.zero_page' : 'fault.read.no_zero_page');
    expect(pm(w)).toBe('-P');
    // the page is present either way; a write to the zero page faults again (do_wp_page) and
    // prepares the anon_vma then, a write to a real page does not fault
    w.ok(touch(1, 'w'));
    expect(w.anon(0)).not.toBe(0);
    expect(w.hits).toEqual(zeroPage ? expect.arrayContaining(['anon_vma.new']) : []);
  });

  it('mprotect read-only keeps VM_ACCOUNT of a read-faulted VMA only without the zero page', () => {
    //      0123
    //      AAAA        touch(A+0p, read); mprotect(A, 4p, READ)
    // ->   AAAA        r--p, "ac" iff the read fault left an anon_vma
    const w = w0(4).ok(mmap(0, 4, 'rw', 'fixed'), touch(0, 'r'), mprotect(0, 4, 'r'));
    expectLayout(w, 'AAAA', { A: zeroPage ? 'r--p !ac' : 'r--p ac' });
    expect(w.hits).toContain(zeroPage ? 'mprotect.account_clear' : 'mprotect.account_kept_faulted');
  });

  it('two read-faulted halves re-merge after a split only with the zero page', () => {
    //      0123
    //      AABB        mprotect(A+2p, 2p, READ) splits; both halves read-faulted
    //      AABB        mprotect(A+2p, 2p, READ|WRITE)
    // ->   AAAA        zero page: no anon_vmas, the halves merge again
    // ->   AABB        no zero page: B's fault could not reuse A's anon_vma (VM_ACCOUNT differs),
    //                  two anon_vmas refuse the merge
    const w = w0(4).ok(mmap(0, 4, 'rw', 'fixed'), mprotect(2, 2, 'r'), touch(0, 'r'), touch(2, 'r'));
    expectLayout(w, 'AABB', { A: 'rw-p', B: zeroPage ? 'r--p !ac' : 'r--p !ac' });
    w.ok(mprotect(2, 2, 'rw'));
    expectLayout(w, zeroPage ? 'AAAA' : 'AABB');
    if (!zeroPage) expect(w.hits).toContain('anon_vma.refuse.distinct');
  });

  it('a read fault next to a compatible faulted VMA reuses its anon_vma, so they merge later', () => {
    //      0123
    //      AABB        A written (anon_vma), B = rwx, read-faulted
    //      AAAA        mprotect(A+2p, 2p, READ|WRITE) merges either way
    const w = w0(4).ok(mmap(0, 2, 'rw', 'fixed'), mmap(2, 2, 'rwx', 'fixed'), touch(0, 'w'), touch(2, 'r'));
    expect(w.anon(2)).toBe(zeroPage ? 0 : w.anon(0));
    if (!zeroPage) expect(w.hits).toContain('anon_vma.reuse.prev');
    w.ok(mprotect(2, 2, 'rw'));
    expectLayout(w, 'AAAA');
  });

  it('mremap keeps the page offset of a read-faulted VMA only without the zero page', () => {
    //      0123456789
    //      AA              touch(A, read); mremap(A, 2p -> A+6p); mmap(A+8p, 2p)
    // ->   ......BBBB      zero page: unfaulted, pgoff reset to 6: B merges with the new mapping
    // ->   ......BBCC      no zero page: pgoff 0 kept (copy_vma), 0+2 != 8: two VMAs
    const w = w0(10).ok(mmap(0, 2, 'rw', 'fixed'), touch(0, 'r'), mremap(0, 2, 2, ['maymove', 'fixed'], 6));
    expect(w.hits).toContain(zeroPage ? 'mremap.move.pgoff_reset' : 'mremap.move.pgoff_kept');
    expect(w.vma(6).pgoff).toBe(zeroPage ? 6 : 0);
    w.ok(mmap(8, 2, 'rw', 'fixed'));
    expectLayout(w, zeroPage ? '......BBBB' : '......BBCC');
  });

  it('fork copies the page tables of a read-faulted VMA only without the zero page', () => {
    //      0123
    //      AA..        touch(A, read); fork(): the child sees the page iff vma_needs_copy
    const w = w0(4).ok(mmap(0, 2, 'rw', 'fixed'), touch(0, 'r'), fork());
    expect(pm(w)).toBe(zeroPage ? '' : 'P');
    expect(w.hits).toContain(zeroPage ? 'fork.no_ptes' : 'fork.copy_ptes');
    expect(w.anon(0) !== 0).toBe(!zeroPage);
  });

  it('population read-faults through the same path: MAP_POPULATE, MADV_POPULATE_READ, mlock', () => {
    //      012345
    //      AABBCC      A MAP_POPULATE read-only, B MADV_POPULATE_READ, C mlock'ed read-only
    const w = w0(6).ok(mmap(0, 2, 'r', 'fixed', 'populate'), mmap(2, 2, 'r', 'fixed', 'noreserve'), mmap(4, 2, 'r', 'fixed', 'stack'));
    w.ok(madvise(2, 2, 'MADV_POPULATE_READ'), mlock(4, 2));
    expect(w.hits).toContain('populate.read');
    expect(pm(w)).toBe('PPPPPP');
    expect([w.anon(0), w.anon(2), w.anon(4)].map((a) => a !== 0)).toEqual([!zeroPage, !zeroPage, !zeroPage]);
  });

  it('a read of a MISSING-registered VMA with UFFD_FEATURE_SIGBUS leaves an anon_vma only without the zero page', () => {
    // do_anonymous_page: without the zero page vmf_anon_prepare runs before userfaultfd_missing()
    const w = w0(4).ok(mmap(0, 2, 'rw', 'fixed'), uffdCreate('sigbus'), uffdRegister(0, 0, 2, 'm'));
    expect(w.run(touch(0, 'r')).signal).toBe(7);
    expect(w.anon(0) !== 0).toBe(!zeroPage);
    expect(pm(w)).toBe('');
  });

  it('UFFDIO_ZEROPAGE answers a missing read with the zero page, or a zeroed page without it', () => {
    //      AA          registered MISSING; read A+0p: event, the harness's UFFDIO_ZEROPAGE
    const w = w0(4).ok(mmap(0, 2, 'rw', 'fixed'), uffdCreate(), uffdRegister(0, 0, 2, 'm'));
    w.ok(touch(0, 'r'));
    expect(w.events).toEqual(['missing']);
    expect(w.anon(0)).not.toBe(0); // mfill prepares the anon_vma either way
    if (!zeroPage) expect(w.hits).toContain('uffd.zeropage.no_zero_page');
    // a later write: the zero page is copied (do_wp_page, no event), a zeroed page is just written
    w.ok(touch(0, 'w'));
    expect(w.events).toEqual([]);
    expect(w.hits).toEqual(zeroPage ? ['fault.write.anon_vma'] : []);
  });

  it('THP read fault: anon_vma either way; the huge zero page only with both zero-page facts', () => {
    //      [512 pages, thp=always] read A+0p -> do_huge_pmd_anonymous_page
    for (const thpZeroPage of [true, false]) {
      const w = w0(512, { thp: 'always', thpZeroPage }).ok(mmap(0, 512, 'rw', 'fixed'), touch(0, 'r'));
      expect(w.anon(0)).not.toBe(0);
      expect(w.hits.includes('fault.thp.read_no_huge_zero_page')).toBe(!(zeroPage && thpZeroPage));
      // a write to the huge zero page faults again (CoW); a THP (or fallback page) is written in place
      w.ok(touch(0, 'w'));
      expect(w.hits.length > 0).toBe(zeroPage && thpZeroPage);
    }
  });
});

describe('UFFDIO_ZEROPAGE into a private shmem VMA without the zero page, by version', () => {
  // mm/userfaultfd.c:mfill_atomic_pte_zeropage -> mfill_atomic_pte_zeroed_folio: 6.12 allocates an
  // anonymous folio; 7.3 uses the VMA's vm_uffd_ops (shmem_mfill_filemap_add: the page enters the
  // page cache, mapped read-only in the private VMA); 6.1 maps the zero page whatever the host says.
  const seq = [fmmap(0, 2, 'rw', 0, 0, 'fixed'), uffdCreate(), uffdRegister(0, 0, 2, 'm')];
  const at = (release: string) => withFiles(world(4, { ...makeProfile(release, { base_map_count: '0', thp: 'never' }), zeroPage: false }), memfd(2)).ok(...seq);

  it('7.3: the zeroed page is a page-cache page of the file; a write copies it', () => {
    const w = at('7.3.4').ok(touch(0, 'r'));
    expect(w.hits).toContain('uffd.zeropage.no_zero_page');
    expect(w.mm.sys.files[0]!.cache.has(0)).toBe(true);
    w.ok(touch(0, 'w'));
    expect(w.hits).toContain('fault.cow_present');
  });

  it('6.12: an anonymous zeroed page, the file untouched; a write needs no fault', () => {
    const w = at('6.12.117').ok(touch(0, 'r'));
    expect(w.hits).toContain('uffd.zeropage.no_zero_page');
    expect(w.mm.sys.files[0]!.cache.has(0)).toBe(false);
    w.ok(touch(0, 'w'));
    expect(w.hits).toEqual([]);
  });

  it('6.1: the zero page (no mm_forbids_zeropage check in mfill_zeropage_pte)', () => {
    const w = at('6.1.158').ok(touch(0, 'r'));
    expect(w.hits).not.toContain('uffd.zeropage.no_zero_page');
    w.ok(touch(0, 'w'));
    expect(w.hits).toContain('fault.cow_present');
  });

  it('between 6.12 and 7.3 (the 6.18 host) the model declines: not verified', () => {
    const w = at('6.18.44');
    expect(() => w.run(touch(0, 'r'))).toThrow(Unsupported);
  });
});
