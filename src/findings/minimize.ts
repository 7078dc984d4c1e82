// Minimization of a divergent sequence: the smallest sequence with the same signature on the same
// target. The predicate is the real kernel (each candidate runs with a snapshot after every call,
// is predicted and signed exactly like a finding); candidates are batched, hundreds per runner.run
// call. Phases, each only ever accepting a candidate that reproduced the signature:
//   1. trailing:   drop everything after the divergent call (later calls cannot matter);
//   2. unrelated:  keep only calls whose ranges touch the divergent call's, transitively;
//   3. ddmin:      delta debugging over calls (remove chunks of n, n = 2, 4, ... down to singles);
//   4. arguments:  fewer pages, fewer flags, lower page offsets, a smaller arena (src/findings/shrink.ts).
// Phases 2-4 repeat while they make progress. The result is confirmed by re-runs; should it not
// reproduce every time, the latest accepted step that does is returned instead.

import type { Outcome } from '../campaign/check.js';
import type { Profile } from '../model/index.js';
import type { Runner } from '../runner/types.js';
import type { Sequence } from '../seq/schema.js';
import { determinate, judge, type Judgement, modelPredictor, type Predictor } from './judge.js';
import { argumentCandidates, cost, isValid, relatedCalls, truncateAfter, withoutCalls } from './shrink.js';
import { DETAIL_RUN } from '../runner/types.js';

export interface MinimizeOptions {
  /** the model to judge with (default: the real one); tests pass a deliberately wrong one */
  predictor?: Predictor;
  /** re-runs of the result that must all reproduce the signature (default 3) */
  confirmRuns?: number;
  /** candidates per runner.run call (default 256) */
  batchSize?: number;
  /** stop simplifying after this many ms; the best sequence so far is confirmed and returned */
  timeLimitMs?: number;
  /** progress lines (one per phase) */
  log?: (line: string) => void;
}

export interface PhaseStats {
  phase: string;
  calls: number;
  arenaPages: number;
  candidates: number;
  ms: number;
}

export interface MinimizeStats {
  callsBefore: number;
  callsAfter: number;
  arenaBefore: number;
  arenaAfter: number;
  /** candidates run on the kernel (confirmation runs included) */
  candidates: number;
  /** runner.run calls */
  batches: number;
  ms: number;
  phases: PhaseStats[];
}

export interface MinimizeResult {
  seq: Sequence;
  /** a detailed run of `seq` that shows the signature */
  judgement: Judgement;
  signature: string;
  signatureText: string;
  /** confirmation re-runs of `seq`: all must reproduce the signature for a confirmed result */
  confirm: { runs: number; same: number };
  confirmed: boolean;
  stats: MinimizeStats;
}

export type MinimizeReport =
  | { status: 'match' | 'indeterminate'; original: Judgement }
  | { status: 'minimized' | 'unstable'; original: Judgement; result: MinimizeResult };

interface Step {
  seq: Sequence;
  j: Judgement;
}

class Minimizer {
  private readonly predictor: Predictor;
  private readonly batchSize: number;
  private readonly deadline: number;
  private readonly history: Step[] = [];
  private readonly phases: PhaseStats[] = [];
  candidates = 0;
  batches = 0;

  constructor(
    private readonly runner: Runner,
    private readonly profile: Profile,
    private readonly target: string,
    private readonly opts: MinimizeOptions,
  ) {
    this.predictor = opts.predictor ?? modelPredictor;
    this.batchSize = opts.batchSize ?? 256;
    this.deadline = opts.timeLimitMs !== undefined ? Date.now() + opts.timeLimitMs : Infinity;
  }

  private get cur(): Step {
    return this.history[this.history.length - 1]!;
  }

  private timeUp(): boolean {
    return Date.now() >= this.deadline;
  }

  /** Run candidates (batched); the judgement of each one that reproduces the target signature. */
  private async evaluate(cands: readonly Sequence[]): Promise<(Judgement | null)[]> {
    const out: (Judgement | null)[] = [];
    for (let i = 0; i < cands.length; i += this.batchSize) {
      const chunk = cands.slice(i, i + this.batchSize);
      const kernel = await this.runner.run(chunk, DETAIL_RUN);
      this.batches++;
      this.candidates += chunk.length;
      chunk.forEach((s, k) => {
        const j = judge(this.predictor, this.profile, s, kernel[k]!);
        out.push(determinate(j) && j.signature === this.target ? j : null);
      });
    }
    return out;
  }

