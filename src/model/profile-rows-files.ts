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
    lastOld: [6, 18, 44],
    inferred: true,
    evidence: '6.18.44 src (research notes) and 6.12.107 src: no anon_pgoff; 7.3.4 src: needs_adjacent_anon_pgoff',
    ref: '7.3 mm/vma.c:needs_adjacent_anon_pgoff, anon_vma_compatible, copy_vma vs 6.12 mm/vma.c:can_vma_merge_before',
  },
  {
    id: 'uffd.register_drop_wp_ebusy',
    description:
      'UFFDIO_REGISTER with the same context but a mode set without VM_UFFD_WP on a WP-registered VMA fails with ' +
      'EBUSY. Older kernels: a subset of the registered modes is a no-op (0), any other set replaces the modes.',
    since: [7, 3, 0],
    lastOld: [6, 18, 44],
    inferred: true,
    evidence: '6.12.107 src: fs/userfaultfd.c:userfaultfd_register has no such check; 7.3.4 src: present',
    ref: '7.3 mm/userfaultfd.c:userfaultfd_register ("Mode switches that drop VM_UFFD_WP") vs 6.12 fs/userfaultfd.c:userfaultfd_register',
  },
  {
    id: 'mremap.multi_vma',
    description:
      'mremap(MREMAP_FIXED|MREMAP_MAYMOVE) with old_len == new_len may span several VMAs (gaps kept; each VMA moved ' +
      'and merged on its own). Older kernels: EFAULT when the range leaves the first VMA.',
    since: [6, 17, 0],
    lastOld: [6, 12, 999],
    inferred: true,
    evidence: '6.12.107 src: absent; 6.18.44 host and 7.3.4 src: remap_move',
    ref: '7.3 mm/mremap.c:remap_move, vrm_move_only vs 6.12 mm/mremap.c:mremap_to',
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
];
