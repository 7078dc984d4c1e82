// Injected failures the kernel does not simply undo (src/model/fail-nth.ts): where a call whose
// injected failure fired leaves the mm in a state of the kernel's choosing, the model gives no
// verdict from that call on. Decided by the rules the model's own prediction of the call fired
// (what the call would have done), never by what the kernel printed.

import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';

/**
 * Work a call does after an allocation whose failure it absorbs (the call succeeds): the state
 * then differs from the ordinary semantics in a way only the kernel knows (where it stopped).
 */
const ABSORBED: ReadonlyArray<[RegExp, string]> = [
  // mm/vma.c:__mmap_region: "...but if we can't, allocate a new VMA" when vma_merge_new_range
  // fails (commit_merge's vma_iter_prealloc, anon_vma clone): the new range stays a VMA of its own
  [/^merge\.new\.(prev|next|both)$/, 'mm/vma.c:__mmap_region falls back to __mmap_new_vma when vma_merge_new_range fails: the range may stay unmerged'],
  // mm/userfaultfd.c:userfaultfd_clear_vma: give_up_on_oom when the range is the whole VMA
  [/^merge\.existing\.(prev|next|both|prev_partial|next_partial)$/, 'mm/userfaultfd.c:userfaultfd_clear_vma gives up on the merge on OOM (give_up_on_oom): the VMA may stay unmerged'],
  // mm/util.c:vm_mmap_pgoff -> mm_populate (__mm_populate with ignore_errors), mm/mprotect.c:
  // mprotect_fixup ignores populate_vma_page_range's result: populating stops at the failed fault
  [/^(mmap\.populate|mprotect\.locked_populate)$/, 'mm/gup.c:__mm_populate (mm/util.c:vm_mmap_pgoff) and mm/mprotect.c:mprotect_fixup ignore a failed populate: it may stop part-way'],
  // ipc/shm.c:ksys_shmdt: "Errors from do_munmap are ignored" - a failed unmap (the maple tree's
  // allocation) leaves the attach, or a fragment of it, mapped and shmdt returns 0
  [/^shmdt\.(detach|fragment)$/, 'ipc/shm.c:ksys_shmdt ignores do_vmi_align_munmap\'s errors: the attach may stay mapped'],
];

/**
 * Work a call does before an allocation whose failure it reports: the call fails, but what it did
 * first stays (the failure is not a no-op).
 */
const SURFACED_AFTER_WORK: ReadonlyArray<[RegExp, string]> = [
  // mm/mlock.c:do_mlock: apply_vma_lock_flags sets VM_LOCKED, then __mm_populate's error is
  // returned (__mlock_posix_error_return): the range stays locked, partly populated
  [/^mlock\.populate$/, 'mm/mlock.c:do_mlock sets VM_LOCKED before __mm_populate, whose failure it returns: the range stays locked, partly populated'],
  // mm/madvise.c:madvise_populate returns -ENOMEM from faultin_page_range after the pages before it
  [/^madvise\.populate$/, 'mm/madvise.c:madvise_populate returns the failure of a fault part-way: the pages before it stay populated'],
];

const match = (table: ReadonlyArray<[RegExp, string]>, rules: readonly string[] | undefined): string | null => {
  for (const [re, why] of table) if (rules?.some((r) => re.test(r))) return why;
  return null;
};

/** Why a surfaced injected failure of a call whose ordinary prediction fired `rules` may have kept part of its work, or null. */
export function failedAfterWork(op: string, rules: readonly string[] | undefined): string | null {
  const why = match(SURFACED_AFTER_WORK, rules);
  return why ? `an injected failure of ${op} may come after part of its work: ${why}` : null;
}

/**
 * The first call whose injected failure fired but was absorbed (the call succeeded) where the
 * model's prediction of it (`rules`, earlier surfaced failures already applied) did work the
 * absorption may have cut short; with the reason, or null.
 */
export function absorbedStop(seq: Sequence, rules: readonly (readonly string[])[], kernel: SeqObservation): { call: number; reason: string } | null {
  for (let i = 0; i < seq.calls.length && i < rules.length; i++) {
    const c = seq.calls[i]!;
    if (c.failNth === undefined || kernel.calls[i]?.injected !== 'fired' || kernel.calls[i]!.errno !== 0) continue;
    const why = match(ABSORBED, rules[i]);
    if (why) return { call: i, reason: `an injected failure absorbed by ${c.op}: ${why}` };
  }
  return null;
}
