// VMA merge and split, after mm/vma.c of 7.3 (profile rows for older kernels).
// A "vmg" (struct vma_merge_struct) describes the proposed range: its flags, file, pgoff and the
// anon_vma it carries (NULL for a new mapping, the middle VMA's for a modification).

import { VM_IGNORE_MERGE, VM_MAYWRITE, VM_SHARED, VM_SPECIAL } from './flags.js';
import { rowUnverified } from './profile-rows.js';
import { Unsupported } from './syscalls.js';
import { Mm, type Vma, vmaPages } from './state.js';
import { hasCloseHook, maySplit } from './vm-ops.js';

export interface Vmg {
  start: number;
  end: number;
  flags: number;
  pgoff: number;
  file: number;
  /** the anon_vma of the range being merged (vmg->anon_vma) */
  anonVma: number;
  /** vmg->anon_pgoff - vmg->pgoff (file VMAs, see Vma.anonDelta) */
  anonDelta?: number;
  /** vmg->uffd_ctx (absent: the middle VMA's, or none for a new range) */
  uffd?: number;
  /** mremap: the VMA being copied (vmg->copied_from) */
  copiedFrom?: Vma | null;
  /** 6.1: the caller goes through mm/mmap.c:vma_merge with its own anon_vma (mremap's in-place
   *  expansion), not __mmap_region's order (mergeNewRange61); set with copiedFrom implied */
  viaVmaMerge?: boolean;
  /** vmg->anon_name: absent = the middle (or copied) VMA's; null = none (vma_modify_name clearing) */
  anonName?: string | null;
  prev: Vma | null;
  next: Vma | null;
  /** existing-range merges: the VMA being modified (vmg->middle) */
  middle: Vma | null;
}

/** mm/vma.c:is_mergeable_vma - flags equal modulo VMA_IGNORE_MERGE_FLAGS, same file (struct file),
 *  same userfaultfd context (is_mergeable_vm_userfaultfd_ctx); policy is always equal here. */
function isMergeableVma(mm: Mm, vmg: Vmg, tgt: Vma): boolean {
  const uffd = vmg.uffd ?? vmg.middle?.uffd ?? 0;
  if (((tgt.flags ^ vmg.flags) & ~VM_IGNORE_MERGE) !== 0 || tgt.file !== vmg.file) return false;
  // 6.1 mm/mmap.c:is_mergeable_vma: "if (vma->vm_ops && vma->vm_ops->close) return 0" - a neighbour
  // with a close hook never merges (7.3: only its removal is refused, closeHookBlocks)
  if (hasCloseHook(mm, tgt) && !closeHookRemoveOnly(mm)) {
    mm.hit('merge.close_hook_any');
    return false;
  }
  if ((tgt.uffd ?? 0) !== uffd) {
    mm.hit('merge.uffd_ctx_differs');
    return false;
  }
  return sameAnonName(vmg, tgt);
}

/** Profile row merge.close_hook_remove_only; kernels between its anchors are declined. */
function closeHookRemoveOnly(mm: Mm): boolean {
  if (rowUnverified('merge.close_hook_remove_only', mm.profile.version)) {
    throw new Unsupported('merges next to vm_ops->close changed between 6.1 and 6.12 (not modelled in between)');
  }
  return mm.profile.rows['merge.close_hook_remove_only'];
}

/** 7.3 mm/vma.c:can_merge_remove_vma - "We can only remove VMAs when merging if they do not have a
 *  close hook." True when v would have to be removed but may not be. */
function closeHookBlocks(mm: Mm, v: Vma | null): boolean {
  return !!v && hasCloseHook(mm, v) && closeHookRemoveOnly(mm);
}

/** include/linux/mm_inline.h:anon_vma_name_eq - names compare by content, none == none. */
function sameAnonName(vmg: Vmg, tgt: Vma): boolean {
  const name = vmg.anonName !== undefined ? vmg.anonName : (vmg.middle ?? vmg.copiedFrom)?.anonName;
  return (name ?? null) === (tgt.anonName ?? null);
}

/** mm/vma.c:vma_is_fork_child - an anon_vma whose anon_vma_chain is not singular (inherited by fork). */
function isForkChild(v: Vma | null | undefined): boolean {
  return !!v && v.anonVma !== 0 && v.forkChild === true;
}

/** mm/vma.c:is_mergeable_anon_vma, with vma_is_fork_child() of the middle VMA (existing-range
 *  merges), of the mremap source (copied_from) and of the target. */
