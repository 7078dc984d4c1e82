// The campaign side of coverage guidance: folds what completed chunks report (per-rule counts and
// the earliest case that hit each rule) into one pool per (segment, epoch). The pool of epoch e is
// built from epochs 0..e-2 of the same segment only, in index order (earliest case wins, counts
// are sums), so it is the same whatever order the chunks completed in, on one machine or after a
// resume; epoch e may start while e-1 is still running.

import type { Sequence } from '../seq/schema.js';
import { EMPTY_POOL, type GuidePool, type PoolEntry } from '../gen/guided.js';
import type { Plan } from './layout.js';

export interface FirstHit {
  /** index into the campaign's rule list */
  rule: number;
  index: number;
  call: number;
  seq: Sequence;
}

interface EpochAcc {
  /** cases folded in */
  done: number;
  counts: number[];
  first: Map<number, FirstHit>;
}

interface SegmentState {
  epochs: Map<number, EpochAcc>;
  /** built pools by epoch */
  pools: Map<number, GuidePool>;
}

/** Epoch e's pool uses epochs <= e - LAG. */
export const LAG = 2;

export class Guidance {
  private readonly segments = new Map<number, SegmentState>();

  constructor(
    private readonly plan: Plan,
    private readonly rules: readonly string[],
    private readonly mutantPercent: number,
    private readonly enabled: boolean,
  ) {}

  private seg(s: number): SegmentState {
    let st = this.segments.get(s);
    if (!st) this.segments.set(s, (st = { epochs: new Map(), pools: new Map() }));
    return st;
  }

  private acc(s: number, e: number): EpochAcc {
    const st = this.seg(s);
    let a = st.epochs.get(e);
    if (!a) st.epochs.set(e, (a = { done: 0, counts: new Array<number>(this.rules.length).fill(0), first: new Map() }));
    return a;
  }

  /** Fold a judged piece of `cases` cases (whole chunks or parts, in any order). */
  add(segment: number, epoch: number, counts: readonly number[], first: readonly FirstHit[], cases: number): void {
    const a = this.acc(segment, epoch);
    a.done += cases;
    for (let i = 0; i < a.counts.length; i++) a.counts[i]! += counts[i] ?? 0;
    for (const h of first) {
      const old = a.first.get(h.rule);
      if (!old || h.index < old.index) a.first.set(h.rule, h);
    }
  }

  private complete(s: number, e: number): boolean {
    return (this.segments.get(s)?.epochs.get(e)?.done ?? 0) >= this.plan.epochCases(s, e);
  }

  /** Can chunks of (segment, epoch) start? Their pool needs epochs <= epoch - LAG complete. */
  ready(segment: number, epoch: number): boolean {
    if (!this.enabled) return true;
    for (let e = 0; e <= epoch - LAG; e++) if (!this.complete(segment, e)) return false;
    return true;
  }

  /** The pool of (segment, epoch); call only when ready(). */
  pool(segment: number, epoch: number): GuidePool {
    if (!this.enabled || epoch < LAG) return EMPTY_POOL;
    const st = this.seg(segment);
    const cached = st.pools.get(epoch);
    if (cached) return cached;
    const counts = new Array<number>(this.rules.length).fill(0);
    const first = new Map<number, FirstHit>();
    for (let e = 0; e <= epoch - LAG; e++) {
      const a = st.epochs.get(e);
      if (!a) continue;
      for (let i = 0; i < counts.length; i++) counts[i]! += a.counts[i]!;
      for (const [r, h] of a.first) if (!first.has(r)) first.set(r, h); // earlier epochs hold lower indices
    }
    const entries: PoolEntry[] = [...first.values()]
      .sort((x, y) => x.index - y.index || x.rule - y.rule)
      .map((h) => ({ rule: this.rules[h.rule]!, index: h.index, call: h.call, seq: h.seq, count: counts[h.rule]! }));
    const pool: GuidePool = { entries, mutantPercent: this.mutantPercent };
    st.pools.set(epoch, pool);
    // Older pools of the segment are no longer asked for once a later one exists (dispatch is in order).
    for (const e of st.pools.keys()) if (e < epoch - 1) st.pools.delete(e);
    return pool;
  }

  poolSize(segment: number, epoch: number): number {
    return this.ready(segment, epoch) ? this.pool(segment, epoch).entries.length : 0;
  }

  /**
   * Rules some completed chunk of the segment hit below index `lo`: a chunk starting at `lo` cannot
   * hold their earliest case, so it need not report them (keeps progress.ndjson small). Which
   * chunks have completed varies, but the earliest case of each rule - all the pools use - does not.
   */
  known(segment: number, lo: number): number[] {
    const st = this.segments.get(segment);
    if (!st) return [];
    const out = new Set<number>();
    for (const a of st.epochs.values()) for (const [r, h] of a.first) if (h.index < lo) out.add(r);
    return [...out];
  }
}
