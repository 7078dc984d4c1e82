// Page faults (the `touch` call and mmap/mprotect population) and the per-VMA state they change:
// the anon_vma (mm/rmap.c:__anon_vma_prepare) and PMD occupancy, which decides whether a later read
// fault takes the THP path (mm/memory.c:__handle_mm_fault -> create_huge_pmd).

import {
  VM_HUGETLB,
  VM_ACCESS_FLAGS,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGEPAGE,
  VM_IGNORE_MERGE,
  VM_LOCKONFAULT,
  VM_NOHUGEPAGE,
  VM_PKEY_EXEC_ONLY,
  VM_READ,
  VM_SHARED,
  VM_UFFD_MINOR,
  VM_UFFD_MISSING,
  VM_WRITE,
} from './flags.js';
import { HPAGE_PAGES, Mm, PTE_ANON, PTE_FILE, PTE_GUARD, PTE_MAYBE, PTE_NONE, PTE_ZERO, type Vma, vmaPages } from './state.js';
import { cowCopy } from './content.js';
import { Unsupported } from './syscalls.js';
import { hugetlbFault } from './hugetlb.js';
import { anonFaultPte, cacheSure, faultNeeded, thpFaultPtes } from './pages.js';
import { filePages } from './sys.js';
import { fileFault, userfault, zeropageResolve, type FaultOrigin } from './filefault.js';

export const SIGSEGV = 11;
export const EFAULT = 14;

/** mm/vma.c:anon_vma_compatible - may b reuse a's anon_vma (or vice versa)? Flags may differ only in
 *  VM_READ|VM_WRITE|VM_EXEC (and the ignored-for-merge flags); pgoff must be contiguous. */
function anonVmaCompatible(mm: Mm, a: Vma, b: Vma): boolean {
  return (
    a.end === b.start &&
    a.file === b.file &&
    ((a.flags ^ b.flags) & ~(VM_ACCESS_FLAGS | VM_IGNORE_MERGE)) === 0 &&
    a.pgoff + vmaPages(a) === b.pgoff &&
    // 7.3: "Only reached from anon path, so either MAP_PRIVATE file or anon": anon_pgoff contiguous
    (!mm.profile.rows['merge.anon_pgoff'] || (a.anonDelta ?? 0) === (b.anonDelta ?? 0))
  );
}

/** mm/vma.c:reusable_anon_vma - a compatible neighbour's anon_vma, unless it came through fork
 *  (list_is_singular() of its anon_vma_chain). */
function reusable(mm: Mm, old: Vma, a: Vma, b: Vma): boolean {
  if (!old.anonVma || !anonVmaCompatible(mm, a, b)) return false;
  if (!old.forkChild) return true;
  mm.hit('anon_vma.reuse.fork_child_refused');
  return false;
}

/** mm/rmap.c:__anon_vma_prepare + mm/vma.c:find_mergeable_anon_vma: reuse the anon_vma of a
 *  compatible next, then prev, neighbour, else allocate a new one. No-op if vma has one. */
export function anonVmaPrepare(mm: Mm, vma: Vma): void {
  if (vma.anonVma) return;
  const next = mm.nextOf(vma);
  if (next && reusable(mm, next, vma, next)) {
    vma.anonVma = next.anonVma;
    mm.hit('anon_vma.reuse.next');
    return;
  }
  const prev = mm.prevOf(vma);
  if (prev && reusable(mm, prev, prev, vma)) {
    vma.anonVma = prev.anonVma;
    mm.hit('anon_vma.reuse.prev');
    return;
  }
  vma.anonVma = mm.newAnonVma();
  mm.hit('anon_vma.new');
}

/** vma_is_anonymous() for the modelled VMAs: private anonymous memory (no vm_ops). */
export function vmaIsAnonymous(v: Vma): boolean {
  return v.file === 0;
}

/** mm/huge_memory.c thp_vma_allowable_order(TVA_PAGEFAULT, PMD_ORDER) + thp_vma_suitable_order: may a
 *  fault in 2 MiB block `block` of vma install a PMD? */
function thpFaultAllowed(mm: Mm, vma: Vma, block: number): boolean {
  const thp = mm.profile.thp;
  if (!vmaIsAnonymous(vma) || vma.flags & VM_NOHUGEPAGE) return false;
  if (!(thp === 'always' || (thp === 'madvise' && vma.flags & VM_HUGEPAGE))) return false;
  const hstart = block * HPAGE_PAGES;
  return hstart >= vma.start && hstart + HPAGE_PAGES <= vma.end;
}

