// mseal(2) after 7.3's mm/mseal.c. A sealed VMA (VM_SEALED, "sl") refuses munmap, MAP_FIXED over
// it, mprotect (src/model/syscalls.ts), mremap, and discarding madvise on read-only anonymous
// memory (src/model/madvise.ts). Returns 0 or a positive errno.

import type { Addr } from '../seq/values.js';
import { VM_SEALED } from './flags.js';
import { vmaModifyFlags } from './merge.js';
import { Mm, type Vma } from './state.js';
import { classifyLen, EINVAL, ENOMEM, Unsupported } from './syscalls.js';

export const ENOSYS = 38;

/** mm/vma.h:vma_is_sealed */
export function vmaIsSealed(v: Vma): boolean {
  return (v.flags & VM_SEALED) !== 0;
}

/** mm/mseal.c:sys_mseal */
export function sysMseal(mm: Mm, addr: Addr, lenArg: bigint, flags: number): number {
  const fail = (e: number, id: Parameters<Mm['hit']>[0]): number => {
    mm.hit(id);
    return e;
  };
  if (!mm.profile.mseal) return fail(ENOSYS, 'errno.mseal.nosys');
  if (flags) return fail(EINVAL, 'errno.mseal.flags');
  if (addr.off) return fail(EINVAL, 'errno.mseal.unaligned');
  const len = classifyLen(lenArg);
  if (len.kind === 'unknown' || (len.kind === 'beyond_task' && !len.wraps)) throw new Unsupported('mseal length reaching beyond the arena');
  // "len was rounded up from small -ve to zero" or end < start
  if (len.kind === 'beyond_task') return fail(EINVAL, 'errno.mseal.wrap');
  if (len.pages === 0) {
    mm.hit('mseal.len_zero');
    return 0;
  }
  const start = addr.page;
  const end = start + len.pages;
  if (rangeContainsUnmapped(mm, start, end)) return fail(ENOMEM, 'errno.mseal.hole');
  return msealRange(mm, start, end);
}

/** mm/mseal.c:range_contains_unmapped - checked before anything is sealed. */
function rangeContainsUnmapped(mm: Mm, start: number, end: number): boolean {
  let prevEnd = start;
  for (let i = mm.findIndex(start); mm.vmas[i]!.start < end; i++) {
    const v = mm.vmas[i]!;
    if (v.start > prevEnd || mm.isFence(v)) return true;
    prevEnd = v.end;
  }
  return prevEnd < end;
}

/** mm/mseal.c:__mseal_range - VMA by VMA, vma_modify_flags(| VM_SEALED) unless sealed already. */
function msealRange(mm: Mm, start: number, end: number): number {
  let vma = mm.lookup(start)!;
  let prev: Vma = start > vma.start ? vma : mm.prevOf(vma)!;
  for (;;) {
    if (vma.flags & VM_SEALED) {
      mm.hit('mseal.already');
    } else {
      const r = vmaModifyFlags(mm, prev, vma, Math.max(vma.start, start), Math.min(vma.end, end), vma.flags | VM_SEALED);
      // mseal_apply returns vma_modify_flags' error: a refused hugetlb split is EINVAL
      // (hugetlb_vm_op_split), the map_count limit ENOMEM; a head split made stays
      if (typeof r === 'number') return -r === ENOMEM ? fail(mm) : -r;
      r.flags |= VM_SEALED; // vma_set_flags(vma, VMA_SEALED_BIT): the merged flags plus the seal
      mm.hit('mseal.seal');
      vma = r;
    }
    prev = vma;
    const next = mm.nextOf(vma)!;
    if (next.start >= end) return 0;
    vma = next;
  }
}

function fail(mm: Mm): number {
  mm.hit('errno.mseal.split');
  return ENOMEM;
}