function isMergeableAnonVma(mm: Mm, vmg: Vmg, tgt: Vma): boolean {
  const src = vmg.anonVma;
  if (!tgt.anonVma && src) {
    // Case 1 - we will dup_anon_vma() from src into tgt. 6.1/6.12: list_is_singular() on the
    // target's empty chain fails and the merge is refused.
    if (!mm.profile.rows['anon_vma.merge_faulted_into_unfaulted']) {
      mm.hit('anon_vma.refuse.faulted_into_unfaulted');
      return false;
    }
    if (isForkChild(vmg.middle) || isForkChild(vmg.copiedFrom)) {
      mm.hit('anon_vma.refuse.fork_child');
      return false;
    }
    return true;
  }
  if (tgt.anonVma && !src) {
    // Case 2 - use tgt's anon_vma, unless it came from a parent (all kernels: list_is_singular)
    if (!isForkChild(tgt)) return true;
    mm.hit('anon_vma.refuse.fork_child');
    return false;
  }
  if (src === tgt.anonVma) return true; // Case 3 - already shared
  mm.hit('anon_vma.refuse.distinct');
  return false;
}

/** mm/vma.c:can_vma_merge_before - may the range merge in front of vmg.next? */
function canVmaMergeBefore(mm: Mm, vmg: Vmg): boolean {
  const next = vmg.next!;
  return (
    isMergeableVma(mm, vmg, next) &&
    isMergeableAnonVma(mm, vmg, next) &&
    vmg.pgoff + (vmg.end - vmg.start) === next.pgoff &&
    adjacentAnonPgoff(mm, vmg, next)
  );
}

/** mm/vma.c:can_vma_merge_after - may the range merge behind vmg.prev? */
function canVmaMergeAfter(mm: Mm, vmg: Vmg): boolean {
  const prev = vmg.prev!;
  return (
    isMergeableVma(mm, vmg, prev) &&
    isMergeableAnonVma(mm, vmg, prev) &&
    prev.pgoff + vmaPages(prev) === vmg.pgoff &&
    adjacentAnonPgoff(mm, vmg, prev)
  );
}

/** 7.3 mm/vma.c:needs_adjacent_anon_pgoff - a MAP_PRIVATE file range must also continue its
 *  neighbour's anonymous page offset; given contiguous pgoff that means equal anon_pgoff - pgoff. */
function adjacentAnonPgoff(mm: Mm, vmg: Vmg, tgt: Vma): boolean {
  if (!vmg.file || (vmg.flags & (VM_SHARED | VM_MAYWRITE)) !== VM_MAYWRITE || !mm.profile.rows['merge.anon_pgoff']) return true;
  const delta = vmg.anonDelta ?? vmg.middle?.anonDelta ?? 0;
  if ((tgt.anonDelta ?? 0) === delta) return true;
  mm.hit('merge.anon_pgoff_refused');
  return false;
}

/** mm/vma.c:can_vma_merge_left */
function canVmaMergeLeft(mm: Mm, vmg: Vmg): boolean {
  return vmg.prev !== null && vmg.prev.end === vmg.start && canVmaMergeAfter(mm, vmg);
}

/** mm/vma.c:can_vma_merge_right - also requires prev and next anon_vmas to be compatible with each
 *  other when merging both sides. */
function canVmaMergeRight(mm: Mm, vmg: Vmg, canMergeLeft: boolean): boolean {
  const next = vmg.next;
  if (!next || vmg.end !== next.start || !canVmaMergeBefore(mm, vmg)) return false;
  if (!canMergeLeft) return true;
  const prev = vmg.prev!;
  if (!prev.anonVma || !next.anonVma || prev.anonVma === next.anonVma) return true;
  mm.hit('merge.both_anon_vma_incompatible');
  return false;
}

/** mm/vma.c:dup_anon_vma - the surviving VMA inherits src's anon_vma if it has none. */
function dupAnonVma(mm: Mm, dst: Vma, src: Vma): void {
  if (src.anonVma && !dst.anonVma) {
    dst.anonVma = src.anonVma;
    // anon_vma_clone: dst's chain mirrors src's, so a fork child's stays non-singular
    if (src.forkChild) dst.forkChild = true;
    mm.hit('anon_vma.dup');
  }
}

/**
 * mm/vma.c:vma_merge_new_range - merge a new range [vmg.start, vmg.end) (already free) with its
 * neighbours. Returns the expanded VMA, or null when no merge is possible.
 * The expanded VMA keeps its own flags; sticky flags of the range are OR-ed in (mm/vma.c:vma_expand).
 */