/**
 * mm/memory.c:__handle_mm_fault for one page of vma. A write to private memory (do_anonymous_page,
 * do_wp_page) prepares the anon_vma; a read maps the zero page (no anon_vma) unless the PMD is
 * still empty and the THP path applies (mm/huge_memory.c:do_huge_pmd_anonymous_page calls
 * vmf_anon_prepare before choosing the huge zero page), or the zero page is forbidden
 * (Profile.zeroPage false: the read is served like a write). Any fault installs a page table or PMD.
 * GUP population (MAP_POPULATE, MADV_POPULATE_*, mlock) faults through here too (faultin_page).
 */
export function handleMmFault(mm: Mm, vma: Vma, page: number, write: boolean, origin: FaultOrigin = 'user'): number {
  // hugetlb VMAs have their own fault path (mm/memory.c:handle_mm_fault -> hugetlb_fault)
  if (vma.flags & VM_HUGETLB) return hugetlbFault(mm, vma, page, write);
  // A present page needs no fault (a write to the zero page or a private file page does: CoW).
  if (!faultNeeded(mm, vma, page, write)) return 0;
  // a fault on an empty entry starts the page afresh: no private content survives (content.ts)
  if (mm.pte[page] === PTE_NONE) mm.priv.delete(page);
  // A page the kernel may or may not still have (THP fallback, MADV_FREE, reclaim): whether a
  // userfaultfd event is raised depends on that choice.
  if (mm.pte[page] === PTE_MAYBE && vma.flags & (VM_UFFD_MISSING | VM_UFFD_MINOR)) {
    throw new Unsupported('userfaultfd event on a page the kernel may have kept or dropped');
  }
  // shmem-backed VMAs (files, shared anonymous memory): src/model/filefault.ts
  if (vma.file > 0) {
    const e = mm.pte[page]!;
    if (write && (e === PTE_ZERO || e === PTE_FILE)) {
      // do_wp_page on a present page of a private file VMA: CoW
      mm.hit('fault.cow_present');
      anonVmaPrepare(mm, vma);
      if (e === PTE_FILE) cowCopy(mm, vma, page);
      else mm.priv.delete(page); // wp_page_copy of the zero page: a zeroed page
      mm.pte[page] = PTE_ANON;
      return 0;
    }
    return fileFault(mm, vma, page, write, origin);
  }
  const block = Math.floor(page / HPAGE_PAGES);
  const pmdNone = mm.pmd[block] === 0;
  mm.pmd[block] = 1;
  if (pmdNone && thpFaultAllowed(mm, vma, block)) {
    mm.hit(write ? 'fault.thp.write' : 'fault.thp.read');
    anonVmaPrepare(mm, vma);
    // do_huge_pmd_anonymous_page: a missing-registered VMA raises the event instead; the 4 KiB
    // UFFDIO_ZEROPAGE answer installs a page table, so the retry takes the 4 KiB path
    if (vma.flags & VM_UFFD_MISSING) return missingAnon(mm, vma, page, write, origin);
    // a read maps the huge zero page only if !mm_forbids_zeropage && use_zero_page; else a THP
    // is allocated (__do_huge_pmd_anonymous_page) or the fault falls back to do_anonymous_page:
    // a real page, or (zero page allowed) the 4 KiB zero page - PTE_ANON covers both for the
    // model (MADV_PAGEOUT treats it as maybe-present, no later fault is decided by it)
    const hugeZero = mm.profile.zeroPage && mm.profile.thpZeroPage;
    if (!write && !hugeZero) mm.hit('fault.thp.read_no_huge_zero_page');
    thpFaultPtes(mm, page, write || !hugeZero);
    return 0;
  }
  if (write) {
    mm.hit('fault.write.anon_vma');
    anonVmaPrepare(mm, vma);
  } else if (!mm.profile.zeroPage) {
    // do_anonymous_page: "Use the zero-page for reads" needs !mm_forbids_zeropage; otherwise
    // vmf_anon_prepare and a real page, before the userfaultfd_missing check
    mm.hit('fault.read.no_zero_page');
    anonVmaPrepare(mm, vma);
  } else {
    mm.hit(pmdNone ? 'fault.read.zero_page' : 'fault.read.zero_page_pmd_present');
  }
  // do_anonymous_page: userfaultfd_missing() -> handle_userfault (reads: before the zero page)
  if (vma.flags & VM_UFFD_MISSING && mm.pte[page] !== PTE_ZERO) return missingAnon(mm, vma, page, write, origin);
  anonFaultPte(mm, page, write);
  return 0;
}

