// Generator of concurrent sequences (src/seq/threads.ts): a short serial setup that lays out a few
// VMAs (mappings, faults), then 2-4 racing threads of 1-4 calls each. Every call goes through the
// same biased allocator as the serial generator, noted as it is made, so racing calls fall on the
// same ranges, their edges and their neighbours (overlapping ranges and VMA edges are what races
// are about); touches land on pages other calls change. Sometimes a sync barrier splits the threads
// in two phases; half the cases have a maps reader. (seed, index, threads) regenerates a case.

import { FORMAT_VERSION, type Call, type Sequence, sequenceSchema, type ThreadCall } from '../seq/schema.js';
import { sequenceToInput } from '../seq/io.js';
import { ArenaAllocator, Picks } from './alloc.js';
import { caseSeed, DEFAULT_WEIGHTS, genCall, type Weights } from './generate.js';

export const RACE_GENERATOR_VERSION = 'threads-1';

/** Ops that can race (no fork, no userfaultfd), weighted towards what splits, merges and faults. */
export const RACE_WEIGHTS: Weights = {
  ...DEFAULT_WEIGHTS,
  mmap: 3, munmap: 2, mprotect: 3, touch: 4, madvise: 2, mremap: 1.2,
  ftruncate: 0, fork: 0, uffd_create: 0, uffd_register: 0, uffd_unregister: 0,
};

export interface RaceGenConfig {
  /** racing threads, 2-4 */
  threads: number;
  weights: Weights;
  /** calls per thread at most (the search is exponential in the total) */
  maxThreadCalls: number;
  invalidPercent: number;
}

export const DEFAULT_RACE_CONFIG: RaceGenConfig = { threads: 3, weights: RACE_WEIGHTS, maxThreadCalls: 4, invalidPercent: 4 };

function racingCall(p: Picks, a: ArenaAllocator, cfg: RaceGenConfig): Call {
  const c = genCall(p, a, cfg.weights, cfg.invalidPercent, false);
  // the exec probe single-steps: not in a racing thread
  return c.op === 'touch' && c.access === 'exec' ? { ...c, access: 'read' } : c;
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
    const seq: Sequence = { vmafuzz: FORMAT_VERSION, arenaPages, origin: { seed, index, generator: RACE_GENERATOR_VERSION }, calls: setup, threads };
    if (p.chance(50)) seq.readers = 1;
    // a call the schema refuses (rare: an edge case of the allocator) - draw again
    if (attempt >= 7 || sequenceSchema.safeParse(sequenceToInput(seq)).success) return seq;
  }
}
