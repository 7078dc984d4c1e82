// Recipes (src/gen/recipes.ts): every recipe's cases fire their rule in the model, on a profile that
// meets the rule's needs (src/model/rule-needs.ts); recipe cases are valid and reproducible.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, DEFAULT_WEIGHTS, caseSeed, generate, parseWeights } from '../src/gen/generate.js';
import { Picks } from '../src/gen/alloc.js';
import { RECIPE_RULES } from '../src/gen/recipes.js';
import { generateGuided, recipeCase, RECIPE_GENERATOR } from '../src/gen/guided.js';
import { predict } from '../src/model/predict.js';
import { hostProfile, makeProfile, type Profile } from '../src/model/profile.js';
import { unmetNeeds } from '../src/model/rule-needs.js';
import { sequenceToJson } from '../src/seq/io.js';
import { expandOps } from '../src/gen/families.js';

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
  if (!p) throw new Error(`no test profile meets the needs of ${rule}`);
  return p;
}

function fires(rule: string, n: number): number {
  const profile = profileFor(rule);
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

describe('recipes and --ops', () => {
  it('uses only recipes whose calls the campaign generates', () => {
    const core = expandOps('core');
    const cfg = { ...DEFAULT_CONFIG, weights: Object.fromEntries(Object.entries(DEFAULT_WEIGHTS).map(([o, w]) => [o, core.includes(o as never) ? w : 0])) as typeof DEFAULT_WEIGHTS };
    const pool = { entries: [], mutantPercent: 0, targets: RECIPE_RULES, recipePercent: 100 };
    let recipes = 0;
    for (let i = 0; i < 300; i++) {
      const s = generateGuided(8, i, cfg, pool);
      if (s.origin?.generator === RECIPE_GENERATOR) recipes++;
      for (const c of s.calls) expect(['mmap', 'munmap', 'mprotect', 'touch']).toContain(c.op);
      expect(s.files).toBeUndefined();
    }
    expect(recipes).toBeGreaterThan(100); // core recipes remain (errno.mmap.len_overflow, grows_both, ...)
  });
});

describe('multi-call shapes of plain generation', () => {
  it('reaches uffd shapes: two contexts on neighbouring ranges, registration across VMAs, partial unregistration', () => {
    const cfg = { ...DEFAULT_CONFIG, weights: parseWeights('uffd_create=1,uffd_register=3,uffd_unregister=1') };
    const counts = new Map<string, number>();
    let acrossVmas = 0;
    for (let i = 0; i < 1500; i++) {
      const s = generate(21, i, cfg);
      const pr = predict(s, hostProfile(), { snapshotEveryCall: true });
      for (const call of pr.rules) for (const r of call) counts.set(r, (counts.get(r) ?? 0) + 1);
      // a uffd_register whose range covers more than one VMA of the layout before it
      s.calls.forEach((c, k) => {
        if (c.op !== 'uffd_register' || k === 0) return;
        const maps = pr.snapshots.find((x) => x.after === k - 1 && !x.proc)?.maps ?? []; // model maps: arena pages
        const lo = c.addr.page;
        const hi = lo + Number(c.len / 4096n);
        if (maps.filter((m) => m.start < hi && m.end > lo).length > 1) acrossVmas++;
      });
    }
    expect(counts.get('merge.uffd_ctx_differs') ?? 0).toBeGreaterThan(5);
    expect(counts.get('errno.uffd.busy') ?? 0).toBeGreaterThan(5);
    expect(counts.get('errno.uffd.unregister_other') ?? 0).toBeGreaterThan(5);
    expect(counts.get('uffd.unregister') ?? 0).toBeGreaterThan(20);
    expect(acrossVmas).toBeGreaterThan(20);
  });
});