/** A missing page of a MISSING-registered private anonymous VMA (none, or zero page being written
 *  is not missing: do_wp_page). */
function missingAnon(mm: Mm, vma: Vma, page: number, write: boolean, origin: FaultOrigin): number {
  const s = userfault(mm, vma, 'missing', origin);
  if (s) return s;
  zeropageResolve(mm, vma, page, write);
  return 0;
}

/** mm/vma.c:expand_downwards - a fault below a VM_GROWSDOWN VMA grows it down to the page.
 *  Returns false if the growth is refused (the fault then raises SIGSEGV). */
function expandDownwards(mm: Mm, vma: Vma, page: number): boolean {
  const prev = mm.prevOf(vma);
  const guard = mm.profile.stackGuardGapPages;
  // Enforce stack_guard_gap against an accessible, non-growsdown prev (fences are PROT_NONE).
  if (prev && !(prev.flags & VM_GROWSDOWN) && prev.flags & VM_ACCESS_FLAGS && page - prev.end < guard) {
    mm.hit('touch.stack_guard_gap');
    return false;
  }
  anonVmaPrepare(mm, vma); // "We must make sure the anon_vma is allocated." - before the limit checks
  const size = vma.end - page;
  // acct_stack_growth: RLIMIT_STACK (RLIMIT_AS, memlock and overcommit assumed unlimited)
  if (size > mm.profile.rlimitStackPages) {
    mm.hit('touch.stack_rlimit');
    return false;
  }
  vma.pgoff -= vma.start - page;
  vma.start = page;
  mm.hit('touch.stack_expand');
  return true;
}

/**
 * One user access (the `touch` call): mm/mmap_lock.c:lock_mm_and_find_vma (with stack expansion),
 * arch/x86/mm/fault.c:access_error, then the fault. Returns 0 or the signal number.
 * A touch of a page that is already present changes nothing the model tracks, so every access is
 * treated as a fault.
 */
export function touch(mm: Mm, page: number, write: boolean, exec = false): number {
  const i = mm.findIndex(page);
  const vma = mm.vmas[i]!;
  if (vma.start > page) {
    if (!(vma.flags & VM_GROWSDOWN) || !expandDownwards(mm, vma, page)) {
      mm.hit('touch.segv.unmapped');
      return SIGSEGV;
    }
  }
  if (write) {
    if (!(vma.flags & VM_WRITE)) {
      mm.hit('touch.segv.write_protected');
      return SIGSEGV;
    }
  } else {
    // x86 access_error: a read (or a not-present instruction fetch) needs any of
    // VM_READ|VM_WRITE|VM_EXEC, and the pkey must allow it (execute-only keys allow fetches).
    if (vma.flags & VM_PKEY_EXEC_ONLY && !exec) {
      mm.hit('touch.segv.pkey');
      return SIGSEGV;
    }
    if (!(vma.flags & (VM_READ | VM_WRITE | VM_EXEC))) {
      mm.hit('touch.segv.read_protected');
      return SIGSEGV;
    }
  }
  // mm/memory.c:handle_pte_marker - a guard marker answers every access with VM_FAULT_SIGSEGV.
  if (mm.pte[page] === PTE_GUARD) {
    mm.hit('touch.segv.guard');
    return SIGSEGV;
  }
  // An instruction fetch faults like a read; the page is mapped with NX unless VM_EXEC, so the
  // retried fetch hits a present page: "read, present" with X86_PF_PROT -> access_error.
  const sig = handleMmFault(mm, vma, page, write);
  if (sig) return sig;
  if (exec) {
    if (!(vma.flags & VM_EXEC)) {
      mm.hit('touch.segv.exec_nx');
      return SIGSEGV;
    }
    mm.hit('touch.exec');
  }
  return 0;
}

/**
 * mm/gup.c:populate_vma_page_range for [start, end) inside vma: VM_LOCKONFAULT has nothing to do,
 * PROT_NONE is refused (-EFAULT); private writable VMAs are write-faulted (FOLL_WRITE), everything
 * else read-faulted (FOLL_FORCE). __get_user_pages faults page by page and stops at a guard marker
 * (VM_FAULT_SIGSEGV -> -EFAULT). Returns the pages done, or -EFAULT when none could be.
 */
