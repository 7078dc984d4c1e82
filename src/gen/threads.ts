// Generator of concurrent sequences (src/seq/threads.ts): a short serial setup that lays out a few
// VMAs (mappings, faults), then 2-4 racing threads of 1-4 calls each. Every call goes through the
// same biased allocator as the serial generator, noted as it is made, so racing calls fall on the
// same ranges, their edges and their neighbours (overlapping ranges and VMA edges are what races
// are about); touches land on pages other calls change. Sometimes a sync barrier splits the threads
// in two phases; half the cases have a maps reader; some have a fork racing with the threads. (seed, index, threads) regenerates a case.

import { noLeakingHugetlbMoves } from './hugetlb-resv.js';
import { MADV, MAP } from '../seq/consts.js';
import { FORMAT_VERSION, type Call, type Sequence, sequenceSchema, type ThreadCall } from '../seq/schema.js';
import { sequenceToInput } from '../seq/io.js';
import { ArenaAllocator, Picks } from './alloc.js';
import { caseSeed, DEFAULT_WEIGHTS, genCall, type Weights } from './generate.js';

// threads-5: no probe, add_seals or SysV calls (the sequential generator's new ops: the byte probe
// cannot race, and concurrent sequences declare neither files nor segments)
// threads-6: MAP_NORESERVE on private hugetlb mappings when the case has an mremap (hugetlb-resv.ts).
export const RACE_GENERATOR_VERSION = 'threads-6';

/** Ops that can race (no fork, no userfaultfd), weighted towards what splits, merges and faults. */
export const RACE_WEIGHTS: Weights = {
  ...DEFAULT_WEIGHTS,
  mmap: 3, munmap: 2, mprotect: 3, touch: 4, madvise: 2, mremap: 1.2,
  ftruncate: 0, fork: 0, uffd_create: 0, uffd_register: 0, uffd_unregister: 0,
  probe: 0, add_seals: 0, shmat: 0, shmdt: 0, exit: 0,
};

export interface RaceGenConfig {
  /** racing threads, 2-4 */
  threads: number;
  weights: Weights;
  /** calls per thread at most (the search is exponential in the total) */
  maxThreadCalls: number;
  invalidPercent: number;
  /** share of cases with a racing fork */
  forkPercent: number;
  /** share of cases with a racing fork carrying failNth, 1..failNthMax (src/gen/fail-nth-threads.ts) */
  failNthPercent?: number;
  failNthMax?: number;
}

export const DEFAULT_RACE_CONFIG: RaceGenConfig = { threads: 3, weights: RACE_WEIGHTS, maxThreadCalls: 4, invalidPercent: 4, forkPercent: 15 };

/**
 * Population is not one step: mmap with MAP_POPULATE or MAP_LOCKED, mlock and mlock2 fault the
 * range in after dropping mmap_lock (mm/util.c:vm_mmap_pgoff -> mm_populate, mm/mlock.c:do_mlock
 * -> mm_populate), MADV_POPULATE_* page by page (mm/madvise.c:madvise_populate), so another
 * thread's call can land between the mapping and its faults (an mprotect of a still unfaulted VMA
 * drops VM_ACCOUNT, mm/mprotect.c:mprotect_fixup). The oracle takes calls as atomic, so racing
 * calls do not populate (setup calls may): a split populate step is future work.
 */
function racingCall(p: Picks, a: ArenaAllocator, cfg: RaceGenConfig): Call {
  const c = genCall(p, a, { ...cfg.weights, mlock: 0, mlock2: 0 }, cfg.invalidPercent, false);
  // the exec probe single-steps: not in a racing thread
  if (c.op === 'touch' && c.access === 'exec') return { ...c, access: 'read' };
  if (c.op === 'mmap') return { ...c, flags: (c.flags & ~(MAP.MAP_POPULATE | MAP.MAP_LOCKED)) >>> 0 };
  if (c.op === 'madvise' && (c.advice === MADV.MADV_POPULATE_READ || c.advice === MADV.MADV_POPULATE_WRITE)) return { ...c, advice: MADV.MADV_DONTNEED };
  return c;
}

export function generateConcurrent(seed: number, index: number, cfg: RaceGenConfig = DEFAULT_RACE_CONFIG): Sequence {
  for (let attempt = 0; ; attempt++) {
    const p = Picks.seeded(caseSeed(seed ^ 0x7ace, index * 8 + attempt));
    const arenaPages = p.chance(80) ? 32 : 64;
    const a = new ArenaAllocator(arenaPages);
    const setup: Call[] = [];
    const nsetup = 1 + p.int(4);
    for (let i = 0; i < nsetup; i++) {
      // mostly mappings, so the racing calls find VMAs to split and merge
      const c = i === 0 || p.chance(60) ? genCall(p, a, { ...cfg.weights, munmap: 0, mremap: 0 }, 0, true) : racingCall(p, a, cfg);
      setup.push(c);
    }
    const barrier = p.chance(20);
    const threads: { calls: ThreadCall[] }[] = [];
    for (let t = 0; t < cfg.threads; t++) {
      const n = 1 + p.int(cfg.maxThreadCalls);
      const calls: ThreadCall[] = [];
      for (let i = 0; i < n; i++) {
        if (barrier && i === Math.ceil(n / 2)) calls.push({ op: 'sync' });
        calls.push(racingCall(p, a, cfg));
      }
      if (barrier && !calls.some((c) => c.op === 'sync')) calls.push({ op: 'sync' });
      threads.push({ calls });
    }
    // dup_mmap racing with the other threads: a fork somewhere in one thread
    if (p.chance(cfg.forkPercent)) {
      const t = threads[p.int(threads.length)]!;
      t.calls.splice(p.int(t.calls.length + 1), 0, { op: 'fork' });
    }
    // no partial move of a reserved private hugetlb mapping: it would leak the host's pool (src/gen/hugetlb-resv.ts)
    const seq: Sequence = noLeakingHugetlbMoves({ vmafuzz: FORMAT_VERSION, arenaPages, origin: { seed, index, generator: RACE_GENERATOR_VERSION }, calls: setup, threads });
    // a maps reader in half the cases, with an smaps reader besides in half of those
    if (p.chance(50)) seq.readers = p.chance(50) ? 2 : 1;
    // a call the schema refuses (rare: an edge case of the allocator) - draw again
    if (attempt >= 7 || sequenceSchema.safeParse(sequenceToInput(seq)).success) return seq;
  }
}
