// Profile rows of the madvise / mlock / mseal / anon-name / layer half of the model (see
// src/model/profile-rows.ts for what a row is). Kept apart so both halves of the model can add rows.

import type { ProfileRow } from './profile-rows.js';

export const PROFILE_ROWS_MEM: readonly ProfileRow[] = [
  {
    id: 'madvise.guard_regions',
    description:
      'MADV_GUARD_INSTALL/MADV_GUARD_REMOVE (102/103) exist: guard markers on anonymous VMAs; a sealed read-only ' +
      'anonymous VMA refuses GUARD_INSTALL (EPERM, a discard). Older kernels: unknown advice, EINVAL. The harness ' +
      'fact `guard` overrides.',
    since: [6, 13, 0],
    lastOld: [6, 12, 999],
    inferred: true,
    evidence: '6.12.107 src: madvise_behavior_valid lacks them; 6.18.44 host: guard=file; 7.3.4 src: present',
    ref: '7.3 mm/madvise.c:madvise_guard_install, is_discard vs 6.12 mm/madvise.c:madvise_behavior_valid',
  },
  {
    id: 'madvise.guard_file',
    description:
      'Guard regions on any VMA that is not VM_SPECIAL/VM_HUGETLB (shmem, files, read-only mappings); 6.13/6.14 accepted ' +
      'only anonymous VM_MAYWRITE VMAs (EINVAL otherwise). The harness fact `guard` overrides.',
    since: [6, 15, 0],
    lastOld: [6, 12, 999],
    inferred: true,
    evidence: '6.18.44 host: guard=file; 7.3.4 src: is_valid_guard_vma tests VM_SPECIAL|VM_HUGETLB only',
    ref: '7.3 mm/madvise.c:is_valid_guard_vma',
  },
  {
    id: 'madvise.maybe_guard_flag',
    description:
      'MADV_GUARD_INSTALL sets the sticky VM_MAYBE_GUARD ("gu") on the whole VMA (no split, ignored for merges, OR-ed ' +
      'into merge results) and prepares an anon_vma only for anonymous VMAs. Before (6.13 - 6.18.35) no flag, and ' +
      'anon_vma_prepare() on every VMA, file and shmem ones included.',
    since: [6, 18, 36],
    lastOld: [6, 18, 35],
    inferred: true,
    evidence: '6.18.35 src: absent; 6.18.44 src and host: "gu"; 7.3.4 src: present',
    ref: '7.3 mm/madvise.c:madvise_guard_install (vma_set_atomic_flag VMA_MAYBE_GUARD_BIT), include/linux/mm.h VMA_STICKY_FLAGS',
  },
  {
    id: 'pagemap.guard_bit',
    description: 'A guard marker reads as PM_GUARD_REGION (bit 58) in /proc/pid/pagemap (\'G\'); 6.13/6.14 only set PM_SWAP (\'S\'). The harness fact `pm_guard` overrides.',
    since: [6, 15, 0],
    lastOld: [6, 12, 999],
    inferred: true,
    evidence: '6.12.107 src: no PM_GUARD_REGION; 6.18.44 host: pm_guard=1; 7.3.4 src: pte_to_pagemap_entry',
    ref: '7.3 fs/proc/task_mmu.c:pte_to_pagemap_entry (softleaf_is_guard_marker)',
  },
  {
    id: 'madvise.populate_hole_enomem',
    description:
      'MADV_POPULATE_READ/WRITE stop with ENOMEM at the first unmapped page (faultin_page_range, no VMA walk). Older ' +
      'kernels walk the VMAs like any madvise: holes are skipped, later VMAs populated, ENOMEM at the end.',
    since: [6, 9, 0],
    lastOld: [6, 1, 999],
    inferred: true,
    evidence: '6.1.158 src: madvise_populate per VMA from madvise_walk_vmas; 6.12.107, 7.3.4 src: faultin_page_range',
    ref: '7.3 mm/madvise.c:madvise_populate, mm/gup.c:__get_user_pages (FOLL_MADV_POPULATE) vs 6.1 mm/madvise.c:madvise_populate',
  },
  {
    id: 'madvise.dontneed_reclaims_pt',
    description:
      'CONFIG_PT_RECLAIM: MADV_DONTNEED frees a PTE table that it emptied over a whole 2 MiB block, so a later read ' +
      'fault there may take the THP path (and prepare an anon_vma). Older kernels keep the table.',
    since: [6, 14, 0],
    lastOld: [6, 12, 999],
    inferred: true,
    evidence: '6.12.107 src: no reclaim_pt; 6.18.44 host config: CONFIG_PT_RECLAIM=y; 7.3.4 src: zap_pte_range reclaim_pt',
    ref: '7.3 mm/madvise.c:madvise_dontneed_single_vma, mm/memory.c:zap_pte_range vs 6.12 mm/madvise.c:madvise_dontneed_single_vma',
  },
  {
    id: 'smaps.lf_mnemonic',
    description: 'smaps VmFlags prints "lf" for VM_LOCKONFAULT (mlock2 MLOCK_ONFAULT); 6.1 has no mnemonic and prints "??".',
    since: [6, 12, 0],
    lastOld: [6, 1, 999],
    inferred: true,
    evidence: '6.1.158 src: no VM_LOCKONFAULT entry in show_smap_vma_flags; 6.12.107, 7.3.4 src: "lf"',
    ref: '7.3 fs/proc/task_mmu.c:show_smap_vma_flags vs 6.1 fs/proc/task_mmu.c:show_smap_vma_flags',
  },
  {
    id: 'mseal.syscall',
    description: 'mseal(2) (syscall 462) exists; 6.1 returns ENOSYS. The harness fact `mseal` overrides.',
    since: [6, 10, 0],
    lastOld: [6, 1, 999],
    inferred: true,
    evidence: '6.1.158 src: no mm/mseal.c; 6.12.107, 7.3.4 src: mm/mseal.c; 6.18.44 host: mseal=1',
    ref: '7.3 mm/mseal.c:sys_mseal vs 6.1 (absent: no mm/mseal.c)',
  },
  {
    id: 'anon_name.shmem',
    description:
      'PR_SET_VMA_ANON_NAME may name anonymous shmem: MAP_SHARED|MAP_ANONYMOUS and any mapping of a shmem file unlinked at mmap ' +
      '(memfd, an unlinked tmpfs file): "[anon_shmem:NAME]"; 6.1 refuses every file-backed VMA with EBADF. ' +
      'Commit d09e8ca6cb93 "mm: anonymous shared memory naming" (6.2) brought both.',
    since: [6, 2, 0],
    lastOld: [6, 1, 999],
    inferred: true,
    evidence: '6.1.158 src: madvise_vma_anon_name "if (vma->vm_file) return -EBADF", shmem_mmap sets shmem_vm_ops only; 6.12.117 src: shmem_mmap, 7.3.4 src: shmem_mmap_prepare give an unlinked inode shmem_anon_vm_ops; 7.3.4-vmafuzz QEMU: a memfd and a tmpfs mapping named',
    ref: '7.3 mm/madvise.c:madvise_vma_behavior (__MADV_SET_ANON_VMA_NAME), mm/shmem.c:shmem_mmap_prepare, fs/proc/task_mmu.c:get_vma_name vs 6.1 mm/madvise.c:madvise_vma_anon_name',
  },
];
