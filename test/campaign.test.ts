// Campaign machinery without a kernel: index layout and shards, the append-only ledger under torn
// writes, order-independent guidance and findings, guided generation, and coverage guidance
// reaching more model rules than plain generation for the same number of cases.

import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../src/campaign/campaign.js';
import { detail, type Outcome } from '../src/campaign/check.js';
import type { CampaignConfig } from '../src/campaign/config.js';
import { InProcessExecutor } from '../src/campaign/executor.js';
import { lockCampaign } from '../src/campaign/lock.js';
import { Panel } from '../src/campaign/progress.js';
import type { ProgressView } from '../src/campaign/campaign.js';
import { findingTarget, FindingStore } from '../src/campaign/findings.js';
import { Guidance } from '../src/campaign/guidance.js';
import { Plan, parseShard, type Layout } from '../src/campaign/layout.js';
import { chunkLineSchema, NdjsonAppender, readNdjson } from '../src/campaign/ledger.js';
import { DEFAULT_CONFIG, generate } from '../src/gen/generate.js';
import { generateGuided, GUIDED_GENERATOR, type GuidePool } from '../src/gen/guided.js';
import { hostProfile, predict, RULE_IDS } from '../src/model/index.js';
import { parseSequence, sequenceToJson } from '../src/seq/io.js';
import { OPS } from '../src/seq/schema.js';
import { findingsOf, modelRunner, ndjson } from './campaign-support.js';
import type { Runner } from '../src/runner/types.js';
import type { SeqObservation } from '../src/seq/observation.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `vmafuzz-${p}-`));

function config(seed: number, count: number, layout: Layout, guided: boolean): CampaignConfig {
  return {
    vmafuzz: 1, kind: 'campaign', seed, count, timeMs: null, shard: { index: 0, count: 1 }, layout, gen: DEFAULT_CONFIG,
    guidance: { enabled: guided, mutantPercent: 50 }, batch: 64, stabilityRuns: 0, minimize: false, runner: { runner: 'native' },
    ops: [...OPS], rules: [...RULE_IDS], created: new Date().toISOString(),
  };
}

/** A campaign whose "kernel" is the model: coverage depends on generation alone. */
async function modelCampaign(seed: number, count: number, guided: boolean, runners = 1) {
  const dir = tmp('model');
  const cfg = config(seed, count, { chunk: 500, epochChunks: 2, segmentEpochs: 1000 }, guided);
  const profile = hostProfile();
  const ex = new InProcessExecutor(Array.from({ length: runners }, () => modelRunner(profile)), { seed, gen: DEFAULT_CONFIG, batch: 64, stabilityRuns: 0, rules: RULE_IDS, ops: OPS });
  const target = await ex.start();
  const s = await runCampaign({ dir, config: cfg, executor: ex, target, replay: (f) => f });
  return { stats: s.stats, dir };
}

/** progress.ndjson folded per chunk: pieces differ with lane speeds, the chunk's sums may not. */
function perChunk(dir: string): string[] {
  const by = new Map<number, { n: number; calls: number; cases: number; rules: number[]; ops: number[] }>();
  for (const l of ndjson(join(dir, 'progress.ndjson'))) {
    const g = l.g as number;
    const a = by.get(g) ?? { n: 0, calls: 0, cases: 0, rules: [], ops: [] };
    a.n += l.n as number;
    a.calls += l.calls as number;
    a.cases += (l.hi as number) - (l.lo as number);
    (l.rules as number[]).forEach((v, i) => (a.rules[i] = (a.rules[i] ?? 0) + v));
    (l.ops as number[]).forEach((v, i) => (a.ops[i] = (a.ops[i] ?? 0) + v));
    by.set(g, a);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([g, a]) => JSON.stringify([g, a]));
}

