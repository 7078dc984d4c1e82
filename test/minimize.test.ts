// The minimizer: candidate generation (pure), then real minimizations on the host kernel of
// findings produced by deliberately wrong models (test/helpers/wrong-model.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../src/gen/generate.js';
import { judge, modelPredictor, type Judgement, type Predictor } from '../src/findings/judge.js';
import { minimizeJudgement, minimizeOutcome, minimizeSequence } from '../src/findings/minimize.js';
import { argumentCandidates, cost, isValid, relatedCalls, withoutCalls } from '../src/findings/shrink.js';
import { detail } from '../src/campaign/check.js';
import { makeProfile, type Profile } from '../src/model/index.js';
import { NativeRunner } from '../src/runner/native.js';
import { loadSequenceFile, parseSequence } from '../src/seq/io.js';
import type { SeqObservation } from '../src/seq/observation.js';
import type { Sequence } from '../src/seq/schema.js';
import { minimizeJson } from '../src/cli/json.js';
import { wrongMerge, wrongNoEnomem } from './helpers/wrong-model.js';

const seq = (arenaPages: number, calls: unknown[]): Sequence => parseSequence({ vmafuzz: 1, arenaPages, calls }, 'test');
const FIXED = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

describe('minimizer candidates', () => {
  const s = seq(32, [
    { op: 'mmap', addr: 'A+4p', len: '8p', prot: 'PROT_READ|PROT_WRITE', flags: `${FIXED}|MAP_NORESERVE` },
    { op: 'mprotect', addr: 'A+6p+0x10', len: '2p', prot: 'PROT_READ|PROT_EXEC' },
    { op: 'touch', addr: 'A+7p', access: 'write' },
  ]);

  it('offers only valid, strictly cheaper variants, and every kind of simplification', () => {
    const cands = argumentCandidates(s);
    expect(cands.length).toBeGreaterThan(10);
    for (const c of cands) {
      expect(isValid(c)).toBe(true);
      expect(cost(c)).toBeLessThan(cost(s));
      expect(c.calls).toHaveLength(3);
    }
    const first = (f: (c: Sequence) => boolean) => cands.some(f);
    const mmap = (c: Sequence) => c.calls[0] as Extract<Sequence['calls'][number], { op: 'mmap' }>;
    expect(first((c) => mmap(c).len < 8n * 4096n)).toBe(true); // fewer pages
    expect(first((c) => (mmap(c).flags & 0x4000) === 0)).toBe(true); // MAP_NORESERVE dropped
    expect(cands.every((c) => (mmap(c).flags & 0x23) === 0x22)).toBe(true); // never MAP_ANONYMOUS or the map type
    expect(first((c) => c.calls[1]!.op === 'mprotect' && (c.calls[1] as { addr: { off: number } }).addr.off === 0)).toBe(true); // aligned
    expect(first((c) => c.calls[2]!.op === 'touch' && (c.calls[2] as { access: string }).access === 'read')).toBe(true);
    // cutting the bottom of the arena moves every address down with it
    const cut = cands.find((c) => c.arenaPages === 28 && mmap(c).addr!.page === 0);
    expect(cut?.calls.map((x) => (x as { addr: { page: number } }).addr.page)).toEqual([0, 2, 3]);
    expect(first((c) => c.arenaPages < 32 && mmap(c).addr!.page === 4)).toBe(true); // top cut
    // a candidate never leaves the arena
    expect(cands.some((c) => c.arenaPages < 12 && mmap(c).addr!.page === 4 && mmap(c).len === 8n * 4096n)).toBe(false);
  });

  it('drops the origin with any removed call and keeps only related calls', () => {
    const g = generate(7, 3);
    expect(g.origin).toBeDefined();
    expect(withoutCalls(g, new Set([0])).origin).toBeUndefined();
    const t = seq(32, [
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: 'PROT_READ', flags: FIXED }, // 0: related (adjacent to 1 only with padding)
      { op: 'mmap', addr: 'A+4p', len: '4p', prot: 'PROT_READ|PROT_WRITE', flags: FIXED }, // 1: related (overlaps 3)
      { op: 'mmap', addr: 'A+20p', len: '4p', prot: 'PROT_READ', flags: FIXED }, // 2: far away
      { op: 'mprotect', addr: 'A+4p', len: '2p', prot: 'PROT_READ' }, // 3: the divergent call
    ]);
    const kernel: SeqObservation = { calls: [], snapshots: [], status: 'ok' };
    expect(relatedCalls(t, kernel, 3, false)).toEqual([1, 3]);
    expect(relatedCalls(t, kernel, 3, true)).toEqual([0, 1, 3]);
  });
});

