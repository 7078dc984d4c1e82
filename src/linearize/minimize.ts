// Minimization of a concurrent sequence that no linearization explains. A race does not show on
// every run, so a candidate (one call, one barrier or the readers removed) is run `runs` times and
// kept when its runs still show the same signature at least half as often as the original's do;
// removals are tried greedily until none is kept or the time is up. The result is re-run
// `confirmRuns` times for its hit rate.

import type { Profile } from '../model/index.js';
import type { Runner, RunOptions } from '../runner/types.js';
import { FAST_LAYERS_RUN } from '../runner/types.js';
import { sequenceToInput } from '../seq/io.js';
import { sequenceSchema, type Sequence, type ThreadCall } from '../seq/schema.js';
import { judgeRace, type RaceOptions, type RaceOutcome } from './index.js';

export interface RaceMinimizeOptions {
  /** runs per candidate (a race shows on some runs only) */
  runs?: number;
  /** re-runs of the result for its hit rate */
  confirmRuns?: number;
  timeMs?: number;
  race?: RaceOptions;
  run?: RunOptions;
  log?: (s: string) => void;
}

export interface RaceMinimizeResult {
  seq: Sequence;
  signature: string;
  /** a failing run of the result */
  outcome: RaceOutcome;
  /** runs of the result that showed the signature */
  hits: number;
  runs: number;
  candidates: number;
  callsBefore: number;
  callsAfter: number;
}

const count = (s: Sequence) => s.calls.length + (s.threads ?? []).reduce((n, t) => n + t.calls.filter((c) => c.op !== 'sync').length, 0);
const valid = (s: Sequence) => sequenceSchema.safeParse(sequenceToInput(s)).success;

/** Every one-step reduction: a setup call, a racing call, the k-th barrier of every thread, the readers. */
export function reductions(s: Sequence): Sequence[] {
  const out: Sequence[] = [];
  const threads = s.threads ?? [];
  if (s.readers) out.push({ ...s, readers: undefined });
  const syncs = threads[0]?.calls.filter((c) => c.op === 'sync').length ?? 0;
  for (let k = 0; k < syncs; k++) {
    const drop = (calls: ThreadCall[]) => {
      let n = -1;
      return calls.filter((c) => c.op !== 'sync' || ++n !== k);
    };
    out.push({ ...s, threads: threads.map((t) => ({ calls: drop(t.calls) })) });
  }
  threads.forEach((t, ti) => {
    t.calls.forEach((c, ci) => {
      if (c.op === 'sync') return;
      const calls = t.calls.filter((_, j) => j !== ci);
      // a thread left without calls goes (a concurrent sequence keeps at least two)
      const next = calls.some((x) => x.op !== 'sync') ? threads.map((x, j) => (j === ti ? { calls } : x)) : threads.filter((_, j) => j !== ti);
      if (next.length >= 2) out.push({ ...s, threads: next });
    });
  });
  s.calls.forEach((_, i) => out.push({ ...s, calls: s.calls.filter((_, j) => j !== i) }));
  return out.filter(valid).map((x) => {
    if (x.readers === undefined) delete x.readers;
    return x;
  });
}

export async function minimizeRace(runner: Runner, profile: Profile, seq: Sequence, signature: string, opts: RaceMinimizeOptions = {}): Promise<RaceMinimizeResult> {
  const runs = opts.runs ?? 8;
  const runOpts = opts.run ?? FAST_LAYERS_RUN;
  const deadline = Date.now() + (opts.timeMs ?? 60_000);
  const shows = async (s: Sequence): Promise<{ hits: number; outcome: RaceOutcome | null }> => {
    const ks = await runner.run(Array(runs).fill(s), runOpts);
    const hit = ks.map((k) => judgeRace(s, k, profile, opts.race)).filter((o) => o.signature === signature);
    return { hits: hit.length, outcome: hit[0] ?? null };
  };
  // a reduction must keep at least half the original's hit rate: a race made rare is not kept
  const base = await shows(seq);
  const need = Math.max(1, Math.ceil(base.hits / 2));
  let cur = seq;
  let outcome: RaceOutcome | null = base.outcome;
  let candidates = 0;
  for (let progress = true; progress && Date.now() < deadline; ) {
    progress = false;
    for (const cand of reductions(cur)) {
      if (Date.now() >= deadline) break;
      candidates++;
      const o = await shows(cand);
      if (o.hits >= need) {
        cur = cand;
        outcome = o.outcome;
        progress = true;
        opts.log?.(`kept: ${count(cur)} calls, ${cur.threads?.length ?? 0} threads${cur.readers ? `, ${cur.readers} reader(s)` : ''} (${o.hits}/${runs} runs)`);
        break;
      }
    }
  }
  const confirmRuns = opts.confirmRuns ?? 20;
  const ks = await runner.run(Array(confirmRuns).fill(cur), runOpts);
  const judged = ks.map((k) => judgeRace(cur, k, profile, opts.race));
  const hit = judged.filter((o) => o.signature === signature);
  outcome = hit[0] ?? outcome ?? judged[0]!;
  return { seq: cur, signature, outcome, hits: hit.length, runs: confirmRuns, candidates, callsBefore: count(seq), callsAfter: count(cur) };
}
