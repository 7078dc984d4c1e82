// Bench section: the cost of the linearizability oracle. The same host runner runs N sequential
// sequences (the race generator's op mix, judged by predict + compare) and N concurrent ones
// (src/gen/threads.ts, judged by src/linearize); reported per call, with the ratio of the
// concurrent campaign's throughput to the sequential one's, end to end and for the judging alone.

import { divergenceOf, predictAgainst } from '../campaign/check.js';
import { DEFAULT_CONFIG, generate } from '../gen/generate.js';
import { DEFAULT_RACE_CONFIG, generateConcurrent, RACE_WEIGHTS } from '../gen/threads.js';
import { judgeRace } from '../linearize/index.js';
import { makeProfile, type Profile } from '../model/index.js';
import { NativeRunner } from '../runner/native.js';
import { FAST_RUN } from '../runner/types.js';
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';
import { racingCalls } from '../seq/threads.js';
import type { BenchSection } from './main.js';

const SEED = 20261206;

interface Measure {
  calls: number;
  totalMs: number;
  judgeMs: number;
  bad: number;
}

async function measure(runner: NativeRunner, seqs: Sequence[], callsOf: (s: Sequence) => number, judge: (s: Sequence, k: SeqObservation) => boolean, pin = false): Promise<Measure> {
  const t0 = performance.now();
  let judgeMs = 0;
  let bad = 0;
  for (let i = 0; i < seqs.length; i += 64) {
    const batch = seqs.slice(i, i + 64);
    const kernel = await runner.run(batch, { ...FAST_RUN, ...(pin ? { pinThreads: true } : {}) });
    const t = performance.now();
    batch.forEach((s, k) => (bad += judge(s, kernel[k]!) ? 0 : 1));
    judgeMs += performance.now() - t;
  }
  return { calls: seqs.reduce((n, s) => n + callsOf(s), 0), totalMs: performance.now() - t0, judgeMs, bad };
}

export function section(): BenchSection {
  return {
    title: `concurrent campaign (--threads ${DEFAULT_RACE_CONFIG.threads}) vs sequential, native, one lane`,
    async run() {
      const n = Number(process.env.VMAFUZZ_BENCH_THREADS_N ?? 2000);
      const runner = new NativeRunner();
      const target = await runner.start();
      const profile: Profile = makeProfile(target.release, target.facts);
      try {
        const serial = Array.from({ length: n }, (_, i) => generate(SEED, i, { ...DEFAULT_CONFIG, weights: RACE_WEIGHTS, maxCalls: 16 }));
        const conc = Array.from({ length: n }, (_, i) => generateConcurrent(SEED, i));
        await measure(runner, serial.slice(0, 100), (s) => s.calls.length, () => true); // warm up
        const a = await measure(runner, serial, (s) => s.calls.length, (s, k) => !divergenceOf(s, predictAgainst(s, k, profile, false), k));
        // as the campaign runs them: racing threads pinned to CPUs
        const b = await measure(runner, conc, (s) => s.calls.length + racingCalls(s).length, (s, k) => judgeRace(s, k, profile).verdict !== 'fail', true);
        const perSec = (m: Measure) => m.calls / (m.totalMs / 1000);
        const judgeUs = (m: Measure) => (m.judgeMs * 1000) / m.calls;
        return [
          ['sequential: calls/s end to end', `${perSec(a).toFixed(0)} (${n} sequences, ${a.calls} calls, ${a.bad} divergent)`],
          ['concurrent: calls/s end to end', `${perSec(b).toFixed(0)} (${n} sequences, ${b.calls} calls, ${b.bad} with no linearization)`],
          ['ratio concurrent / sequential (calls/s)', `${((100 * perSec(b)) / perSec(a)).toFixed(1)}%`],
          ['judging µs/call: sequential (predict+compare)', judgeUs(a).toFixed(1)],
          ['judging µs/call: concurrent (linearization search)', judgeUs(b).toFixed(1)],
          ['oracle cost ratio (judging per call)', `${(judgeUs(b) / judgeUs(a)).toFixed(1)}x`],
        ];
      } finally {
        await runner.close();
      }
    },
  };
}
