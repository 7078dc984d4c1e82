// What a target must offer for a model rule to be able to fire at all: a precondition table (data,
// evaluated against the target's profile), so that coverage reports can say WHY a rule never fired
// ("needs fact thp=always", "needs kernel >= 7.3 (profile row merge.anon_pgoff)") instead of
// leaving it for someone to wonder. A rule absent from the table needs nothing special: if it never
// fired, generation has not reached it yet. Each need follows the model's own test of the profile
// field (the file named in the comment), so the table and the model cannot disagree silently:
// test/gen-recipes.test.ts checks that a recipe's rule fires on a profile meeting its needs.

import type { Profile } from './profile.js';
import { PROFILE_ROWS, type RowId } from './profile-rows.js';
import type { RuleId } from './rules.js';

export type Need =
  /** a profile row must be in its new (on) or old (off) state: a kernel version range */
  | { row: RowId; on: boolean }
  /** a profile field must satisfy a test, named by the fact it comes from */
  | { fact: FactNeed };

type FactNeed = keyof typeof FACT_TESTS;

/** Tests of the profile, keyed by a short text that names the fact (shown as "needs fact ..."). */
const FACT_TESTS = {
  'zero_page=1': (p: Profile) => p.zeroPage,
  'zero_page=0': (p: Profile) => !p.zeroPage,
  'thp=always|madvise': (p: Profile) => p.thp === 'always' || p.thp === 'madvise',
  'zero_page=0 or thp_zero_page=0': (p: Profile) => !(p.zeroPage && p.thpZeroPage),
  'pkeys=1 (CPU with OSPKE)': (p: Profile) => p.execOnlyPkey,
  'tmpfs_noexec=1': (p: Profile) => p.tmpfsNoexec,
  'anon_name=1 (CONFIG_ANON_VMA_NAME)': (p: Profile) => p.anonVmaName,
  'anon_name=0 (no CONFIG_ANON_VMA_NAME)': (p: Profile) => !p.anonVmaName,
  'mseal=1': (p: Profile) => p.mseal,
  'mseal=0 (kernel < 6.10)': (p: Profile) => !p.mseal,
  'uffd available (fact uffd)': (p: Profile) => p.uffdFeatures !== null,
  'uffd unavailable (fact uffd)': (p: Profile) => p.uffdFeatures === null,
  'cap_sys_ptrace=0': (p: Profile) => !p.capSysPtrace,
  'guard!=none (kernel >= 6.13)': (p: Profile) => p.guard !== 'none',
  'guard=anon (6.13/6.14)': (p: Profile) => p.guard === 'anon',
  'shmem THP (fact shmem_huge_pages/thp_shmem)': (p: Profile) => p.shmemHugePages > 0,
  'memlock=0 without cap_ipc_lock': (p: Profile) => p.memlockPages === 0,
  'memlock limited (no cap_ipc_lock)': (p: Profile) => p.memlockPages !== null,
  // An arena holds at most 1024 pages, so at most ~1024 VMAs: the map_count limits are reachable
  // only when the process starts close to vm.max_map_count (tests use --profile-override).
  'base_map_count within 1000 of max_map_count': (p: Profile) => p.maxMapCount - p.baseMapCount <= 1000,
  // likewise a VM_GROWSDOWN VMA grows at most to the arena size (1024 pages)
  'rlimit_stack below 1024 pages': (p: Profile) => p.rlimitStackPages < 1024,
  // files on a disk filesystem need a directory on one (src/model/realfs.ts, predict.ts)
  'fs has a disk filesystem (ext4/xfs/btrfs)': (p: Profile) => p.fsKinds.length > 0,
} as const satisfies Record<string, (p: Profile) => boolean>;

const MAP_COUNT: Need[] = [{ fact: 'base_map_count within 1000 of max_map_count' }];
const UFFD: Need[] = [{ fact: 'uffd available (fact uffd)' }];
const ANON_NAME: Need[] = [{ fact: 'anon_name=1 (CONFIG_ANON_VMA_NAME)' }];
const MSEAL: Need[] = [{ fact: 'mseal=1' }];
const GUARD: Need[] = [{ fact: 'guard!=none (kernel >= 6.13)' }];

/** Rules that need something of the target (src/model: the profile test next to each mm.hit). */
const DISK: Need[] = [{ fact: 'fs has a disk filesystem (ext4/xfs/btrfs)' }];

