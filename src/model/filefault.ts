// Faults on file-backed VMAs (declared memfd/tmpfs files and MAP_SHARED|MAP_ANONYMOUS memory: all
// shmem) and the userfaultfd fault events, after 7.3 mm/memory.c:do_fault (do_read_fault,
// do_cow_fault, do_shared_fault), mm/shmem.c:shmem_get_folio_gfp and mm/userfaultfd.c:
// handle_userfault. The harness resolves every event (docs/harness-protocol.md): missing with
// UFFDIO_ZEROPAGE (a private VMA gets an anon_vma and the zero page, shmem a zeroed cache page),
// minor with UFFDIO_CONTINUE (the cached page is mapped); the access is then retried.

import { UFFD_FEATURE } from '../seq/consts.js';
import { VM_SHARED, VM_UFFD_MINOR, VM_UFFD_MISSING, VM_UFFD_WP } from './flags.js';
import { anonVmaPrepare } from './fault.js';
import { cacheMaybe, cacheSure, faultAround, shmemFaultPtes } from './pages.js';
import { Unsupported } from './syscalls.js';
import { rowUnverified } from './profile-rows.js';
import { filePages, isRealFs } from './sys.js';
import { cowCopy } from './content.js';
import { largeFolioMaybe, readaheadMiss } from './realfs.js';
import { HPAGE_PAGES, Mm, PTE_ANON, PTE_FILE, PTE_ZERO, ptePresent, PTE_MAYBE, type Vma } from './state.js';
import { uffdCtxOf } from './uffd.js';

export const SIGBUS = 7;

/** How the fault was raised: a user access, GUP that may retry (mm_populate, FOLL_UNLOCKABLE), or
 *  GUP that may not (mprotect's populate of a locked VMA: no FAULT_FLAG_ALLOW_RETRY). */
export type FaultOrigin = 'user' | 'gup' | 'gup_noretry';

/**
 * mm/userfaultfd.c:handle_userfault for `reason`: SIGBUS with UFFD_FEATURE_SIGBUS or when the fault
 * cannot be retried (no event); otherwise the event is read and resolved (returns 0).
 */
export function userfault(mm: Mm, vma: Vma, reason: 'missing' | 'minor', origin: FaultOrigin): number {
  const ctx = uffdCtxOf(mm, vma)!;
  if (ctx.features & UFFD_FEATURE.UFFD_FEATURE_SIGBUS || origin === 'gup_noretry') {
    mm.hit('uffd.sigbus');
    return SIGBUS;
  }
  mm.sys.event(reason);
  mm.hit(reason === 'missing' ? 'uffd.event.missing' : 'uffd.event.minor');
  return 0;
}

/** Resolution of a missing page of a private VMA: UFFDIO_ZEROPAGE prepares the anon_vma
 *  (uffd_lock_vma) and maps the zero page; a write then copies it (do_wp_page). */
export function zeropageResolve(mm: Mm, vma: Vma, page: number, write: boolean): void {
  anonVmaPrepare(mm, vma);
  mm.pmd[Math.floor(page / HPAGE_PAGES)] = 1;
  if (mm.profile.zeroPage || !mm.profile.rows['uffd.zeropage_forbidden_folio']) {
    mm.pte[page] = write ? PTE_ANON : PTE_ZERO;
    return;
  }
  // mm/userfaultfd.c:mfill_atomic_pte_zeropage: mm_forbids_zeropage -> mfill_atomic_pte_zeroed_folio.
  // 6.12 allocates an anonymous folio for every private VMA; 7.3 takes the VMA's vm_uffd_ops, so a
  // private shmem VMA gets a page-cache folio (shmem_mfill_filemap_add), mapped read-only
  // (mfill_atomic_install_pte: page_in_cache && !vm_shared) - a write then copies it.
  mm.hit('uffd.zeropage.no_zero_page');
  if (vma.file > 0) {
    if (rowUnverified('uffd.zeropage_shmem_cache', mm.profile.version)) throw new Unsupported('UFFDIO_ZEROPAGE into a private shmem VMA without zero page: not verified between 6.12 and 7.3 (row uffd.zeropage_shmem_cache)');
    if (mm.profile.rows['uffd.zeropage_shmem_cache']) {
      const f = mm.sys.file(vma.file);
      const idx = vma.pgoff + (page - vma.start);
      f.cache.add(idx);
      cacheSure(mm.sys, vma.file, idx);
      mm.pte[page] = write ? PTE_ANON : PTE_FILE;
      return;
    }
  }
  mm.pte[page] = PTE_ANON;
}

