// The fuzz loop: generate → run (kernel ∥ model) → compare → record. The harness executes batch
// N+1 while this process judges batch N, so the kernel side never waits for JavaScript.

import { generate, type GenConfig } from '../gen/generate.js';
import type { Profile } from '../model/index.js';
import type { Sequence } from '../seq/schema.js';
import type { Runner, TargetInfo } from '../runner/types.js';
import type { SeqObservation } from '../seq/observation.js';
import { detail, predictAgainst, type Outcome } from './check.js';
import { firstDivergence } from '../compare/compare.js';
import { FindingStore, type RecordResult } from './findings.js';

export interface CampaignConfig {
  seed: number;
  /** first and one-past-last case index (count mode); `end` undefined = until the deadline */
  start: number;
  end?: number;
  deadline?: number; // ms since epoch
  batch: number;
  gen: GenConfig;
  stabilityRuns: number;
}

export interface CampaignStats {
  sequences: number;
  calls: number;
  divergences: number;
  unique: number;
  flaky: number;
  indeterminate: number;
  startedAt: number;
  lastNewFindingAt?: number;
  nextIndex: number;
}

export interface CampaignEvents {
  onFinding?(r: RecordResult, o: Outcome): void;
  onBatch?(stats: CampaignStats): void;
  shouldStop?(): boolean;
}

export async function runCampaign(cfg: CampaignConfig, runner: Runner, target: TargetInfo, profile: Profile, store: FindingStore, replayCmd: (f: string) => string, ev: CampaignEvents = {}): Promise<CampaignStats> {
  const stats: CampaignStats = { sequences: 0, calls: 0, divergences: 0, unique: 0, flaky: 0, indeterminate: 0, startedAt: Date.now(), nextIndex: cfg.start };
  const seen = new Set<string>();
  let next = cfg.start;
  const done = () => (cfg.end !== undefined && next >= cfg.end) || (cfg.deadline !== undefined && Date.now() >= cfg.deadline) || ev.shouldStop?.() === true;
  const makeBatch = (): Sequence[] => {
    const b: Sequence[] = [];
    while (b.length < cfg.batch && !(cfg.end !== undefined && next >= cfg.end)) b.push(generate(cfg.seed, next++, cfg.gen));
    return b;
  };
  let batch = done() ? [] : makeBatch();
  let inflight: Promise<SeqObservation[]> | null = batch.length ? runner.run(batch, { snapshotEveryCall: false }) : null;
  while (inflight) {
    const kernel = await inflight;
    const current = batch;
    batch = done() ? [] : makeBatch();
    inflight = batch.length ? runner.run(batch, { snapshotEveryCall: false }) : null;
    const suspects: Sequence[] = [];
    current.forEach((seq, i) => {
      const k = kernel[i]!;
      stats.sequences++;
      stats.calls += seq.calls.length;
      if (k.status !== 'ok') stats.indeterminate++;
      const m = predictAgainst(seq, k, profile, false);
      if (firstDivergence(m, k) && k.status === 'ok') suspects.push(seq);
    });
    if (suspects.length) {
      // Detail runs go after the in-flight batch on the same harness; wait for it to keep order simple.
      const pending = inflight ? await inflight : null;
      for (const seq of suspects) {
        const o = await detail(runner, profile, seq, { stabilityRuns: cfg.stabilityRuns });
        if (!o.divergence) {
          stats.flaky++; // seen once, gone when re-run with per-call snapshots
          continue;
        }
        const stable = !o.stable || o.stable.same === o.stable.runs;
        const kind = stable ? 'divergence' : 'flaky';
        const r = store.record(o, { runner: target.runner, release: target.release }, replayCmd, kind);
        if (stable) {
          stats.divergences++;
          if (!seen.has(o.signature!)) {
            seen.add(o.signature!);
            stats.unique++;
            stats.lastNewFindingAt = Date.now();
          }
        } else stats.flaky++;
        ev.onFinding?.(r, o);
      }
      inflight = pending ? Promise.resolve(pending) : null;
    }
    stats.nextIndex = next - batch.length;
    ev.onBatch?.(stats);
  }
  stats.nextIndex = next;
  return stats;
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(s.trim());
  if (!m) throw new Error(`bad duration ${JSON.stringify(s)} (examples: 90s, 10m, 8h)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!;
}
