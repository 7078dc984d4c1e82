// The modelled system calls: mmap (anonymous), munmap, mprotect, after 7.3's mm/mmap.c, mm/vma.c
// and mm/mprotect.c. Each returns a negative errno or a result; rule ids record the path taken.

import { MAP, PROT } from '../seq/consts.js';
import type { Addr } from '../seq/values.js';
import {
  VM_ACCESS_FLAGS,
  VM_ACCOUNT,
  VM_DONTDUMP,
  VM_DROPPABLE,
  VM_EXEC,
  VM_FLAGS_CLEAR,
  VM_GROWSDOWN,
  VM_HUGETLB,
  VM_IGNORE_MERGE,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NOHUGEPAGE,
  VM_NORESERVE,
  VM_PKEY_EXEC_ONLY,
  VM_READ,
  VM_SHARED,
  VM_SEALED,
  VM_SOFTDIRTY,
  VM_SYNC,
  VM_WIPEONFORK,
  VM_WRITE,
} from './flags.js';
import { freePgtables, mmPopulate, populateVmaPageRange, vmaIsAnonymous } from './fault.js';
import { splitVmaUnchecked, vmaMergeNewRange, vmaModifyFlags } from './merge.js';
import { getUnmappedArea, type Placement, thpAlignApplies } from './placement.js';
import { Mm, type Vma } from './state.js';
import { zapPtes } from './pages.js';
import { unmapEvents } from './uffd.js';
import { mmapUnmapErrno, sysMmapHugetlb } from './hugetlb.js';
import { maySplit } from './vm-ops.js';

export const EPERM = 1;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EEXIST = 17;
export const EINVAL = 22;

/** A length as the kernel sees it relative to an arena far below TASK_SIZE (base > 2^21). */
export type LenClass = { kind: 'pages'; pages: number } | { kind: 'beyond_task'; wraps: boolean } | { kind: 'unknown' };

const SMALL = 1n << 40n;
const BEYOND_TASK = 1n << 57n; // above TASK_SIZE with or without 5-level paging
const WRAPS = (1n << 64n) - (1n << 21n); // start + len wraps for any start >= 2^21
const ALIGN_OVERFLOW = (1n << 64n) - 4096n; // PAGE_ALIGN(len) == 0 above this

export function classifyLen(len: bigint): LenClass {
  if (len <= SMALL) return { kind: 'pages', pages: Number((len + 4095n) >> 12n) };
  if (len >= BEYOND_TASK) return { kind: 'beyond_task', wraps: len > WRAPS };
  return { kind: 'unknown' };
}

/** Thrown for inputs whose outcome depends on something the model cannot know. A verdict, not a
 *  bug: no stack trace (capturing one cost more than predicting the whole sequence). */
export class Unsupported extends Error {
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}

/** The corpus schema keeps every range inside the arena (src/seq/schema.ts:arenaProblem); the model
 *  knows nothing beyond the fences. */
export function checkInArena(mm: Mm, start: number, end: number): void {
  if (start < 0 || end > mm.arenaPages) throw new Unsupported(`range [${start}, ${end}) leaves the ${mm.arenaPages}-page arena`);
}

export interface MmapArgs {
  addr: Addr | null;
  len: bigint;
  prot: number;
  flags: number;
  offset: bigint;
}

export type MmapResult = { err: number } | { placement: Placement };

const MAP_TYPE = 0x0f;
const MAP_DROPPABLE = 0x08;

/** mm/mmap.c:calc_vm_prot_bits (+ x86 execute-only pkey, arch/x86/mm/pkeys.c:execute_only_pkey). */
export function calcVmProtBits(mm: Mm, prot: number, execOnlyPkey: boolean): number {
  let f = 0;
  if (prot & PROT.PROT_READ) f |= VM_READ;
  if (prot & PROT.PROT_WRITE) f |= VM_WRITE;
  if (prot & PROT.PROT_EXEC) f |= VM_EXEC;
  if (execOnlyPkey && mm.profile.execOnlyPkey) f |= VM_PKEY_EXEC_ONLY;
  return f;
}

