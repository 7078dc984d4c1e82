// madvise(2) after 7.3's mm/madvise.c (do_madvise -> madvise_walk_vmas -> madvise_vma_behavior),
// with the profile rows of older kernels. Returns 0 or a positive errno; rule ids record the path.

import { lazyFree } from './content.js';
import { collapseRealFs, willneedRealFs } from './realfs.js';
import { removeEvent } from './uffd.js';
import { MADV } from '../seq/consts.js';
import type { Addr } from '../seq/values.js';
import { anonVmaPrepare, faultinRange, vmaIsAnonymous } from './fault.js';
import {
  VM_HUGETLB,
  VM_DONTCOPY,
  VM_DONTDUMP,
  VM_DROPPABLE,
  VM_HUGEPAGE,
  VM_IGNORE_MERGE,
  VM_LOCKED,
  VM_MAYBE_GUARD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_MERGEABLE,
  VM_NOHUGEPAGE,
  VM_RAND_READ,
  VM_READ,
  VM_SEALED,
  VM_SEQ_READ,
  VM_SHARED,
  VM_WIPEONFORK,
  VM_WRITE,
} from './flags.js';
import { vmaModifyFlags } from './merge.js';
import { madviseHugetlb } from './hugetlb-madvise.js';
import { dontneedZap, hasGuard, installPteTables, markPagedOut, punchHole, zapPtes } from './pages.js';
import { HPAGE_PAGES, Mm, PTE_ANON, PTE_GUARD, PTE_MARKER, PTE_MAYBE, type Vma } from './state.js';
import { classifyLen, EAGAIN, EINVAL, ENOMEM, EPERM, Unsupported } from './syscalls.js';
import { filePages } from './sys.js';
import { punchHoleSealed } from './seals.js';

export const EFAULT = 14;
export const EACCES = 13;
const M = MADV;
const MADV_SOFT_OFFLINE = 101;
const MADV_HWPOISON = 100;

/** What one madvise_vma_behavior() call did: an errno (>0), or the VMA the walk continues from. */
type Step = number | Vma;

/** mm/madvise.c:madvise_behavior_valid on this kernel (CONFIG_KSM and CONFIG_TRANSPARENT_HUGEPAGE
 *  as the profile says; guard advice from 6.13, see profile rows). */
function behaviorValid(mm: Mm, advice: number): boolean {
  const p = mm.profile;
  switch (advice) {
    case M.MADV_HUGEPAGE:
    case M.MADV_NOHUGEPAGE:
    case M.MADV_COLLAPSE:
      return p.thp !== 'none';
    case M.MADV_GUARD_INSTALL:
    case M.MADV_GUARD_REMOVE:
      return p.guard !== 'none';
    default:
      return (
        (advice >= M.MADV_NORMAL && advice <= M.MADV_DONTNEED) ||
        (advice >= M.MADV_FREE && advice <= M.MADV_DONTNEED_LOCKED)
      );
  }
}

/** mm/madvise.c:is_discard (CONFIG_64BIT): advice that throws data away. */
function isDiscard(advice: number): boolean {
  return (
    advice === M.MADV_FREE ||
    advice === M.MADV_DONTNEED ||
    advice === M.MADV_DONTNEED_LOCKED ||
    advice === M.MADV_REMOVE ||
    advice === M.MADV_DONTFORK ||
    advice === M.MADV_WIPEONFORK ||
    advice === M.MADV_GUARD_INSTALL
  );
}

/** mm/madvise.c:do_madvise for the calling process. */
export function sysMadvise(mm: Mm, addr: Addr, lenArg: bigint, advice: number): number {
  if (advice === MADV_HWPOISON || advice === MADV_SOFT_OFFLINE) {
    throw new Unsupported('MADV_HWPOISON/MADV_SOFT_OFFLINE depend on CONFIG_MEMORY_FAILURE and CAP_SYS_ADMIN');
  }
  if (!behaviorValid(mm, advice)) {
    mm.hit('errno.madvise.bad_advice');
    return EINVAL;
  }
  // check_input_range
  if (addr.off) {
    mm.hit('errno.madvise.unaligned');
    return EINVAL;
  }
  const len = classifyLen(lenArg);
  if (len.kind === 'unknown' || (len.kind === 'beyond_task' && !len.wraps)) throw new Unsupported('madvise length reaching beyond the arena');
  if (len.kind === 'beyond_task') {
    mm.hit('errno.madvise.len_wrap');
    return EINVAL;
  }
  if (lenArg === 0n) {
    mm.hit('madvise.len_zero');
    return 0;
  }
  const start = addr.page;
  const end = start + len.pages;
  if (advice === M.MADV_POPULATE_READ || advice === M.MADV_POPULATE_WRITE) {
    if (mm.profile.rows['madvise.populate_hole_enomem']) return madvisePopulate(mm, start, end, advice === M.MADV_POPULATE_WRITE);
  }
  return madviseWalkVmas(mm, start, end, (vma, prev, s, e) => madviseVmaBehavior(mm, advice, vma, prev, s, e), 'errno.madvise.hole');
}

