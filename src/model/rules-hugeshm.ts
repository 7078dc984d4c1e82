// Rule ids of hugetlb mappings and SysV shared memory (merged into RULES by src/model/rules.ts).
// Each names the kernel function it follows (7.3 unless said otherwise).

export const RULES_HUGESHM = {
  // MAP_HUGETLB (mm/mmap.c:ksys_mmap_pgoff, fs/hugetlbfs/inode.c, mm/hugetlb.c)
  'errno.mmap.hugetlb_size': 'EINVAL: MAP_HUGE_* size without an hstate (mm/mmap.c:ksys_mmap_pgoff hstate_sizelog)',
  'mmap.hugetlb.len_rounded': 'MAP_HUGETLB length rounded up to the 2 MiB huge page (mm/mmap.c:ksys_mmap_pgoff ALIGN)',
  'errno.mmap.hugetlb_fixed_unaligned': 'EINVAL: MAP_FIXED address not 2 MiB aligned (fs/hugetlbfs/inode.c:hugetlb_get_unmapped_area)',
  'errno.mmap.hugetlb_pgoff': 'EINVAL: file offset not 2 MiB aligned (fs/hugetlbfs/inode.c:hugetlbfs_file_mmap)',
  'mmap.hugetlb': 'a new hugetlb VMA: VM_HUGETLB|VM_DONTEXPAND, never VM_ACCOUNT, own anon hugetlb file "/anon_hugepage (deleted)" (fs/hugetlbfs/inode.c:hugetlbfs_file_mmap, mm/vma.c:accountable_mapping, mm/hugetlb.c:hugetlb_file_setup)',
  'mmap.hugetlb.noreserve': 'MAP_NORESERVE on hugetlb: VM_NORESERVE whatever the overcommit mode (mm/mmap.c:do_mmap)',
  'mmap.hugetlb.locked_dropped': 'MAP_LOCKED on hugetlb: populated, but VM_LOCKED is cleared (mm/vma.c:__mmap_complete vma_supports_mlock)',
  'mmap.place.hugetlb_hint_down': '6.1, 6.12: a hugetlb hint is rounded down to 2 MiB (6.1/6.12 arch/x86/mm/hugetlbpage.c:hugetlb_get_unmapped_area)',
  'errno.mmap.fixed_unmap_enomem': '6.1: MAP_FIXED whose unmap of the old range fails returns ENOMEM (6.1 mm/mmap.c:mmap_region)',
  'mmap.place.hugetlb': 'non-fixed hugetlb placement: hint rounded up to 2 MiB, else a 2 MiB-aligned top-down search (fs/hugetlbfs/inode.c:hugetlb_get_unmapped_area, arch_get_unmapped_area_topdown huge_page_mask_align)',
  'split.hugetlb_unaligned': 'EINVAL: a hugetlb VMA cannot be split off the 2 MiB grid (mm/hugetlb.c:hugetlb_vm_op_split via mm/vma.c:__split_vma may_split)',
  'fault.hugetlb.sigbus': 'SIGBUS: a hugetlb fault at or beyond i_size (mm/hugetlb.c:hugetlb_no_page)',
  'mmap.hugetlb.isize_grown': 'a writable hugetlb mapping reaching past i_size grows the file (fs/hugetlbfs/inode.c:hugetlbfs_file_mmap i_size_write)',
  'fault.hugetlb.anon_vma': 'a fault on private hugetlb memory prepares the anon_vma (new page or a private write; a read of a page cached by a shared mapping does not) (mm/hugetlb.c:hugetlb_no_page, hugetlb_wp __vmf_anon_prepare)',
  'fork.hugetlb': 'fork copies a hugetlb VMA\'s entries only if it has an anon_vma (private, faulted: copy_hugetlb_page_range via vma_needs_copy); a shared one faults afresh in the child (mm/memory.c:copy_page_range)',
  'fault.hugetlb': 'a fault on hugetlb memory maps the whole 2 MiB page from the pool (mm/hugetlb.c:hugetlb_fault, hugetlb_no_page)',
  'mprotect.hugetlb_no_account': 'hugetlb made writable gains no VM_ACCOUNT: it was accounted when reserved (mm/mprotect.c:mprotect_fixup VMA_HUGETLB_BIT)',
  // madvise on hugetlb (mm/madvise.c)
  'errno.madvise.hugetlb_unaligned': 'EINVAL: MADV_DONTNEED on hugetlb from an address off the 2 MiB grid (mm/madvise.c:madvise_dontneed_free_valid_vma)',
  'errno.madvise.hugetlb_advice': 'EINVAL: MADV_FREE, guard, COLD and PAGEOUT refuse hugetlb (mm/madvise.c:madvise_dontneed_free_valid_vma, is_valid_guard_vma, can_madv_lru_vma)',
  'madvise.hugetlb.dontneed': 'MADV_DONTNEED on hugetlb drops the whole huge pages of the range, its end rounded down to 2 MiB (mm/madvise.c:madvise_dontneed_free_valid_vma ALIGN_DOWN)',
  'madvise.hugetlb.dontneed_nothing': 'MADV_DONTNEED on hugetlb whose end rounds down to its start: 0, nothing dropped (mm/madvise.c:madvise_dontneed_free)',
  // mremap of hugetlb (mm/mremap.c:check_prep_vma align_hugetlb; 6.1/6.12 SYSCALL_DEFINE5(mremap))
  'mremap.hugetlb.len_rounded': 'mremap of hugetlb: old_len and new_len rounded up to 2 MiB before anything else (mm/mremap.c:align_hugetlb ALIGN)',
  'errno.mremap.hugetlb_unaligned': 'EINVAL: mremap of hugetlb with addr or the new_addr argument (even without MREMAP_FIXED) off the 2 MiB grid (mm/mremap.c:align_hugetlb)',
  'errno.mremap.hugetlb_grow': 'EINVAL: mremap may not grow a hugetlb VMA, in place or moving (mm/mremap.c:align_hugetlb "Don\'t allow remap expansion")',
  'errno.mremap.dontunmap_special': 'EINVAL: MREMAP_DONTUNMAP of a VM_DONTEXPAND (hugetlb) VMA (mm/mremap.c:check_prep_vma; 6.12 vma_to_resize, after the destination was unmapped)',
  'errno.mremap.multi_shm': 'EFAULT: a multi-VMA MREMAP_FIXED move may not take a SysV attach with other VMAs (mm/mremap.c:remap_move vma_multi_allowed: shm_get_unmapped_area, not vma_is_shmem)',
  'mremap.expand_close_hook': '6.1: a VMA with vm_ops->close (SysV attach) grows in place by vma_adjust, never merging: vma_merge would refuse it (6.1 mm/mremap.c:SYSCALL_DEFINE5(mremap), mm/mmap.c:is_mergeable_vma)',
  'mlock.hugetlb_skipped': 'mlock of hugetlb: no VM_LOCKED/VM_LOCKONFAULT, no split (mm/mlock.c:mlock_fixup vma_supports_mlock), yet __mm_populate faults the huge pages in, for MLOCK_ONFAULT too',
  // merges next to vm_ops->close / VM_SPECIAL (mm/vma.c)
  'merge.special': 'VM_SPECIAL (VM_DONTEXPAND: hugetlb) never merges (mm/vma.c:vma_merge_existing_range, vma_merge_new_range VMA_SPECIAL_FLAGS)',
  'merge.close_hook_middle': 'the whole modified VMA would be removed but has vm_ops->close: no merge (mm/vma.c:vma_merge_existing_range can_merge_remove_vma)',
  'merge.close_hook_any': '6.1: a neighbour with vm_ops->close is never mergeable (6.1 mm/mmap.c:is_mergeable_vma)',
  // SysV shared memory (ipc/shm.c)
  'errno.shmat.unaligned': 'EINVAL: address not SHMLBA (page) aligned and no SHM_RND (ipc/shm.c:do_shmat)',
  'shmat.rnd': 'SHM_RND: the address is rounded down to SHMLBA (ipc/shm.c:do_shmat)',
  'errno.shmat.remap_null': 'EINVAL: SHM_REMAP without an address (ipc/shm.c:do_shmat)',
  'errno.shmat.overlap': 'EINVAL: the range meets a VMA and SHM_REMAP is not given (ipc/shm.c:do_shmat find_vma_intersection)',
  'shmat.remap': 'SHM_REMAP: MAP_FIXED replaces what is mapped there (ipc/shm.c:do_shmat)',
  'shmat.rdonly': 'SHM_RDONLY: an O_RDONLY file, so VM_MAYWRITE and VM_SHARED are cleared (ipc/shm.c:do_shmat, mm/mmap.c:do_mmap)',
  'fault.shm.no_fault_around': 'a read fault on a SysV attach maps only its own page: shm_vm_ops has no ->map_pages (mm/memory.c:should_fault_around, ipc/shm.c:shm_vm_ops)',
  'shmat.attach': 'a new shm VMA: its own struct file over the segment, vm_ops with close, pgoff 0, "/SYSV<key> (deleted)" (ipc/shm.c:do_shmat alloc_file_clone, shm_mmap)',
  'shm.no_unmap_event': 'what shmat (SHM_REMAP) or shmdt unmaps raises no userfaultfd unmap event: uf = NULL (ipc/shm.c:do_shmat, ksys_shmdt; mm/vma.c:vms_gather_munmap_vmas)',
  'errno.shmdt.unaligned': 'EINVAL: address not page aligned (ipc/shm.c:ksys_shmdt)',
  'errno.shmdt.none': 'EINVAL: no shm VMA at or above the address starts where its pgoff says (ipc/shm.c:ksys_shmdt)',
  'shmdt.detach': 'the first shm VMA with vm_start - addr == pgoff is unmapped (ipc/shm.c:ksys_shmdt)',
  'shmdt.fragment': 'further fragments of the same attach within the segment size are unmapped too (ipc/shm.c:ksys_shmdt)',
} as const;
