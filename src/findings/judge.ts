// The predicate every findings tool shares: run on the kernel with a snapshot after every call,
// predict, compare, sign. The predictor is a parameter so that tests (and experiments) can judge
// with a deliberately wrong model without touching src/model.

import { judgeWith, predictAgainst, type Outcome, type Predictor } from '../campaign/check.js';
import type { Profile } from '../model/index.js';
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';

export type { Predictor };

/** The real model, exactly as the campaign and `replay` use it. */
export const modelPredictor: Predictor = predictAgainst;

export type Judgement = Omit<Outcome, 'stable'>;

/** Judge one detailed (snapshot after every call) kernel run. */
export function judge(predictor: Predictor, profile: Profile, seq: Sequence, kernel: SeqObservation): Judgement {
  return judgeWith(predictor, profile, seq, kernel, true);
}

/** A run that tells something: every call ran. Timeouts, crashes and harness trouble do not. */
export function determinate(j: Judgement): boolean {
  return j.kernel.status === 'ok';
}