/**
 * mm/madvise.c:madvise_walk_vmas: visit every VMA overlapping [start, end) with the part of the
 * range inside it; a hole does not stop the walk but makes the result ENOMEM; an error from a VMA
 * ends it (earlier VMAs stay changed). The walk continues after the VMA the visit returned (a
 * merge may have grown it past the range end).
 */
export function madviseWalkVmas(
  mm: Mm,
  start: number,
  end: number,
  visit: (vma: Vma, prev: Vma, start: number, end: number) => Step,
  holeRule: 'errno.madvise.hole' | 'errno.anon_name.hole',
): number {
  let i = mm.findIndex(start);
  let vma = mm.vmas[i]!;
  let prev = start > vma.start ? vma : mm.vmas[i - 1]!;
  let unmapped = 0;
  for (;;) {
    if (start < vma.start) {
      unmapped = ENOMEM;
      start = vma.start;
      if (start >= end) break;
    }
    let rangeEnd = Math.min(vma.end, end);
    const r = visit(vma, prev, start, rangeEnd);
    if (typeof r === 'number') {
      if (r) return r;
    } else {
      vma = r;
    }
    prev = vma;
    if (rangeEnd < vma.end) rangeEnd = vma.end;
    if (rangeEnd >= end) break;
    i = mm.findIndex(vma.end);
    vma = mm.vmas[i]!;
    start = rangeEnd;
  }
  if (unmapped) mm.hit(holeRule);
  return unmapped;
}

/** mm/madvise.c:can_madvise_modify: a sealed VMA refuses discards when it is anonymous and the
 *  process cannot write it anyway. */
function canMadviseModify(vma: Vma, advice: number): boolean {
  if (!(vma.flags & VM_SEALED) || !isDiscard(advice)) return true;
  if (!vmaIsAnonymous(vma)) return true;
  return (vma.flags & VM_WRITE) !== 0;
}

