// The campaign side of coverage guidance: folds what completed chunks report (per-rule counts and
// the earliest case that hit each rule) into one pool per (segment, epoch). The pool of epoch e is
// built from epochs 0..e-2 of the same segment only, in index order (earliest case wins, counts
// are sums), so it is the same whatever order the chunks completed in, on one machine or after a
// resume; epoch e may start while e-1 is still running.
//
// Recipe targets: from the first chunk on, a share of the cases are recipe cases (src/gen/recipes.ts)
// aimed at rules nobody has fired yet. Epochs 0 and 1 know nothing yet: they aim at every recipe
// rule the campaign's recorded target can exhibit (campaign.json `target`, src/model/rule-needs.ts);
// epoch e >= 2 at those of them no case of epochs 0..e-2 fired. Both are functions of campaign.json
// and the ledger only, so cases stay deterministic per (seed, index).

import type { Sequence } from '../seq/schema.js';
import { EMPTY_POOL, type GuidePool, type PoolEntry } from '../gen/guided.js';
import type { Plan } from './layout.js';
import { RECIPE_RULES } from '../gen/recipes.js';
import { unmetNeeds } from '../model/rule-needs.js';
import type { CampaignConfig } from './config.js';
import { profileFor } from './executor.js';

/** Percentage of cases that are recipe cases while some recipe rule has not fired. */
export const RECIPE_PERCENT = 10;

/** Rules of the campaign the recorded target cannot exhibit, each with the needs it lacks
 *  (src/model/rule-needs.ts); empty when campaign.json records no target. */
export function unreachableRules(cfg: Pick<CampaignConfig, 'target' | 'profilePatch' | 'rules'>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!cfg.target) return out;
  const profile = profileFor(cfg.target, cfg.profilePatch);
  for (const r of cfg.rules) {
    const why = unmetNeeds(r, profile);
    if (why.length) out.set(r, why);
  }
  return out;
}

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

  /** recipe rules (with their index into `rules`) the target can exhibit */
  private readonly recipes: ReadonlyArray<readonly [string, number]>;
  private firstPool: GuidePool | undefined;

  constructor(
    private readonly plan: Plan,
    private readonly rules: readonly string[],
    private readonly mutantPercent: number,
    private readonly enabled: boolean,
    /** rules the target cannot exhibit (unreachableRules): never aimed at */
    unreachable: ReadonlySet<string> = new Set(),
  ) {
    this.recipes = RECIPE_RULES.filter((r) => !unreachable.has(r) && rules.includes(r)).map((r) => [r, rules.indexOf(r)] as const);
  }

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
    if (!this.enabled) return EMPTY_POOL;
    if (epoch < LAG) return (this.firstPool ??= { entries: [], mutantPercent: this.mutantPercent, targets: this.recipes.map(([r]) => r), recipePercent: RECIPE_PERCENT });
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
    const targets = this.recipes.filter(([, i]) => counts[i] === 0).map(([r]) => r);
    const pool: GuidePool = { entries, mutantPercent: this.mutantPercent, targets, recipePercent: RECIPE_PERCENT };
    st.pools.set(epoch, pool);
    // Older pools of the segment are no longer asked for once a later one exists (dispatch is in order).
    for (const e of st.pools.keys()) if (e < epoch - 1) st.pools.delete(e);
    return pool;
  }

  /** The rules recipe cases of (segment, epoch) aim at; call only when ready(). */
  targets(segment: number, epoch: number): readonly string[] {
    return this.pool(segment, epoch).targets ?? [];
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
