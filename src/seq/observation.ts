// What one run of a sequence shows: the common shape produced by every runner (from the real
// kernel) and by the model (as a prediction), and consumed by compare. Addresses are arena-relative
// pages so observations from different machines and kernels compare directly.

export type Ret =
  | { kind: 'int'; value: number } // plain syscall return value (0 or -1 on failure)
  | { kind: 'addr'; page: number; off: number } // an address inside (or at the end of) the arena
  | { kind: 'outside'; hex: string }; // an address the kernel chose outside the arena

export interface CallObs {
  ret: Ret;
  /** errno when the call failed, else 0 */
  errno: number;
  /** touch/probe outcome: 0 = access succeeded, else the signal number (SIGSEGV 11, SIGBUS 7) */
  signal: number;
  /** userfaultfd events the call raised, resolved by the harness ("missing", "wp", "minor"; comma separated) */
  event?: string;
  /** a call with failNth (src/seq/fail-nth.ts): whether the k-th allocation failed (the kernel's `f` record) */
  injected?: 'fired' | 'not-fired' | 'unavailable';
}

/** One /proc/self/maps line, addresses as arena-relative page numbers. */
export interface MapsEntry {
  start: number;
  end: number;
  perms: string; // "rw-p"
  offset: number; // bytes, as printed (file VMAs only; anon prints 0)
  dev: string; // "00:00"
  inode: number;
  name: string; // "" for plain anonymous memory
  /** smaps "VmFlags:" mnemonics as printed ("rd wr mr mw me ac"), when that layer was collected */
  vmflags?: string;
}

export interface Snapshot {
  /** index of the call after which it was taken; -1 = before the first call */
  after: number;
  /** which process: 0 = the sequence's first process, n = the n-th fork child (fork continues in the child) */
  proc?: number;
  maps: MapsEntry[];
  /**
   * pagemap of every arena page, one character per page, when that layer was collected:
   * '-' nothing mapped or not present, 'P' present, 'G' guard marker (PM_GUARD_REGION), 'S' other
   * non-present entry (swap, uffd-wp marker). The model writes '?' where the kernel may choose.
   */
  pagemap?: string;
}

export type RunStatus = 'ok' | 'timeout' | 'crash' | 'infra';

export interface SeqObservation {
  calls: CallObs[];
  /** snapshots in call order; the last one is always after the last executed call */
  snapshots: Snapshot[];
  status: RunStatus;
  /** free-form detail for non-ok statuses (signal that killed the child, harness message...) */
  detail?: string;
  /** kernel runs only: the arena base ("0x…") and the raw maps lines parallel to `snapshots` */
  base?: string;
  rawMaps?: string[][];
  /** concurrent sequences (src/seq/threads.ts): per global call index, when a racing call ran
   *  (ns after the threads' release, CLOCK_MONOTONIC); undefined for the setup calls */
  timing?: (CallTiming | undefined)[];
  /** concurrent sequences: what the maps reader threads read while the racing calls ran */
  reads?: MapsRead[];
  /** concurrent sequences: per global call index of a racing fork, the arena maps of its child */
  childMaps?: (MapsEntry[] | undefined)[];
}

export interface CallTiming {
  start: number;
  end: number;
}

/** One read of /proc/self/maps by a reader thread (the arena lines), and when it ran. */
export interface MapsRead {
  reader: number;
  start: number;
  end: number;
  maps: MapsEntry[];
}

export const OK_CALL: CallObs = { ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 };
