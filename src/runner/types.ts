// The interface every runner (native, docker, qemu) implements. A runner executes sequences on a
// real kernel and reports what it saw; it knows nothing of the model.

import type { Sequence } from '../seq/schema.js';
import type { SeqObservation } from '../seq/observation.js';

/** What the harness probed about its target at start-up (kernel release and feature facts). */
export interface TargetInfo {
  runner: string;
  /** `uname -r` of the kernel that runs the sequences */
  release: string;
  /** key=value facts from the harness `hello` line (thp, max_map_count, mmap_min_addr, ...) */
  facts: Record<string, string>;
}

export interface RunOptions {
  /** take a maps snapshot after every call (slower); otherwise only before the first and after the last */
  snapshotEveryCall: boolean;
  /** per-sequence deadline in milliseconds; a child still running then is killed (status "timeout") */
  deadlineMs?: number;
  /** observation layers beyond maps, in every snapshot: smaps VmFlags per arena VMA
   *  (MapsEntry.vmflags) and pagemap per arena page (Snapshot.pagemap) */
  layers?: { vmflags?: boolean; pagemap?: boolean };
  /** concurrent sequences: bind each racing thread to a CPU of its own (as far as there are CPUs) */
  pinThreads?: boolean;
}

/** The fast mode of campaigns: maps before the first and after the last call. */
export const FAST_RUN: RunOptions = { snapshotEveryCall: false };
/** Fast mode with every observation layer (campaigns use it for a share of their batches). */
export const FAST_LAYERS_RUN: RunOptions = { snapshotEveryCall: false, layers: { vmflags: true, pagemap: true } };
/** Detail mode: every layer after every call; replay, minimize, repro, matrix and bisect use it. */
export const DETAIL_RUN: RunOptions = { snapshotEveryCall: true, layers: { vmflags: true, pagemap: true } };

export interface Runner {
  readonly name: string;
  /** Build/boot what is needed and probe the target. Throws CannotTestError when impossible. */
  start(): Promise<TargetInfo>;
  /** Run a batch; one observation per sequence, in order. */
  run(batch: readonly Sequence[], opts: RunOptions): Promise<SeqObservation[]>;
  close(): Promise<void>;
}
