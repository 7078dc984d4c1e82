// Files on disk filesystems (ext4, xfs, btrfs) where they differ from shmem: the page cache is
// filled by readahead (mm/readahead.c), may hold large folios that one fault maps whole
// (mm/memory.c:finish_fault), placement goes through thp_get_unmapped_area, MAP_SYNC is refused
// by ->mmap_prepare, and there are no vm_uffd_ops. What readahead chose is the kernel's business:
// pages it may have brought in are "maybe cached" (src/model/pages.ts cacheMaybe), and a page
// mapped from them "maybe present" (PTE_MAYBE); where that would decide more than the pagemap
// (a PMD-sized folio, a file THP collapse) the model declines.

import { MAP, UFFD_FEATURE } from '../seq/consts.js';
import { VM_HUGEPAGE, VM_RAND_READ, VM_UFFD_WP } from './flags.js';
import { cacheSure, maybeSet } from './pages.js';
import { HPAGE_PAGES, PTE_MAYBE, PTE_NONE, type Mm, type Vma } from './state.js';
import { filePages, isRealFs, type FileObj } from './sys.js';
import { Unsupported } from './syscalls.js';

const realFile = (mm: Mm, vma: Vma): FileObj | null => {
  if (vma.file <= 0) return null;
  const f = mm.sys.file(vma.file);
  return isRealFs(f) ? f : null;
};

/** Mark file pages [from, to) that are not cached as maybe cached (readahead may have read them). */
function maybeCache(mm: Mm, f: FileObj, from: number, to: number): void {
  const s = maybeSet(mm.sys, f.id);
  for (let o = Math.max(0, from); o < Math.min(to, filePages(f)); o++) {
    if (f.cache.has(o) && !s.has(o)) continue;
    f.cache.add(o);
    s.add(o);
  }
}

/**
 * mm/filemap.c:filemap_fault missing the page cache at `idx` -> do_sync_mmap_readahead: read-around
 * of ra_pages (a bdi setting), sequential or async readahead, none for VM_RAND_READ (7.3: unless
 * VM_EXEC) or after many misses (mmap_miss). Which pages it reads is the kernel's choice: every
 * uncached page of the file below EOF may now be cached. VM_HUGEPAGE forces PMD-order readahead,
 * whose folio finish_fault may map with a PMD (do_set_pmd): declined.
 */
export function readaheadMiss(mm: Mm, vma: Vma, idx: number): void {
  const f = mm.sys.file(vma.file);
  if (vma.flags & VM_HUGEPAGE) throw new Unsupported('a page-cache miss in a VM_HUGEPAGE disk-file VMA reads ahead a PMD-sized folio the fault may map whole (mm/filemap.c:do_sync_mmap_readahead, do_set_pmd)');
  mm.hit('realfs.readahead');
  maybeCache(mm, f, 0, filePages(f));
  cacheSure(mm.sys, f.id, idx);
}

/**
 * mm/memory.c:finish_fault maps the whole large folio the faulting page belongs to when it fits in
 * the VMA and the page table (and ends below EOF): readahead may have made one, so the other pages
 * of this VMA in this 2 MiB block whose file page may be cached may now be present.
 */
export function largeFolioMaybe(mm: Mm, vma: Vma, page: number): void {
  const s = maybeSet(mm.sys, vma.file);
  const f = mm.sys.file(vma.file);
  // a folio never reaches past EOF (truncation took what was beyond: the page must still be cached)
  const eof = filePages(f);
  const b = Math.floor(page / HPAGE_PAGES) * HPAGE_PAGES;
  for (let p = Math.max(vma.start, b); p < Math.min(vma.end, b + HPAGE_PAGES); p++) {
    const o = vma.pgoff + (p - vma.start);
    if (p !== page && mm.pte[p] === PTE_NONE && o < eof && f.cache.has(o) && s.has(o)) {
      mm.pte[p] = PTE_MAYBE;
      mm.priv.delete(p);
    }
  }
}

/**
 * mm/filemap.c:filemap_map_pages for a disk file (row fault.around_eof_folio_no_table): the
 * first uptodate folio in [from, to] (clamped to EOF) is handed to filemap_map_pmd, which
 * installs the page table, only when it ends before EOF ("Do not allow to map with PMD across
 * i_size", shmem excepted); otherwise, with pmd_none, pte_offset_map_lock fails and nothing is
 * mapped. Pre-filled pages are small folios, so "holds the last page" is "is the last page"; a
 * maybe-cached first page (readahead: size unknown) leaves everything this fault-around maps
 * maybe-present. 'map' = the ordinary rule.
 */
export function aroundNoTable(mm: Mm, vma: Vma, from: number, to: number, cache: Set<number>): 'map' | 'none' | 'maybe' {
  if (!mm.profile.rows['fault.around_eof_folio_no_table'] || mm.pmd[Math.floor(from / HPAGE_PAGES)]) return 'map';
  const f = mm.sys.file(vma.file);
  const eof = filePages(f);
  for (let p = from; p <= to; p++) {
    const o = vma.pgoff + (p - vma.start);
    if (o >= eof) break;
    if (!cache.has(o)) continue;
    if (maybeSet(mm.sys, f.id).has(o)) return 'maybe';
    if (o !== eof - 1) return 'map';
    mm.hit('realfs.around_eof_no_table');
    return 'none';
  }
  return 'map';
}

