// Rule ids of memfd seals and of the fork whose child exits (merged into RULES by src/model/rules.ts).

export const RULES_SEALS = {
  // fcntl(F_ADD_SEALS) (mm/memfd.c:memfd_add_seals)
  'errno.add_seals.rdonly': 'EPERM: descriptor without FMODE_WRITE (mm/memfd.c:memfd_add_seals)',
  'errno.add_seals.unknown': 'EINVAL: seals outside F_ALL_SEALS (mm/memfd.c:memfd_add_seals)',
  'errno.add_seals.not_shmem': 'EINVAL: the file is neither shmem nor hugetlbfs (ext4/xfs/btrfs): no seals pointer (mm/memfd.c:memfd_add_seals, memfd_file_seals_ptr)',
  'errno.add_seals.sealed': 'EPERM: F_SEAL_SEAL already set (memfd without MFD_ALLOW_SEALING, tmpfs file, or sealed) (mm/memfd.c:memfd_add_seals)',
  'errno.add_seals.busy': 'EBUSY: F_SEAL_WRITE while a VM_SHARED|VM_MAYWRITE mapping exists in any process (mm/memfd.c:memfd_add_seals mapping_deny_writable)',
  'add_seals.exec_implies_write': 'F_SEAL_EXEC on a memfd with exec bits adds SHRINK|GROW|WRITE|FUTURE_WRITE (mm/memfd.c:memfd_add_seals)',
  'add_seals.deny_writable': 'F_SEAL_WRITE: i_mmap_writable denied, no new shared maywrite mapping (mm/memfd.c:memfd_add_seals)',
  'add_seals.ok': 'seals added to the inode (mm/memfd.c:memfd_add_seals)',
  // seals seen by other calls
  'errno.mmap.write_sealed': 'EPERM: MAP_SHARED|PROT_WRITE of a write-sealed memfd (mm/memfd.c:memfd_check_seals_mmap, check_write_seal)',
  'mmap.file.sealed_after_unmap': 'before 6.12: F_SEAL_FUTURE_WRITE refuses the shared writable mapping in shmem_mmap, after the MAP_FIXED range was unmapped (6.1 mm/mmap.c:__mmap_region, mm/shmem.c:shmem_mmap)',
  'mmap.file.sealed_no_maywrite': 'MAP_SHARED read-only of a write-sealed memfd: VM_MAYWRITE cleared, mprotect(PROT_WRITE) EACCES later (mm/memfd.c:check_write_seal)',
  'errno.ftruncate.sealed': 'EPERM: F_SEAL_SHRINK shrinking or F_SEAL_GROW growing (mm/shmem.c:shmem_setattr)',
  'errno.madvise.remove_sealed': 'EPERM: MADV_REMOVE punching a hole in a write-sealed file (mm/shmem.c:shmem_fallocate)',
  // fork {until: exit} / exit
  'fork.child_exits': 'fork whose child runs a block and exits: the parent waits, then goes on (kernel/exit.c:do_exit -> exit_mm -> mmput -> exit_mmap)',
  'errno.uffd.handle_of_child': 'EBADF: a userfaultfd descriptor created by an exited fork child is not in the parent\'s descriptor table (kernel/fork.c:copy_files copies the table at fork)',
  'exit.mappings_gone': 'the exited child\'s mappings no longer pin the file: i_mmap_writable drops (mm/mmap.c:exit_mmap -> remove_vma -> fput, mm/vma.c:__remove_shared_vm_struct)',
} as const;
