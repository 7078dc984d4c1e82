// Profile rows of memfd seals (src/model/seals.ts); see src/model/profile-rows.ts for what a row is.

import type { ProfileRow } from './profile-rows.js';

export const PROFILE_ROWS_SEALS: readonly ProfileRow[] = [
  {
    id: 'memfd.seal_exec',
    description:
      'memfd_create takes MFD_EXEC and MFD_NOEXEC_SEAL (the latter clears the exec bits and allows sealing with ' +
      'F_SEAL_EXEC set; without either, vm.memfd_noexec decides), and F_ADD_SEALS knows F_SEAL_EXEC. Older kernels: ' +
      'both memfd_create flags are EINVAL (the model declines such a file) and F_SEAL_EXEC is EINVAL.',
    since: [6, 3, 0],
    lastOld: [6, 1, 176],
    inferred: true,
    evidence: '6.1.176 src: mm/memfd.c MFD_ALL_FLAGS and F_ALL_SEALS without them; 6.12.117, 7.3.4 src: present; 6.18.44 host: present; QEMU 6.1.176: the MFD_EXEC/MFD_NOEXEC_SEAL files of corpus/selftest cannot be created, the other memfd-* match; QEMU 6.12.117, 7.3.4: all match',
    ref: '7.3 mm/memfd.c:sanitize_flags, memfd_add_seals F_ALL_SEALS vs 6.1 mm/memfd.c:memfd_create MFD_ALL_FLAGS, F_ALL_SEALS ("mm/memfd: add F_SEAL_EXEC", "mm/memfd: add MFD_NOEXEC_SEAL and MFD_EXEC", 6.3)',
  },
  {
    id: 'memfd.exec_seal_implies_write',
    description:
      'F_ADD_SEALS with F_SEAL_EXEC on a memfd whose mode has exec bits also adds F_SEAL_SHRINK, F_SEAL_GROW, ' +
      'F_SEAL_WRITE and F_SEAL_FUTURE_WRITE (W^X). Kernels that introduced F_SEAL_EXEC (6.3) added it alone.',
    since: [6, 11, 0],
    lastOld: [6, 3, 0],
    inferred: true,
    evidence: '6.12.117 and 7.3.4 src: memfd_add_seals "SEAL_EXEC implies SEAL_WRITE"; 6.18.44 host, QEMU 6.12.117 and 7.3.4: implied (corpus/selftest/memfd-seal-exec-implies-write.json); the first release is from the commit history, not verified in source',
    ref: '7.3 mm/memfd.c:memfd_add_seals vs 6.3 mm/memfd.c:memfd_add_seals ("mm/memfd: add write seals when apply SEAL_EXEC to executable memfd")',
  },
  {
    id: 'memfd.seal_check_in_do_mmap',
    description:
      'A shared writable mmap of a write-sealed memfd is refused in do_mmap, before anything is unmapped: a refused ' +
      'MAP_FIXED leaves the old mapping. Older kernels refuse F_SEAL_FUTURE_WRITE (without F_SEAL_WRITE) only in ' +
      'shmem_mmap, after __mmap_region unmapped the MAP_FIXED range: the old mapping is gone (F_SEAL_WRITE itself ' +
      'fails earlier, in mmap_region\'s mapping_map_writable).',
    since: [6, 12, 0],
    lastOld: [6, 1, 176],
    inferred: true,
    evidence: '6.1.176 src: shmem_mmap -> seal_check_write after do_mas_munmap; 6.12.117 and 7.3.4 src: do_mmap -> memfd_check_seals_mmap; QEMU 6.1.176: the old mapping is gone (corpus/selftest/memfd-seal-future-write-mmap-fixed.json)',
    ref: '7.3 mm/mmap.c:do_mmap -> mm/memfd.c:memfd_check_seals_mmap vs 6.1 mm/mmap.c:__mmap_region (do_mas_munmap, then mmap_file) -> mm/shmem.c:shmem_mmap seal_check_write',
  },
];
