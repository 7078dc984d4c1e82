// The one table of intended behaviour changes between the kernels the model covers (6.1, 6.12,
// 6.18.44 = the development host, 7.3). The model is written for 7.3; each row names a place where
// an older kernel behaves differently *by design*, and the code consults the row by id. A kernel
// bug is never a row: the model predicts the intended behaviour and the fuzzer reports the bug.
//
// `since` is the first release with the 7.3 behaviour. Anchors verified in source or on the host
// are listed in `evidence`; where the exact release is inferred (between anchors), `inferred` says
// so and makeProfile() warns for kernels between the last anchor without and the first with it.

import { PROFILE_ROWS_MEM } from './profile-rows-mem.js';
import { PROFILE_ROWS_FILES } from './profile-rows-files.js';
import { PROFILE_ROWS_SEALS } from './profile-rows-seals.js';
import { PROFILE_ROWS_HUGESHM } from './profile-rows-hugeshm.js';
import { PROFILE_ROWS_CONTENT } from './profile-rows-content.js';

export type Version = readonly [number, number, number];

export interface ProfileRow {
  id: RowId;
  description: string;
  /** first version with the 7.3 behaviour */
  since: Version;
  /** the newest anchor known to have the old behaviour (for the "between anchors" warning) */
  lastOld: Version;
  inferred: boolean;
  /** the model declines (Unsupported) the row's case between the anchors instead of assuming the
   *  old behaviour, so no "not verified" warning is needed (rowUnverified) */
  declinesBetween?: boolean;
  evidence: string;
  /** kernel source reference for both sides */
  ref: string;
}

export const ROW_IDS = [
  'anon_vma.merge_faulted_into_unfaulted',
  'mprotect.unaccount_unfaulted',
  'mmap.map_stack_nohugepage',
  'mmap.thp_align_anon',
  'mmap.map_droppable',
  'merge.new_range_prefers_prev',
  // madvise, mlock, mseal, anon names, layers (src/model/madvise.ts, mlock.ts, mseal.ts, anon-name.ts, layers.ts)
  'madvise.guard_regions',
  'madvise.guard_file',
  'madvise.maybe_guard_flag',
  'pagemap.guard_bit',
  'madvise.populate_hole_enomem',
  'madvise.dontneed_reclaims_pt',
  'smaps.lf_mnemonic',
  'mseal.syscall',
  'anon_name.shmem',
  // files, fork, mremap, userfaultfd (src/model/mmap-file.ts, fork.ts, mremap.ts, uffd.ts, merge.ts)
  'merge.anon_pgoff',
  'uffd.register_drop_wp_ebusy',
  'mremap.multi_vma',
  'mremap.map_count_exact',
  'uffd.zeropage_forbidden_folio',
  'uffd.zeropage_shmem_cache',
  'mremap.new_addr_checked_first',
  'mremap.check_params_first',
  'uffd.unregister_same_ctx',
  // memfd seals (src/model/seals.ts)
  'memfd.seal_exec',
  'memfd.exec_seal_implies_write',
  'memfd.seal_check_in_do_mmap',
  // hugetlb and SysV shm (src/model/profile-rows-hugeshm.ts)
  'merge.close_hook_remove_only',
  'mmap.hugetlb_hint_align_up',
  'mmap.fixed_unmap_error_kept',
  'madvise.dofork_special',
  // page contents, disk files (src/model/realfs.ts)
  'fault.around_eof_folio_no_table',
] as const;
export type RowId = (typeof ROW_IDS)[number];

