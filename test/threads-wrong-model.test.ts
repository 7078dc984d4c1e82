// A deliberately broken model rule (an mprotect that splits a VMA one page too late,
// test/helpers/wrong-model.ts lateSplitApply) is caught through concurrent sequences as quickly as
// through sequential ones: cases run on the host kernel until each oracle, judging with the wrong
// model, reports a case the right model accepts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeWith, predictAgainst } from '../src/campaign/check.js';
import { DEFAULT_CONFIG, generate } from '../src/gen/generate.js';
import { generateConcurrent, RACE_WEIGHTS } from '../src/gen/threads.js';
import { judgeRace } from '../src/linearize/index.js';
import { makeProfile, type Profile } from '../src/model/index.js';
import { NativeRunner } from '../src/runner/native.js';
import { FAST_RUN } from '../src/runner/types.js';
import { lateSplitApply, predictorWith } from './helpers/wrong-model.js';

const SEEDS = [7, 11, 13];
const BATCH = 50;
const LIMIT = 600;

let runner: NativeRunner;
let profile: Profile;
beforeAll(async () => {
  runner = new NativeRunner();
  const t = await runner.start();
  profile = makeProfile(t.release, t.facts);
}, 120_000);
afterAll(() => runner.close());

/** Cases run (and calls) until `caught` says a case shows the bug; null when LIMIT passes first. */
async function until<T extends { calls: unknown[] }>(make: (i: number) => T, caught: (s: T, i: number) => Promise<boolean>): Promise<number | null> {
  for (let i = 0; i < LIMIT; i += BATCH) {
    const got = await Promise.all(Array.from({ length: BATCH }, (_, k) => caught(make(i + k), i + k)));
    const k = got.indexOf(true);
    if (k >= 0) return i + k + 1;
  }
  return null;
}

describe('a broken model rule (mprotect splits one page too late)', () => {
  it('is caught through concurrent sequences as quickly as through sequential ones', async () => {
    const wrong = predictorWith(lateSplitApply);
    const cfg = { ...DEFAULT_CONFIG, weights: RACE_WEIGHTS, maxCalls: 16 };
    let seqTotal = 0;
    let concTotal = 0;
    for (const seed of SEEDS) {
      const seqCases = await until(
        (i) => generate(seed, i, cfg),
        async (s) => {
          const [k] = await runner.run([s], FAST_RUN);
          return !!judgeWith(wrong, profile, s, k!, false).divergence && !judgeWith(predictAgainst, profile, s, k!, false).divergence;
        },
      );
      const concCases = await until(
        (i) => generateConcurrent(seed, i),
        async (s) => {
          const [k] = await runner.run([s], FAST_RUN);
          // caught by the search over the racing calls, not in the serial setup
          const w = judgeRace(s, k!, profile, { apply: lateSplitApply });
          return w.verdict === 'fail' && w.divergence!.kind.startsWith('race:') && judgeRace(s, k!, profile).verdict === 'pass';
        },
      );
      console.log(`seed ${seed}: late split caught after ${seqCases} sequential and ${concCases} concurrent cases`);
      expect(seqCases).not.toBeNull();
      expect(concCases).not.toBeNull();
      seqTotal += seqCases!;
      concTotal += concCases!;
    }
    // "as quickly": over the seeds, within twice the sequential count (plus one batch of noise)
    expect(concTotal).toBeLessThanOrEqual(2 * seqTotal + BATCH);
  }, 300_000);
});