export function vmaMergeNewRange(mm: Mm, vmg: Vmg): Vma | null {
  const { prev, next } = vmg;
  // "Special VMAs are unmergeable, also if no prev/next" (VM_DONTEXPAND: hugetlb)
  if (vmg.flags & VM_SPECIAL) {
    mm.hit('merge.special');
    return null;
  }
  if (!prev && !next) return null;
  // 6.1-6.11: only mmap (__mmap_region) has its own order; mremap's copy_vma goes through
  // mm/mmap.c:vma_merge, which checks prev and next with the moved VMA's anon_vma like below
  if (!mm.profile.rows['merge.new_range_prefers_prev'] && !vmg.copiedFrom && !vmg.viaVmaMerge) return mergeNewRange61(mm, vmg);

  const canLeft = canVmaMergeLeft(mm, vmg);
  const canRight = canVmaMergeRight(mm, vmg, canLeft);
  let target: Vma | null = null;
  let start = vmg.start;
  let end = vmg.end;
  let pgoff = vmg.pgoff;
  if (canRight) {
    end = next!.end;
    target = next;
    pgoff = next!.pgoff - (vmg.end - vmg.start);
  }
  let both = canLeft && canRight;
  if (canLeft) {
    start = prev!.start;
    target = prev;
    pgoff = prev!.pgoff;
    // "If this merge would result in removal of the next VMA but we are not permitted to do so,
    // reduce the operation to merging prev and vma."
    // (no rule id: the modelled calls never get here - a close hook belongs to a file, so prev, the
    // range and next share it, and mremap of shm/hugetlb VMAs is declined)
    if (canRight && closeHookBlocks(mm, next)) {
      end = vmg.end;
      both = false;
    }
  }
  if (!target) {
    mm.hit('merge.new.none');
    return null;
  }
  mm.hit(both ? 'merge.new.both' : canLeft ? 'merge.new.prev' : 'merge.new.next');
  // mm/vma.c:vma_expand: remove next if the expansion swallows it, propagating its anon_vma.
  if (next && target !== next && end === next.end) {
    dupAnonVma(mm, target, next);
    target.flags |= next.flags & VM_IGNORE_MERGE;
    mm.remove(next);
  }
  // ... and the mremap source's (vmg->copied_from) into a target without one
  if (vmg.copiedFrom) dupAnonVma(mm, target, vmg.copiedFrom);
  target.start = start;
  target.end = end;
  target.pgoff = pgoff;
  target.flags |= vmg.flags & VM_IGNORE_MERGE;
  return target;
}

/** 6.1-6.11 mm/mmap.c:__mmap_region "Attempt to expand an old mapping": next is checked first
 *  (with a NULL anon_vma), then prev against the anon_vma of the chosen next. */
function mergeNewRange61(mm: Mm, vmg: Vmg): Vma | null {
  const { prev, next } = vmg;
  const pglen = vmg.end - vmg.start;
  const nextOk = next !== null && next.start === vmg.end && canVmaMergeBefore(mm, { ...vmg, anonVma: 0 });
  const prevOk =
    prev !== null && prev.end === vmg.start && canVmaMergeAfter(mm, { ...vmg, anonVma: nextOk ? next!.anonVma : 0 });
  if (!nextOk && !prevOk) {
    mm.hit('merge.new.none');
    return null;
  }
  mm.hit(nextOk && prevOk ? 'merge.new.both' : prevOk ? 'merge.new.prev' : 'merge.new.next');
  if (prevOk) {
    // mm/mmap.c:vma_expand (6.1) removes next when the expansion reaches its end
    if (nextOk) {
      dupAnonVma(mm, prev!, next!);
      mm.remove(next!);
      prev!.end = next!.end;
    } else {
      prev!.end = vmg.end;
    }
    return prev;
  }
  next!.start = vmg.start;
  next!.pgoff -= pglen;
  return next;
}

/**
 * mm/vma.c:vma_merge_existing_range - [vmg.start, vmg.end) of vmg.middle gets vmg.flags; merge
 * it into prev and/or next if they are compatible. Only ranges touching an end of middle can
 * merge. Returns the merged VMA (prev or next) or null.
 */
