// What the model needs to know about a target kernel: its version (for the profile rows) and the
// run-time facts the harness probes at start-up (docs/harness-protocol.md `hello` line).

import { ERRNO } from '../seq/consts.js';
import { cmpVersion, PROFILE_ROWS, rowUnverified, type RowId, type Version } from './profile-rows.js';

export type ThpMode = 'always' | 'madvise' | 'never' | 'none';

export interface Profile {
  /** `uname -r` */
  release: string;
  version: [number, number, number];
  /** effective PMD-size THP mode for anonymous memory; 'none' = CONFIG_TRANSPARENT_HUGEPAGE=n */
  thp: ThpMode;
  /** a read fault on private anonymous memory maps the shared zero page (mm/memory.c:do_anonymous_page);
   *  false where mm_forbids_zeropage(): a real page and an anon_vma instead. Fact `zero_page`. */
  zeroPage: boolean;
  /** transparent_hugepage/use_zero_page: a THP read fault may map the huge zero page; fact `thp_zero_page` */
  thpZeroPage: boolean;
  /** the harness's tmpfs directory (`file tmpfs`) is on a noexec mount; fact `tmpfs_noexec` */
  tmpfsNoexec: boolean;
  /** vm.memfd_noexec of the harness's pid namespace (0 exec, 1 noexec_seal, 2 enforced); fact `memfd_noexec` */
  memfdNoexec: number;
  /** disk filesystems the harness has a directory on (`file ext4|xfs|btrfs`); fact `fs` */
  fsKinds: string[];
  /** those of them on a noexec mount; fact `fs_noexec` */
  fsNoexec: string[];
  /** those whose block is smaller than a page; fact `fs_small_block` (declined: see predict.ts) */
  fsSmallBlock: string[];
  /** vm.max_map_count */
  maxMapCount: number;
  /** vm.mmap_min_addr (bytes); arena addresses are far above it, kept for completeness */
  mmapMinAddr: number;
  /** VMAs the child owns outside the arena (text, stack, vdso, harness buffers, the two fences...)
   *  when a sequence starts; fact `base_map_count`. Only matters near maxMapCount. */
  baseMapCount: number;
  /** CONFIG_MEM_SOFT_DIRTY: every new VMA carries VM_SOFTDIRTY ("sd"); fact `soft_dirty` */
  softDirty: boolean;
  /** vm.overcommit_memory == 2: MAP_NORESERVE is ignored; fact `overcommit` */
  overcommitNever: boolean;
  /** stack_guard_gap in pages (kernel default 256 = 1 MiB); fact `stack_guard_gap` (pages) */
  stackGuardGapPages: number;
  /** RLIMIT_STACK in pages (limits MAP_GROWSDOWN growth); fact `rlimit_stack` (bytes) */
  rlimitStackPages: number;
  /** CPU with OSPKE: PROT_EXEC-only mappings get the execute-only pkey (reads fault); fact `pkeys` */
  execOnlyPkey: boolean;
  /** shmem THP alignment of MAP_SHARED|MAP_ANONYMOUS placement, in pages (0 = shmem THP off);
   *  fact `shmem_huge_pages`, else derived from `thp_shmem` */
  shmemHugePages: number;
  /** RLIMIT_MEMLOCK in pages when the process lacks CAP_IPC_LOCK, null = unlimited/CAP_IPC_LOCK;
   *  facts `memlock` (bytes) and `cap_ipc_lock` */
  memlockPages: number | null;
  /** guard regions (MADV_GUARD_INSTALL): none, anonymous VMAs only (6.13/6.14), any VMA; fact `guard` */
  guard: 'none' | 'anon' | 'file';
  /** pagemap reports guard markers as PM_GUARD_REGION ('G'), else as PM_SWAP ('S'); fact `pm_guard` */
  pmGuard: boolean;
  /** CONFIG_ANON_VMA_NAME: PR_SET_VMA_ANON_NAME works (else EINVAL); fact `anon_name` */
  anonVmaName: boolean;
  /** mseal(2) available (else ENOSYS); fact `mseal` */
  mseal: boolean;
  /** UFFDIO_API features the kernel supports; null = userfaultfd() fails with `uffdErrno`; facts
   *  `uffd_features` (hex) and `uffd` (errno name) */
  uffdFeatures: number | null;
  uffdErrno: number;
  /** CAP_SYS_PTRACE (UFFD_FEATURE_EVENT_FORK); fact `cap_sys_ptrace`, else assumed with euid 0
   *  (fact `euid`; harnesses before the fact) */
  capSysPtrace: boolean;
  /** free 2 MiB huge pages when the harness started (fact `hugepages_free`; the harness sizes the
   *  pool as root, src/model/hugetlb.ts); absent = unknown: hugetlb mappings are declined */
  hugepagesFree?: number;
  /** SysV shared memory segments can be created (fact `sysv_shm`); false: shm sequences are declined */
  sysvShm?: boolean;
  /** which profile rows (src/model/profile-rows.ts) have their 7.3 behaviour on this kernel */
  rows: Record<RowId, boolean>;
  /** things the model had to guess (missing facts, version between anchors) */
  warnings: string[];
}

