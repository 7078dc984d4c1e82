// Recipes (src/gen/recipes.ts): every recipe's cases fire their rule in the model, on a profile that
// meets the rule's needs (src/model/rule-needs.ts); recipe cases are valid and reproducible.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, caseSeed } from '../src/gen/generate.js';
import { Picks } from '../src/gen/alloc.js';
import { RECIPE_RULES } from '../src/gen/recipes.js';
import { generateGuided, recipeCase, RECIPE_GENERATOR } from '../src/gen/guided.js';
import { predict } from '../src/model/predict.js';
import { hostProfile, makeProfile, type Profile } from '../src/model/profile.js';
import { unmetNeeds } from '../src/model/rule-needs.js';
import { sequenceToJson } from '../src/seq/io.js';

/** A profile on which `rule` can fire: the host's, or the kernel / facts its needs name. */
function profileFor(rule: string): Profile {
  const host = hostProfile();
  if (unmetNeeds(rule, host).length === 0) return host;
  const candidates: Profile[] = [
    makeProfile('6.12.0', { thp: 'madvise', zero_page: '1' }),
    makeProfile('7.3.0', { thp: 'madvise', zero_page: '1' }),
    hostProfile({ zeroPage: false }),
    hostProfile({ rlimitStackPages: 16 }),
  ];
  const p = candidates.find((c) => unmetNeeds(rule, c).length === 0);
  // touch.stack_rlimit has no fact of its own in the table but needs a small RLIMIT_STACK
  return p ?? host;
}

function fires(rule: string, n: number): number {
  const profile = rule === 'touch.stack_rlimit' ? hostProfile({ rlimitStackPages: 16 }) : profileFor(rule);
  let hit = 0;
  for (let i = 0; i < n; i++) {
    const s = recipeCase(Picks.seeded(caseSeed(77, i)), DEFAULT_CONFIG, rule);
    expect(s, `${rule} case ${i} is a valid corpus file`).not.toBeNull();
    const pr = predict(s!, profile, { snapshotEveryCall: false });
    if (pr.rules.some((r) => r.includes(rule as never))) hit++;
  }
  return hit;
}

describe('recipes', () => {
  for (const rule of RECIPE_RULES) {
    it(`fire ${rule} in the model`, () => {
      // the setup always reaches the rule; the generated extension only adds calls after it
      expect(fires(rule, 20)).toBeGreaterThanOrEqual(18);
    });
  }

  it('recipe cases are reproducible and marked', () => {
    const pool = { entries: [], mutantPercent: 0, targets: RECIPE_RULES, recipePercent: 100 };
    const a = generateGuided(3, 17, DEFAULT_CONFIG, pool);
    expect(sequenceToJson(generateGuided(3, 17, DEFAULT_CONFIG, pool))).toBe(sequenceToJson(a));
    expect(a.origin?.generator).toBe(RECIPE_GENERATOR);
  });
});