export function vmaMergeExistingRange(mm: Mm, vmg: Vmg): Vma | null {
  const middle = vmg.middle!;
  const { start, end } = vmg;
  const leftSide = start === middle.start;
  const rightSide = end === middle.end;
  // "If a special mapping or if the range being modified is neither at the furthermost left or
  // right side of the VMA, then we have no chance of merging and should abort."
  if (vmg.flags & VM_SPECIAL) {
    mm.hit('merge.special');
    return null;
  }
  if (!leftSide && !rightSide) {
    mm.hit('merge.existing.interior');
    return null;
  }
  const mergeLeft = leftSide ? canVmaMergeLeft(mm, vmg) : false;
  let mergeRight = false;
  if (rightSide) {
    vmg.next = mm.nextOf(middle);
    mergeRight = canVmaMergeRight(mm, vmg, mergeLeft);
  }
  if (!mergeLeft && !mergeRight) {
    mm.hit('merge.existing.none');
    return null;
  }
  const removeMiddle = leftSide && rightSide;
  // "If we need to remove middle in its entirety but are unable to do so, we have no sensible
  // recourse but to abort the merge."
  if (removeMiddle && closeHookBlocks(mm, middle)) {
    mm.hit('merge.close_hook_middle');
    return null;
  }
  // "If we cannot delete next, then we can reduce the operation to merging prev and middle"
  // (no rule id: unreachable with the modelled VMAs, whose close hook is their file's: a middle
  // without one cannot merge with a next that has one; kept to follow the kernel)
  if (mergeLeft && mergeRight && closeHookBlocks(mm, vmg.next)) {
    mergeRight = false;
  }
  const prev = vmg.prev!;
  const next = vmg.next!;
  let sticky = vmg.flags & VM_IGNORE_MERGE;
  let target: Vma;
  if (mergeLeft && mergeRight) {
    //  PPPP MMMM NNNN -> PPPPPPPPPPPP (middle and next deleted)
    mm.hit('merge.existing.both');
    target = prev;
    sticky |= (prev.flags | next.flags) & VM_IGNORE_MERGE;
    dupAnonVma(mm, prev, next.anonVma ? next : middle);
    mm.remove(middle);
    mm.remove(next);
    prev.end = next.end;
  } else if (mergeLeft) {
    //  PPPP MMMMmmmm -> PPPPPPPP mmmm   or   PPPP MMMM -> PPPPPPPP
    target = prev;
    sticky |= prev.flags & VM_IGNORE_MERGE;
    dupAnonVma(mm, prev, middle);
    if (removeMiddle) {
      mm.hit('merge.existing.prev');
      mm.remove(middle);
      prev.end = end;
    } else {
      prev.end = end;
      mm.hit('merge.existing.prev_partial');
      middle.pgoff += end - middle.start;
      middle.start = end;
    }
  } else {
    //  MMMM NNNN -> NNNNNNNN   or   mmmmMMMM NNNN -> mmmm NNNNNNNN
    target = next;
    sticky |= next.flags & VM_IGNORE_MERGE;
    dupAnonVma(mm, next, middle);
    if (removeMiddle) {
      mm.hit('merge.existing.next');
      mm.remove(middle);
    } else {
      mm.hit('merge.existing.next_partial');
      middle.end = start;
    }
    next.pgoff -= next.start - start;
    next.start = start;
  }
  target.flags |= sticky;
  return target;
}

/** mm/vma.c:__split_vma - split vma at page addr; the new VMA is the lower part if newBelow.
 *  Returns the new VMA. */
export function splitVmaUnchecked(mm: Mm, vma: Vma, addr: number, newBelow: boolean): Vma {
  const delta = addr - vma.start;
  const nw: Vma = { ...vma };
  if (newBelow) {
    nw.end = addr;
    vma.start = addr;
    vma.pgoff += delta;
  } else {
    nw.start = addr;
    nw.pgoff += delta;
    vma.end = addr;
  }
  mm.insert(nw);
  return nw;
}

/** mm/vma.c:split_vma - as __split_vma but fails with ENOMEM at the map_count limit. */
export function splitVma(mm: Mm, vma: Vma, addr: number, newBelow: boolean): number {
  if (mm.mapCount >= mm.profile.maxMapCount) {
    mm.hit('split.map_count');
    return -12; // ENOMEM
  }
  // __split_vma: vm_ops->may_split (hugetlb off the 2 MiB grid: EINVAL)
  const e = maySplit(mm, vma, addr);
  if (e) return -e;
  mm.hit(newBelow ? 'split.head' : 'split.tail');
  splitVmaUnchecked(mm, vma, addr, newBelow);
  return 0;
}

/**
 * mm/vma.c:vma_modify (via vma_modify_flags) - give [start, end) of vma the flags `flags`: first
 * try to merge, else split off the head, then the tail (the head split stays if the tail split
 * fails). Returns the VMA now covering [start, end) - merged or split - or a negative errno.
 * The caller sets the flags on the result.
 */
export function vmaModifyFlags(mm: Mm, prev: Vma, vma: Vma, start: number, end: number, flags: number, uffd?: number, anonName?: string | null): Vma | number {
  const vmg: Vmg = {
    start,
    end,
    flags,
    pgoff: vma.pgoff + (start - vma.start),
    file: vma.file,
    anonVma: vma.anonVma,
    // vma_modify_flags_uffd (src/model/uffd.ts) proposes a new userfaultfd context
    uffd: uffd ?? vma.uffd ?? 0,
    // vma_modify_name (src/model/anon-name.ts) proposes a new name
    anonName,
    prev,
    next: null,
    middle: vma,
  };
  const merged = vmaMergeExistingRange(mm, vmg);
  if (merged) return merged;
  if (vma.start < start) {
    const err = splitVma(mm, vma, start, true);
    if (err) return err;
  }
  if (vma.end > end) {
    const err = splitVma(mm, vma, end, false);
    if (err) return err;
  }
  return vma;
}
