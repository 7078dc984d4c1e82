// Fault injection in generated cases (`fuzz --fail-nth PERCENT`): that share of the cases gets
// failNth = k (1..max) on one of its system calls, chosen from (seed, index) alone so that a case
// stays replayable from its origin. The model judges the run with src/model/fail-nth.ts.

import type { Sequence } from '../seq/schema.js';
import { Picks } from './alloc.js';
import { caseSeed } from './generate.js';

export const DEFAULT_FAIL_NTH_MAX = 20;

export function withFailNth(seq: Sequence, seed: number, index: number, percent: number, maxK = DEFAULT_FAIL_NTH_MAX): Sequence {
  if (percent <= 0) return seq;
  const r = Picks.seeded(caseSeed(seed ^ 0x510e527f, index));
  if (r.int(100) >= percent) return seq;
  // system calls only: touch, probe and exit are none (src/seq/schema.ts refuses failNth on them)
  const eligible = seq.calls.flatMap((c, i) => (c.op === 'touch' || c.op === 'probe' || c.op === 'exit' ? [] : [i]));
  if (!eligible.length) return seq;
  const at = eligible[r.int(eligible.length)]!;
  const k = 1 + r.int(maxK);
  return { ...seq, calls: seq.calls.map((c, i) => (i === at ? { ...c, failNth: k } : c)) as Sequence['calls'] };
}
