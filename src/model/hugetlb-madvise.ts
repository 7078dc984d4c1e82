// madvise on a hugetlb VMA (7.3 mm/madvise.c:madvise_vma_behavior for VM_HUGETLB), for the advice
// whose hugetlb path is modelled; any other advice on hugetlb is declined (src/model/shm.ts
// declineOnHugeShm keeps it from getting here).

import { MADV } from '../seq/consts.js';
import { HPAGE_PAGES, Mm, PTE_NONE, type Vma } from './state.js';
import { Unsupported } from './syscalls.js';

const EINVAL = 22;
const M = MADV;

/** Advice modelled on hugetlb VMAs. */
export const HUGETLB_ADVICE: ReadonlySet<number> = new Set([
  M.MADV_DONTNEED, M.MADV_DONTNEED_LOCKED, M.MADV_FREE, M.MADV_GUARD_INSTALL, M.MADV_GUARD_REMOVE, M.MADV_COLD, M.MADV_PAGEOUT,
]);

/** [start, end) inside the hugetlb VMA vma: 0 or a positive errno. */
export function madviseHugetlb(mm: Mm, advice: number, vma: Vma, start: number, end: number): number {
  void vma;
  switch (advice) {
    case M.MADV_DONTNEED:
    case M.MADV_DONTNEED_LOCKED: {
      // madvise_dontneed_free_valid_vma: the start must be on the huge page grid; "Avoid unexpected
      // data loss by rounding down the number of huge pages freed": end = ALIGN_DOWN(end, 2 MiB)
      if (start % HPAGE_PAGES) {
        mm.hit('errno.madvise.hugetlb_unaligned');
        return EINVAL;
      }
      const e = end - (end % HPAGE_PAGES);
      mm.hit(e === start ? 'madvise.hugetlb.dontneed_nothing' : 'madvise.hugetlb.dontneed');
      // zap_vma_range -> __unmap_hugepage_range: the huge pages go (the reservation stays)
      for (let p = start; p < e; p++) mm.pte[p] = PTE_NONE;
      return 0;
    }
    case M.MADV_FREE:
      // madvise_dontneed_free_valid_vma: hugetlb takes only MADV_DONTNEED(_LOCKED)
      mm.hit('errno.madvise.hugetlb_advice');
      return EINVAL;
    case M.MADV_GUARD_INSTALL:
    case M.MADV_GUARD_REMOVE:
      // is_valid_guard_vma: "vm_flags_t disallowed = VM_SPECIAL | VM_HUGETLB"
      mm.hit('errno.madvise.hugetlb_advice');
      return EINVAL;
    case M.MADV_COLD:
    case M.MADV_PAGEOUT:
      // can_madv_lru_vma: !(vm_flags & (VM_LOCKED|VM_PFNMAP|VM_HUGETLB))
      mm.hit('errno.madvise.hugetlb_advice');
      return EINVAL;
    default:
      throw new Unsupported(`madvise ${advice} on a hugetlb VMA is not modelled`);
  }
}