/** mm/madvise.c:madvise_vma_behavior for [start, end) inside vma. */
function madviseVmaBehavior(mm: Mm, advice: number, vma: Vma, prev: Vma, start: number, end: number): Step {
  if (!canMadviseModify(vma, advice)) {
    mm.hit('errno.madvise.sealed');
    return EPERM;
  }
  // hugetlb VMAs: src/model/hugetlb-madvise.ts
  if (vma.flags & VM_HUGETLB) {
    const r = madviseHugetlb(mm, advice, vma, start, end);
    if (r !== null) return r;
  }
  let nf = vma.flags;
  switch (advice) {
    case M.MADV_REMOVE:
      return madviseRemove(mm, vma, start, end);
    case M.MADV_WILLNEED:
      mm.hit('madvise.willneed'); // swap-in / readahead into the page cache: nothing gets mapped
      willneedRealFs(mm, vma, start, end);
      return 0;
    case M.MADV_COLD:
    case M.MADV_PAGEOUT:
      // can_madv_lru_vma (VM_PFNMAP and VM_HUGETLB never arise here)
      if (vma.flags & VM_LOCKED) {
        mm.hit('errno.madvise.locked');
        return EINVAL;
      }
      if (advice === M.MADV_COLD) {
        mm.hit('madvise.cold');
      } else {
        mm.hit('madvise.pageout');
        markPagedOut(mm, vma, start, end);
      }
      return 0;
    case M.MADV_FREE:
    case M.MADV_DONTNEED:
    case M.MADV_DONTNEED_LOCKED:
      return madviseDontneedFree(mm, advice, vma, start, end);
    case M.MADV_COLLAPSE:
      return madviseCollapse(mm, vma, start, end);
    case M.MADV_GUARD_INSTALL:
      return madviseGuardInstall(mm, vma, start, end);
    case M.MADV_GUARD_REMOVE:
      if (!validGuardVma(mm, vma, true)) return EINVAL;
      mm.hit('madvise.guard.remove');
      for (let p = start; p < end; p++) if (mm.pte[p] === PTE_GUARD) mm.pte[p] = 0;
      return 0;
    case M.MADV_POPULATE_READ:
    case M.MADV_POPULATE_WRITE:
      // 6.1 - 6.8 (row madvise.populate_hole_enomem off): one VMA at a time from the walk
      return populateVma(mm, vma, start, end, advice === M.MADV_POPULATE_WRITE);
    // The behaviours below change vm_flags through madvise_update_vma().
    case M.MADV_NORMAL:
      nf &= ~(VM_RAND_READ | VM_SEQ_READ);
      break;
    case M.MADV_SEQUENTIAL:
      nf = (nf & ~VM_RAND_READ) | VM_SEQ_READ;
      break;
    case M.MADV_RANDOM:
      nf = (nf & ~VM_SEQ_READ) | VM_RAND_READ;
      break;
    case M.MADV_DONTFORK:
      nf |= VM_DONTCOPY;
      break;
    case M.MADV_DOFORK:
      nf &= ~VM_DONTCOPY; // EINVAL for VM_SPECIAL (7.3) / VM_IO (older): never arises here
      break;
    case M.MADV_WIPEONFORK:
      if (vma.file !== 0 || vma.flags & VM_SHARED) {
        mm.hit('errno.madvise.wipeonfork_shared');
        return EINVAL;
      }
      nf |= VM_WIPEONFORK;
      break;
    case M.MADV_KEEPONFORK:
      if (vma.flags & VM_DROPPABLE) {
        mm.hit('errno.madvise.keeponfork_droppable');
        return EINVAL;
      }
      nf &= ~VM_WIPEONFORK;
      break;
    case M.MADV_DONTDUMP:
      nf |= VM_DONTDUMP;
      break;
    case M.MADV_DODUMP:
      if (vma.flags & VM_DROPPABLE) {
        mm.hit('errno.madvise.dodump_droppable');
        return EINVAL;
      }
      nf &= ~VM_DONTDUMP;
      break;
    case M.MADV_MERGEABLE:
      // mm/ksm.c:ksm_madvise + ksm_compatible
      if (!(nf & VM_MERGEABLE) && (nf & (VM_SHARED | VM_MAYSHARE | VM_DROPPABLE | VM_HUGETLB)) === 0) nf |= VM_MERGEABLE;
      else mm.hit('madvise.ksm.ignored');
      break;
    case M.MADV_UNMERGEABLE:
      if (nf & VM_MERGEABLE) nf &= ~VM_MERGEABLE; // break_ksm: no KSM page is visible in the layers
      else mm.hit('madvise.ksm.ignored');
      break;
    case M.MADV_HUGEPAGE:
      // mm/khugepaged.c:hugepage_madvise
      nf = (nf & ~VM_NOHUGEPAGE) | VM_HUGEPAGE;
      break;
    case M.MADV_NOHUGEPAGE:
      nf = (nf & ~VM_HUGEPAGE) | VM_NOHUGEPAGE;
      break;
    default:
      throw new Error(`model bug: advice ${advice} passed madvise_behavior_valid`);
  }
  return madviseUpdateVma(mm, vma, prev, start, end, nf);
}

/** mm/madvise.c:madvise_update_vma (flags): skip an unchanged VMA, else merge-then-split; a split
 *  failure (ENOMEM) is reported as EAGAIN by madvise_vma_behavior. */
function madviseUpdateVma(mm: Mm, vma: Vma, prev: Vma, start: number, end: number, nf: number): Step {
  if (nf === vma.flags) {
    mm.hit('madvise.flags.unchanged');
    return vma;
  }
  const r = vmaModifyFlags(mm, prev, vma, start, end, nf);
  // a refused hugetlb split (hugetlb_vm_op_split) stays EINVAL: only -ENOMEM becomes -EAGAIN
  if (r === -EINVAL) return EINVAL;
  if (typeof r === 'number') {
    mm.hit('errno.madvise.split_eagain');
    return EAGAIN;
  }
  mm.hit('madvise.flags.update');
  // vma_modify_flags hands back the merged VMA's sticky flags
  r.flags = nf | (r.flags & VM_IGNORE_MERGE);
  return r;
}

