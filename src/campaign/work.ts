// What a worker does with one chunk of case indices: generate (guided by the chunk's epoch pool),
// run on the kernel, predict, compare, count ops and model rules, and re-run divergent cases in
// detail (per-call snapshots, stability re-runs). The harness executes batch N+1 while this code
// judges batch N. Used the same way in-process (--jobs 1) and in worker threads.

import { generateGuided, type GuidePool } from '../gen/guided.js';
import { withFailNth } from '../gen/fail-nth.js';
import type { GenConfig } from '../gen/generate.js';
import type { Profile } from '../model/index.js';
import { FAST_LAYERS_RUN, FAST_RUN, type Runner, type RunOptions } from '../runner/types.js';

/** Every LAYER_EVERY-th batch of a chunk collects the VmFlags and pagemap layers too. */
export const LAYER_EVERY = 4;

/** The run options of a chunk's batch number `n` (0-based): the observations a campaign collects. */
export const batchRunOptions = (n: number): RunOptions => (n % LAYER_EVERY === 0 ? FAST_LAYERS_RUN : FAST_RUN);
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';
import { minimizeOutcome } from '../findings/minimize.js';
import { MAX_TIMEOUT_SAMPLES } from './hangs.js';
import { recordRunnerCrashes } from '../findings/crash.js';
import { detail, divergenceOf, predictAgainst, type Outcome } from './check.js';
import type { FirstHit } from './guidance.js';

export interface WorkConfig {
  seed: number;
  gen: GenConfig;
  batch: number;
  stabilityRuns: number;
  /** order of the per-rule and per-op count arrays */
  rules: readonly string[];
  ops: readonly string[];
  /** campaign directory: kernel crashes the runner saw (QEMU console) are recorded under crashes/ */
  out?: string;
}

export interface ChunkTask {
  g: number;
  /** a piece [lo, hi) of chunk g; lo is a whole number of batches past the chunk's start */
  lo: number;
  hi: number;
  /** number (in the chunk) of the piece's first batch: which batches collect every layer */
  batch0: number;
  pool: GuidePool;
  /** rule indices the pool already has (no first-hit report needed) */
  known: readonly number[];
}

export interface Found {
  index: number;
  kind: 'divergence' | 'flaky';
  outcome: Outcome;
}

export interface ChunkResult {
  g: number;
  lo: number;
  /** below the task's hi when the lane was asked to stop (the rest of the piece did not run) */
  hi: number;
  n: number;
  calls: number;
  div: number;
  flaky: number;
  timeout: number;
  crash: number;
  infra: number;
  /** sequences judged only up to a call the model cannot predict (Prediction.unsupported) */
  partial: number;
  ops: number[];
  rules: number[];
  first: FirstHit[];
  found: Found[];
  /** the lowest-index sequences of the piece that timed out (kept so that hangs can be replayed) */
  hangs: Array<{ index: number; seq: Sequence; detail: string }>;
  /** sequences the model threw on (a model bug, not a verdict): kept like hangs, the campaign goes on */
  modelErrors?: Array<{ index: number; seq: Sequence; detail: string }>;
  /** sequences the harness could not run (infra: not a verdict), with what it said: kept like hangs */
  infraErrors?: Array<{ index: number; seq: Sequence; detail: string }>;
}

/** Timed-out sequences a piece reports at most: its lowest ones, as many as the campaign keeps. */
export const MAX_HANGS = MAX_TIMEOUT_SAMPLES;

export interface WorkContext {
  runner: Runner;
  profile: Profile;
  cfg: WorkConfig;
}

/**
 * Progress inside a chunk: sequences and calls judged so far (display only), and the findings of
 * the batch just judged, so that the campaign records them at once: a piece that never comes back
 * (a stuck lane given up after the deadline) loses no finding. The piece's result repeats them.
 */
export type ChunkProgress = (n: number, calls: number, found: Found[]) => void;

/**
 * Run a piece of a chunk. `stop` is polled before each new batch: once it says so, the batch in
 * flight is judged and the piece ends there (result hi < task hi), so a deadline or Ctrl-C keeps
 * everything judged so far.
 */
