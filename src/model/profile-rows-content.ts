// Profile rows of page contents and disk files (src/model/realfs.ts); see src/model/profile-rows.ts
// for what a row is. Kept apart so each part of the model can add rows without touching the others.

import type { ProfileRow } from './profile-rows.js';

export const PROFILE_ROWS_CONTENT: readonly ProfileRow[] = [
  {
    id: 'fault.around_eof_folio_no_table',
    description:
      'Fault-around in a disk file maps nothing when the first cached folio of its window holds the file\'s last page ' +
      'and the PMD has no page table yet: filemap_map_pages calls filemap_map_pmd (which installs the table) only for ' +
      'folios ending before EOF, or for shmem, and pte_offset_map_lock then fails on pmd_none. Older kernels call ' +
      'filemap_map_pmd for any first folio, so the cached pages of the window are mapped.',
    since: [6, 12, 117],
    lastOld: [6, 1, 176],
    inferred: true,
    evidence: '6.18.44 host, QEMU 6.12.117, 6.17.13, 6.18.15: a 1-page filled ext4 file, a read fault beyond EOF maps nothing, a 2-page file maps both pages; QEMU 6.1.176: the 1-page file\'s page is mapped; 7.3.4 src: the shmem-or-below-EOF condition ("mm/filemap: do not map across i_size", a stable backport)',
    ref: '7.3 mm/filemap.c:filemap_map_pages ("Do not allow to map with PMD across i_size"), filemap_map_pmd, pte_offset_map_lock vs 6.1 mm/filemap.c:filemap_map_pages',
  },
];