/** mm/madvise.c:madvise_dontneed_free (hugetlb and VM_PFNMAP never arise here). */
function madviseDontneedFree(mm: Mm, advice: number, vma: Vma, start: number, end: number): Step {
  if (advice !== M.MADV_DONTNEED_LOCKED && vma.flags & VM_LOCKED) {
    mm.hit('errno.madvise.locked');
    return EINVAL;
  }
  userfaultfdRemove(mm, vma);
  if (advice === M.MADV_FREE) {
    if (!vmaIsAnonymous(vma)) {
      mm.hit('errno.madvise.free_not_anon');
      return EINVAL;
    }
    // madvise_free_pte_range: anonymous folios become lazy-free and stay mapped until reclaim,
    // which may drop them at any time (the zero page and markers are left alone).
    mm.hit('madvise.free');
    for (let p = start; p < end; p++) {
      if (mm.pte[p] !== PTE_ANON) continue;
      mm.pte[p] = PTE_MAYBE;
      lazyFree(mm, p);
    }
    return 0;
  }
  mm.hit('madvise.dontneed');
  dontneedZap(mm, start, end, vmaIsAnonymous(vma));
  return 0;
}

/** mm/userfaultfd.c:userfaultfd_remove - UFFD_EVENT_REMOVE for a context that asked for it. */
function userfaultfdRemove(mm: Mm, vma: Vma): void {
  removeEvent(mm, vma); // src/model/uffd.ts: UFFD_FEATURE_EVENT_REMOVE, rule uffd.event.remove
}

/** mm/madvise.c:madvise_remove -> vfs_fallocate(PUNCH_HOLE | KEEP_SIZE) on the shmem file. */
function madviseRemove(mm: Mm, vma: Vma, start: number, end: number): Step {
  if (vma.flags & VM_LOCKED) {
    mm.hit('errno.madvise.locked');
    return EINVAL;
  }
  if (!vma.file) {
    mm.hit('errno.madvise.remove_no_file');
    return EINVAL;
  }
  if ((vma.flags & (VM_SHARED | VM_MAYWRITE)) !== (VM_SHARED | VM_MAYWRITE)) {
    mm.hit('errno.madvise.remove_not_shared');
    return EACCES;
  }
  // fs/btrfs/file.c:btrfs_punch_hole returns early for a range that is all hole on disk ("Already
  // in a large hole": nothing unmapped, the cached pages stay) and punches only from the first
  // extent on (find_first_non_hole). A page with contents is data on disk (pre-filled, or written:
  // btrfs_wait_ordered_range writes the range back first); one without may be a hole - declined.
  const rf = mm.sys.file(vma.file);
  if (rf.kind === 'btrfs') {
    const from = vma.pgoff + (start - vma.start);
    for (let k = from; k < from + (end - start); k++) {
      if (k >= filePages(rf) || !rf.data.has(k)) throw new Unsupported('MADV_REMOVE of a btrfs range that may hold a hole: btrfs_punch_hole skips it up to the first extent (find_first_non_hole); holes on disk are not modelled');
    }
  }
  userfaultfdRemove(mm, vma);
  // vfs_fallocate -> shmem_fallocate(PUNCH_HOLE): write seals refuse it (src/model/seals.ts)
  if (punchHoleSealed(mm, vma.file)) return EPERM;
  mm.hit('madvise.remove');
  const first = vma.pgoff + (start - vma.start);
  punchHole(mm, vma.file, first, first + (end - start));
  return 0;
}

/** mm/madvise.c:is_valid_guard_vma; 6.13/6.14 (fact guard=anon) also want an anonymous VM_MAYWRITE VMA. */
function validGuardVma(mm: Mm, vma: Vma, allowLocked: boolean): boolean {
  let ok = allowLocked || !(vma.flags & VM_LOCKED);
  if (mm.profile.guard === 'anon' && (!vmaIsAnonymous(vma) || !(vma.flags & VM_MAYWRITE))) ok = false;
  if (!ok) mm.hit(vma.flags & VM_LOCKED && !allowLocked ? 'errno.madvise.locked' : 'errno.madvise.guard_vma');
  return ok;
}

/** mm/madvise.c:madvise_guard_install: flag the VMA, prepare the anon_vma, zap what is mapped, then
 *  a marker in every pte of the range (existing markers stay; page tables are allocated). */