export function parseRelease(release: string): [number, number, number] | null {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (!m) return null;
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

function hexFact(facts: Record<string, string>, key: string): number | undefined {
  const v = facts[key];
  if (v === undefined || !/^[0-9a-f]+$/i.test(v)) return undefined;
  return parseInt(v, 16);
}

/** mm/shmem.c:shmem_get_unmapped_area aligns anonymous shmem unless shmem_enabled is never/deny
 *  (fact `thp_shmem`; per-size mTHP orders are not probed: PMD size assumed). */
function shmemHugeFromMode(mode: string | undefined): number {
  return mode === 'always' || mode === 'within_size' || mode === 'advise' || mode === 'force' ? 512 : 0;
}

/** Build a profile from the kernel release and the harness `hello` facts (hex values). */
export function makeProfile(release: string, facts: Record<string, string>): Profile {
  const warnings: string[] = [];
  const parsed = parseRelease(release);
  if (!parsed) warnings.push(`cannot parse kernel release ${JSON.stringify(release)}; assuming 7.3`);
  const version: [number, number, number] = parsed ?? [7, 3, 0];

  const thpFact = facts['thp'];
  const thp: ThpMode =
    thpFact === 'always' || thpFact === 'madvise' || thpFact === 'never' || thpFact === 'none' ? thpFact : 'madvise';
  if (thpFact !== thp) warnings.push(`thp fact ${JSON.stringify(thpFact)} not understood; assuming madvise`);

  const maxMapCount = hexFact(facts, 'max_map_count') ?? 65530;
  const baseMapCount = hexFact(facts, 'base_map_count');
  if (baseMapCount === undefined) warnings.push('no base_map_count fact: map_count limits are predicted as if only arena VMAs counted');
  const rlimitStack = hexFact(facts, 'rlimit_stack');
  const memlock = hexFact(facts, 'memlock');

  const rows = {} as Record<RowId, boolean>;
  for (const row of PROFILE_ROWS) {
    rows[row.id] = cmpVersion(version, row.since) >= 0;
    if (!row.declinesBetween && rowUnverified(row.id, version)) {
      warnings.push(`${release}: row ${row.id} not verified for this version (old behaviour assumed)`);
    }
  }
  if (cmpVersion(version, [6, 7, 0] as Version) >= 0 && cmpVersion(version, [6, 12, 0] as Version) < 0) {
    warnings.push(`${release}: THP alignment of anonymous mmap used other rules in 6.7-6.11 (not modelled)`);
  }

  // Facts probed by the harness win over what the version rows say (configs differ between builds);
  // a disagreement is worth a warning: a backport, a config, or a row whose version is wrong.
  const guardFact = facts['guard'];
  const guardRows = rows['madvise.guard_file'] ? 'file' : rows['madvise.guard_regions'] ? 'anon' : 'none';
  const guard = guardFact === 'none' || guardFact === 'anon' || guardFact === 'file' ? guardFact : guardRows;
  const disagree = (fact: string, value: string, row: string, rowValue: string) =>
    warnings.push(`fact ${fact}=${value} disagrees with the version row${row.includes(',') ? 's' : ''} ${row} for ${release} (${rowValue}): the fact wins`);
  if (guard !== guardRows) disagree('guard', guard, 'madvise.guard_regions, madvise.guard_file', guardRows);
  // pm_guard is only informative where a guard marker could be installed
  if (guard !== 'none' && (facts['pm_guard'] === '1' || facts['pm_guard'] === '0') && (facts['pm_guard'] === '1') !== rows['pagemap.guard_bit']) {
    disagree('pm_guard', facts['pm_guard']!, 'pagemap.guard_bit', rows['pagemap.guard_bit'] ? '1' : '0');
  }
  if ((facts['mseal'] === '1' || facts['mseal'] === '0') && (facts['mseal'] === '1') !== rows['mseal.syscall']) {
    disagree('mseal', facts['mseal']!, 'mseal.syscall', rows['mseal.syscall'] ? '1' : '0');
  }
  const rlimitAs = facts['rlimit_as'];
  if (rlimitAs !== undefined && rlimitAs !== '-') {
    warnings.push(`RLIMIT_AS is limited (${rlimitAs} bytes, hex): ENOMEM from may_expand_vm is not modelled`);
  }
  // Environment facts with an upstream default: a missing one (older harness, failed probe) warns.
  const zeroPage = facts['zero_page'];
  if (zeroPage !== '0' && zeroPage !== '1') warnings.push('no zero_page fact: assuming read faults map the shared zero page (upstream default)');
  const anonName = facts['anon_name'];
  if (anonName !== '0' && anonName !== '1') warnings.push('no anon_name fact: assuming CONFIG_ANON_VMA_NAME=y');

  return {
    release,
    version,
    guard,
    pmGuard: facts['pm_guard'] === '1' || (facts['pm_guard'] !== '0' && rows['pagemap.guard_bit']),
    anonVmaName: anonName !== '0',
    mseal: facts['mseal'] === '1' || (facts['mseal'] !== '0' && rows['mseal.syscall']),
    uffdFeatures: facts['uffd_features'] === undefined ? 0x1ffff : hexFact(facts, 'uffd_features') ?? null,
    uffdErrno: ERRNO[facts['uffd'] ?? 'EPERM'] ?? 1,
    capSysPtrace: facts['cap_sys_ptrace'] !== undefined ? facts['cap_sys_ptrace'] === '1' : (hexFact(facts, 'euid') ?? 0) === 0,
    thp,
    zeroPage: zeroPage !== '0',
    thpZeroPage: facts['thp_zero_page'] !== '0',
    tmpfsNoexec: facts['tmpfs_noexec'] === '1',
    memfdNoexec: hexFact(facts, 'memfd_noexec') ?? 0,
    fsKinds: factList(facts['fs']),
    fsNoexec: factList(facts['fs_noexec']),
    fsSmallBlock: factList(facts['fs_small_block']),
    maxMapCount,
    mmapMinAddr: hexFact(facts, 'mmap_min_addr') ?? 0x10000,
    baseMapCount: baseMapCount ?? 0,
    softDirty: facts['soft_dirty'] === '1',
    overcommitNever: hexFact(facts, 'overcommit') === 2,
    stackGuardGapPages: hexFact(facts, 'stack_guard_gap') ?? 256,
    rlimitStackPages: rlimitStack === undefined ? 2048 : Math.floor(rlimitStack / 4096),
    execOnlyPkey: facts['pkeys'] === '1',
    shmemHugePages: hexFact(facts, 'shmem_huge_pages') ?? shmemHugeFromMode(facts['thp_shmem']),
    memlockPages: facts['cap_ipc_lock'] === '1' || memlock === undefined ? null : Math.floor(memlock / 4096),
    hugepagesFree: hexFact(facts, 'hugepages_free'),
    sysvShm: facts['sysv_shm'] === undefined ? undefined : facts['sysv_shm'] === '1',
    rows,
    warnings,
  };
}

/** Upstream defaults of the environment facts the model follows; a host that differs (e.g. a
 *  hypervisor that forbids the zero page) changes many outcomes, so headers and reports name it. */
const FACT_DEFAULTS: Record<string, string> = { zero_page: '1', thp_zero_page: '1', tmpfs_noexec: '0' };

/** The probed facts that differ from their upstream default (missing facts: the default assumed). */
export function unusualFacts(facts: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, d] of Object.entries(FACT_DEFAULTS)) if (facts[k] !== undefined && facts[k] !== '-' && facts[k] !== d) out[k] = facts[k]!;
  return out;
}

/** One line for campaign headers: the zero-page fact and the other unusual facts. */
export function environmentText(facts: Record<string, string>): string {
  const z = facts['zero_page'];
  const zero = z === '0' ? 'zero page FORBIDDEN (zero_page=0: read faults allocate pages and anon_vmas)' : z === '1' ? 'zero page present' : 'zero page not probed (assumed present)';
  const rest = Object.entries(unusualFacts(facts)).filter(([k]) => k !== 'zero_page').map(([k, v]) => `${k}=${v}`);
  return [zero, ...rest].join(', ');
}

/** The profile of the development host (6.18.44, THP madvise, no soft-dirty), for tests and tools.
 *  The zero page is the upstream default; the host's probed fact may differ (zeroPage override). */
export function hostProfile(overrides: Partial<Profile> = {}): Profile {
  return { ...makeProfile('6.18.44', { thp: 'madvise', base_map_count: '0', zero_page: '1', hugepages_free: '20', sysv_shm: '1' }), ...overrides };
}

/** A comma-separated fact (`fs=ext4,xfs`); `-` or absent = none. */
function factList(v: string | undefined): string[] {
  return !v || v === '-' ? [] : v.split(',');
}