export function populateVmaPageRange(mm: Mm, vma: Vma, start: number, end: number, origin: FaultOrigin = 'gup'): number {
  if (vma.flags & VM_LOCKONFAULT) return end - start;
  if (!(vma.flags & VM_ACCESS_FLAGS)) {
    mm.hit('populate.prot_none');
    return -EFAULT;
  }
  // __get_user_pages -> check_vma_flags: arch_vma_access_permitted(vma, write, false, foreign=0) -
  // GUP is a data access, and the execute-only pkey denies reads (x86 __pkru_allows_pkey)
  if (vma.flags & VM_PKEY_EXEC_ONLY) {
    mm.hit('populate.pkey');
    return -EFAULT;
  }
  const write = (vma.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
  mm.hit(write ? 'populate.write' : 'populate.read');
  return faultinRange(mm, vma, start, end, write, origin);
}

/** __get_user_pages over [start, end) of one VMA: fault every page that needs it; a guard marker
 *  or a SIGBUS (file page beyond EOF, userfaultfd that cannot answer) ends the walk. Returns the
 *  pages done before it, or -EFAULT if it is the first page. */
export function faultinRange(mm: Mm, vma: Vma, start: number, end: number, write: boolean, origin: FaultOrigin = 'gup'): number {
  for (let p = start; p < end; p++) {
    if (mm.pte[p] === PTE_GUARD) {
      mm.hit('populate.guard');
      return p > start ? p - start : -EFAULT;
    }
    if (handleMmFault(mm, vma, p, write, origin)) return p > start ? p - start : -EFAULT;
  }
  return end - start;
}

/**
 * populate_vma_page_range of `pages` pages from file offset `pgoff` of a shmem-backed VMA the model
 * does not track (placed outside the arena by mmap or mremap): only the page cache, which arena
 * VMAs of the same file see, keeps a trace. Every fault, read (shmem_fault, SGP_CACHE) or private
 * write (do_cow_fault), leaves the file page cached; a page at or beyond i_size is SIGBUS
 * (shmem_get_folio_gfp -EINVAL), which ends the walk.
 */
export function populateUntracked(mm: Mm, vma: Pick<Vma, 'file' | 'flags'>, pgoff: number, pages: number, rule: 'mremap.populate_outside' | 'mmap.populate_outside'): void {
  if (vma.file <= 0 || vma.flags & VM_LOCKONFAULT || !(vma.flags & VM_ACCESS_FLAGS) || vma.flags & VM_PKEY_EXEC_ONLY) return;
  if (vma.flags & (VM_UFFD_MISSING | VM_UFFD_MINOR)) throw new Unsupported('population of a registered VMA outside the arena');
  const f = mm.sys.file(vma.file);
  const eof = filePages(f);
  mm.hit(rule);
  for (let o = pgoff; o < pgoff + pages && o < eof; o++) {
    f.cache.add(o);
    cacheSure(mm.sys, vma.file, o);
  }
}

/**
 * mm/gup.c:__mm_populate(start, len, ignore_errors) over every VMA in [start, end): with
 * ignore_errors a failing VMA is skipped, else the error ends the walk. A short count (a guard
 * marker part-way) makes the next round start at the marker, which then fails. Returns 0 or -EFAULT.
 */
export function mmPopulate(mm: Mm, start: number, end: number, ignoreErrors = true): number {
  let nstart = start;
  while (nstart < end) {
    const v = mm.intersect(nstart, end);
    if (!v || mm.isFence(v)) break;
    const s = Math.max(v.start, nstart);
    const nend = Math.min(v.end, end);
    const r = populateVmaPageRange(mm, v, s, nend);
    if (r < 0) {
      if (!ignoreErrors) return r;
      nstart = nend;
      continue;
    }
    nstart = s + r;
  }
  return 0;
}

/**
 * mm/memory.c:free_pgtables / free_pgd_range after VMAs covering `removed` ranges were unmapped:
 * the page table of a 2 MiB block is freed iff no remaining VMA overlaps the block (floor =
 * prev->vm_end, ceiling = next->vm_start). Call with the removed VMAs already out of mm.vmas.
 */
export function freePgtables(mm: Mm, start: number, end: number): void {
  const first = Math.floor(start / HPAGE_PAGES);
  const last = Math.floor((end - 1) / HPAGE_PAGES);
  for (let b = first; b <= last && b < mm.pmd.length; b++) {
    if (!mm.pmd[b]) continue;
    const bs = b * HPAGE_PAGES;
    if (mm.intersect(bs, bs + HPAGE_PAGES) === null) {
      mm.pmd[b] = 0;
      mm.hit('pgtable.freed');
    }
  }
}
