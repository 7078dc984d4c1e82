// Rule coverage that closes: guidance aims recipe cases at never-fired rules from the first chunk
// (skipping rules the recorded target cannot exhibit), and `report` lists the unfired rules with why.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../src/campaign/campaign.js';
import { writeConfig, type CampaignConfig } from '../src/campaign/config.js';
import { unfiredRules } from '../src/campaign/coverage.js';
import { InProcessExecutor } from '../src/campaign/executor.js';
import { Guidance, unreachableRules } from '../src/campaign/guidance.js';
import { Plan } from '../src/campaign/layout.js';
import { DEFAULT_CONFIG } from '../src/gen/generate.js';
import { RECIPE_RULES } from '../src/gen/recipes.js';
import { makeProfile, RULE_IDS } from '../src/model/index.js';
import { loadReport } from '../src/report/load.js';
import { OPS } from '../src/seq/schema.js';
import { modelRunner, vmafuzz, ensureBuilt } from './campaign-support.js';

/** the host's facts as a harness reports them (zero page present, no anon names, THP madvise) */
const FACTS = { thp: 'madvise', zero_page: '1', anon_name: '0', mseal: '1', guard: 'file', uffd_features: '1ffff', cap_ipc_lock: '1', cap_sys_ptrace: '1', pkeys: '0', max_map_count: 'fffa', base_map_count: 'e', tmpfs_noexec: '0' };
const TARGET = { runner: 'native', release: '6.18.44', facts: FACTS };

function config(seed: number, count: number, guided: boolean): CampaignConfig {
  return {
    vmafuzz: 1, kind: 'campaign', seed, count, timeMs: null, shard: { index: 0, count: 1 }, layout: { chunk: 1200, epochChunks: 2, segmentEpochs: 1000 },
    gen: DEFAULT_CONFIG, guidance: { enabled: guided, mutantPercent: 50 }, batch: 64, stabilityRuns: 0, minimize: false, runner: { runner: 'native' },
    ops: [...OPS], rules: [...RULE_IDS], created: new Date().toISOString(), target: TARGET,
  };
}

describe('recipe guidance', () => {
  it('aims at reachable never-fired rules from epoch 0, and drops the ones that fired', () => {
    const un = unreachableRules(config(1, 100, true));
    expect(un.get('anon_name.set')).toEqual(['needs fact anon_name=1 (CONFIG_ANON_VMA_NAME)']);
    expect(un.get('anon_vma.refuse.faulted_into_unfaulted')).toEqual(['needs kernel < 6.16.0 (profile row anon_vma.merge_faulted_into_unfaulted)']);
    expect(un.has('merge.uffd_ctx_differs')).toBe(false);
    const plan = new Plan({ chunk: 100, epochChunks: 1, segmentEpochs: 10 }, { index: 0, count: 1 }, 1000);
    const gd = new Guidance(plan, RULE_IDS, 50, true, new Set(un.keys()));
    const first = gd.pool(0, 0).targets!;
    expect(first).toContain('merge.uffd_ctx_differs');
    expect(first).not.toContain('anon_vma.refuse.faulted_into_unfaulted'); // needs an older kernel
    expect(first.length).toBe(RECIPE_RULES.filter((r) => !un.has(r)).length);
    const counts = RULE_IDS.map((r) => (r === 'merge.uffd_ctx_differs' ? 3 : 0));
    gd.add(0, 0, counts, []);
    expect(gd.pool(0, 2).targets).not.toContain('merge.uffd_ctx_differs');
    expect(gd.pool(0, 2).targets).toContain('pgtable.reclaimed');
    // without guidance: no recipes
    expect(new Guidance(plan, RULE_IDS, 50, false).pool(0, 0).targets).toBeUndefined();
  });

  it('says when campaign.json records no target (older campaigns)', () => {
    const counts = { 'anon_name.set': 0, 'merge.new.prev': 4 };
    expect(unfiredRules(counts, [{ rules: Object.keys(counts) }])).toEqual([{ rule: 'anon_name.set', why: [], recipe: false, targetUnknown: true }]);
    expect(unfiredRules(counts, [config(1, 10, true)])).toEqual([{ rule: 'anon_name.set', why: ['needs fact anon_name=1 (CONFIG_ANON_VMA_NAME)'], recipe: false }]);
  });

  it('fires recipe rules in the first chunk of a campaign (model as kernel)', async () => {
    const run = async (guided: boolean) => {
      const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-cov-'));
      const ex = new InProcessExecutor([{ ...modelRunner(makeProfile(TARGET.release, FACTS)), start: async () => TARGET }], { seed: 4, gen: DEFAULT_CONFIG, batch: 64, stabilityRuns: 0, rules: RULE_IDS, ops: OPS });
      const target = await ex.start();
      writeConfig(dir, config(4, 1200, guided));
      const s = await runCampaign({ dir, config: config(4, 1200, guided), executor: ex, target, replay: (f) => f });
      return { s, dir };
    };
    const guided = await run(true);
    const plain = await run(false);
    const reachable = RECIPE_RULES.filter((r) => !unreachableRules(config(4, 1200, true)).has(r));
    const fired = (s: typeof guided.s) => reachable.filter((r) => (s.stats.rules?.[r] ?? 0) > 0);
    // one chunk of 1200 cases, 10% recipe cases among ~12 rules: every reachable recipe rule fires
    expect(fired(guided.s)).toEqual(reachable);
    expect(fired(plain.s).length).toBeLessThan(reachable.length - 4);
    // the summary lists what did not fire, with why
    const why = new Map(guided.s.unfired.map((u) => [u.rule, u.why]));
    expect(why.get('fault.read.no_zero_page')).toEqual(['needs fact zero_page=0']);
    expect(why.get('errno.mmap.map_count')).toEqual(['needs fact base_map_count within 1000 of max_map_count']);
    for (const r of reachable) expect(why.has(r)).toBe(false);

    // `report` (data, text and --json) says why
    const data = loadReport(guided.dir);
    expect(data.unfired).toEqual(unfiredRules(data.totals.rules, [config(4, 1200, true)]));
    await ensureBuilt();
    const text = await vmafuzz(['report', guided.dir]);
    expect(text.stdout + text.stderr).toMatch(/anon_name\.set: cannot fire on this target: needs fact anon_name=1 \(CONFIG_ANON_VMA_NAME\)/);
    const json = await vmafuzz(['report', guided.dir, '--json']);
    const out = JSON.parse(json.stdout) as { rulesUnfired: Array<{ rule: string; why: string[] }> };
    expect(out.rulesUnfired.find((u) => u.rule === 'touch.segv.pkey')?.why).toEqual(['needs fact pkeys=1 (CPU with OSPKE)']);
  }, 120_000);
});
