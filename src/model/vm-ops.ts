// The vm_operations the model's VMAs can have beyond anonymous memory and shmem: hugetlb_vm_ops
// (mm/hugetlb.c) and shm_vm_ops (ipc/shm.c). Both have ->close, which limits merges
// (src/model/merge.ts); hugetlb's ->may_split refuses splits off the 2 MiB grid.

import { VM_HUGETLB } from './flags.js';
import { HPAGE_PAGES, Mm, type Vma } from './state.js';

const EINVAL = 22;

export function isHugetlb(v: Vma): boolean {
  return (v.flags & VM_HUGETLB) !== 0;
}

/** mm/hugetlb.c:hugetlb_vm_op_split (vm_ops->may_split, the first thing mm/vma.c:__split_vma
 *  asks): 0, or EINVAL for an address off the huge page grid. */
export function maySplit(mm: Mm, v: Vma, page: number): number {
  if (isHugetlb(v) && page % HPAGE_PAGES !== 0) {
    mm.hit('split.hugetlb_unaligned');
    return EINVAL;
  }
  return 0;
}

/** Does v have vm_ops->close (hugetlb_vm_ops, shm_vm_ops)? */
export function hasCloseHook(mm: Mm, v: Vma | null | undefined): boolean {
  return !!v && v.file > 0 && mm.sys.file(v.file).closeHook === true;
}

/** Is v a SysV shm attach (vm_ops == &shm_vm_ops)? */
export function isShm(mm: Mm, v: Vma): boolean {
  return v.file > 0 && mm.sys.file(v.file).kind === 'sysv';
}
