// One step of the pipeline for a batch: run on the kernel, predict with the model, compare. A
// divergence seen in the fast mode (maps only at the end) is re-run with a snapshot after every
// call so that the reported call is the first one that differs, then re-run a few more times to
// keep unstable results (flakes) apart from findings.

import type { Divergence } from '../compare/compare.js';
import { firstDivergence } from '../compare/compare.js';
import { signature, signatureText } from '../compare/signature.js';
import { predict, type Prediction, type Profile } from '../model/index.js';
import { predictWithInjection, strayChild } from '../model/fail-nth.js';
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';
import { DETAIL_RUN, FAST_RUN, type Runner } from '../runner/types.js';

export interface Outcome {
  seq: Sequence;
  kernel: SeqObservation;
  model: Prediction;
  divergence: Divergence | null;
  /** set for divergences */
  signature?: string;
  signatureText?: string;
  /** how many of the stability re-runs reproduced the same signature (divergences only) */
  stable?: { runs: number; same: number };
}

export function predictAgainst(seq: Sequence, kernel: SeqObservation, profile: Profile, snapshotEveryCall: boolean): Prediction {
  // The kernel legitimately chooses where a non-fixed mmap lands; the model checks that choice.
  // The model predicts the layers the run collected (which ones, not what they showed).
  const layers = {
    vmflags: kernel.snapshots.some((s) => s.maps.some((e) => e.vmflags !== undefined)),
    pagemap: kernel.snapshots.some((s) => s.pagemap !== undefined),
  };
  // Whether an injected allocation failure (failNth) surfaced is the kernel's choice too (src/model/fail-nth.ts).
  return predictWithInjection(predict, seq, profile, { snapshotEveryCall, layers, kernelPlacement: (i) => kernel.calls[i]?.ret }, kernel);
}

export function rulesAt(p: Prediction, call: number): string[] {
  return call >= 0 ? [...(p.rules[call] ?? [])] : [];
}

/** Predict `seq` given what the kernel did (the kernel legitimately chooses non-fixed placements). */
export type Predictor = (seq: Sequence, kernel: SeqObservation, profile: Profile, snapshotEveryCall: boolean) => Prediction;

/** Predict, compare and sign one kernel run; the predictor is a parameter so tests can use a wrong model. */
export function judgeWith(predictor: Predictor, profile: Profile, seq: Sequence, kernel: SeqObservation, every: boolean): Outcome {
  const model = predictor(seq, kernel, profile, every);
  // A sequence the kernel did not finish (timeout, crash) is compared over the calls it did run.
  // A child killed by a signal outside a touch is itself a divergence when the calls before it
  // agree: the model never predicts one (harness-protocol.md `crash <signal>`).
  const divergence = divergenceOf(seq, model, kernel);
  const o: Outcome = { seq, kernel, model, divergence };
  if (divergence) {
    const input = { divergence, calls: seq.calls, rules: rulesAt(model, divergence.call) };
    o.signature = signature(input);
    o.signatureText = signatureText(input);
  }
  return o;
}

/**
 * The first divergence of a kernel run from the model, where a crashed child (harness status
 * `crash <signal>`) diverges at the call it died in when the calls before it agree and the model
 * predicted that call (it never predicts a crash; a call it declines, Prediction.unsupported, is
 * no prediction).
 */
export function divergenceOf(seq: Sequence, model: Prediction, kernel: SeqObservation): Divergence | null {
  const d = firstDivergence(model, kernel) ?? strayChild(seq, model, kernel);
  if (d || kernel.status !== 'crash' || model.status === 'crash') return d;
  const call = Math.min(kernel.calls.length, seq.calls.length - 1);
  if (model.unsupported && model.unsupported.call <= call) return null;
  const sig = (kernel.detail ?? '').trim() || 'unknown';
  return { call, layer: 'result', kind: `child-crash:${sig}`, detail: `the sequence's process was killed (crash ${sig}) during call ${call}; the model predicts it completes` };
}

const judge = (seq: Sequence, kernel: SeqObservation, profile: Profile, every: boolean): Outcome => judgeWith(predictAgainst, profile, seq, kernel, every);

export interface CheckOptions {
  /** stability re-runs for each divergence (0 = report as seen) */
  stabilityRuns: number;
}

/** Run and judge a batch; divergent ones are re-run in detail mode and stability-checked. */
export async function checkBatch(runner: Runner, profile: Profile, seqs: readonly Sequence[], opts: CheckOptions): Promise<Outcome[]> {
  const kernel = await runner.run(seqs, FAST_RUN);
  const out = seqs.map((s, i) => judge(s, kernel[i]!, profile, false));
  const divergent = out.filter((o) => o.divergence && o.kernel.status !== 'timeout' && o.kernel.status !== 'infra');
  if (divergent.length === 0) return out;
  return Promise.all(out.map(async (o) => (o.divergence && o.kernel.status !== 'timeout' && o.kernel.status !== 'infra' ? detail(runner, profile, o.seq, opts) : o)));
}

/** Re-run one sequence with a snapshot after every call, then the stability gate. */
export async function detail(runner: Runner, profile: Profile, seq: Sequence, opts: CheckOptions): Promise<Outcome> {
  const [k] = await runner.run([seq], DETAIL_RUN);
  const o = judge(seq, k!, profile, true);
  if (!o.divergence || opts.stabilityRuns <= 0) return o;
  const again = await runner.run(Array(opts.stabilityRuns).fill(seq), DETAIL_RUN);
  const same = again.filter((kk) => judge(seq, kk, profile, true).signature === o.signature).length;
  o.stable = { runs: opts.stabilityRuns, same };
  return o;
}