/** Judges the kernel's placement of a non-fixed mmap (see predict.ts:legalPlacement). */
export type PlacementJudge = (own: Placement, len: number, hint: number | null, thp: boolean) => Placement | null;

/** do_mmap's vm_flags before the mapping type is looked at: calc_vm_prot_bits |
 *  include/linux/mman.h:calc_vm_flag_bits | VM_MAY{READ,WRITE,EXEC} (anonymous and file alike). */
export function mmapVmFlags(mm: Mm, prot: number, flags: number): number {
  let vmFlags = calcVmProtBits(mm, prot, prot === PROT.PROT_EXEC);
  if (flags & MAP.MAP_GROWSDOWN) vmFlags |= VM_GROWSDOWN;
  if (flags & MAP.MAP_LOCKED) vmFlags |= VM_LOCKED;
  if (flags & MAP.MAP_SYNC) vmFlags |= VM_SYNC;
  if (flags & MAP.MAP_STACK && mm.profile.thp !== 'none' && mm.profile.rows['mmap.map_stack_nohugepage']) {
    vmFlags |= VM_NOHUGEPAGE;
    mm.hit('mmap.flags.stack_nohugepage');
  }
  return vmFlags | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
}

/** The kernel's placement when the legality check accepted it (the kernel legitimately chooses
 *  where a non-fixed mapping lands), else the model's own. */
export function acceptPlacement(mm: Mm, own: Placement, accepted: Placement | null): Placement {
  if (!accepted) return own;
  if (accepted.kind !== own.kind || (accepted.kind === 'arena' && own.kind === 'arena' && accepted.page !== own.page)) mm.hit('mmap.place.kernel_accepted');
  return accepted;
}

