// A model exception (a model bug) must not kill a campaign: the case is not judged, its sequence is
// kept in model-errors/ for replay, and the rest of the campaign runs (a 6.1 QEMU campaign once died
// on "model bug: vma_merge_extend failed" after 128 sequences).
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { CampaignConfig } from '../src/campaign/config.js';
import { DEFAULT_CONFIG, generate } from '../src/gen/generate.js';
import { hostProfile, RULE_IDS } from '../src/model/index.js';
import { OPS } from '../src/seq/schema.js';
import { modelRunner } from './campaign-support.js';

// The model throws on every sequence of exactly 6 calls, as an internal assertion would.
vi.mock('../src/campaign/check.js', async (orig) => {
  const m = await orig<typeof import('../src/campaign/check.js')>();
  return {
    ...m,
    predictAgainst: (...a: Parameters<typeof m.predictAgainst>) => {
      if (a[0].calls.length === 6) throw new Error('model bug: an assertion for the test');
      return m.predictAgainst(...a);
    },
  };
});

describe('a model exception in a campaign', () => {
  it('keeps the sequence in model-errors/, counts it partial, and finishes the campaign', async () => {
    const { runCampaign } = await import('../src/campaign/campaign.js');
    const { InProcessExecutor } = await import('../src/campaign/executor.js');
    const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-model-error-'));
    const cfg: CampaignConfig = {
      vmafuzz: 1, kind: 'campaign', seed: 5, count: 400, timeMs: null, shard: { index: 0, count: 1 }, layout: { chunk: 200, epochChunks: 2, segmentEpochs: 1000 },
      gen: DEFAULT_CONFIG, guidance: { enabled: false, mutantPercent: 50 }, batch: 64, stabilityRuns: 0, minimize: false, runner: { runner: 'native' },
      ops: [...OPS], rules: [...RULE_IDS], created: new Date().toISOString(),
    };
    const ex = new InProcessExecutor([modelRunner(hostProfile())], { seed: 5, gen: DEFAULT_CONFIG, batch: 64, stabilityRuns: 0, rules: RULE_IDS, ops: OPS });
    const logs: string[] = [];
    const s = await runCampaign({ dir, config: cfg, executor: ex, target: await ex.start(), replay: (f) => `replay ${f}`, events: { log: (l) => logs.push(l) } });
    const six = Array.from({ length: 400 }, (_, i) => (generate(5, i).calls.length === 6 ? i : -1)).filter((i) => i >= 0);
    expect(six.length).toBeGreaterThan(0);
    expect(s.stats.sequences).toBe(400); // the campaign ran to the end
    expect(s.stats.divergences).toBe(0);
    expect(s.stats.partial ?? 0).toBeGreaterThanOrEqual(six.length);
    const kept = readdirSync(join(dir, 'model-errors')).filter((f) => f.startsWith('sample-')).sort();
    expect(kept).toEqual(six.slice(0, 20).map((i) => `sample-5-${i}.json`).sort());
    expect(existsSync(join(dir, 'model-errors', 'index.ndjson'))).toBe(true);
    expect(logs.some((l) => /^MODEL ERROR at sequence \d+ \(model bug: an assertion for the test\)/.test(l))).toBe(true);
    await ex.close();
  }, 120_000);
});