describe('minimize on the host kernel', () => {
  let runner: NativeRunner;
  let profile: Profile;
  beforeAll(async () => {
    runner = new NativeRunner();
    const t = await runner.start();
    profile = makeProfile(t.release, t.facts);
  });
  afterAll(() => runner.close());

  /** Generated sequences that the wrong model gets wrong and the real model gets right. */
  async function findings(wrong: Predictor, count: number): Promise<Judgement[]> {
    const seqs = Array.from({ length: 300 }, (_, i) => generate(20240501, i));
    const kernel = await runner.run(seqs, { snapshotEveryCall: true });
    const bySig = new Map<string, Judgement>();
    seqs.forEach((s, i) => {
      const w = judge(wrong, profile, s, kernel[i]!);
      if (w.kernel.status !== 'ok' || !w.signature || judge(modelPredictor, profile, s, kernel[i]!).divergence) return;
      const prev = bySig.get(w.signature);
      if (!prev || prev.seq.calls.length < s.calls.length) bySig.set(w.signature, w); // the longest: most to remove
    });
    return [...bySig.values()].sort((a, b) => b.seq.calls.length - a.seq.calls.length).slice(0, count);
  }

  /** Removing any single call of a minimized sequence loses the signature (1-minimality), checked on the kernel. */
  async function oneMinimal(s: Sequence, sig: string, wrong: Predictor): Promise<boolean> {
    const cands = s.calls.map((_, i) => withoutCalls(s, new Set([i]))).filter(isValid);
    const k = await runner.run(cands, { snapshotEveryCall: true });
    return cands.every((c, i) => judge(wrong, profile, c, k[i]!).signature !== sig);
  }

  for (const [name, wrong] of [['merges look-alike VMAs', wrongMerge], ['drops ENOMEM', wrongNoEnomem]] as const) {
    it(`shrinks findings of a model that ${name} to a handful of calls`, async () => {
      const found = await findings(wrong, 3);
      expect(found.length).toBeGreaterThan(0);
      for (const f of found) {
        const t0 = Date.now();
        const r = await minimizeJudgement(runner, profile, f, { predictor: wrong });
        const ms = Date.now() - t0;
        console.log(`[${name}] ${f.signatureText}: ${f.seq.calls.length} -> ${r.seq.calls.length} calls, arena ${f.seq.arenaPages} -> ${r.seq.arenaPages} pages, ${r.stats.candidates} candidates in ${r.stats.batches} batches, ${ms} ms`);
        expect(r.confirmed).toBe(true);
        expect(r.confirm).toEqual({ runs: 3, same: 3 });
        expect(r.signature).toBe(f.signature);
        expect(r.seq.calls.length).toBeLessThanOrEqual(5);
        expect(r.seq.calls.length).toBeLessThanOrEqual(f.seq.calls.length);
        expect(r.seq.arenaPages).toBeLessThanOrEqual(f.seq.arenaPages);
        expect(r.seq.origin).toBeUndefined();
        expect(isValid(r.seq)).toBe(true);
        // the result still shows the wrong rule, and only the wrong rule
        const [k] = await runner.run([r.seq], { snapshotEveryCall: true });
        expect(judge(wrong, profile, r.seq, k!).signature).toBe(f.signature);
        expect(judge(modelPredictor, profile, r.seq, k!).divergence).toBeNull();
        expect(await oneMinimal(r.seq, f.signature!, wrong)).toBe(true);
      }
    }, 300_000);
  }

  it('minimizes a campaign Outcome (the entry point for fuzz) and reports a matching file as such', async () => {
    const [f] = await findings(wrongMerge, 1);
    // An Outcome as check.ts:detail makes it, but judged by the wrong model.
    const o = { ...f!, stable: { runs: 2, same: 2 } } as unknown as Parameters<typeof minimizeOutcome>[2];
    const r = await minimizeOutcome(runner, profile, o, { predictor: wrongMerge, confirmRuns: 2 });
    expect(r).not.toBeNull();
    expect(r!.confirm).toEqual({ runs: 2, same: 2 });
    expect(r!.seq.calls.length).toBeLessThan(f!.seq.calls.length + 1);
    // with the real model the campaign's own detail() outcome does not diverge: nothing to minimize
    const real = await detail(runner, profile, f!.seq, { stabilityRuns: 0 });
    expect(real.divergence).toBeNull();
    expect(await minimizeOutcome(runner, profile, real)).toBeNull();
    const rep = await minimizeSequence(runner, profile, loadSequenceFile('corpus/seed/merge-new-prev-next.json'));
    expect(rep.status).toBe('match');
  }, 300_000);

  it('vmafuzz minimize: exit 0 and nothing written for a file that matches, 2 for bad input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-min-'));
    const out = join(dir, 'out.json');
    const r = await execa(process.execPath, [CLI, 'minimize', 'corpus/seed/mprotect-split-and-remerge.json', '--out', out, '--json'], { reject: false });
    expect(r.exitCode).toBe(0);
    const doc = minimizeJson.parse(JSON.parse(r.stdout));
    expect(doc.status).toBe('match');
    expect(doc.out).toBeUndefined();
    expect(() => readFileSync(out)).toThrow();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ vmafuzz: 1, arenaPages: 4, calls: [{ op: 'munmap', addr: 'A+3p', len: '2p' }] }));
    const b = await execa(process.execPath, [CLI, 'minimize', bad], { reject: false });
    expect(b.exitCode).toBe(2);
    expect(b.stderr).toContain('$.calls[0]');
  }, 120_000);
});
