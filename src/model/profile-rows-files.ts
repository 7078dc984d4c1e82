// Profile rows of the file-mapping / fork / mremap / userfaultfd half of the model (see
// src/model/profile-rows.ts for what a row is). Kept apart so both halves of the model can add rows.

import type { ProfileRow } from './profile-rows.js';

export const PROFILE_ROWS_FILES: readonly ProfileRow[] = [
  {
    id: 'merge.anon_pgoff',
    description:
      'MAP_PRIVATE file VMAs carry an anonymous page offset (vm_anon_pgoff: addr at mmap, kept when a faulted VMA ' +
      'is moved by mremap, reset for an unfaulted one); merges and anon_vma reuse also need it contiguous. Older ' +
      'kernels compare the file pgoff only, so a moved faulted private file VMA can merge into a neighbour.',
    since: [7, 3, 0],
    lastOld: [7, 2, 13],
    inferred: false,
    evidence: '6.18.44 src (research notes) and 6.12.107 src: no anon_pgoff; 7.3.4 src: needs_adjacent_anon_pgoff; QEMU 6.18.15, 7.0.13, 7.2.13: merge, 7.3.4: refused (corpus/seed/file-anon-pgoff-moved.json)',
    ref: '7.3 mm/vma.c:needs_adjacent_anon_pgoff, anon_vma_compatible, copy_vma vs 6.12 mm/vma.c:can_vma_merge_before',
  },
  {
    id: 'uffd.register_drop_wp_ebusy',
    description:
      'UFFDIO_REGISTER with the same context but a mode set without VM_UFFD_WP on a WP-registered VMA fails with ' +
      'EBUSY. Older kernels: a subset of the registered modes is a no-op (0), any other set replaces the modes.',
    since: [7, 3, 0],
    lastOld: [7, 2, 13],
    inferred: false,
    evidence: '6.12.107 src: fs/userfaultfd.c:userfaultfd_register has no such check; 7.3.4 src: present; QEMU 6.18.15, 7.0.13, 7.2.13: 0, 7.3.4: EBUSY (corpus/seed/uffd-register-drop-wp.json)',
    ref: '7.3 mm/userfaultfd.c:userfaultfd_register ("Mode switches that drop VM_UFFD_WP") vs 6.12 fs/userfaultfd.c:userfaultfd_register',
  },
  {
    id: 'mremap.multi_vma',
    description:
      'mremap(MREMAP_FIXED|MREMAP_MAYMOVE) with old_len == new_len may span several VMAs (gaps kept; each VMA moved ' +
      'and merged on its own). Older kernels: EFAULT when the range leaves the first VMA.',
    since: [6, 17, 0],
    lastOld: [6, 16, 12],
    inferred: false,
    evidence: '6.12.117 src: absent; QEMU 6.16.12: EFAULT; QEMU 6.17.13, 6.18.44 host, 7.3.4: remap_move',
    ref: '7.3 mm/mremap.c:remap_move, vrm_move_only ("mm/mremap: permit mremap() move of multiple VMAs", 6.17) vs 6.12 mm/mremap.c:mremap_to',
  },
  {
    id: 'mremap.map_count_exact',
    description:
      'A moving mremap checks the map_count headroom it really needs (splits of source and destination, +1 for ' +
      'DONTUNMAP of a locked VMA). Older kernels refuse with ENOMEM when map_count >= max_map_count - 3 (and, for ' +
      'MREMAP_FIXED/DONTUNMAP, map_count + 2 >= max_map_count - 3).',
    since: [7, 3, 0],
    lastOld: [6, 18, 44],
    inferred: true,
    evidence: '6.12.107 src: prep_move_vma / mremap_to fixed slack; 7.3.4 src: check_map_count_against_split',
    ref: '7.3 mm/mremap.c:check_map_count_against_split vs 6.12 mm/mremap.c:move_vma, mremap_to',
  },
  {
    id: 'uffd.zeropage_forbidden_folio',
    description:
      'Where the zero page is forbidden (fact zero_page=0), UFFDIO_ZEROPAGE into a private VMA installs a zeroed ' +
      'page instead of the zero page. Older kernels map the zero page whatever mm_forbids_zeropage() says. Only ' +
      'matters on hosts without the zero page.',
    since: [6, 10, 0],
    lastOld: [6, 1, 999],
    inferred: true,
    evidence: '6.1.158 src: mfill_zeropage_pte always maps zero_pfn; 6.12.117 and 7.3.4 src: mfill_atomic_pte_zeroed_folio',
    ref: '7.3 mm/userfaultfd.c:mfill_atomic_pte_zeropage -> mfill_atomic_pte_zeroed_folio vs 6.1 mm/userfaultfd.c:mfill_zeropage_pte',
  },
  {
    id: 'uffd.zeropage_shmem_cache',
    description:
      'Where the zero page is forbidden, UFFDIO_ZEROPAGE into a private shmem VMA puts a zeroed folio into the ' +
      'page cache and maps it read-only (the VMA\'s vm_uffd_ops); 6.12 installs an anonymous folio as for ' +
      'anonymous VMAs. Between 6.12 and 7.3 not verified: the model declines that case there.',
    since: [7, 3, 0],
    lastOld: [6, 12, 999],
    inferred: true,
    declinesBetween: true,
    evidence: '6.12.117 src: mfill_atomic_pte_zeroed_folio for every private VMA; 7.3.4 src: vm_uffd_ops, shmem_mfill_filemap_add',
    ref: '7.3 mm/userfaultfd.c:mfill_atomic_pte_zeropage, mm/shmem.c:shmem_mfill_filemap_add vs 6.12 mm/userfaultfd.c:mfill_atomic_pte_zeroed_folio',
  },
  {
    id: 'mremap.new_addr_checked_first',
    description:
      'A moving mremap (MREMAP_FIXED/DONTUNMAP) checks new_addr alignment and the map_count slack (map_count + 2 >= ' +
      'max - 3: ENOMEM) before it looks the VMA up. Older kernels check them in mremap_to, after the lookup (no VMA: ' +
      'EFAULT). Only matters where mremap.check_params_first is old (6.17 checks everything before the lookup).',
    since: [6, 15, 0],
    lastOld: [6, 12, 999],
    inferred: true,
    evidence: '6.12.117 src: checks in mremap_to; "mm/mremap: refactor mremap() system call implementation" (March 2025) moves them to check_mremap_params; QEMU 6.16: new',
    ref: '6.16 mm/mremap.c:check_mremap_params vs 6.12 mm/mremap.c:mremap_to',
  },
  {
    id: 'mremap.check_params_first',
    description:
      'mremap checks all its parameters (new_addr alignment, TASK_SIZE, overlap) before it looks the source VMA up, and ' +
      'checks the source range (span, old_len 0, growth limits) before MREMAP_FIXED unmaps the destination. Older ' +
      'kernels look the VMA up first (EFAULT/EPERM before the overlap and TASK_SIZE EINVALs) and mremap_to unmaps the destination ' +
      '(and a shrunk tail) before vma_to_resize checks the source: a failing move (EFAULT) has already unmapped it.',
    since: [6, 17, 0],
    lastOld: [6, 16, 12],
    inferred: false,
    evidence: '6.1.176, 6.12.117 src: sys_mremap vma_lookup then mremap_to (do_munmap, then vma_to_resize); QEMU 6.1/6.12/6.16: old; QEMU 6.17/7.3: new',
    ref: '7.3 mm/mremap.c:check_mremap_params, check_prep_vma, mremap_to ("mm/mremap: check remap conditions earlier", 6.17) vs 6.12 mm/mremap.c:SYSCALL_DEFINE5(mremap), mremap_to, vma_to_resize',
  },
  {
    id: 'uffd.unregister_same_ctx',
    description:
      'UFFDIO_UNREGISTER fails with EINVAL when a VMA of the range is registered with another context of the same mm. ' +
      'Older kernels unregister it through any context ("userfaultfd: prevent unregistering VMAs through a different ' +
      'userfaultfd": "slightly modifies the ABI. It should not be backported to -stable").',
    since: [6, 17, 0],
    lastOld: [6, 16, 12],
    inferred: false,
    evidence: '6.1.176, 6.12.117 src: no ctx check in userfaultfd_unregister; QEMU 6.1/6.12/6.16: old; QEMU 6.17/7.3: new',
    ref: '7.3 mm/userfaultfd.c:userfaultfd_unregister ("Prevent unregistering through a different userfaultfd") vs 6.12 fs/userfaultfd.c:userfaultfd_unregister',
  },
];
