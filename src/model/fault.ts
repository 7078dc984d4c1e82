// Page faults (the `touch` call and mmap/mprotect population) and the per-VMA state they change:
// the anon_vma (mm/rmap.c:__anon_vma_prepare) and PMD occupancy, which decides whether a later read
// fault takes the THP path (mm/memory.c:__handle_mm_fault -> create_huge_pmd).

import {
  VM_ACCESS_FLAGS,
  VM_EXEC,
  VM_GROWSDOWN,
  VM_HUGEPAGE,
  VM_IGNORE_MERGE,
  VM_NOHUGEPAGE,
  VM_PKEY_EXEC_ONLY,
  VM_READ,
  VM_SHARED,
  VM_WRITE,
} from './flags.js';
import { HPAGE_PAGES, Mm, type Vma, vmaPages } from './state.js';

export const SIGSEGV = 11;

/** mm/vma.c:anon_vma_compatible - may b reuse a's anon_vma (or vice versa)? Flags may differ only in
 *  VM_READ|VM_WRITE|VM_EXEC (and the ignored-for-merge flags); pgoff must be contiguous. */
function anonVmaCompatible(a: Vma, b: Vma): boolean {
  return (
    a.end === b.start &&
    a.file === b.file &&
    ((a.flags ^ b.flags) & ~(VM_ACCESS_FLAGS | VM_IGNORE_MERGE)) === 0 &&
    a.pgoff + vmaPages(a) === b.pgoff
  );
}

/** mm/rmap.c:__anon_vma_prepare + mm/vma.c:find_mergeable_anon_vma: reuse the anon_vma of a
 *  compatible next, then prev, neighbour, else allocate a new one. No-op if vma has one. */
export function anonVmaPrepare(mm: Mm, vma: Vma): void {
  if (vma.anonVma) return;
  const next = mm.nextOf(vma);
  if (next && next.anonVma && anonVmaCompatible(vma, next)) {
    vma.anonVma = next.anonVma;
    mm.hit('anon_vma.reuse.next');
    return;
  }
  const prev = mm.prevOf(vma);
  if (prev && prev.anonVma && anonVmaCompatible(prev, vma)) {
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
 * vmf_anon_prepare before choosing the huge zero page). Any fault installs a page table or PMD.
 */
export function handleMmFault(mm: Mm, vma: Vma, page: number, write: boolean): void {
  const block = Math.floor(page / HPAGE_PAGES);
  const pmdNone = mm.pmd[block] === 0;
  mm.pmd[block] = 1;
  if (vma.flags & VM_SHARED) {
    mm.hit('fault.shared');
    return;
  }
  if (pmdNone && thpFaultAllowed(mm, vma, block)) {
    mm.hit(write ? 'fault.thp.write' : 'fault.thp.read');
    anonVmaPrepare(mm, vma);
    return;
  }
  if (write) {
    mm.hit('fault.write.anon_vma');
    anonVmaPrepare(mm, vma);
  } else {
    mm.hit(pmdNone ? 'fault.read.zero_page' : 'fault.read.zero_page_pmd_present');
  }
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
export function touch(mm: Mm, page: number, write: boolean): number {
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
    // x86 access_error: a read needs any of VM_READ|VM_WRITE|VM_EXEC, and the pkey must allow it.
    if (vma.flags & VM_PKEY_EXEC_ONLY) {
      mm.hit('touch.segv.pkey');
      return SIGSEGV;
    }
    if (!(vma.flags & (VM_READ | VM_WRITE | VM_EXEC))) {
      mm.hit('touch.segv.read_protected');
      return SIGSEGV;
    }
  }
  handleMmFault(mm, vma, page, write);
  return 0;
}

/** mm/gup.c:populate_vma_page_range for [start, end) inside vma: PROT_NONE is skipped (-EFAULT,
 *  ignored by mm_populate); private writable VMAs are write-faulted, everything else read-faulted. */
export function populateVmaPageRange(mm: Mm, vma: Vma, start: number, end: number): void {
  if (!(vma.flags & VM_ACCESS_FLAGS)) {
    mm.hit('populate.prot_none');
    return;
  }
  const write = (vma.flags & (VM_WRITE | VM_SHARED)) === VM_WRITE;
  mm.hit(write ? 'populate.write' : 'populate.read');
  // One fault per 2 MiB block is enough: later pages of a block find the PMD populated.
  for (let p = start; p < end; p = (Math.floor(p / HPAGE_PAGES) + 1) * HPAGE_PAGES) {
    handleMmFault(mm, vma, p, write);
  }
}

/** mm/gup.c:__mm_populate(start, len, ignore_errors=1) over every VMA in [start, end). */
export function mmPopulate(mm: Mm, start: number, end: number): void {
  for (let i = mm.findIndex(start); i < mm.vmas.length; i++) {
    const v = mm.vmas[i]!;
    if (v.start >= end) break;
    populateVmaPageRange(mm, v, Math.max(v.start, start), Math.min(v.end, end));
  }
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