describe('campaign layout', () => {
  it('gives every chunk to exactly one shard, in whole segments', () => {
    const layout = { chunk: 10, epochChunks: 2, segmentEpochs: 3 };
    const plans = [0, 1, 2].map((i) => new Plan(layout, { index: i, count: 3 }, 1000));
    const owner = new Map<number, number>();
    plans.forEach((p, i) => {
      for (let g = p.nextOwned(0); g !== null; g = p.nextOwned(g + 1)) {
        expect(owner.has(g)).toBe(false);
        owner.set(g, i);
      }
    });
    expect(owner.size).toBe(100); // 1000 cases / 10
    for (let g = 0; g < 100; g++) expect(owner.get(g)).toBe(Math.floor(g / 6) % 3);
    expect(plans.reduce((n, p) => n + p.ownedCases()!, 0)).toBe(1000);
    expect(new Plan(layout, { index: 0, count: 1 }, 95).pos(9)).toMatchObject({ lo: 90, hi: 95, segment: 1, epoch: 1 });
    expect(parseShard('3/8')).toEqual({ index: 3, count: 8 });
    expect(() => parseShard('8/8')).toThrow(/0 <= i < M/);
    expect(() => parseShard('x')).toThrow(/expected i\/M/);
  });
});

describe('ledger', () => {
  const line = (g: number) => ({ g, lo: g * 10, hi: g * 10 + 10, n: 10, calls: 50, div: 0, flaky: 0, timeout: 0, crash: 0, infra: 0, ops: [1], rules: [2], first: [] });

  it('drops a torn last line, and the appender cuts it before writing on', () => {
    const f = join(tmp('ledger'), 'progress.ndjson');
    const a = new NdjsonAppender(f);
    a.add(line(0));
    a.add(line(1));
    a.flush(true);
    a.close();
    appendFileSync(f, JSON.stringify(line(2)).slice(0, 40)); // kill -9 in the middle of a write
    const r = readNdjson(f, chunkLineSchema);
    expect(r.lines.map((l) => l.g)).toEqual([0, 1]);
    expect(r.damaged).toBe(false);
    expect(r.bad).toMatch(/torn/);
    const b = new NdjsonAppender(f, r.goodBytes);
    b.add(line(2));
    b.close();
    expect(readNdjson(f, chunkLineSchema).lines.map((l) => l.g)).toEqual([0, 1, 2]);
    expect(readFileSync(f, 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
  });

  it('tells a damaged middle from a torn tail', () => {
    const f = join(tmp('ledger'), 'progress.ndjson');
    writeFileSync(f, `${JSON.stringify(line(0))}\n{"g":1,\n${JSON.stringify(line(2))}\n`);
    const r = readNdjson(f, chunkLineSchema);
    expect(r.lines).toHaveLength(1);
    expect(r.damaged).toBe(true);
  });
});

describe('coverage guidance', () => {
  it('builds the same pools whatever order chunks complete in', () => {
    const plan = new Plan({ chunk: 100, epochChunks: 2, segmentEpochs: 10 }, { index: 0, count: 1 }, 1000);
    const rules = ['a', 'b', 'c'];
    const seq = (i: number) => generate(5, i);
    const chunks = Array.from({ length: 6 }, (_, g) => ({ g, counts: [g + 1, g % 2, g === 4 ? 1 : 0], first: [{ rule: 0, index: g * 100 + 7, call: 0, seq: seq(g * 100 + 7) }, ...(g % 2 ? [{ rule: 1, index: g * 100 + 3, call: 1, seq: seq(g * 100 + 3) }] : [])] }));
    const pools = (order: number[]) => {
      const gd = new Guidance(plan, rules, 50, true);
      for (const g of order) gd.add(0, plan.pos(g).epoch, chunks[g]!.counts, chunks[g]!.first, 100);
      return [2, 3, 4].map((e) => gd.pool(0, e).entries.map((x) => `${x.rule}@${x.index}/${x.call}x${x.count}`));
    };
    const inOrder = pools([0, 1, 2, 3, 4, 5]);
    expect(pools([5, 3, 1, 4, 0, 2])).toEqual(inOrder);
    // epoch 2 sees epoch 0 (chunks 0, 1): a first at 7, b at 103; epoch 3 also sees chunks 2, 3
    expect(inOrder[0]).toEqual(['a@7/0x3', 'b@103/1x1']);
    expect(inOrder[1]).toEqual(['a@7/0x10', 'b@103/1x2']);
    const gd = new Guidance(plan, rules, 50, true);
    expect(gd.ready(0, 2)).toBe(false);
    gd.add(0, 0, [1, 0, 0], [], 100);
    gd.add(0, 0, [1, 0, 0], [], 60); // pieces of a chunk count by their cases
    expect(gd.ready(0, 2)).toBe(false);
    gd.add(0, 0, [1, 0, 0], [], 40);
    expect(gd.ready(0, 2)).toBe(true);
    expect(gd.ready(0, 3)).toBe(false);
  });

  it('generates valid, in-arena, reproducible mutants of pool sequences', () => {
    const entries = [3, 8, 13, 21].map((i) => ({ rule: RULE_IDS[i]!, index: i, call: 0, seq: generate(9, i), count: i }));
    const pool: GuidePool = { entries, mutantPercent: 100 };
    let mutants = 0;
    for (let i = 0; i < 400; i++) {
      const s = generateGuided(9, 1000 + i, DEFAULT_CONFIG, pool);
      expect(sequenceToJson(generateGuided(9, 1000 + i, DEFAULT_CONFIG, pool))).toBe(sequenceToJson(s));
      expect(() => parseSequence(JSON.parse(sequenceToJson(s)), `mutant ${i}`)).not.toThrow();
      if (s.origin?.generator === GUIDED_GENERATOR) mutants++;
    }
    expect(mutants).toBeGreaterThan(350);
    // without a pool, guided generation is plain generation
    expect(sequenceToJson(generateGuided(9, 5, DEFAULT_CONFIG, { entries: [], mutantPercent: 50 }))).toBe(sequenceToJson(generate(9, 5)));
  });

  it('reaches more model rules than unguided generation for the same number of cases', async () => {
    for (const seed of [1, 1 << 20]) {
      const plain = await modelCampaign(seed, 12000, false);
      const guided = await modelCampaign(seed, 12000, true);
      const a = plain.stats.rules!;
      const b = guided.stats.rules!;
      expect(guided.stats.rulesHit, `seed ${seed}`).toBeGreaterThan(plain.stats.rulesHit + 2);
      // and it dwells where rare rules fire: rules plain generation hit < 20 times fire far more often
      const rare = Object.keys(a).filter((r) => a[r]! > 0 && a[r]! < 20);
      expect(rare.length).toBeGreaterThan(0);
      expect(rare.reduce((n, r) => n + b[r]!, 0)).toBeGreaterThan(5 * rare.reduce((n, r) => n + a[r]!, 0));
    }
  }, 240_000);

  it('counts the sequences the model could judge only up to a call it declines to predict', async () => {
    const { stats, dir } = await modelCampaign(7, 3000, false);
    let expected = 0;
    for (let i = 0; i < 3000; i++) if (predict(generate(7, i), hostProfile(), { snapshotEveryCall: false }).unsupported) expected++;
    expect(expected).toBeGreaterThan(0);
    expect(stats.partial).toBe(expected);
    expect(ndjson(join(dir, 'progress.ndjson')).reduce((n, l) => n + (l.partial as number), 0)).toBe(expected);
  }, 60_000);

  it('minimizes new findings during a time-budgeted campaign while another lane goes on fuzzing', async () => {
    const dir = tmp('minimize');
    const cfg = { ...config(11, 0, { chunk: 200, epochChunks: 2, segmentEpochs: 1000 }, false), count: null, timeMs: 5000, minimize: true };
    // the "kernel" is the model; the campaign judges with a wrong one, so it has findings to minimize
    // lanes of different speeds, so that their chunks end at different times as real lanes' do
    const slow = (ms: number): Runner => {
      const r = modelRunner(hostProfile());
      return { ...r, run: async (b, o) => (await new Promise((res) => setTimeout(res, ms)), r.run(b, o)) };
    };
    const ex = new InProcessExecutor([slow(3), slow(7)], { seed: 11, gen: DEFAULT_CONFIG, batch: 64, stabilityRuns: 0, rules: RULE_IDS, ops: OPS }, { baseMapCount: 65524 });
    const target = await ex.start();
    const minimizedAt: number[] = [];
    const deadline = Date.now() + 5000;
    const s = await runCampaign({ dir, config: cfg, executor: ex, target, replay: (f) => f, deadline, minimizeMs: 1500, tickMs: 50, events: { onMinimized: () => minimizedAt.push(Date.now()) } });
    const found = findingsOf(dir);
    expect(found.length).toBeGreaterThan(0);
    expect(minimizedAt.length).toBeGreaterThan(0);
    expect(minimizedAt[0]).toBeLessThan(deadline); // not only in the drain at the end
    const chunksAfter = ndjson(join(dir, 'progress.ndjson')).length;
    expect(chunksAfter).toBeGreaterThan(2); // fuzzing went on
    expect(readdirSync(join(dir, 'findings')).filter((f) => existsSync(join(dir, 'findings', f, 'minimized.json'))).length).toBe(minimizedAt.length);
    expect(s.interrupted).toBe(false);
  }, 60_000);

  it('does not depend on scheduling: one runner or two give the same per-chunk results', async () => {
    const one = await modelCampaign(3, 4000, true, 1);
    const two = await modelCampaign(3, 4000, true, 2);
    expect(perChunk(two.dir)).toEqual(perChunk(one.dir));
    expect(perChunk(one.dir)).toHaveLength(8);
  }, 120_000);
});

describe('campaign directory lock', () => {
  const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')) as Record<string, unknown>;
  it('refuses a second holder naming it, and takes over a lock whose process is gone', () => {
    const dir = tmp('lock');
    const a = lockCampaign(dir, 'fuzz --out x');
    expect(lockOf(dir)).toMatchObject({ pid: process.pid, host: hostname(), command: 'fuzz --out x' });
    expect(() => lockCampaign(dir)).toThrow(new RegExp(`in use by another vmafuzz: pid ${process.pid}, started .* \\(vmafuzz fuzz --out x\\)`));
    a.release();
    expect(existsSync(join(dir, 'lock'))).toBe(false);
    // stale: a process that has exited; our own pid with another start time (pid reuse)
    const dead = spawnSync('true').pid!;
    const mine = lockOf(((d) => (lockCampaign(d), d))(tmp('lock')));
    for (const stale of [{ ...mine, pid: dead }, { ...mine, startTicks: (mine.startTicks as number) + 1 }]) {
      writeFileSync(join(dir, 'lock'), JSON.stringify(stale));
      lockCampaign(dir, 'fuzz --resume x').release();
    }
    // another host cannot be checked: refused, with the host and the file to remove
    writeFileSync(join(dir, 'lock'), JSON.stringify({ ...mine, host: 'elsewhere' }));
    expect(() => lockCampaign(dir)).toThrow(/on host elsewhere \(cannot check from here; delete .*lock if that process is gone\)/);
  });
});

describe('progress panel', () => {
  it('fits every line in the terminal and the panel in its height (no stale rows left behind)', async () => {
    const dir = tmp('panel');
    const ex = new InProcessExecutor([modelRunner(hostProfile())], { seed: 2, gen: DEFAULT_CONFIG, batch: 64, stabilityRuns: 0, rules: RULE_IDS, ops: OPS });
    let view: ProgressView | undefined;
    await runCampaign({ dir, config: config(2, 300, { chunk: 100, epochChunks: 2, segmentEpochs: 10 }, false), executor: ex, target: await ex.start(), replay: (f) => f, tickMs: 1, events: { onTick: (v) => (view = v) } });
    expect(view).toBeDefined();
    for (const [columns, rows] of [[70, 12], [200, 60]] as const) {
      let text = '';
      const out = { columns, rows, write: (t: string) => ((text += t), true) } as unknown as NodeJS.WriteStream;
      const p = new Panel(out);
      p.draw(view!);
      p.draw(view!);
      const drawn = text.split('\x1b[2K').slice(1).map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '').replace(/\n$/, ''));
      expect(drawn.length).toBeGreaterThan(0);
      for (const l of drawn) expect(l.length, JSON.stringify(l)).toBeLessThan(columns);
      expect(drawn.length / 2).toBeLessThan(rows);
      expect(text).toContain(`\x1b[${drawn.length / 2}F`); // the redraw goes up exactly over the first
    }
  }, 60_000);
});

