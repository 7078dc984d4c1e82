// Page-table state of the arena (Mm.pte, one PTE_* per page; Mm.pmd, one entry per 2 MiB block)
// and the shmem page cache (FileObj.cache): what faults, zaps and guard markers do to them. The
// pagemap layer (src/model/layers.ts) prints Mm.pte; faults read it to know whether an access
// faults at all.

import { VM_HUGEPAGE, VM_NOHUGEPAGE, VM_SHARED, VM_UFFD_MINOR, VM_UFFD_WP } from './flags.js';
import {
  HPAGE_PAGES,
  Mm,
  PTE_ANON,
  PTE_FILE,
  PTE_GUARD,
  PTE_MARKER,
  PTE_MAYBE,
  PTE_NONE,
  PTE_ZERO,
  type Vma,
} from './state.js';

import { filePages, isRealFs, type Sys } from './sys.js';
import { aroundNoTable, retryAround } from './realfs.js';
import { cowCopy } from './content.js';

/** mm/memory.c fault_around_bytes (64 KiB default, a debugfs knob the harness does not probe). */
export const FAULT_AROUND_PAGES = 16;

export function blockOf(page: number): number {
  return Math.floor(page / HPAGE_PAGES);
}

/**
 * mm/huge_memory.c:__thp_vma_allowable_orders for an anonymous VMA (PMD order): no VM_NOHUGEPAGE,
 * THP "always", or "madvise" with VM_HUGEPAGE. khugepaged (TVA_KHUGEPAGED) also needs an anon_vma.
 */
export function thpAllowed(mm: Mm, vma: Vma, khugepaged: boolean): boolean {
  if (vma.file !== 0 || vma.flags & VM_NOHUGEPAGE) return false;
  const thp = mm.profile.thp;
  if (!(thp === 'always' || (thp === 'madvise' && vma.flags & VM_HUGEPAGE))) return false;
  return !khugepaged || vma.anonVma !== 0;
}

/**
 * Does this access fault? pte_none (or maybe-none) always; the zero page and a private file page
 * only for a write (CoW, mm/memory.c:do_wp_page). Guard markers are the caller's business.
 */
export function faultNeeded(mm: Mm, vma: Vma, page: number, write: boolean): boolean {
  const e = mm.pte[page]!;
  if (e === PTE_NONE || e === PTE_MAYBE || e === PTE_MARKER) return true;
  if (e === PTE_ZERO) return write;
  if (e === PTE_FILE) return write && !(vma.flags & VM_SHARED);
  return false;
}

/** A 4 KiB fault on private memory: write -> an anonymous page (do_anonymous_page / wp_page_copy),
 *  read -> the zero page, or a real page where the zero page is forbidden (Profile.zeroPage). A page
 *  that may already be present becomes present either way. */
export function anonFaultPte(mm: Mm, page: number, write: boolean): void {
  const e = mm.pte[page]!;
  mm.pte[page] = write || e === PTE_MAYBE || !mm.profile.zeroPage ? PTE_ANON : PTE_ZERO;
}

/**
 * mm/huge_memory.c:do_huge_pmd_anonymous_page: the faulting page is mapped; the rest of the 2 MiB
 * block is mapped too if the huge page (or huge zero page) could be allocated, else the fault falls
 * back to 4 KiB (VM_FAULT_FALLBACK): the kernel chooses, so those pages become PTE_MAYBE.
 */
export function thpFaultPtes(mm: Mm, page: number, write: boolean): void {
  const s = blockOf(page) * HPAGE_PAGES;
  for (let p = s; p < s + HPAGE_PAGES && p < mm.arenaPages; p++) {
    if (mm.pte[p] !== PTE_NONE) continue;
    mm.pte[p] = PTE_MAYBE;
    mm.priv.delete(p); // a huge zero-filled page, or a 4 KiB zero-filled one later
  }
  mm.pte[page] = write ? PTE_ANON : PTE_ZERO;
}

/**
 * A fault on a shmem-backed VMA (mm/shmem.c:shmem_fault): the page enters the page cache (a hole is
 * allocated and zeroed, SGP_CACHE) and is mapped. A shared write fault (do_shared_fault) maps only
 * it; a read fault first maps the cached pages around it (do_read_fault -> do_fault_around ->
 * filemap_map_pages, pte_none entries only), unless uffd minor/wp tracking disables fault-around.
 * Private file mappings: a write copies the page (do_cow_fault, PTE_ANON); the caller prepares the
 * anon_vma.
 */
