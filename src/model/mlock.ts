// mlock(2), mlock2(2) and munlock(2) after 7.3's mm/mlock.c (do_mlock -> apply_vma_lock_flags ->
// mlock_fixup, then __mm_populate). Returns 0 or a positive errno.

import type { Addr } from '../seq/values.js';
import { mmPopulate } from './fault.js';
import { VM_DROPPABLE, VM_HUGETLB, VM_IGNORE_MERGE, VM_LOCKED, VM_LOCKED_MASK, VM_LOCKONFAULT } from './flags.js';
import { vmaModifyFlags } from './merge.js';
import { Mm, type Vma } from './state.js';
import { classifyLen, EAGAIN, EINVAL, ENOMEM, EPERM, Unsupported } from './syscalls.js';

const MLOCK_ONFAULT = 1;
const U64 = (1n << 64n) - 1n;

export type MlockOp = 'mlock' | 'mlock2' | 'munlock';

/** mm/mlock.c:sys_mlock / sys_mlock2 / sys_munlock. `flags`: the mlock2 flags argument. */
export function sysMlock(mm: Mm, op: MlockOp, addr: Addr, lenArg: bigint, flags = 0): number {
  let lockFlags = VM_LOCKED;
  if (op === 'mlock2') {
    if ((flags >>> 0) & ~MLOCK_ONFAULT) {
      mm.hit('errno.mlock.bad_flags');
      return EINVAL;
    }
    if (flags & MLOCK_ONFAULT) lockFlags |= VM_LOCKONFAULT;
  }
  if (op === 'munlock') lockFlags = 0;
  const limit = mm.profile.memlockPages; // null: unlimited or CAP_IPC_LOCK
  // can_do_mlock
  if (op !== 'munlock' && limit === 0) {
    mm.hit('errno.mlock.perm');
    return EPERM;
  }
  // len = PAGE_ALIGN(len + offset_in_page(start)); start &= PAGE_MASK (unsigned long arithmetic)
  if (addr.off) mm.hit('mlock.unaligned_start');
  const alen = ((lenArg + BigInt(addr.off) + 4095n) & ~4095n) & U64;
  const len = classifyLen(alen);
  if (len.kind === 'unknown' || (len.kind === 'beyond_task' && !len.wraps)) throw new Unsupported('mlock length reaching beyond the arena');
  const start = addr.page;
  if (op !== 'munlock' && limit !== null) {
    // RLIMIT_MEMLOCK against mm->locked_vm, minus what the range has locked already
    let locked = len.kind === 'pages' ? len.pages + mm.lockedPages(VM_LOCKED) : Infinity;
    if (locked > limit && len.kind === 'pages') locked -= lockedInRange(mm, start, start + len.pages);
    if (locked > limit) {
      mm.hit('errno.mlock.limit');
      return ENOMEM;
    }
  }
  if (len.kind === 'beyond_task') {
    mm.hit('errno.mlock.wrap'); // apply_vma_lock_flags: end < start
    return EINVAL;
  }
  if (len.pages === 0) {
    mm.hit('mlock.len_zero');
    return 0;
  }
  const end = start + len.pages;
  const err = applyVmaLockFlags(mm, start, end, lockFlags);
  if (err || op === 'munlock') return err;
  // __mm_populate(start, len, 0): -EFAULT -> ENOMEM, -ENOMEM -> EAGAIN (__mlock_posix_error_return)
  if (lockFlags & VM_LOCKONFAULT) mm.hit('mlock.onfault');
  else mm.hit('mlock.populate');
  const r = mmPopulate(mm, start, end, false);
  if (r < 0) {
    mm.hit('errno.mlock.populate');
    return r === -ENOMEM ? EAGAIN : ENOMEM;
  }
  return 0;
}

/** mm/mlock.c:count_mm_mlocked_page_nr - locked pages of VMAs inside [start, end). */
function lockedInRange(mm: Mm, start: number, end: number): number {
  let n = 0;
  for (const v of mm.arenaVmas()) {
    if (!(v.flags & VM_LOCKED) || v.end <= start || v.start >= end) continue;
    n += Math.min(v.end, end) - Math.max(v.start, start);
  }
  return n;
}

/** mm/mlock.c:apply_vma_lock_flags - left to right; a hole is ENOMEM with earlier VMAs changed. */
function applyVmaLockFlags(mm: Mm, start: number, end: number, lockFlags: number): number {
  let vma = mm.lookup(start);
  if (!vma || mm.isFence(vma)) {
    mm.hit('errno.mlock.hole');
    return ENOMEM;
  }
  let prev: Vma = start > vma.start ? vma : mm.prevOf(vma)!;
  let nstart = start;
  let tmp = vma.start;
  for (;;) {
    if (vma.start !== tmp) {
      mm.hit('errno.mlock.hole');
      return ENOMEM;
    }
    const newflags = (vma.flags & ~VM_LOCKED_MASK) | lockFlags;
    tmp = Math.min(vma.end, end);
    const r = mlockFixup(mm, vma, prev, nstart, tmp, newflags);
    if (typeof r === 'number') return r;
    prev = r;
    tmp = r.end; // vma_iter_end()
    nstart = tmp;
    const next = mm.nextOf(r)!;
    if (next.start >= end) break;
    vma = next;
  }
  if (tmp < end) {
    mm.hit('errno.mlock.hole');
    return ENOMEM;
  }
  return 0;
}

/** mm/mlock.c:mlock_fixup - unchanged flags and VMAs that cannot be locked (vma_supports_mlock:
 *  VM_DROPPABLE, hugetlb) are skipped; otherwise merge-then-split (ENOMEM at the map_count limit).
 *  A skipped hugetlb VMA never gets VM_LOCKED or VM_LOCKONFAULT, so do_mlock's __mm_populate
 *  faults its huge pages in even for MLOCK_ONFAULT (populate_vma_page_range tests the VMA's flags). */
function mlockFixup(mm: Mm, vma: Vma, prev: Vma, start: number, end: number, newflags: number): Vma | number {
  if (newflags === vma.flags) {
    mm.hit('mlock.unchanged');
    return vma;
  }
  if (vma.flags & VM_DROPPABLE) {
    mm.hit('mlock.unsupported_vma');
    return vma;
  }
  // mm/internal.h:vma_supports_mlock "is_vm_hugetlb_page(vma)" (6.1/6.12 mlock_fixup: the same test)
  if (vma.flags & VM_HUGETLB) {
    mm.hit('mlock.hugetlb_skipped');
    return vma;
  }
  const r = vmaModifyFlags(mm, prev, vma, start, end, newflags);
  if (typeof r === 'number') return -r;
  mm.hit('mlock.fixup');
  r.flags = newflags | (r.flags & VM_IGNORE_MERGE);
  return r;
}