/** x86-64 sys_mmap -> ksys_mmap_pgoff -> vm_mmap_pgoff -> do_mmap -> mmap_region, fd = -1. */
export function sysMmap(mm: Mm, a: MmapArgs, judge?: PlacementJudge): MmapResult {
  const p = mm.profile;
  const err = (e: number, id: Parameters<Mm['hit']>[0]): MmapResult => {
    mm.hit(id);
    return { err: e };
  };
  // arch/x86/kernel/sys_x86_64.c:sys_mmap
  if (a.offset & 0xfffn) return err(EINVAL, 'errno.mmap.offset_unaligned');
  let flags = a.flags;
  // mm/mmap.c:ksys_mmap_pgoff: without MAP_ANONYMOUS, fd -1 is a bad file descriptor
  if (!(flags & MAP.MAP_ANONYMOUS)) return err(EBADF, 'errno.mmap.ebadf');
  if (flags & MAP.MAP_HUGETLB) return sysMmapHugetlb(mm, a); // src/model/hugetlb.ts
  // mm/mmap.c:do_mmap
  if (a.len === 0n) return err(EINVAL, 'errno.mmap.len_zero');
  if (flags & MAP.MAP_FIXED_NOREPLACE) flags |= MAP.MAP_FIXED;
  const fixed = (flags & MAP.MAP_FIXED) !== 0;
  if (a.addr === null && fixed) throw new Unsupported('MAP_FIXED at address 0 depends on CAP_SYS_RAWIO and the LSM');
  if (a.len > ALIGN_OVERFLOW) return err(ENOMEM, 'errno.mmap.len_overflow');
  if (mm.mapCount > p.maxMapCount) return err(ENOMEM, 'errno.mmap.map_count');

  let vmFlags = mmapVmFlags(mm, a.prot, flags);

  // mm/mmap.c:__get_unmapped_area
  const len = classifyLen(a.len);
  if (len.kind === 'unknown') throw new Unsupported('length between the arena and TASK_SIZE');
  if (len.kind === 'beyond_task') return err(ENOMEM, 'errno.mmap.len_task_size');
  const pages = len.pages;
  let placement: Placement;
  if (fixed) {
    if (a.addr!.off) return err(EINVAL, 'errno.mmap.fixed_unaligned');
    checkInArena(mm, a.addr!.page, a.addr!.page + pages);
    placement = { kind: 'arena', page: a.addr!.page };
  } else {
    // round_hint_to_min: the hint is rounded down to a page (arena hints are far above mmap_min_addr)
    const hint = a.addr === null ? null : a.addr.page;
    const shared = (flags & MAP.MAP_SHARED) !== 0;
    const map32 = (flags & MAP.MAP_32BIT) !== 0;
    placement = getUnmappedArea(mm, hint, pages, shared, map32);
    if (judge) placement = acceptPlacement(mm, placement, judge(placement, pages, hint, thpAlignApplies(mm, hint, pages, shared, map32)));
  }
  const start = placement.kind === 'arena' ? placement.page : -1;
  const end = start + pages;
  if (fixed && flags & MAP.MAP_FIXED_NOREPLACE && mm.intersect(start, end)) return err(EEXIST, 'errno.mmap.fixed_noreplace');
  // MAP_LOCKED without CAP_IPC_LOCK: can_do_mlock / mlock_future_ok
  if (p.memlockPages !== null && vmFlags & VM_LOCKED) {
    if (flags & MAP.MAP_LOCKED && p.memlockPages === 0) return err(EPERM, 'errno.mmap.mlock_perm');
    if (mm.lockedPages(VM_LOCKED) + pages > p.memlockPages) return err(EAGAIN, 'errno.mmap.mlock_limit');
  }

  let pgoff: number;
  switch (flags & MAP_TYPE) {
    case MAP.MAP_SHARED:
      if (vmFlags & VM_GROWSDOWN) return err(EINVAL, 'errno.mmap.shared_growsdown');
      pgoff = 0;
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      break;
    case MAP_DROPPABLE:
      if (!p.rows['mmap.map_droppable']) return err(EINVAL, 'errno.mmap.bad_type');
      if (flags & (MAP.MAP_LOCKED | MAP.MAP_HUGETLB)) return err(EINVAL, 'errno.mmap.droppable_locked');
      if (vmFlags & VM_GROWSDOWN) return err(EINVAL, 'errno.mmap.droppable_growsdown');
      vmFlags |= VM_DROPPABLE | VM_NORESERVE | VM_WIPEONFORK | VM_DONTDUMP;
      mm.hit('mmap.flags.droppable');
      pgoff = start;
      break;
    case MAP.MAP_PRIVATE:
      pgoff = start; // "Set pgoff according to addr for anon_vma"
      break;
    default:
      return err(EINVAL, 'errno.mmap.bad_type');
  }
  if (flags & MAP.MAP_NORESERVE && !p.overcommitNever) vmFlags |= VM_NORESERVE;

  if (placement.kind === 'outside') {
    mm.outside++; // not tracked further: whatever it merges with lies outside the arena
    return { placement };
  }
  const res = mmapRegion(mm, start, end, vmFlags, pgoff);
  if (res) return { err: res };
  // mm/mmap.c:do_mmap "*populate = len" -> mm/gup.c:__mm_populate
  if (vmFlags & VM_LOCKED || (flags & (MAP.MAP_POPULATE | MAP.MAP_NONBLOCK)) === MAP.MAP_POPULATE) {
    mm.hit('mmap.populate');
    mmPopulate(mm, start, end);
  }
  return { placement };
}

/** mm/vma.c:__mmap_region for [start, end) in the arena; returns 0 or a positive errno. `file`: the
 *  vm_file identity of a file mapping (src/model/mmap-file.ts), 0 for anonymous memory. */