  private accept(j: Judgement): void {
    this.history.push({ seq: j.seq, j });
  }

  /** Cut the calls after the divergent one (one candidate). */
  private async trailing(): Promise<boolean> {
    const { seq, j } = this.cur;
    const d = j.divergence!.call;
    if (d < 0 || d >= seq.calls.length - 1) return false;
    const [r] = await this.evaluate([truncateAfter(seq, d)]);
    if (r) this.accept(r);
    return r !== null && r !== undefined;
  }

  private async unrelated(): Promise<boolean> {
    const { seq, j } = this.cur;
    const d = j.divergence!.call;
    if (d < 0) return false;
    const cands: Sequence[] = [];
    for (const adjacent of [false, true]) {
      const keep = new Set(relatedCalls(seq, j.kernel, d, adjacent));
      if (keep.size === seq.calls.length) continue;
      const drop = new Set(seq.calls.map((_, i) => i).filter((i) => !keep.has(i)));
      const c = withoutCalls(seq, drop);
      if (isValid(c) && !cands.some((x) => x.calls.length === c.calls.length)) cands.push(c);
    }
    if (cands.length === 0) return false;
    const res = await this.evaluate(cands);
    const best = res.filter((r): r is Judgement => r !== null).sort((a, b) => a.seq.calls.length - b.seq.calls.length)[0];
    if (best) this.accept(best);
    return best !== undefined;
  }

  /** Delta debugging over calls: remove chunks, halving the chunk size down to single calls. */
  private async ddmin(): Promise<boolean> {
    let changed = false;
    let n = 2;
    while (this.cur.seq.calls.length >= 2 && !this.timeUp()) {
      const seq = this.cur.seq;
      const len = seq.calls.length;
      n = Math.min(n, len);
      const chunk = Math.ceil(len / n);
      const cands: Sequence[] = [];
      for (let start = 0; start < len; start += chunk) {
        const drop = new Set<number>();
        for (let i = start; i < Math.min(len, start + chunk); i++) drop.add(i);
        if (drop.size === len) continue;
        const c = withoutCalls(seq, drop);
        if (isValid(c)) cands.push(c);
      }
      const res = await this.evaluate(cands);
      const hit = res.find((r): r is Judgement => r !== null);
      if (hit) {
        this.accept(hit);
        changed = true;
        await this.trailing();
        n = Math.max(n - 1, 2);
      } else if (n >= len) break;
      else n = Math.min(2 * n, len);
    }
    return changed;
  }

  /** Simplify arguments: the cheapest reproducing candidate each round, until none reproduces. */
  private async argumentsPhase(): Promise<boolean> {
    let changed = false;
    while (!this.timeUp()) {
      const cands = argumentCandidates(this.cur.seq).sort((a, b) => cost(a) - cost(b));
      let hit: Judgement | undefined;
      for (let i = 0; i < cands.length && !hit; i += this.batchSize) {
        const res = await this.evaluate(cands.slice(i, i + this.batchSize));
        hit = res.find((r): r is Judgement => r !== null); // sorted: the first is the cheapest
      }
      if (!hit) break;
      this.accept(hit);
      changed = true;
    }
    return changed;
  }

  private async phase(name: string, f: () => Promise<boolean>): Promise<boolean> {
    if (this.timeUp()) return false;
    const t0 = Date.now();
    const c0 = this.candidates;
    const changed = await f();
    const s = this.cur.seq;
    this.phases.push({ phase: name, calls: s.calls.length, arenaPages: s.arenaPages, candidates: this.candidates - c0, ms: Date.now() - t0 });
    this.opts.log?.(`minimize: ${name}: ${s.calls.length} calls, ${s.arenaPages}-page arena (${this.candidates - c0} candidates, ${Date.now() - t0} ms)`);
    return changed;
  }

