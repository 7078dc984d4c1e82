// The JavaScript side of a campaign without the kernel: generation, the model (predict) and the
// comparison, over the same generated sequences, in this thread. The model's speed is reported in
// calls/s (the unit). Compare runs a prediction against itself: no divergence, so every
// layer of every snapshot is compared, the most it ever costs. Every LAYER_EVERY-th sequence
// predicts the VmFlags and pagemap layers too, as a campaign's batches do.

import { DEFAULT_CONFIG, generate, type GenConfig } from '../gen/generate.js';
import { hostProfile, predict, type Prediction } from '../model/index.js';
import { firstDivergence } from '../compare/compare.js';
import { LAYER_EVERY } from '../campaign/work.js';
import type { Sequence } from '../seq/schema.js';
import { withSpread } from './measure.js';

const SEED = 20261123;

export interface ModelRound {
  /** µs per sequence, wall */
  gen: number;
  predict: number;
  compare: number;
  /** µs per sequence, CPU time of this process (steadier on a shared machine) */
  genCpu: number;
  predictCpu: number;
  compareCpu: number;
  /** model calls per second, wall and CPU */
  callsPerSec: number;
  callsPerCpuSec: number;
}

const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** One round over `count` sequences generated from (SEED, 0..count-1). */
export function modelRound(count: number, cfg: GenConfig = DEFAULT_CONFIG, seqs?: Sequence[]): ModelRound {
  const profile = hostProfile();
  let t = performance.now(), c = cpuMs();
  const made = Array.from({ length: count }, (_, i) => generate(SEED, i, cfg));
  const gen = performance.now() - t, genCpu = cpuMs() - c;
  const s = seqs ?? made;
  const calls = s.reduce((n, q) => n + q.calls.length, 0);
  const layers = { vmflags: true, pagemap: true };
  t = performance.now(); c = cpuMs();
  const preds: Prediction[] = s.map((q, i) => predict(q, profile, { snapshotEveryCall: false, ...(i % LAYER_EVERY === 0 ? { layers } : {}) }));
  const pred = performance.now() - t, predCpu = cpuMs() - c;
  t = performance.now(); c = cpuMs();
  let div = 0;
  for (const p of preds) if (firstDivergence(p, p)) div++;
  const cmp = performance.now() - t, cmpCpu = cpuMs() - c;
  if (div) throw new Error(`model bench: ${div} predictions differ from themselves`);
  const us = (ms: number) => (ms * 1000) / s.length;
  return {
    gen: (gen * 1000) / count, predict: us(pred), compare: us(cmp), genCpu: (genCpu * 1000) / count, predictCpu: us(predCpu), compareCpu: us(cmpCpu),
    callsPerSec: calls / (pred / 1000), callsPerCpuSec: calls / (predCpu / 1000),
  };
}


/** Rows for scripts/model-throughput.mjs: a warm-up round, then `rounds` measured ones (median, spread). */
export function modelThroughput(count: number, rounds: number): Array<[string, string]> {
  modelRound(Math.min(count, 500));
  const rs = Array.from({ length: rounds }, () => modelRound(count));
  const seqs = Array.from({ length: count }, (_, i) => generate(SEED, i));
  const calls = seqs.reduce((n, q) => n + q.calls.length, 0);
  const f = (k: keyof ModelRound, d = 1) => withSpread(rs.map((r) => r[k]), d);
  return [
    ['sequences', `${count} of the default call mix (${calls} calls), seed ${SEED}, ${rounds} rounds`],
    ['model calls/CPU-s', f('callsPerCpuSec', 0)],
    ['model calls/s (wall)', f('callsPerSec', 0)],
    ['generate µs/seq (CPU)', f('genCpu')],
    ['predict µs/seq (CPU)', f('predictCpu')],
    ['compare µs/seq (CPU)', f('compareCpu')],
  ];
}