export function mmapRegion(mm: Mm, start: number, end: number, vmFlags: number, pgoff: number, file = 0): number {
  // __mmap_setup: gather (and split) whatever MAP_FIXED replaces
  const first = mm.intersect(start, end);
  let prev: Vma | null;
  let next: Vma | null;
  if (first) {
    const r = vmsGatherMunmapVmas(mm, first, start, end, 'errno.mmap.fixed_map_count');
    if (typeof r === 'number') return mmapUnmapErrno(mm, r);
    mm.hit('mmap.fixed_replace');
    ({ prev, next } = r);
    // vms_clean_up_area frees page tables before the new VMA exists
    freePgtables(mm, start, end);
  } else {
    const i = mm.findIndex(start);
    next = mm.vmas[i]!;
    prev = mm.vmas[i - 1]!;
  }
  // accountable_mapping: private writable, not VM_NORESERVE, not hugetlb (is_file_hugepages)
  if (vmFlags & VM_WRITE && !(vmFlags & (VM_NORESERVE | VM_SHARED | VM_HUGETLB))) {
    vmFlags |= VM_ACCOUNT;
    mm.hit('mmap.flags.account');
  }
  let vma = vmaMergeNewRange(mm, {
    start,
    end,
    flags: vmFlags,
    pgoff,
    file,
    // 7.3 anon_pgoff of a new mapping: addr >> PAGE_SHIFT (mm/vma.c:__mmap_region)
    anonDelta: file ? start - pgoff : 0,
    anonVma: 0,
    prev,
    next,
    middle: null,
  });
  if (!vma) {
    // __mmap_new_vma; shared anonymous memory becomes a new shmem file (shmem_zero_setup)
    vma = { start, end, flags: vmFlags, pgoff, file: file || (vmFlags & VM_SHARED ? mm.sys.newAnonShmem(end - start) : 0), anonVma: 0 };
    if (file) vma.anonDelta = start - pgoff;
    mm.insert(vma);
    if (vma.file && !file) mm.hit('mmap.shared_anon');
  }
  // __mmap_complete: new or expanded VMAs get VM_SOFTDIRTY
  if (mm.profile.softDirty) vma.flags |= VM_SOFTDIRTY;
  return 0;
}

interface Gathered {
  prev: Vma;
  next: Vma;
}

/**
 * mm/vma.c:vms_gather_munmap_vmas + the removal done by vms_complete_munmap_vmas: split the first
 * and last VMA at the range ends and remove everything inside [start, end). The only map_count
 * check is for a range strictly inside one VMA (a net new VMA). Returns prev/next around the hole.
 */
function vmsGatherMunmapVmas(
  mm: Mm,
  first: Vma,
  start: number,
  end: number,
  mapCountRule: 'errno.munmap.map_count' | 'errno.mmap.fixed_map_count',
): Gathered | number {
  const sealedRule = mapCountRule === 'errno.munmap.map_count' ? 'errno.munmap.sealed' : 'errno.mmap.fixed_sealed';
  if (start > first.start) {
    if (end < first.end && mm.mapCount >= mm.profile.maxMapCount) {
      mm.hit(mapCountRule);
      return ENOMEM;
    }
    // "Don't bother splitting the VMA if we can't unmap it anyway"
    if (first.flags & VM_SEALED) {
      mm.hit(sealedRule);
      return EPERM;
    }
    // __split_vma: vm_ops->may_split first (hugetlb off the 2 MiB grid: EINVAL)
    const e = maySplit(mm, first, start);
    if (e) return e;
    mm.hit('munmap.split_start');
    splitVmaUnchecked(mm, first, start, true);
  }
  // A sealed VMA anywhere in the range: EPERM before anything is detached (the start split stays).
  for (let j = mm.findIndex(start); mm.vmas[j]!.start < end; j++) {
    if (mm.vmas[j]!.flags & VM_SEALED) {
      mm.hit(sealedRule);
      // No unmap event: nothing was unmapped. Since 6.12 the kernel posts one anyway for the
      // registered VMAs gathered before the failure (vms_gather_munmap_vmas calls
      // userfaultfd_unmap_prep per VMA, __vm_munmap calls userfaultfd_unmap_complete whatever
      // do_vmi_munmap returned); 6.1 prepared events only after both splits succeeded. A kernel
      // bug, pinned in corpus/regression/munmap-failed-uffd-unmap-event*.json, not modelled.
      return EPERM;
    }
  }
  // The end split refused by may_split: abort_munmap_vmas puts back what was detached (the start
  // split stays), so checking it before anything is detached gives the same result (and no unmap
  // event: see the sealed case above)
  const last = mm.lookup(end - 1);
  if (last && last.end > end) {
    const e = maySplit(mm, last, end);
    if (e) return e;
  }
  // userfaultfd_unmap_prep for each VMA of the range (events sent when the call completes)
  unmapEvents(mm, start, end);
  let i = mm.findIndex(start);
  for (;;) {
    const v = mm.vmas[i]!;
    if (v.start >= end) break;
    if (v.end > end) {
      mm.hit('munmap.split_end');
      splitVmaUnchecked(mm, v, end, false);
    }
    mm.vmas.splice(i, 1);
  }
  // unmap_vmas: every pte of the range goes, guard markers too (ZAP_FLAG_DROP_MARKER)
  zapPtes(mm, start, end, true);
  return { prev: mm.vmas[i - 1]!, next: mm.vmas[i]! };
}

