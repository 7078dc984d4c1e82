// Minimization of a kernel crash finding (a KASAN/lockdep/WARNING/maple-tree report on a guest's
// console, src/findings/crash.ts): the smallest sequence whose run prints a report with the same
// signature (title and top of stack). The predicate is the real kernel: each candidate runs alone,
// and the reports the runner saw during it are signed. Phases:
//   1. prefix:  the shortest prefix that still reports (bisection; later calls cannot matter);
//   2. single:  drop calls one at a time, last first, keeping each drop that still reports.
// failNth stays on the calls that keep it: the injected failure is usually the cause.

import type { KernelCrash } from '../runner/qemu.js';
import type { Runner } from '../runner/types.js';
import { FAST_RUN } from '../runner/types.js';
import type { Sequence } from '../seq/schema.js';
import { crashSignature } from './crash.js';
import { isValid, truncateAfter, withoutCalls } from './shrink.js';

/** A runner that has a console: the QEMU runner. */
export type CrashRunner = Runner & { takeCrashes(): KernelCrash[] };

export function hasConsole(r: Runner): r is CrashRunner {
  return typeof (r as Partial<CrashRunner>).takeCrashes === 'function';
}

export interface CrashMinimizeResult {
  seq: Sequence;
  /** candidates run */
  runs: number;
  /** the signature reproduced on the final sequence */
  confirmed: boolean;
}

export async function minimizeCrash(runner: CrashRunner, seq: Sequence, signature: string, o: { timeLimitMs?: number; log?: (l: string) => void } = {}): Promise<CrashMinimizeResult> {
  const deadline = Date.now() + (o.timeLimitMs ?? 120_000);
  let runs = 0;
  const reports = async (s: Sequence): Promise<boolean> => {
    runner.takeCrashes(); // reports of earlier runs are not this candidate's
    runs++;
    await runner.run([s], FAST_RUN);
    return runner.takeCrashes().some((c) => crashSignature(c).signature === signature);
  };
  let best = seq;
  // 1. prefix: invariant: the prefix of length hi reports (the whole sequence did)
  let lo = 0;
  let hi = best.calls.length;
  while (lo + 1 < hi && Date.now() < deadline) {
    const mid = (lo + hi) >> 1;
    const cand = truncateAfter(best, mid - 1);
    if (isValid(cand) && (await reports(cand))) hi = mid;
    else lo = mid;
  }
  best = truncateAfter(best, hi - 1);
  o.log?.(`crash minimize: prefix of ${best.calls.length} call(s) (${runs} runs)`);
  // 2. single calls, last first
  for (let i = best.calls.length - 1; i >= 0 && Date.now() < deadline; i--) {
    if (best.calls.length <= 1) break;
    const cand = withoutCalls(best, new Set([i]));
    if (isValid(cand) && (await reports(cand))) best = cand;
  }
  o.log?.(`crash minimize: ${seq.calls.length} -> ${best.calls.length} call(s) in ${runs} runs`);
  const confirmed = await reports(best);
  return { seq: best, runs, confirmed };
}
