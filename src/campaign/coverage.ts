// The rules a campaign never fired, each with why: what the target lacks (src/model/rule-needs.ts,
// evaluated on the target campaign.json records), or nothing - the target can exhibit it and
// generation has not reached it yet (then whether a recipe aims at it, src/gen/recipes.ts).
// Shared by the panel, the fuzz summary and `vmafuzz report`.

import { RECIPES } from '../gen/recipes.js';
import type { RuleId } from '../model/rules.js';
import type { CampaignConfig } from './config.js';
import { unreachableRules } from './guidance.js';

export interface UnfiredRule {
  rule: string;
  /** needs the target does not meet; [] = it can fire here but has not yet */
  why: string[];
  /** a recipe aims at it (src/gen/recipes.ts) */
  recipe: boolean;
  /** campaign.json records no target (an older campaign): whether it can fire is unknown */
  targetUnknown?: true;
}

/** Unfired rules of `counts` (rule -> calls it fired on); with several campaigns (a merged report) a
 *  rule is unreachable only if no campaign's target can exhibit it. Reachable ones first. */
export function unfiredRules(counts: Readonly<Record<string, number>>, configs: ReadonlyArray<Pick<CampaignConfig, 'target' | 'profilePatch' | 'rules'>>): UnfiredRule[] {
  const per = configs.map((c) => ({ release: c.target?.release, un: unreachableRules({ ...c, rules: Object.keys(counts) }) }));
  const out: UnfiredRule[] = [];
  for (const [rule, n] of Object.entries(counts)) {
    if (n > 0) continue;
    const all = per.length > 0 && per.every((p) => p.un.has(rule));
    const why = all ? [...new Set(per.flatMap((p) => p.un.get(rule)!.map((w) => (per.length > 1 ? `${p.release}: ${w}` : w))))] : [];
    const unknown = per.every((p) => p.release === undefined);
    out.push({ rule, why, recipe: RECIPES[rule as RuleId] !== undefined, ...(unknown ? { targetUnknown: true as const } : {}) });
  }
  return out.sort((a, b) => Number(a.why.length > 0) - Number(b.why.length > 0) || (a.rule < b.rule ? -1 : 1));
}

/** One line per unfired rule, for terminal output. */
export function unfiredText(u: UnfiredRule): string {
  if (u.why.length) return `${u.rule}: cannot fire on this target: ${u.why.join('; ')}`;
  if (u.targetUnknown) return `${u.rule}: not fired (campaign.json records no target: whether it can fire is unknown)`;
  return `${u.rule}: can fire here, not reached yet${u.recipe ? ' (a recipe aims at it)' : ''}`;
}