/** mm/vma.c:do_vmi_munmap (the munmap syscall). Returns 0 or a positive errno. */
export function sysMunmap(mm: Mm, addr: Addr, lenArg: bigint): number {
  if (addr.off) {
    mm.hit('errno.munmap.unaligned');
    return EINVAL;
  }
  const len = classifyLen(lenArg);
  if (len.kind === 'unknown') throw new Unsupported('length between the arena and TASK_SIZE');
  if (len.kind === 'beyond_task') {
    mm.hit('errno.munmap.len_range'); // len > TASK_SIZE - start
    return EINVAL;
  }
  if (len.pages === 0) {
    mm.hit('errno.munmap.len_zero');
    return EINVAL;
  }
  const start = addr.page;
  const end = start + len.pages;
  checkInArena(mm, start, end);
  const first = mm.intersect(start, end);
  if (!first) {
    mm.hit('munmap.nothing');
    return 0;
  }
  const r = vmsGatherMunmapVmas(mm, first, start, end, 'errno.munmap.map_count');
  if (typeof r === 'number') return r;
  mm.hit('munmap.removed');
  freePgtables(mm, start, end);
  return 0;
}

/** mm/mprotect.c:do_mprotect_pkey(pkey = -1). Returns 0 or a positive errno. */
export function sysMprotect(mm: Mm, addr: Addr, lenArg: bigint, protArg: number): number {
  const GROWS = PROT.PROT_GROWSDOWN | PROT.PROT_GROWSUP;
  const grows = protArg & GROWS;
  const prot = protArg & ~GROWS;
  const fail = (e: number, id: Parameters<Mm['hit']>[0]) => {
    mm.hit(id);
    return e;
  };
  if (grows === GROWS) return fail(EINVAL, 'errno.mprotect.grows_both');
  if (addr.off) return fail(EINVAL, 'errno.mprotect.unaligned');
  if (lenArg === 0n) {
    mm.hit('mprotect.len_zero');
    return 0;
  }
  const len = classifyLen(lenArg);
  if (len.kind === 'unknown' || (len.kind === 'beyond_task' && !len.wraps)) {
    throw new Unsupported('mprotect length reaching beyond the arena');
  }
  if (len.kind === 'beyond_task') return fail(ENOMEM, 'errno.mprotect.wrap'); // end <= start
  // include/linux/mman.h:arch_validate_prot (x86 uses the generic one)
  if (prot & ~(PROT.PROT_READ | PROT.PROT_WRITE | PROT.PROT_EXEC | PROT.PROT_SEM)) {
    return fail(EINVAL, 'errno.mprotect.bad_prot');
  }
  let start = addr.page;
  const end = start + len.pages;
  checkInArena(mm, start, end);
  let vma = mm.intersect(start, end);
  if (!vma) return fail(ENOMEM, 'errno.mprotect.no_vma');
  if (grows & PROT.PROT_GROWSDOWN) {
    start = vma.start;
    if (!(vma.flags & VM_GROWSDOWN)) return fail(EINVAL, 'errno.mprotect.growsdown');
    mm.hit('mprotect.growsdown');
  } else {
    if (vma.start > start) return fail(ENOMEM, 'errno.mprotect.no_vma');
    // PROT_GROWSUP: x86 has no VM_GROWSUP
    if (grows & PROT.PROT_GROWSUP) return fail(EINVAL, 'errno.mprotect.growsup');
  }
  let prev: Vma = start > vma.start ? vma : mm.prevOf(vma)!;
  let nstart = start;
  let tmp = vma.start;
  let error = 0;
  for (;;) {
    if (vma.start !== tmp) {
      error = fail(ENOMEM, 'errno.mprotect.hole');
      break;
    }
    // newflags: the requested r/w/x, the pkey, and everything else from the VMA
    let newflags = calcVmProtBits(mm, prot, overrideMprotectPkey(prot));
    newflags |= vma.flags & ~(VM_ACCESS_FLAGS | VM_FLAGS_CLEAR);
    // "newflags >> 4 shift VM_MAY% in place of VM_%"
    if ((newflags & ~(newflags >> 4)) & VM_ACCESS_FLAGS) {
      error = fail(EACCES, 'errno.mprotect.eacces');
      break;
    }
    tmp = Math.min(vma.end, end);
    const r = mprotectFixup(mm, vma, prev, nstart, tmp, newflags);
    if (typeof r === 'number') {
      error = r;
      break;
    }
    prev = r;
    tmp = r.end; // vma_iter_end(): the end of the VMA the iterator now points at
    nstart = tmp;
    const nxt = mm.nextOf(r)!;
    if (nxt.start >= end) break;
    vma = nxt;
  }
  if (!error && tmp < end) error = fail(ENOMEM, 'errno.mprotect.hole');
  return error;
}

