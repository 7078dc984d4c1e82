// A campaign ends promptly after its deadline even when a lane never comes back (a model loop, a
// hung harness): it waits for the pieces in flight only as long as a few of the slowest lane's
// batches take (at least 10 s, campaign.ts:stopGraceMs), says what it waits for, and loses no
// finding: those of the batches a stuck piece judged before it stuck were recorded as they came.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCampaign, stopGraceMs, type ProgressView } from '../src/campaign/campaign.js';
import type { CampaignConfig } from '../src/campaign/config.js';
import { InProcessExecutor } from '../src/campaign/executor.js';
import { heartbeatLine } from '../src/campaign/progress.js';
import { DEFAULT_CONFIG } from '../src/gen/generate.js';
import { hostProfile, RULE_IDS } from '../src/model/index.js';
import type { Runner } from '../src/runner/types.js';
import { OPS } from '../src/seq/schema.js';
import { findingsOf, modelRunner, ndjson } from './campaign-support.js';

describe('stopping a campaign', () => {
  it('waits three batches of the slowest lane, between 10 s and 2 minutes', () => {
    expect(stopGraceMs(64, [])).toBe(120_000); // no lane measured yet (a slow VM's first piece)
    expect(stopGraceMs(64, [300, 150])).toBe(10_000); // native: a batch is well under a second
    expect(stopGraceMs(64, [300, 4])).toBe(48_000); // a lane at 4 sequences/s
    expect(stopGraceMs(64, [0.5])).toBe(120_000);
  });

  it('gives up on a stuck lane ~10 s after the stop, keeping the findings it judged before it stuck', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-stop-'));
    const cfg: CampaignConfig = {
      vmafuzz: 1, kind: 'campaign', seed: 17, count: null, timeMs: 3000, shard: { index: 0, count: 1 }, layout: { chunk: 4096, epochChunks: 2, segmentEpochs: 1000 },
      gen: DEFAULT_CONFIG, guidance: { enabled: false, mutantPercent: 50 }, batch: 64, stabilityRuns: 0, minimize: false, runner: { runner: 'native' },
      ops: [...OPS], rules: [...RULE_IDS], created: new Date().toISOString(),
    };
    // the "kernel" is the model; the second lane never answers its 6th batch nor anything after
    // it: its first piece is one batch, its second (pieces of a minute of work: the whole chunk)
    // has judged four then. Stop (as --time would) half a second later.
    let hungAt = 0;
    const lane = (hangs: boolean): Runner => {
      const r = modelRunner(hostProfile());
      let batches = 0;
      return {
        ...r,
        run: async (b, o) => {
          if (hangs && (hungAt || (!o.snapshotEveryCall && ++batches === 6))) {
            hungAt ||= Date.now();
            await new Promise(() => {});
          }
          return r.run(b, o);
        },
      };
    };
    let stopAt = 0;
    const shouldStop = () => (stopAt ||= hungAt && Date.now() > hungAt + 500 ? Date.now() : 0) > 0;
    // judged with a model that believes the process is 6 VMAs short of vm.max_map_count: findings
    const ex = new InProcessExecutor([lane(false), lane(true)], { seed: 17, gen: DEFAULT_CONFIG, batch: 64, stabilityRuns: 0, rules: RULE_IDS, ops: OPS }, { baseMapCount: 65524 });
    const target = await ex.start();
    const lines: string[] = [];
    const logs: string[] = [];
    const s = await runCampaign({
      dir, config: cfg, executor: ex, target, replay: (f) => f, shouldStop, pieceMs: 60_000, tickMs: 100, statsEveryMs: 1000,
      events: { log: (l) => logs.push(l), onTick: (v: ProgressView) => v.stopping && lines.push(heartbeatLine(v)) },
    });
    const ended = Date.now();
    expect(ended - stopAt).toBeGreaterThanOrEqual(10_000 - 200);
    // the grace is three batches of the slowest lane (10 s at the least): the first stopping line
    // says it; a loaded machine's slow model lane makes it longer, never the 2 minutes it used to wait
    const grace = Number(/at most (\d+) s more/.exec(lines[0] ?? '')?.[1]) * 1000;
    expect(grace).toBeGreaterThanOrEqual(9_000);
    expect(grace).toBeLessThan(120_000);
    expect(ended - stopAt).toBeLessThan(grace + 4_000);
    // the progress line said what it was waiting for, and the log what it gave up
    expect(lines.at(-1)).toMatch(/; stopping: 1 piece to checkpoint \(at most \d+ s more\)$/);
    expect(logs.join('\n')).toContain('gave up on 1 piece(s) still running');
    // findings recorded outside every checkpointed piece: the stuck piece's, streamed per batch
    const pieces = ndjson(join(dir, 'progress.ndjson')).map((l) => [l.lo as number, l.hi as number]);
    const recorded = ndjson(join(dir, 'recorded.ndjson')).map((l) => l.i as number);
    const outside = recorded.filter((i) => !pieces.some(([lo, hi]) => lo! <= i && i < hi!));
    expect(outside.length).toBeGreaterThan(0);
    // every recorded finding is in the store (counts reconciled with recorded.ndjson)
    expect(findingsOf(dir).reduce((n, f) => n + f.count, 0)).toBe(recorded.length);
    // the final stats count only checkpointed pieces (the stuck one's cases run again on --resume)
    expect(s.stats.sequences).toBe(ndjson(join(dir, 'progress.ndjson')).reduce((n, l) => n + (l.n as number), 0));
    await ex.close();
  }, 60_000);
});
