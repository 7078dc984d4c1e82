// The oracle for concurrent sequences (src/seq/threads.ts): the setup calls are judged in order
// like any sequence; the racing calls are accepted when some linearization explains them
// (search.ts), rejected ("no linearization") with the candidate orders tried, and indeterminate when
// the search bound is exhausted or the model cannot predict a call: never a pass by default.

import { createHash } from 'node:crypto';
import type { Divergence } from '../compare/compare.js';
import { firstDivergence } from '../compare/compare.js';
import { signature, signatureText } from '../compare/signature.js';
import { applyCall as modelApply, type Profile, Unsupported } from '../model/index.js';
import { firstProcess, snapshotOf } from '../model/predict.js';
import { Mm } from '../model/state.js';
import type { CallObs, Ret, SeqObservation } from '../seq/observation.js';
import type { Call, Sequence } from '../seq/schema.js';
import { allCalls, racingCalls } from '../seq/threads.js';
import { failedFork, failedForkProblem } from './fail-fork.js';
import { searchLinearization, type Candidate, type SearchResult, type SearchStats } from './search.js';

/** How the model applies one call (a parameter so tests can judge with a deliberately wrong model). */
export type ApplyCall = (mm: Mm, c: Call, kernel?: Ret) => CallObs;

export interface RaceOptions {
  /** model call applications the search may make (default DEFAULT_BOUND) */
  bound?: number;
  apply?: ApplyCall;
}

/** Enough for 3 threads x 4 calls with no pruning at all (12!/(4!^3) = 34650 orders share prefixes). */
export const DEFAULT_BOUND = 200_000;

export type RaceVerdict = 'pass' | 'fail' | 'indeterminate';

export interface RaceOutcome {
  seq: Sequence;
  kernel: SeqObservation;
  verdict: RaceVerdict;
  /** fail: the divergence (a setup call's, a crash, or "no linearization") */
  divergence: Divergence | null;
  signature?: string;
  signatureText?: string;
  /** indeterminate: why */
  reason?: string;
  /** pass: the order found (global call indices) */
  order?: number[];
  /** no linearization / indeterminate: the deepest orders tried */
  candidates?: Candidate[];
  stats?: SearchStats;
}

function sign(o: RaceOutcome, atEnd = false): RaceOutcome {
  if (o.divergence) {
    const input = { divergence: o.divergence, calls: allCalls(o.seq), rules: [] };
    // an end state or a read no order explains belongs to no call: `end` stands for the op, so
    // the signature survives minimization removing the last call
    o.signatureText = atEnd ? `${o.divergence.layer}|end|${o.divergence.kind}|` : signatureText(input);
    o.signature = atEnd ? createHash('sha256').update(o.signatureText).digest('hex').slice(0, 16) : signature(input);
  }
  return o;
}

/** Judge one kernel run of a concurrent sequence. */
export function judgeRace(seq: Sequence, kernel: SeqObservation, profile: Profile, opts: RaceOptions = {}): RaceOutcome {
  const apply = opts.apply ?? modelApply;
  const base = { seq, kernel };
  const racing = racingCalls(seq);
  if (kernel.status === 'timeout' || kernel.status === 'infra') return { ...base, verdict: 'indeterminate', divergence: null, reason: `kernel run ${kernel.status}${kernel.detail ? `: ${kernel.detail}` : ''}` };
  if (kernel.status === 'crash') {
    // the model never predicts a crash (check.ts divergenceOf); a racing one loses its records
    const call = Math.min(kernel.calls.length, seq.calls.length + racing.length - 1);
    const sig = (kernel.detail ?? '').trim() || 'unknown';
    return sign({ ...base, verdict: 'fail', divergence: { call, layer: 'result', kind: `child-crash:${sig}`, detail: `a process of the concurrent sequence was killed (crash ${sig}); the model predicts it completes` } });
  }
  const layers = {
    vmflags: kernel.snapshots.some((s) => s.maps.some((e) => e.vmflags !== undefined)),
    pagemap: kernel.snapshots.some((s) => s.pagemap !== undefined),
  };
  // the setup: in order, like a sequential sequence
  let mm: Mm;
  try {
    mm = firstProcess(seq, profile);
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    return { ...base, verdict: 'indeterminate', divergence: null, reason: `the model cannot create the declared files: ${e.message}` };
  }
  const snaps = [snapshotOf(mm, -1, { snapshotEveryCall: false, layers })];
  const setupObs: CallObs[] = [];
  try {
    for (let i = 0; i < seq.calls.length; i++) setupObs.push(apply(mm, seq.calls[i]!, kernel.calls[i]?.ret));
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    return { ...base, verdict: 'indeterminate', divergence: null, reason: `the model cannot predict setup call ${setupObs.length}: ${e.message}` };
  }
  const first = kernel.snapshots.filter((s) => s.after === -1);
  const d = firstDivergence({ calls: setupObs, snapshots: snaps, status: 'ok' }, { calls: kernel.calls.slice(0, seq.calls.length), snapshots: first, status: 'ok' });
  if (d) return sign({ ...base, verdict: 'fail', divergence: d });
  const final = kernel.snapshots.at(-1);
  const timing = racing.map((r) => kernel.timing?.[r.index]);
  if (!final || timing.some((t) => !t) || kernel.calls.length !== seq.calls.length + racing.length) {
    return { ...base, verdict: 'indeterminate', divergence: null, reason: 'the kernel run lacks racing results, timestamps or the final snapshot' };
  }
  // a racing fork whose injected failure surfaced: its errno, no child, then a no-op of the parent
  const failed = failedFork(seq, kernel);
  const problem = failed && failedForkProblem(failed, kernel);
  if (problem) return sign({ ...base, verdict: 'fail', divergence: problem });
  const r: SearchResult = searchLinearization({
    start: mm,
    calls: racing,
    observed: racing.map((c) => kernel.calls[c.index]!),
    timing: timing.map((t) => t!),
    final,
    layers,
    reads: kernel.reads ?? [],
    childMaps: racing.map((c) => kernel.childMaps?.[c.index]),
    noop: racing.map((c) => c.index === failed?.index),
    bound: opts.bound ?? DEFAULT_BOUND,
    apply,
  });
  if (r.kind === 'pass') return { ...base, verdict: 'pass', divergence: null, order: r.order, stats: r.stats };
  if (r.kind === 'indeterminate') return { ...base, verdict: 'indeterminate', divergence: null, reason: r.reason, candidates: r.candidates, stats: r.stats };
  return sign({ ...base, verdict: 'fail', divergence: noLinearization(r.candidates, racing.length, seq.calls.length + racing.length - 1), candidates: r.candidates, stats: r.stats }, r.candidates[0]?.failedAt === null);
}

/** The finding: no order explains the run; named after the deepest candidate's failure. */
function noLinearization(cands: readonly Candidate[], n: number, last: number): Divergence {
  const best = cands[0];
  if (!best) return { call: -1, layer: 'result', kind: 'race:no-order', detail: 'no order of the racing calls is consistent with the observed real-time order' };
  const layer = best.layer === 'reads' ? 'maps' : best.layer;
  // an end state or a read no order explains belongs to the whole run: placed at the last call
  // (its signature names no op: sign())
  const call = best.failedAt ?? last;
  const tried = cands.map((c) => `[${c.order.join(' ')}]${c.failedAt === null ? ' (complete)' : ` stops at ${c.failedAt}`}: ${c.detail}`).join('; ');
  return { call, layer, kind: `race:${best.kind}`, detail: `no linearization of the ${n} racing calls explains the run; deepest orders tried: ${tried}` };
}
