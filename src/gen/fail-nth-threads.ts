// Fault injection in generated concurrent cases (`fuzz --threads N --fail-nth PERCENT`): that share
// of the cases gets the shape src/linearize/fail-fork.ts judges - one racing plain fork carrying
// failNth = k (1..max) while maps readers read. A case whose racing calls hold no fork gets one at a
// random place of a random thread; one with several racing forks is left alone (an armed fork must
// be the only one); a case without readers gets one or two. Chosen from (seed, index) alone, so a
// case stays replayable from its origin.

import type { Sequence, ThreadCall } from '../seq/schema.js';
import { Picks } from './alloc.js';
import { caseSeed } from './generate.js';
import { DEFAULT_FAIL_NTH_MAX } from './fail-nth.js';

export function withRaceFailNth(seq: Sequence, seed: number, index: number, percent: number, maxK = DEFAULT_FAIL_NTH_MAX): Sequence {
  if (percent <= 0 || !seq.threads) return seq;
  const r = Picks.seeded(caseSeed(seed ^ 0x2f0e7a11, index));
  if (r.int(100) >= percent) return seq;
  const forks = seq.threads.flatMap((t, ti) => t.calls.flatMap((c, ci) => (c.op === 'fork' ? [[ti, ci] as const] : [])));
  if (forks.length > 1) return seq;
  const k = 1 + r.int(maxK);
  const threads = seq.threads.map((t) => ({ calls: [...t.calls] as ThreadCall[] }));
  if (forks.length === 1) {
    const [ti, ci] = forks[0]!;
    threads[ti]!.calls[ci] = { op: 'fork', failNth: k };
  } else {
    const t = threads[r.int(threads.length)]!;
    t.calls.splice(r.int(t.calls.length + 1), 0, { op: 'fork', failNth: k });
  }
  return { ...seq, threads, readers: seq.readers || 1 + r.int(2) };
}