export const PROFILE_ROWS: readonly ProfileRow[] = [
  {
    id: 'anon_vma.merge_faulted_into_unfaulted',
    description:
      'A range that carries an anon_vma (a faulted VMA being mprotect()ed) may merge into an adjacent ' +
      'VMA without one; the survivor inherits the anon_vma. Older kernels refuse (is_mergeable_anon_vma ' +
      'tests list_is_singular() on the empty chain of the unfaulted target).',
    since: [6, 16, 0],
    lastOld: [6, 12, 999],
    inferred: true,
    evidence: '6.12.107 src: old rule; 6.18.44 host: merges; 7.3.4 src: new rule; QEMU 6.1.176, 6.12.117: refuse, 6.16.12: merges (mremap copy, corpus/seed/file-anon-pgoff-moved.json)',
    ref: '7.3 mm/vma.c:is_mergeable_anon_vma (case 1) vs 6.12 mm/vma.c:is_mergeable_anon_vma, 6.1 mm/mmap.c:is_mergeable_anon_vma',
  },
  {
    id: 'mprotect.unaccount_unfaulted',
    description:
      'mprotect() removing PROT_WRITE from a private anonymous VMA that has no anon_vma clears VM_ACCOUNT ' +
      '("ac"), so it can merge again with never-writable neighbours. Older kernels keep VM_ACCOUNT.',
    since: [6, 6, 0],
    lastOld: [6, 1, 999],
    inferred: true,
    evidence: '6.1.158 src: absent; 6.12.107 src and 7.3.4 src: present; 6.18.44 host: present',
    ref: '7.3 mm/mprotect.c:mprotect_fixup (else-if VMA_ACCOUNT_BIT && vma_is_anonymous && !anon_vma) vs 6.1 mm/mprotect.c:mprotect_fixup',
  },
  {
    id: 'mmap.map_stack_nohugepage',
    description: 'MAP_STACK sets VM_NOHUGEPAGE ("nh") when CONFIG_TRANSPARENT_HUGEPAGE=y; older kernels ignore MAP_STACK.',
    since: [6, 7, 0],
    lastOld: [6, 1, 999],
    inferred: true,
    evidence: '6.1.158 src: absent; 6.12.107 and 7.3.4 src: present; 6.18.44 host: "nh"',
    ref: '7.3 include/linux/mman.h:calc_vm_flag_bits vs 6.1 include/linux/mman.h:calc_vm_flag_bits',
  },
  {
    id: 'mmap.thp_align_anon',
    description:
      'A non-shared anonymous mmap without hint whose length is a multiple of 2 MiB is placed 2 MiB-aligned ' +
      '(padded top-down search, ALIGN_DOWN(gap_end - len, 2 MiB)) when CONFIG_TRANSPARENT_HUGEPAGE=y. ' +
      '6.1 never aligns; 6.7-6.11 aligned with other length rules (not modelled: makeProfile warns).',
    since: [6, 12, 0],
    lastOld: [6, 6, 999],
    inferred: true,
    evidence: '6.1.158 src: absent; 6.12.107 src, 7.3.4 src: present; 6.18.44 host: 2 MiB mapping aligned',
    ref: '7.3 mm/mmap.c:__get_unmapped_area + mm/huge_memory.c:__thp_get_unmapped_area vs 6.1 mm/mmap.c:get_unmapped_area',
  },
  {
    id: 'mmap.map_droppable',
    description: 'MAP_DROPPABLE (map type 0x08) creates a private anonymous VMA with VM_DROPPABLE|VM_NORESERVE|VM_WIPEONFORK|VM_DONTDUMP; older kernels: EINVAL.',
    since: [6, 11, 0],
    lastOld: [6, 10, 999],
    inferred: false,
    evidence: '6.1.158 src: EINVAL (default case); 6.12.107, 7.3.4 src: present; 6.18.44 host: "nr wf dd dp"',
    ref: '7.3 mm/mmap.c:do_mmap (case MAP_DROPPABLE) vs 6.1 mm/mmap.c:do_mmap',
  },
  {
    id: 'merge.new_range_prefers_prev',
    description:
      'A new mapping merges with prev, and additionally with next only if prev and next anon_vmas are compatible ' +
      '(vma_merge_new_range). 6.1-6.11 __mmap_region tried next first and then prev against next\'s anon_vma: ' +
      'with unfaulted prev + faulted next only next merges; with two different anon_vmas next (not prev) merges.',
    since: [6, 12, 0],
    lastOld: [6, 1, 999],
    inferred: true,
    evidence: '6.1.158 src: __mmap_region "Check next" then "Check prev"; 6.12.107, 7.3.4 src: vma_merge_new_range',
    ref: '7.3 mm/vma.c:vma_merge_new_range, can_vma_merge_right vs 6.1 mm/mmap.c:__mmap_region',
  },
  ...PROFILE_ROWS_MEM,
  ...PROFILE_ROWS_FILES,
  ...PROFILE_ROWS_SEALS,
  ...PROFILE_ROWS_HUGESHM,
  ...PROFILE_ROWS_CONTENT,
];

export function cmpVersion(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Is `version` between a row's last verified old release and its first new one (an inferred row
 *  whose behaviour there is a guess)? Callers that must not guess decline (Unsupported). */
export function rowUnverified(id: RowId, version: Version): boolean {
  const r = rowById(id);
  return r.inferred && cmpVersion(version, r.lastOld) > 0 && cmpVersion(version, r.since) < 0;
}

export function rowById(id: RowId): ProfileRow {
  const r = PROFILE_ROWS.find((x) => x.id === id);
  if (!r) throw new Error(`unknown profile row ${id}`);
  return r;
}
