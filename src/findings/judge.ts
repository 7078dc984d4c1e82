// The predicate every findings tool shares: run on the kernel with a snapshot after every call,
// predict, compare, sign. The predictor is a parameter so that tests (and experiments) can judge
// with a deliberately wrong model without touching src/model.

import { predictAgainst, rulesAt } from '../campaign/check.js';
import { firstDivergence, type Divergence } from '../compare/compare.js';
import { signature, signatureText } from '../compare/signature.js';
import type { Prediction, Profile } from '../model/index.js';
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';

/** Predict `seq` given what the kernel did (the kernel legitimately chooses non-fixed placements). */
export type Predictor = (seq: Sequence, kernel: SeqObservation, profile: Profile, snapshotEveryCall: boolean) => Prediction;

/** The real model, exactly as the campaign and `replay` use it. */
export const modelPredictor: Predictor = predictAgainst;

export interface Judgement {
  seq: Sequence;
  kernel: SeqObservation;
  model: Prediction;
  divergence: Divergence | null;
  /** set for divergences */
  signature?: string;
  signatureText?: string;
}

/** Judge one detailed (snapshot after every call) kernel run. */
export function judge(predictor: Predictor, profile: Profile, seq: Sequence, kernel: SeqObservation): Judgement {
  const model = predictor(seq, kernel, profile, true);
  const divergence = firstDivergence(model, kernel);
  const j: Judgement = { seq, kernel, model, divergence };
  if (divergence) {
    const input = { divergence, calls: seq.calls, rules: rulesAt(model, divergence.call) };
    j.signature = signature(input);
    j.signatureText = signatureText(input);
  }
  return j;
}

/** A run that tells something: every call ran. Timeouts, crashes and harness trouble do not. */
export function determinate(j: Judgement): boolean {
  return j.kernel.status === 'ok';
}
