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
      '(corpus/seed/shm-close-hook-merge.json); QEMU 6.1.176: no merge, QEMU 6.12.117, 6.17.13: merges (the same seed). ' +
      '6.2-6.11 had intermediate rules (may_remove_vma): declined.',
    ref: '7.3 mm/vma.c:vma_merge_existing_range, vma_merge_new_range, can_merge_remove_vma vs 6.1 mm/mmap.c:is_mergeable_vma',
  },
  {
    id: 'mmap.hugetlb_hint_align_up',
    description:
      'A non-fixed MAP_HUGETLB hint is rounded up to 2 MiB (ALIGN) before it is tried; 6.1 rounds it down (addr &= huge_page_mask).',
    since: [6, 16, 0],
    lastOld: [6, 12, 117],
    inferred: true,
    declinesBetween: true,
    evidence: '6.1.176 src: arch/x86/mm/hugetlbpage.c:hugetlb_get_unmapped_area "addr &= huge_page_mask(h)"; 7.3.4 src: ALIGN; QEMU 6.1.176, 6.12.117: rounded down; QEMU 6.16.12, 6.17.13, 6.18.44 host: rounded up (corpus/seed/hugetlb-version-rows.json); 6.13-6.15 not checked: declined',
    ref: '7.3 fs/hugetlbfs/inode.c:hugetlb_get_unmapped_area vs 6.1 arch/x86/mm/hugetlbpage.c:hugetlb_get_unmapped_area',
  },
  {
    id: 'mmap.fixed_unmap_error_kept',
    description:
      'MAP_FIXED over a range whose unmap fails (a hugetlb VMA split off the 2 MiB grid) returns that error (EINVAL); 6.1 mmap_region returns ENOMEM for any failed unmap.',
    since: [6, 12, 0],
    lastOld: [6, 1, 176],
    inferred: true,
    declinesBetween: true,
    evidence: '6.1.176 src: mm/mmap.c:mmap_region "if (do_mas_munmap(...)) return -ENOMEM"; 7.3.4 src: mm/vma.c:__mmap_setup returns the vms_gather_munmap_vmas error; QEMU 6.1.176: ENOMEM, QEMU 6.12.117, 6.18.44 host: EINVAL (corpus/seed/hugetlb-version-rows.json)',
    ref: '7.3 mm/vma.c:__mmap_setup vs 6.1 mm/mmap.c:mmap_region',
  },
  {
    id: 'madvise.dofork_special',
    description:
      'MADV_DOFORK of a VM_SPECIAL VMA (hugetlb: VM_DONTEXPAND) is EINVAL; older kernels refuse only VM_IO, so DOFORK clears VM_DONTCOPY on hugetlb.',
    since: [7, 0, 0],
    lastOld: [6, 19, 14],
    inferred: true,
    declinesBetween: true,
    evidence: '6.12.117 src: mm/madvise.c "if (vma->vm_flags & VM_IO) return -EINVAL"; 7.3.4 src: "if (new_flags & VM_SPECIAL) return -EINVAL"; 6.18.44 host, QEMU 6.19.14: DOFORK of a hugetlb VMA returns 0 and clears "dc"; QEMU 7.0.13, 7.1.13: EINVAL, "dc" stays',
    ref: '7.3 mm/madvise.c:madvise_vma_behavior (MADV_DOFORK) vs 6.12 mm/madvise.c:madvise_vma_behavior',
  },
];