export async function runChunk(ctx: WorkContext, task: ChunkTask, onProgress?: ChunkProgress, stop?: () => boolean): Promise<ChunkResult> {
  const { runner, profile, cfg } = ctx;
  const ruleIdx = new Map(cfg.rules.map((r, i) => [r, i]));
  const opIdx = new Map(cfg.ops.map((o, i) => [o, i]));
  const known = new Set(task.known);
  const first = new Map<number, FirstHit>();
  const res: ChunkResult = {
    g: task.g, lo: task.lo, hi: task.hi, n: 0, calls: 0, div: 0, flaky: 0, timeout: 0, crash: 0, infra: 0, partial: 0,
    ops: new Array<number>(cfg.ops.length).fill(0), rules: new Array<number>(cfg.rules.length).fill(0), first: [], found: [], hangs: [], modelErrors: [], infraErrors: [],
  };
  let next = task.lo;
  const makeBatch = (): Sequence[] => {
    const b: Sequence[] = [];
    while (b.length < cfg.batch && next < task.hi) {
      const i = next++;
      b.push(withFailNth(generateGuided(cfg.seed, i, cfg.gen, task.pool), cfg.seed, i, cfg.gen.failNthPercent ?? 0, cfg.gen.failNthMax));
    }
    return b;
  };
  // Every LAYER_EVERY-th batch of a chunk also collects VmFlags and pagemap after the last call,
  // so divergences visible only in those layers are found too (detail re-runs collect them all).
  let batchNo = task.batch0;
  const runOpts = () => batchRunOptions(batchNo++);
  let batch = makeBatch();
  let start = task.lo;
  let inflight: Promise<SeqObservation[]> | null = batch.length ? runner.run(batch, runOpts()) : null;
  const crashes = async () => {
    if (cfg.out) await recordRunnerCrashes(runner, cfg.out);
  };
  while (inflight) {
    const kernel = await inflight;
    await crashes();
    const current = batch;
    const base = start;
    start += current.length;
    batch = stop?.() ? [] : makeBatch();
    inflight = batch.length ? runner.run(batch, runOpts()) : null;
    const suspects: Array<{ seq: Sequence; index: number }> = [];
    for (let j = 0; j < current.length; j++) {
      const seq = current[j]!;
      const k = kernel[j]!;
      const index = base + j;
      res.n++;
      res.calls += seq.calls.length;
      for (const c of seq.calls) {
        const oi = opIdx.get(c.op);
        if (oi !== undefined) res.ops[oi]!++;
      }
      if (k.status === 'timeout' && res.hangs.length < MAX_HANGS) res.hangs.push({ index, seq, detail: k.detail ?? '' });
      let m: ReturnType<typeof predictAgainst>;
      try {
        m = predictAgainst(seq, k, profile, false);
      } catch (e) {
        // An exception of the model is a model bug: the case is not judged (partial), its sequence
        // is kept (model-errors/) and named, and the campaign goes on rather than dying on it.
        res.partial++;
        if (res.modelErrors!.length < MAX_HANGS) res.modelErrors!.push({ index, seq, detail: (e as Error).message.split('\n')[0]! });
        continue;
      }
      if (m.unsupported) res.partial++;
      // A crashed child is a divergence too: the model never predicts one (check.ts divergenceOf).
      const diverges = (k.status === 'ok' || k.status === 'crash') && divergenceOf(seq, m, k) !== null;
      // ...counted as a divergence then, not also as indeterminate
      // ...and a sequence the model declined before its first call (a file on a filesystem the
      // target has no directory for: the harness cannot set it up) is partial, not indeterminate
      const declined = k.status === 'infra' && m.unsupported?.call === 0;
      if (k.status !== 'ok' && !(k.status === 'crash' && diverges) && !declined) res[k.status]++;
      if (k.status === 'infra' && !declined && res.infraErrors!.length < MAX_HANGS) res.infraErrors!.push({ index, seq, detail: k.detail ?? '' });
      // A divergent case never seeds the guidance pool (as AFL keeps crashing inputs out of its
      // queue): its mutants would mostly re-find the same divergence, each at the cost of detail
      // and stability re-runs, and crowd out the search elsewhere.
      const seeds = !diverges;
      for (let ci = 0; ci < m.rules.length; ci++) {
        for (const r of m.rules[ci]!) {
          const ri = ruleIdx.get(r);
          if (ri === undefined) continue;
          res.rules[ri]!++;
          if (seeds && !known.has(ri) && !first.has(ri)) first.set(ri, { rule: ri, index, call: ci, seq });
        }
      }
      if (diverges) suspects.push({ seq, index });
    }
    const foundBefore = res.found.length;
    if (suspects.length) {
      // Detail runs go after the in-flight batch on the same harness; wait for it to keep order simple.
      const pending = inflight ? await inflight : null;
      for (const { seq, index } of suspects) {
        const o = await detail(runner, profile, seq, { stabilityRuns: cfg.stabilityRuns });
        if (!o.divergence) {
          res.flaky++; // seen once, gone when re-run with per-call snapshots
          continue;
        }
        const stable = !o.stable || o.stable.same === o.stable.runs;
        if (stable) res.div++;
        else res.flaky++;
        res.found.push({ index, kind: stable ? 'divergence' : 'flaky', outcome: o });
      }
      inflight = pending ? Promise.resolve(pending) : null;
      await crashes();
    }
    onProgress?.(res.n, res.calls, res.found.slice(foundBefore));
  }
  res.first = [...first.values()].sort((a, b) => a.rule - b.rule);
  res.hi = next;
  return res;
}

export interface MinimizeTask {
  signature: string;
  kind: 'divergence' | 'flaky';
  outcome: Outcome;
  timeLimitMs: number;
}

export interface MinimizeDone {
  signature: string;
  kind: 'divergence' | 'flaky';
  /** null: no step reproduced the signature on every confirmation run */
  seq: Sequence | null;
  confirmed: boolean;
}

/** Minimize a new finding on this worker's runner (src/findings/minimize.ts). */
export async function runMinimize(ctx: WorkContext, t: MinimizeTask): Promise<MinimizeDone> {
  const r = await minimizeOutcome(ctx.runner, ctx.profile, t.outcome, { timeLimitMs: t.timeLimitMs });
  return { signature: t.signature, kind: t.kind, seq: r ? r.seq : null, confirmed: r ? r.confirmed : false };
}