describe('sequences the kernel did not finish', () => {
  it('records a crashed child as a replayable finding, and keeps timed-out samples for replay', async () => {
    // the "kernel" is the model, except that sequences of 7 calls crash at their 4th call and
    // sequences of 5 calls time out there: what the harness reports (harness-protocol.md)
    const model = modelRunner(hostProfile());
    const cut = (o: SeqObservation, status: 'crash' | 'timeout', detail: string): SeqObservation => ({
      calls: o.calls.slice(0, 3), snapshots: o.snapshots.filter((sn) => sn.after < 3), status, detail,
    });
    const runner: Runner = {
      ...model,
      run: async (b, o) => (await model.run(b, o)).map((k, i) => (b[i]!.calls.length === 7 ? cut(k, 'crash', '6') : b[i]!.calls.length === 5 ? cut(k, 'timeout', '') : k)),
    };
    const dir = tmp('crash');
    const cfg = config(12, 1000, { chunk: 500, epochChunks: 2, segmentEpochs: 1000 }, false);
    const ex = new InProcessExecutor([runner], { seed: 12, gen: DEFAULT_CONFIG, batch: 64, stabilityRuns: 1, rules: RULE_IDS, ops: OPS });
    const s = await runCampaign({ dir, config: cfg, executor: ex, target: await ex.start(), replay: (f) => `replay ${f}` });
    const crashed = Array.from({ length: 1000 }, (_, i) => generate(12, i)).filter((q) => q.calls.length === 7).length;
    const hung = Array.from({ length: 1000 }, (_, i) => generate(12, i).calls.length === 5 ? i : -1).filter((i) => i >= 0);
    // a crash at a call the model declines to predict (Prediction.unsupported) is no divergence
    const judged = Array.from({ length: 1000 }, (_, i) => generate(12, i)).filter((q) => q.calls.length === 7 && !((predict(q, hostProfile(), { snapshotEveryCall: false }).unsupported?.call ?? 99) <= 3)).length;
    expect(crashed).toBeGreaterThan(0);
    expect(judged).toBeGreaterThan(0);
    expect(s.stats.crash).toBe(crashed - judged); // only the crashes that could not be judged are indeterminate
    expect(s.stats.divergences).toBe(judged); // each is judged: the model predicts no crash
    expect(s.stats.flaky).toBe(0);
    const f = findingsOf(dir).filter((x) => x.signatureText.includes('child-crash'));
    expect(f.reduce((n, x) => n + x.count, 0)).toBe(judged);
    expect(f.every((x) => x.layer === 'result')).toBe(true);
    for (const x of f) expect(existsSync(join(dir, 'findings', x.signature, (x.samples as Array<{ file: string }>)[0]!.file))).toBe(true);
    // the lowest-index timed-out sequences are kept as corpus files
    expect(s.stats.timeout).toBe(hung.length);
    const kept = readdirSync(join(dir, 'timeouts')).filter((n) => n.startsWith('sample-')).sort();
    expect(kept).toEqual(hung.slice(0, 20).map((i) => `sample-12-${i}.json`).sort());
    expect(parseSequence(JSON.parse(readFileSync(join(dir, 'timeouts', kept[0]!), 'utf8')), 'timeout sample').calls).toHaveLength(5);
  }, 60_000);

  it('keeps sequences the harness could not run (infra) with its reason, not judged', async () => {
    // the "kernel" is the model, except that sequences of a multiple of 3 calls end with a harness error
    const model = modelRunner(hostProfile());
    const runner: Runner = {
      ...model,
      run: async (b, o) => (await model.run(b, o)).map((k, i) => (b[i]!.calls.length % 3 === 0 ? { calls: [], snapshots: [], status: 'infra' as const, detail: 'harness: error file-setup-failed' } : k)),
    };
    const dir = tmp('infra');
    const cfg = config(12, 1000, { chunk: 500, epochChunks: 2, segmentEpochs: 1000 }, false);
    const ex = new InProcessExecutor([runner], { seed: 12, gen: DEFAULT_CONFIG, batch: 64, stabilityRuns: 1, rules: RULE_IDS, ops: OPS });
    const logs: string[] = [];
    const s = await runCampaign({ dir, config: cfg, executor: ex, target: await ex.start(), replay: (f) => `replay ${f}`, events: { log: (l: string) => logs.push(l) } });
    // a sequence the model declines before its first call is partial, not infra (work.ts)
    const failed = Array.from({ length: 1000 }, (_, i) => (generate(12, i).calls.length % 3 === 0 && predict(generate(12, i), hostProfile(), { snapshotEveryCall: false }).unsupported?.call !== 0 ? i : -1)).filter((i) => i >= 0);
    expect(failed.length).toBeGreaterThan(20);
    expect(s.stats.infra).toBe(failed.length);
    expect(s.stats.divergences).toBe(0);
    const kept = readdirSync(join(dir, 'infra')).filter((n) => n.startsWith('sample-')).sort();
    expect(kept).toEqual(failed.slice(0, 20).map((i) => `sample-12-${i}.json`).sort());
    const index = readFileSync(join(dir, 'infra', 'index.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { i: number; detail: string });
    expect(index.map((e) => e.detail)).toEqual(index.map(() => 'harness: error file-setup-failed'));
    expect(logs.filter((l) => l.includes('could not be run (harness: error file-setup-failed)')).length).toBeGreaterThanOrEqual(index.length);
  }, 60_000);
});

describe('findings store', () => {
  it('keeps the same samples and reports whatever order divergences arrive in', async () => {
    // kernel = the real model, judged by a wrong one: deterministic divergences without a kernel
    const kernel = modelRunner(hostProfile());
    const wrong = hostProfile({ baseMapCount: 65524 });
    const outs: Outcome[] = [];
    for (let i = 0; outs.length < 40 && i < 2000; i++) {
      const s = generate(4, i);
      const k = predict(s, hostProfile(), { snapshotEveryCall: false });
      if (predict(s, wrong, { snapshotEveryCall: false }).calls.every((c, j) => c.errno === k.calls[j]!.errno)) continue;
      const o = await detail(kernel, wrong, s, { stabilityRuns: 0 });
      if (o.divergence) outs.push(o);
    }
    expect(outs.length).toBe(40);
    const record = (order: Outcome[]) => {
      const dir = tmp('store');
      const st = new FindingStore(dir);
      for (const o of order) st.record(o, { runner: 'model', release: 'x' }, (f) => `replay ${f.slice(dir.length)}`, 'divergence');
      return dir;
    };
    const a = record(outs);
    const b = record([...outs].reverse());
    expect(findingsOf(b)).toEqual(findingsOf(a));
    const fs = findingsOf(a);
    expect(fs.reduce((n, f) => n + f.count, 0)).toBe(40);
    for (const f of fs) {
      const d = (dir: string) => readFileSync(join(dir, 'findings', f.signature, 'detail.json'), 'utf8');
      expect(d(b)).toBe(d(a));
      expect(JSON.parse(d(a)).sample).toBe((f.samples as Array<{ file: string }>)[0]!.file);
    }
  });

  it('carries the probed facts that differ from upstream defaults into finding.json and report.txt', async () => {
    const kernel = modelRunner(hostProfile());
    const wrong = hostProfile({ baseMapCount: 65524 });
    let o: Outcome | undefined;
    for (let i = 0; !o && i < 2000; i++) {
      const r = await detail(kernel, wrong, generate(4, i), { stabilityRuns: 0 });
      if (r.divergence) o = r;
    }
    const dir = tmp('store-facts');
    const st = new FindingStore(dir);
    const usual = st.record(o!, findingTarget({ runner: 'model', release: 'x', facts: { zero_page: '1', thp: 'madvise' } }), (f) => f, 'divergence');
    expect(usual.finding.target).toEqual({ runner: 'model', release: 'x' });
    rmSync(join(dir, 'findings'), { recursive: true });
    const res = st.record(o!, findingTarget({ runner: 'model', release: 'x', facts: { zero_page: '0', thp: 'madvise' } }), (f) => f, 'divergence');
    expect(JSON.parse(readFileSync(join(res.dir, 'finding.json'), 'utf8')).target).toEqual({ runner: 'model', release: 'x', facts: { zero_page: '0' } });
    expect(readFileSync(join(res.dir, 'report.txt'), 'utf8')).toMatch(/target: +model, kernel x; zero_page=0/);
  });
});