export function shmemFaultPtes(mm: Mm, vma: Vma, page: number, write: boolean): void {
  const cache = mm.sys.file(vma.file).cache;
  const pgoff = vma.pgoff + (page - vma.start);
  const shared = (vma.flags & VM_SHARED) !== 0;
  if (write && !shared) {
    cowCopy(mm, vma, page);
    mm.pte[page] = PTE_ANON; // do_cow_fault: the file page is read into the cache, the copy mapped
    cache.add(pgoff);
    cacheSure(mm.sys, vma.file, pgoff);
    return;
  }
  // a disk file's miss drops the mmap lock for I/O and is retried (VM_FAULT_RETRY): the retry's
  // fault-around sees what the first attempt brought into the page cache (src/model/realfs.ts)
  if (!write && !(vma.flags & (VM_UFFD_WP | VM_UFFD_MINOR))) faultAround(mm, vma, page, cache, true);
  cache.add(pgoff);
  cacheSure(mm.sys, vma.file, pgoff);
  mm.pte[page] = PTE_FILE;
}

/** mm/memory.c:do_fault_around: the window [from, from + 16) clamped to the VMA and the PTE table. */
/** Returns whether any page was mapped. */
export function faultAround(mm: Mm, vma: Vma, page: number, cache: Set<number>, retry = false, onlyMaybe = false): boolean {
  // mm/memory.c:should_fault_around "No ->map_pages? No way to fault around...": ipc/shm.c's
  // shm_vm_ops has no map_pages (a SysV attach faults page by page)
  if (vma.file > 0 && mm.sys.file(vma.file).kind === 'sysv') {
    mm.hit('fault.shm.no_fault_around');
    return false;
  }
  const pteOff = page % HPAGE_PAGES;
  const vmaOff = page - vma.start;
  const from = Math.max(pteOff - (pteOff % FAULT_AROUND_PAGES), pteOff - Math.min(pteOff, vmaOff));
  const to = Math.min(from + FAULT_AROUND_PAGES, HPAGE_PAGES, pteOff + (vma.end - vma.start) - vmaOff) - 1;
  const base = page - pteOff;
  const f = mm.sys.file(vma.file);
  const eof = filePages(f);
  // disk files: the first cached folio of the window decides whether there is a page table
  // (src/model/realfs.ts aroundNoTable)
  const rule = isRealFs(f) ? (retry ? retryAround(mm, vma) : aroundNoTable(mm, vma, base + from, base + to, cache)) : 'map';
  if (rule === 'none') return false;
  let mapped = false;
  for (let i = from; i <= to; i++) {
    const p = base + i;
    if (p >= mm.arenaPages || mm.pte[p] !== PTE_NONE) continue;
    const o = vma.pgoff + (p - vma.start);
    if (o >= eof) break; // filemap_map_pages: end_pgoff clamped to i_size
    if (cache.has(o)) {
      mm.priv.delete(p);
      mm.pte[p] = onlyMaybe || rule === 'maybe' || cacheMaybe(mm.sys, vma.file, o) ? PTE_MAYBE : PTE_FILE;
      mapped = true;
    }
  }
  return mapped;
}

/**
 * mm/memory.c:zap_pte_range over [start, end): present and maybe-present pages go; guard markers
 * stay unless `dropMarkers` (ZAP_FLAG_DROP_MARKER: munmap, MADV_GUARD_REMOVE does its own walk);
 * other markers (uffd-wp) are dropped on anonymous VMAs and kept on file VMAs.
 */
export function zapPtes(mm: Mm, start: number, end: number, dropMarkers: boolean, anonymous = true): void {
  for (let p = Math.max(start, 0); p < Math.min(end, mm.arenaPages); p++) {
    const e = mm.pte[p]!;
    if (e === PTE_GUARD && !dropMarkers) continue;
    if (e === PTE_MARKER && !dropMarkers && !anonymous) continue;
    mm.pte[p] = PTE_NONE;
    mm.priv.delete(p);
  }
}

/**
 * MADV_DONTNEED(_LOCKED) of [start, end) inside one VMA (mm/madvise.c:madvise_dontneed_single_vma ->
 * zap_vma_range_batched with details->reclaim_pt). CONFIG_PT_RECLAIM: a PTE table whose 2 MiB
 * block lies inside the range and is empty afterwards is freed, so the next fault there sees
 * pmd_none. A block that took the THP fault path and was never split (still all maybe-present)
 * is treated as huge-PMD mapped: zap_huge_pmd frees it on every kernel.
 */