/** arch/x86/mm/pkeys.c:__arch_override_mprotect_pkey for mprotect (pkey == -1): PROT_EXEC alone
 *  takes the execute-only key; anything else on an exec-only VMA returns to the default key, and
 *  the default key is the only other one in use. Returns whether the VMA gets the exec-only key. */
function overrideMprotectPkey(prot: number): boolean {
  return prot === PROT.PROT_EXEC;
}

/** mm/mprotect.c:mprotect_fixup. Returns the VMA now covering [start, end) or a positive errno. */
function mprotectFixup(mm: Mm, vma: Vma, prev: Vma, start: number, end: number, newflags: number): Vma | number {
  const oldflags = vma.flags;
  if (oldflags & VM_SEALED) {
    mm.hit('errno.mprotect.sealed');
    return EPERM;
  }
  if (newflags === oldflags) {
    mm.hit('mprotect.unchanged');
    return vma;
  }
  if (newflags & VM_WRITE) {
    if (oldflags & VM_HUGETLB && !(oldflags & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE))) mm.hit('mprotect.hugetlb_no_account');
    if (!(oldflags & (VM_ACCOUNT | VM_WRITE | VM_SHARED | VM_NORESERVE | VM_HUGETLB))) {
      newflags |= VM_ACCOUNT;
      mm.hit('mprotect.account_set');
    }
  } else if (oldflags & VM_ACCOUNT && vmaIsAnonymous(vma)) {
    if (vma.anonVma) {
      mm.hit('mprotect.account_kept_faulted');
    } else if (mm.profile.rows['mprotect.unaccount_unfaulted']) {
      newflags &= ~VM_ACCOUNT;
      mm.hit('mprotect.account_clear');
    }
  }
  const r = vmaModifyFlags(mm, prev, vma, start, end, newflags);
  if (typeof r === 'number') return -r;
  // vma_flags_reset_once: the merged VMA keeps the sticky flags it gained
  r.flags = newflags | (r.flags & VM_IGNORE_MERGE);
  // "Private VMA_LOCKED_BIT VMA becoming writable: trigger COW to avoid major fault on access."
  if (newflags & VM_WRITE && oldflags & VM_LOCKED && !(oldflags & (VM_WRITE | VM_SHARED))) {
    mm.hit('mprotect.locked_populate');
    // populate_vma_page_range(..., NULL): no FOLL_UNLOCKABLE, a userfault cannot be answered
    populateVmaPageRange(mm, r, start, end, 'gup_noretry');
  }
  return r;
}