/**
 * The fault-around of the retried fault after a disk file's miss: filemap_fault drops the mmap lock
 * for readahead or to wait for the folio's I/O (maybe_unlock_mmap_for_io, lock_folio_maybe_drop_mmap)
 * and returns VM_FAULT_RETRY; the retry's do_fault_around finds the faulting page cached, so the
 * page table is installed and the window's cached pages are mapped. Under VM_RAND_READ there is no
 * readahead, and a hole needs no I/O, so whether the lock was dropped (and the retry happened) is
 * the kernel's business: maybe.
 */
export function retryAround(mm: Mm, vma: Vma): 'map' | 'maybe' {
  if (!(vma.flags & VM_RAND_READ)) return 'map';
  mm.hit('realfs.rand_read_retry');
  return 'maybe';
}

/** mm/madvise.c:madvise_willneed -> vfs_fadvise(POSIX_FADV_WILLNEED) -> force_page_cache_readahead
 *  of the range (shmem swaps in instead: nothing changes for the model). */
export function willneedRealFs(mm: Mm, vma: Vma, start: number, end: number): void {
  const f = realFile(mm, vma);
  if (!f) return;
  mm.hit('realfs.willneed');
  const first = vma.pgoff + (start - vma.start);
  maybeCache(mm, f, first, first + (end - start));
}

/** MADV_COLLAPSE of a disk file: CONFIG_READ_ONLY_THP_FOR_FS or large-folio support, the page
 *  cache's folios and dirty state decide (mm/khugepaged.c:hpage_collapse_scan_file). */
export function collapseRealFs(mm: Mm, vma: Vma): void {
  if (realFile(mm, vma)) throw new Unsupported('MADV_COLLAPSE of a disk file depends on CONFIG_READ_ONLY_THP_FOR_FS and the page cache\'s folios (mm/khugepaged.c:collapse_file)');
}

/**
 * mmap of a disk file before the common checks: the f_op->get_unmapped_area of ext4, xfs and btrfs
 * is thp_get_unmapped_area, which pads and aligns the search by the file offset when the mapping
 * spans a 2 MiB-aligned 2 MiB of the file (mm/huge_memory.c:__thp_get_unmapped_area): declined
 * for non-fixed mappings. MAP_SYNC becomes VM_SYNC whatever the map type (include/linux/mman.h:
 * calc_vm_flag_bits, before do_mmap masks MAP_SHARED's flags), passes do_mmap on ext4/xfs
 * (FOP_MMAP_SYNC) and is refused by ->mmap_prepare after __mmap_setup (daxdev_mapping_supported:
 * VM_SYNC on a non-DAX inode): declined, private mappings included (found by a campaign: the
 * 6.18.44 host answers MAP_PRIVATE|MAP_SYNC of an ext4 file with EOPNOTSUPP).
 */
export function realFsMmapChecks(mm: Mm, f: FileObj, flags: number, fixed: boolean, pgoff: bigint, pages: number): void {
  if (!isRealFs(f)) return;
  if (!mm.profile.fsKinds.includes(f.kind)) throw new Unsupported(`the target has no ${f.kind} directory (hello fact fs)`);
  if (flags & MAP.MAP_SYNC && f.kind !== 'btrfs') {
    throw new Unsupported('MAP_SYNC on a non-DAX ext4/xfs file: refused by ->mmap_prepare after the old range was gathered (mm/vma.c:__mmap_region)');
  }
  if (!fixed) declineThpPlacement(f, pgoff, pages);
}

/** A non-fixed placement of a disk-file range [pgoff, pgoff + pages): thp_get_unmapped_area pads and
 *  aligns it by file offset when it spans an aligned 2 MiB of the file (mm/huge_memory.c:
 *  __thp_get_unmapped_area), which the model does not follow: declined. mmap, and mremap's move
 *  (get_unmapped_area with the VMA's file; found by a campaign: a DONTUNMAP move of a 2 MiB ext4
 *  mapping did not take its free hint). */
export function declineThpPlacement(f: FileObj, pgoff: bigint, pages: number): void {
  if (!isRealFs(f)) return;
  const alignedOff = ((pgoff + 511n) / 512n) * 512n;
  if (alignedOff + 512n <= pgoff + BigInt(pages)) {
    throw new Unsupported('placement of a disk-file mapping spanning an aligned 2 MiB of the file: thp_get_unmapped_area aligns by file offset (mm/huge_memory.c:__thp_get_unmapped_area)');
  }
}

/** mm/userfaultfd.c:vma_can_userfault for a disk file VMA (no vm_uffd_ops): only asynchronous
 *  uffd-wp (UFFD_FEATURE_WP_ASYNC with WP alone) registers, and that needs uffd-wp PTE markers
 *  on file memory: declined. Returns false (EINVAL) or throws. */
export function realFsCanUserfault(mm: Mm, v: Vma, uffdFlags: number, features: number): boolean {
  if (uffdFlags === VM_UFFD_WP && features & UFFD_FEATURE.UFFD_FEATURE_WP_ASYNC) {
    throw new Unsupported('asynchronous uffd-wp of a disk file VMA (PTE markers on file memory) is not modelled');
  }
  mm.hit('errno.uffd.realfs');
  return false;
}

export { realFile };