  /** Re-run the latest step, falling back to earlier ones, until one reproduces every time. */
  private async confirm(runs: number): Promise<{ step: Step; same: number }> {
    let last = { step: this.history[0]!, same: 0 };
    for (let h = this.history.length - 1; h >= 0; h--) {
      const step = this.history[h]!;
      if (runs <= 0) return { step, same: 0 };
      const res = await this.evaluate(Array<Sequence>(runs).fill(step.seq));
      const same = res.filter((r) => r !== null).length;
      if (same === runs) return { step, same };
      this.opts.log?.(`minimize: a ${step.seq.calls.length}-call step reproduced ${same}/${runs} times; trying the step before it`);
      if (h === 0) last = { step, same };
    }
    return last;
  }

  async run(start: Judgement): Promise<MinimizeResult> {
    const t0 = Date.now();
    this.accept(start);
    await this.phase('trailing', () => this.trailing());
    for (let round = 0; round < 4; round++) {
      let changed = await this.phase('unrelated', () => this.unrelated());
      changed = (await this.phase('ddmin', () => this.ddmin())) || changed;
      changed = (await this.phase('arguments', () => this.argumentsPhase())) || changed;
      if (!changed || this.timeUp()) break;
    }
    const runs = this.opts.confirmRuns ?? 3;
    const { step, same } = await this.confirm(runs);
    const seq = describeMinimized(start.seq, step.seq, this.target);
    return {
      seq,
      judgement: { ...step.j, seq },
      signature: this.target,
      signatureText: step.j.signatureText!,
      confirm: { runs, same },
      confirmed: same === runs,
      stats: {
        callsBefore: start.seq.calls.length,
        callsAfter: seq.calls.length,
        arenaBefore: start.seq.arenaPages,
        arenaAfter: seq.arenaPages,
        candidates: this.candidates,
        batches: this.batches,
        ms: Date.now() - t0,
        phases: this.phases,
      },
    };
  }
}

/** Name the result after the original; it no longer claims a generator origin. */
function describeMinimized(original: Sequence, min: Sequence, sig: string): Sequence {
  const { origin: _o, name: _n, description: _d, ...rest } = min;
  const from = original.origin ? `seed ${original.origin.seed} index ${original.origin.index}` : original.name ? `"${original.name}"` : 'a sequence';
  const out: Sequence = { ...rest, description: `Minimized by vmafuzz from ${from} (${original.calls.length} calls, ${original.arenaPages}-page arena); signature ${sig}.`.slice(0, 4000) };
  if (original.name) out.name = `${original.name}-min`.slice(0, 200);
  return out;
}

/** Minimize from a judged divergence (its signature is the target). */
export async function minimizeJudgement(runner: Runner, profile: Profile, start: Judgement, opts: MinimizeOptions = {}): Promise<MinimizeResult> {
  if (!start.divergence || !start.signature) throw new Error('minimize: the starting point does not diverge');
  return new Minimizer(runner, profile, start.signature, opts).run(start);
}

/** Run `seq` once in detail and minimize it if it diverges. */
export async function minimizeSequence(runner: Runner, profile: Profile, seq: Sequence, opts: MinimizeOptions = {}): Promise<MinimizeReport> {
  const [k] = await runner.run([seq], DETAIL_RUN);
  const original = judge(opts.predictor ?? modelPredictor, profile, seq, k!);
  if (!determinate(original)) return { status: 'indeterminate', original };
  if (!original.divergence) return { status: 'match', original };
  const result = await minimizeJudgement(runner, profile, original, opts);
  return { status: result.confirmed ? 'minimized' : 'unstable', original, result };
}

/**
 * For the campaign: minimize a stable finding (an Outcome from check.ts `detail`, which carries
 * its detailed kernel run and signature). Resolves to null when no step of the minimization
 * reproduces the signature on every confirmation run (the finding is not stable enough to shrink).
 */
export async function minimizeOutcome(runner: Runner, profile: Profile, o: Outcome, opts: MinimizeOptions = {}): Promise<MinimizeResult | null> {
  if (!o.divergence || !o.signature || o.kernel.status !== 'ok') return null;
  const start: Judgement = { seq: o.seq, kernel: o.kernel, model: o.model, divergence: o.divergence, signature: o.signature, signatureText: o.signatureText! };
  const r = await minimizeJudgement(runner, profile, start, opts);
  return r.confirmed ? r : null;
}