function madviseGuardInstall(mm: Mm, vma: Vma, start: number, end: number): Step {
  if (!validGuardVma(mm, vma, false)) return EINVAL;
  if (mm.profile.rows['madvise.maybe_guard_flag']) {
    vma.flags |= VM_MAYBE_GUARD; // atomically, on the whole VMA: no split
    mm.hit('madvise.guard.flag');
    if (vmaIsAnonymous(vma)) {
      anonVmaPrepare(mm, vma);
      mm.hit('madvise.guard.anon_vma');
    }
  } else {
    anonVmaPrepare(mm, vma); // 6.13 - 6.18.35: on every VMA kind
    mm.hit('madvise.guard.anon_vma');
  }
  // A uffd-wp marker of a file VMA survives the zap, so guard_install_pte_entry keeps finding a
  // non-guard entry: three zaps, then restart_syscall() - the call never completes.
  if (!vmaIsAnonymous(vma) && mm.pte.subarray(start, end).includes(PTE_MARKER)) {
    throw new Unsupported('MADV_GUARD_INSTALL over uffd-wp markers of a file VMA restarts forever (madvise_guard_install)');
  }
  mm.hit('madvise.guard.install');
  zapPtes(mm, start, end, false, vmaIsAnonymous(vma));
  for (let p = start; p < end; p++) mm.pte[p] = PTE_GUARD;
  installPteTables(mm, start, end);
  return 0;
}

/** check_vma_flags without FOLL_FORCE, as MADV_POPULATE_* use it (-EINVAL for them). */
function populateAllowed(vma: Vma, write: boolean): boolean {
  return write ? (vma.flags & VM_WRITE) !== 0 : (vma.flags & VM_READ) !== 0;
}

/** 7.3 mm/madvise.c:madvise_populate -> faultin_page_range: VMA by VMA from start, a missing VMA is
 *  ENOMEM, a VMA without the access EINVAL, a guard marker EFAULT (pages before it stay populated). */
function madvisePopulate(mm: Mm, start: number, end: number, write: boolean): number {
  mm.hit('madvise.populate');
  let p = start;
  while (p < end) {
    const vma = mm.lookup(p);
    if (!vma || mm.isFence(vma)) {
      mm.hit('errno.madvise.populate_hole');
      return ENOMEM;
    }
    const r = populateVma(mm, vma, p, Math.min(vma.end, end), write);
    if (typeof r === 'number' && r) return r;
    p = Math.min(vma.end, end);
  }
  return 0;
}

/** Populate [start, end) of one VMA for MADV_POPULATE_*; 0 or an errno. */
function populateVma(mm: Mm, vma: Vma, start: number, end: number, write: boolean): number {
  if (!populateAllowed(vma, write)) {
    mm.hit('errno.madvise.populate_prot');
    return EINVAL;
  }
  mm.hit('madvise.populate');
  const n = faultinRange(mm, vma, start, end, write);
  if (n !== end - start) {
    mm.hit('errno.madvise.populate_guard');
    return EFAULT;
  }
  return 0;
}

/**
 * mm/khugepaged.c:madvise_collapse: EINVAL where no PMD-size THP is possible (VM_NOHUGEPAGE, no
 * aligned 2 MiB block in the VMA, an anonymous VMA without anon_vma); 0 when the range holds no
 * aligned block. Collapsing a block depends on a THP allocation: not predictable.
 */
function madviseCollapse(mm: Mm, vma: Vma, start: number, end: number): Step {
  // shmem: which orders a forced collapse may use depends on the per-size shmem_enabled knobs
  // (hugepages-*/shmem_enabled, not probed) and changed after 6.18 (mm/shmem.c:shmem_allowable_huge_orders)
  collapseRealFs(mm, vma);
  if (vma.file !== 0 && !(vma.flags & VM_NOHUGEPAGE)) throw new Unsupported('MADV_COLLAPSE of shmem depends on the per-size shmem THP settings');
  const aligned = Math.ceil(vma.start / HPAGE_PAGES) * HPAGE_PAGES;
  const possible =
    !(vma.flags & VM_NOHUGEPAGE) &&
    aligned + HPAGE_PAGES <= vma.end &&
    // anonymous: __thp_vma_allowable_orders wants an anon_vma; files: a PMD-aligned pgoff
    (vma.file === 0 ? vma.anonVma !== 0 : (((vma.start - vma.pgoff) % HPAGE_PAGES) + HPAGE_PAGES) % HPAGE_PAGES === 0);
  if (!possible) {
    mm.hit('errno.madvise.collapse');
    return EINVAL;
  }
  if (Math.ceil(start / HPAGE_PAGES) * HPAGE_PAGES + HPAGE_PAGES > end) {
    mm.hit('madvise.collapse.nothing');
    return 0;
  }
  if (hasGuard(mm, start, end)) throw new Unsupported('MADV_COLLAPSE over guard markers');
  throw new Unsupported('MADV_COLLAPSE of a 2 MiB block depends on a THP allocation');
}