export function dontneedZap(mm: Mm, start: number, end: number, anonymous: boolean): void {
  const huge = new Set<number>();
  for (let b = Math.ceil(start / HPAGE_PAGES); (b + 1) * HPAGE_PAGES <= end && b < mm.pmd.length; b++) {
    const s = b * HPAGE_PAGES;
    let all = true;
    let maybe = false;
    for (let p = s; p < s + HPAGE_PAGES && all; p++) {
      const e = mm.pte[p];
      if (e === PTE_MAYBE) maybe = true;
      else if (e !== PTE_ANON && e !== PTE_ZERO) all = false;
    }
    if (all && maybe) huge.add(b);
  }
  zapPtes(mm, start, end, false, anonymous);
  for (let b = Math.ceil(start / HPAGE_PAGES); (b + 1) * HPAGE_PAGES <= end && b < mm.pmd.length; b++) {
    const s = b * HPAGE_PAGES;
    let empty = true;
    for (let p = s; p < s + HPAGE_PAGES; p++) if (mm.pte[p] !== PTE_NONE) empty = false;
    if (empty && mm.pmd[b] && (mm.profile.rows['madvise.dontneed_reclaims_pt'] || huge.has(b))) {
      mm.pmd[b] = 0;
      mm.hit('pgtable.reclaimed');
    }
  }
}

/** Guard markers need PTE tables: every 2 MiB block the range touches gets one (walk install_pte). */
export function installPteTables(mm: Mm, start: number, end: number): void {
  for (let b = blockOf(start); b <= blockOf(end - 1) && b < mm.pmd.length; b++) mm.pmd[b] = 1;
}

/** Does [start, end) hold a guard marker? */
export function hasGuard(mm: Mm, start: number, end: number): boolean {
  for (let p = start; p < end; p++) if (mm.pte[p] === PTE_GUARD) return true;
  return false;
}

/**
 * Page-cache pages that reclaim may have taken away (MADV_PAGEOUT of a shmem page: swapped out when
 * there is swap): fault-around may or may not find them. Per file, kept beside Sys.files.
 */
const maybeCached = new WeakMap<Sys, Map<number, Set<number>>>();

export function maybeSet(sys: Sys, file: number): Set<number> {
  let m = maybeCached.get(sys);
  if (!m) maybeCached.set(sys, (m = new Map()));
  let s = m.get(file);
  if (!s) m.set(file, (s = new Set()));
  return s;
}

export function cacheMaybe(sys: Sys, file: number, pgoff: number): boolean {
  return maybeCached.get(sys)?.get(file)?.has(pgoff) === true;
}

export function cacheSure(sys: Sys, file: number, pgoff: number): void {
  maybeCached.get(sys)?.get(file)?.delete(pgoff);
}

/**
 * mm/madvise.c:madvise_cold_or_pageout_pte_range with pageout: every exclusive folio on the LRU is
 * isolated and handed to reclaim_pages(), which may write it out (swap) and unmap it, or keep it
 * (no swap, references): anonymous and page-cache pages become maybe-present, and a shmem page may
 * have left the page cache. The zero page (no folio) stays.
 */
export function markPagedOut(mm: Mm, vma: Vma, start: number, end: number): void {
  for (let p = start; p < end; p++) {
    const e = mm.pte[p]!;
    if (e === PTE_ANON || e === PTE_FILE) mm.pte[p] = PTE_MAYBE;
    if (e === PTE_FILE && vma.file > 0) {
      const pgoff = vma.pgoff + (p - vma.start);
      if (mm.sys.file(vma.file).cache.has(pgoff)) maybeSet(mm.sys, vma.file).add(pgoff);
    }
  }
}

/**
 * mm/shmem.c:shmem_fallocate(FALLOC_FL_PUNCH_HOLE) of file pages [first, last): unmap_mapping_range
 * (even_cows = 0: CoW copies in private mappings stay; markers stay) in every process, then the
 * pages leave the page cache.
 */
export function punchHole(mm: Mm, file: number, first: number, last: number): void {
  const procs = mm.sys.procs.length ? mm.sys.procs : [mm];
  // every mapping of the inode: the attaches of a SysV segment are struct files of their own over
  // one inode and page cache (ipc/shm.c:shm_fallocate -> shmem_fallocate -> unmap_mapping_range)
  const cache = mm.sys.file(file).cache;
  for (const m of procs) {
    for (const v of m.arenaVmas()) {
      if (v.file !== file && !(v.file > 0 && mm.sys.file(v.file).cache === cache)) continue;
      const shared = (v.flags & VM_SHARED) !== 0;
      const s = Math.max(v.start, v.start + (first - v.pgoff));
      const e = Math.min(v.end, v.start + (last - v.pgoff));
      for (let p = s; p < e; p++) {
        const x = m.pte[p]!;
        // zap_present_ptes: a pte without a folio (the zero page a UFFDIO_ZEROPAGE put in a
        // private file VMA) goes whatever the details; anonymous folios stay (no even_cows)
        if (x === PTE_FILE || x === PTE_ZERO || (x === PTE_MAYBE && shared)) m.pte[p] = PTE_NONE;
      }
    }
  }
  const f = mm.sys.file(file);
  for (let o = first; o < last; o++) {
    f.data.delete(o); // a hole again: it reads zeroes
    f.cache.delete(o);
    cacheSure(mm.sys, file, o);
  }
}