export const RULE_NEEDS: Partial<Record<RuleId, readonly Need[]>> = {
  // disk files (src/model/realfs.ts)
  'realfs.readahead': DISK,
  'realfs.willneed': DISK,
  'realfs.rand_read_retry': DISK,
  'errno.uffd.realfs': DISK,
  'realfs.around_eof_no_table': [...DISK, { row: 'fault.around_eof_folio_no_table', on: true }],
  // map_count limits (mm/vma.c, src/model/merge.ts, syscalls.ts, mremap.ts)
  'errno.mmap.map_count': MAP_COUNT,
  'errno.mmap.fixed_map_count': MAP_COUNT,
  'split.map_count': MAP_COUNT,
  'errno.munmap.map_count': MAP_COUNT,
  'errno.madvise.split_eagain': MAP_COUNT,
  'errno.mremap.map_count': MAP_COUNT,
  'errno.mseal.split': [...MAP_COUNT, ...MSEAL],
  'errno.anon_name.split': [...MAP_COUNT, ...ANON_NAME],
  // RLIMIT_MEMLOCK (src/model/mlock.ts)
  'errno.mmap.mlock_perm': [{ fact: 'memlock=0 without cap_ipc_lock' }],
  'errno.mlock.perm': [{ fact: 'memlock=0 without cap_ipc_lock' }],
  'errno.mmap.mlock_limit': [{ fact: 'memlock limited (no cap_ipc_lock)' }],
  'errno.mlock.limit': [{ fact: 'memlock limited (no cap_ipc_lock)' }],
  // zero page and THP (src/model/fault.ts, pages.ts)
  'fault.read.zero_page': [{ fact: 'zero_page=1' }],
  'fault.read.zero_page_pmd_present': [{ fact: 'zero_page=1' }],
  'fault.read.no_zero_page': [{ fact: 'zero_page=0' }],
  'fault.thp.read': [{ fact: 'thp=always|madvise' }],
  'fault.thp.write': [{ fact: 'thp=always|madvise' }],
  'fault.thp.read_no_huge_zero_page': [{ fact: 'thp=always|madvise' }, { fact: 'zero_page=0 or thp_zero_page=0' }],
  'uffd.zeropage.no_zero_page': [...UFFD, { fact: 'zero_page=0' }],
  'touch.stack_rlimit': [{ fact: 'rlimit_stack below 1024 pages' }],
  'touch.segv.pkey': [{ fact: 'pkeys=1 (CPU with OSPKE)' }],
  'populate.pkey': [{ fact: 'pkeys=1 (CPU with OSPKE)' }],
  'mmap.place.shmem_aligned': [{ fact: 'shmem THP (fact shmem_huge_pages/thp_shmem)' }],
  'mmap.place.thp_aligned': [{ row: 'mmap.thp_align_anon', on: true }],
  'mmap.place.thp_outside': [{ row: 'mmap.thp_align_anon', on: true }],
  'mmap.flags.stack_nohugepage': [{ row: 'mmap.map_stack_nohugepage', on: true }],
  'mmap.flags.droppable': [{ row: 'mmap.map_droppable', on: true }],
  'errno.mmap.droppable_locked': [{ row: 'mmap.map_droppable', on: true }],
  'errno.mmap.droppable_growsdown': [{ row: 'mmap.map_droppable', on: true }],
  'errno.madvise.keeponfork_droppable': [{ row: 'mmap.map_droppable', on: true }],
  'errno.madvise.dodump_droppable': [{ row: 'mmap.map_droppable', on: true }],
  'mlock.unsupported_vma': [{ row: 'mmap.map_droppable', on: true }],
  // memfd seals (src/model/seals.ts)
  'add_seals.exec_implies_write': [{ row: 'memfd.exec_seal_implies_write', on: true }],
  'mmap.file.sealed_after_unmap': [{ row: 'memfd.seal_check_in_do_mmap', on: false }],
  // version rows (src/model/profile-rows*.ts)
  'anon_vma.refuse.faulted_into_unfaulted': [{ row: 'anon_vma.merge_faulted_into_unfaulted', on: false }],
  'merge.anon_pgoff_refused': [{ row: 'merge.anon_pgoff', on: true }],
  'errno.uffd.drop_wp': [...UFFD, { row: 'uffd.register_drop_wp_ebusy', on: true }],
  'mprotect.account_clear': [{ row: 'mprotect.unaccount_unfaulted', on: true }],
  'pgtable.reclaimed': [{ row: 'madvise.dontneed_reclaims_pt', on: true }],
  'madvise.guard.flag': [...GUARD, { row: 'madvise.maybe_guard_flag', on: true }],
  'mremap.multi': [{ row: 'mremap.multi_vma', on: true }],
  'errno.mremap.multi_vma': [{ row: 'mremap.multi_vma', on: true }],
  'errno.mremap.multi_shm': [{ row: 'mremap.multi_vma', on: true }],
  'mremap.expand_close_hook': [{ row: 'merge.close_hook_remove_only', on: false }],
  'errno.madvise.hugetlb_dofork': [{ row: 'madvise.dofork_special', on: true }],
  'errno.uffd.shm': UFFD,
  'mremap.to_unmapped_then_failed': [{ row: 'mremap.check_params_first', on: false }],
  'errno.uffd.unregister_other': [...UFFD, { row: 'uffd.unregister_same_ctx', on: true }],
  'uffd.unregister.other_ctx': [...UFFD, { row: 'uffd.unregister_same_ctx', on: false }],
  // facts of the build (src/model/anon-name.ts, mseal.ts, madvise.ts, uffd.ts)
  'errno.mmap.file_noexec': [{ fact: 'tmpfs_noexec=1' }],
  'mmap.file.noexec': [{ fact: 'tmpfs_noexec=1' }],
  'errno.anon_name.unsupported': [{ fact: 'anon_name=0 (no CONFIG_ANON_VMA_NAME)' }],
  'anon_name.set': ANON_NAME,
  'anon_name.unchanged': ANON_NAME,
  'anon_name.len_zero': ANON_NAME,
  'errno.anon_name.bad_name': ANON_NAME,
  'errno.anon_name.unaligned': ANON_NAME,
  'errno.anon_name.wrap': ANON_NAME,
  'errno.anon_name.file': ANON_NAME,
  'errno.anon_name.hole': ANON_NAME,
  'errno.mseal.nosys': [{ fact: 'mseal=0 (kernel < 6.10)' }],
  'mseal.seal': MSEAL,
  'mseal.len_zero': MSEAL,
  'errno.mseal.flags': MSEAL,
  'errno.mseal.unaligned': MSEAL,
  'errno.mseal.wrap': MSEAL,
  'errno.mseal.hole': MSEAL,
  'mseal.already': MSEAL,
  'errno.mremap.sealed': MSEAL,
  'errno.munmap.sealed': MSEAL,
  'errno.mmap.fixed_sealed': MSEAL,
  'errno.mprotect.sealed': MSEAL,
  'errno.madvise.sealed': MSEAL,
  'madvise.guard.install': GUARD,
  'madvise.guard.anon_vma': GUARD,
  'madvise.guard.remove': GUARD,
  'touch.segv.guard': GUARD,
  'populate.guard': GUARD,
  'errno.madvise.populate_guard': GUARD,
  'errno.madvise.guard_vma': [{ fact: 'guard=anon (6.13/6.14)' }],
  'errno.uffd.unavailable': [{ fact: 'uffd unavailable (fact uffd)' }],
  'errno.uffd.event_fork_perm': [...UFFD, { fact: 'cap_sys_ptrace=0' }],
};

function rowText(row: RowId, on: boolean): string {
  const r = PROFILE_ROWS.find((x) => x.id === row)!;
  const v = r.since.join('.');
  return on ? `needs kernel >= ${v} (profile row ${row})` : `needs kernel < ${v} (profile row ${row})`;
}

/** The needs of `rule` this target does not meet, as short texts ([] = the target can exhibit it). */
export function unmetNeeds(rule: string, p: Profile): string[] {
  const needs = RULE_NEEDS[rule as RuleId] ?? [];
  const out: string[] = [];
  for (const n of needs) {
    if ('row' in n) {
      if (p.rows[n.row] !== n.on) out.push(rowText(n.row, n.on));
    } else if (!FACT_TESTS[n.fact](p)) out.push(`needs fact ${n.fact}`);
  }
  return out;
}

/** Every need of `rule` as text, met or not (for docs and the JSON report). */
export function needsText(rule: string): string[] {
  return (RULE_NEEDS[rule as RuleId] ?? []).map((n) => ('row' in n ? rowText(n.row, n.on) : `needs fact ${n.fact}`));
}
