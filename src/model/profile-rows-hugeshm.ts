// Profile rows of hugetlb and SysV shared memory (see src/model/profile-rows.ts for what a row is).

import type { ProfileRow } from './profile-rows.js';

export const PROFILE_ROWS_HUGESHM: readonly ProfileRow[] = [
  {
    id: 'merge.close_hook_remove_only',
    description:
      'A VMA with vm_ops->close (SysV shm, hugetlb) may be the target of a merge - prev or next is extended - and ' +
      'only its removal is refused: a whole-VMA merge of such a middle aborts, and merging both sides drops to ' +
      'merging prev when next has the hook. 6.1 refuses any merge with a neighbour that has a close hook.',
    since: [6, 12, 0],
    lastOld: [6, 1, 176],
    inferred: true,
    declinesBetween: true,
    evidence:
      '6.1.176 src: mm/mmap.c:is_mergeable_vma "if (vma->vm_ops && vma->vm_ops->close) return 0"; 7.3.4 src: ' +
      'mm/vma.c:can_merge_remove_vma; 6.18.44 host: a shm attach split by mprotect re-merges into prev ' +
      '(corpus/seed/shm-close-hook-merge.json). 6.2-6.11 had intermediate rules (may_remove_vma): declined.',
    ref: '7.3 mm/vma.c:vma_merge_existing_range, vma_merge_new_range, can_merge_remove_vma vs 6.1 mm/mmap.c:is_mergeable_vma',
  },
];