/** do_fault for one page of a shmem-backed VMA. Returns 0 or SIGBUS. */
export function fileFault(mm: Mm, vma: Vma, page: number, write: boolean, origin: FaultOrigin): number {
  const f = mm.sys.file(vma.file);
  const idx = vma.pgoff + (page - vma.start);
  const eof = filePages(f);
  const block = Math.floor(page / HPAGE_PAGES);
  const shared = (vma.flags & VM_SHARED) !== 0;
  if (write && !shared) {
    // do_cow_fault: vmf_anon_prepare before ->fault, so even a SIGBUS leaves the anon_vma
    anonVmaPrepare(mm, vma);
    if (idx >= eof) {
      mm.hit('fault.file.cow_sigbus_anon_vma');
      mm.hit('fault.file.sigbus');
      return SIGBUS;
    }
  } else if (!write) {
    // do_read_fault: map the cached pages around first (->map_pages), ->fault only if needed
    if (vma.flags & (VM_UFFD_WP | VM_UFFD_MINOR)) mm.hit('uffd.no_fault_around');
    else {
      // a touched page that is maybe present already (a large folio's finish_fault mapped it, or
      // not): present, handle_pte_fault takes no fault and nothing is faulted around - so what
      // this fault-around maps is maybe-present only (found by a campaign: an xfs read fault after
      // MADV_DONTNEED of one page of the large folio)
      if (faultAround(mm, vma, page, f.cache, false, mm.pte[page] === PTE_MAYBE)) {
        mm.pmd[block] = 1;
        mm.hit('fault.file.around');
      }
      const e = mm.pte[page]!;
      if (ptePresent(e)) return 0;
      if (e === PTE_MAYBE) {
        // a page reclaim may have dropped: mapped from the cache, or ->fault allocates it again
        // (present either way) - unless a userfaultfd wants to hear about the second case
        if (vma.flags & VM_UFFD_MISSING) throw new Unsupported('userfaultfd event on a shmem page reclaim may have dropped');
        mm.pte[page] = PTE_FILE;
        f.cache.add(idx);
        cacheSure(mm.sys, vma.file, idx);
        return 0;
      }
    }
  }
  // shmem_get_folio_gfp: "index >= i_size" -> -EINVAL -> VM_FAULT_SIGBUS, before any uffd check
  if (idx >= eof) {
    mm.hit('fault.file.sigbus');
    return SIGBUS;
  }
  mm.pmd[block] = 1;
  if (shared) mm.hit('fault.shared');
  const cached = f.cache.has(idx);
  // a page reclaim may have dropped (MADV_PAGEOUT of a clean shmem page): minor or missing?
  if (cached && cacheMaybe(mm.sys, vma.file, idx) && vma.flags & (VM_UFFD_MINOR | VM_UFFD_MISSING)) {
    throw new Unsupported('userfaultfd event on a shmem page reclaim may have dropped');
  }
  if (cached && vma.flags & VM_UFFD_MINOR) {
    const s = userfault(mm, vma, 'minor', origin);
    if (s) return s;
    // UFFDIO_CONTINUE maps the cached page (a private VMA gets its anon_vma); a write retries:
    // shared - writable, private - copied
    if (!shared) anonVmaPrepare(mm, vma);
    if (write && !shared) cowCopy(mm, vma, page);
    mm.pte[page] = write && !shared ? PTE_ANON : PTE_FILE;
    return 0;
  }
  if (!cached && vma.flags & VM_UFFD_MISSING) {
    const s = userfault(mm, vma, 'missing', origin);
    if (s) return s;
    if (shared) {
      // mfill_atomic_pte_zeroed_folio: a zeroed page enters the page cache and is mapped
      f.cache.add(idx);
      mm.pte[page] = PTE_FILE;
    } else zeropageResolve(mm, vma, page, write);
    return 0;
  }
  mm.hit(write ? (shared ? 'fault.file.shared_write' : 'fault.file.cow') : 'fault.file.read');
  // a disk file's ->fault (filemap_fault) reads ahead on a miss: src/model/realfs.ts
  const ra = isRealFs(f) && (!cached || cacheMaybe(mm.sys, vma.file, idx));
  if (ra) readaheadMiss(mm, vma, idx);
  shmemFaultPtes(mm, vma, page, write);
  if (ra && !(write && !shared)) largeFolioMaybe(mm, vma, page);
  return 0;
}
