// Campaigns on the host kernel through the built CLI, with a deliberately wrong model so that
// there are findings: shards merged equal one unsharded run, kill -9 then --resume loses nothing
// and records nothing twice, Ctrl-C writes the summary and --resume finishes the job.

import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { statsLineSchema } from '../src/campaign/config.js';
import { fuzzJson, reportJson } from '../src/cli/json.js';
import { CLI, ensureBuilt, findingsOf, ndjson, SMALL_LAYOUT, vmafuzz, WRONG_PROFILE } from './campaign-support.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'vmafuzz-camp-'));
const wrong = ['--profile-override', WRONG_PROFILE, '--no-minimize', '--progress', 'off', ...SMALL_LAYOUT];

beforeAll(ensureBuilt, 600_000);

const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0);

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('campaign on the host kernel', () => {
  it('two shards merged give exactly the findings of one unsharded run', async () => {
    const base = tmp();
    const args = ['fuzz', '--count', '4800', '--seed', '21', ...wrong];
    const one = await vmafuzz([...args, '--jobs', '1', '--out', join(base, 'all'), '--json']);
    expect(one.exitCode, one.stderr).toBe(1);
    const all = fuzzJson.parse(JSON.parse(one.stdout));
    expect(all.unique).toBeGreaterThan(3);
    for (const i of [0, 1]) {
      const r = await vmafuzz([...args, '--shard', `${i}/2`, '--jobs', '2', '--out', join(base, `s${i}`)]);
      expect(r.stderr.split('\n')[0]).toBe(`vmafuzz fuzz: seed 21 shard ${i}/2`);
      expect([0, 1]).toContain(r.exitCode);
    }
    // the shards ran disjoint chunks that together are the unsharded run's
    const chunks = (d: string) => ndjson(join(base, d, 'progress.ndjson')).map((l) => l.g as number);
    const s0 = chunks('s0');
    const s1 = chunks('s1');
    expect(s0.filter((g) => s1.includes(g))).toEqual([]);
    expect([...s0, ...s1].sort((a, b) => a - b)).toEqual(chunks('all').sort((a, b) => a - b));
    expect(findingsOf(join(base, 's0'))).not.toEqual(findingsOf(join(base, 'all')));

    const m = await vmafuzz(['report', '--merge', join(base, 's0'), join(base, 's1'), '--out', join(base, 'merged'), '--json']);
    expect(m.exitCode, m.stderr).toBe(1);
    expect(findingsOf(join(base, 'merged'))).toEqual(findingsOf(join(base, 'all')));
    const merged = reportJson.parse(JSON.parse(m.stdout));
    const single = reportJson.parse(JSON.parse((await vmafuzz(['report', join(base, 'all'), '--json'])).stdout));
    expect(merged.kind).toBe('merged');
    expect(merged.sources.map((s) => s.shard.index)).toEqual([0, 1]);
    expect(merged.totals).toEqual(single.totals);
    expect(merged.rules).toEqual(single.rules);
    expect(merged.findings.map((f) => [f.signature, f.count, f.samples])).toEqual(single.findings.map((f) => [f.signature, f.count, f.samples]));
  }, 300_000);

  it('re-running the same campaign yields the same finding directories (deterministic signatures)', async () => {
    const base = tmp();
    const args = ['fuzz', '--count', '2400', '--seed', '8', ...wrong, '--jobs', '2'];
    const a = await vmafuzz([...args, '--out', join(base, 'a')]);
    const b = await vmafuzz([...args, '--out', join(base, 'b')]);
    expect(a.exitCode, a.stderr).toBe(1);
    expect(b.exitCode, b.stderr).toBe(1);
    const fa = findingsOf(join(base, 'a'));
    expect(fa.length).toBeGreaterThan(0);
    expect(findingsOf(join(base, 'b'))).toEqual(fa);
    expect(readdirSync(join(base, 'b', 'findings')).sort()).toEqual(readdirSync(join(base, 'a', 'findings')).sort());
  }, 300_000);

  it('kill -9 mid-campaign, then --resume: nothing lost, nothing recorded twice', async () => {
    const base = tmp();
    const args = ['fuzz', '--count', '6000', '--seed', '33', ...wrong];
    const ref = await vmafuzz([...args, '--jobs', '1', '--out', join(base, 'ref')]);
    expect(ref.exitCode, ref.stderr).toBe(1);

    const dir = join(base, 'victim');
    const child = spawn(process.execPath, [CLI, ...args, '--jobs', '2', '--out', dir], { stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    await waitFor(() => lines(join(dir, 'progress.ndjson')) >= 4 && lines(join(dir, 'recorded.ndjson')) > 0, 120_000);
    child.kill('SIGKILL');
    await exited;
    const before = findingsOf(dir);
    const chunksBefore = lines(join(dir, 'progress.ndjson'));
    expect(chunksBefore).toBeLessThan(30); // it really was mid-campaign
    expect(before.length).toBeGreaterThan(0);
    // as if the kill had also torn the line being written
    appendFileSync(join(dir, 'progress.ndjson'), '{"g":29,"lo":5800,"hi":6000,"n":2');

    const again = await vmafuzz(['fuzz', '--resume', dir, '--jobs', '2', '--progress', 'off', '--json']);
    expect(again.exitCode, again.stderr).toBe(1);
    expect(again.stderr.split('\n')[0]).toBe(`vmafuzz fuzz: seed 33 (resuming ${dir})`);
    const s = fuzzJson.parse(JSON.parse(again.stdout));
    expect(s.complete).toBe(true);
    expect(s.totalSequences).toBe(6000);

    // nothing lost: every finding seen before the kill is still there, at least as often
    const after = findingsOf(dir);
    for (const f of before) expect(after.find((a) => a.signature === f.signature)?.count ?? 0).toBeGreaterThanOrEqual(f.count);
    // nothing twice: each chunk and each recorded case appears once, and the result equals an uninterrupted run
    const g = ndjson(join(dir, 'progress.ndjson')).map((l) => l.g as number);
    expect(new Set(g).size).toBe(g.length);
    expect(g.length).toBe(30);
    const rec = ndjson(join(dir, 'recorded.ndjson')).map((l) => l.i as number);
    expect(new Set(rec).size).toBe(rec.length);
    expect(rec.sort((a, b) => a - b)).toEqual(ndjson(join(base, 'ref', 'recorded.ndjson')).map((l) => l.i as number).sort((a, b) => a - b));
    expect(after).toEqual(findingsOf(join(base, 'ref')));
  }, 300_000);

  it('Ctrl-C writes the summary and the last stats line; --resume finishes the campaign', async () => {
    const dir = join(tmp(), 'c');
    const child = spawn(process.execPath, [CLI, 'fuzz', '--count', '8000', '--seed', '5', '--ops', 'core', '--jobs', '1', '--out', dir, '--progress', 'lines', '--stats-every', '200ms', ...SMALL_LAYOUT], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    await waitFor(() => lines(join(dir, 'progress.ndjson')) >= 2, 120_000);
    child.kill('SIGINT');
    expect(await code).toBe(0);
    expect(stderr.split('\n')[0]).toBe('vmafuzz fuzz: seed 5');
    expect(stderr).toMatch(/SIGINT: finishing the chunks in flight/);
    expect(stderr).toMatch(/\(interrupted\); campaign total \d+ sequences/);
    expect(stderr).toContain(`continue with: vmafuzz fuzz --resume`);
    expect(stderr).toMatch(/\[\d+s\] [\d,]+\/8,000 sequences \([\d,]+\/s, [\d,]+ calls\/s\), 0 unique \/ 0 divergences/);
    const stats = ndjson(join(dir, 'stats.ndjson')).map((l) => statsLineSchema.parse(l));
    expect(stats.at(-1)!.final).toBe(true);
    expect(stats.at(-1)!.rules).toBeDefined();
    expect(stats.at(-1)!.sequences).toBeLessThan(8000);
    const done = stats.at(-1)!.sequences;

    const r = await vmafuzz(['fuzz', '--resume', dir, '--json', '--jobs', '2']);
    expect(r.exitCode, r.stderr).toBe(0);
    const s = fuzzJson.parse(JSON.parse(r.stdout));
    expect(s.totalSequences).toBe(8000);
    expect(s.sequences).toBe(8000 - done);
    expect(s.complete).toBe(true);
    const last = ndjson(join(dir, 'stats.ndjson')).map((l) => statsLineSchema.parse(l)).at(-1)!;
    expect(last.session).toBe(2);
    expect(last.sequences).toBe(8000);
    // a campaign option on --resume is refused: they come from campaign.json
    const bad = await vmafuzz(['fuzz', '--resume', dir, '--seed', '6']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/do not give --seed/);
    // and a second campaign into the same directory is refused
    expect((await vmafuzz(['fuzz', '--count', '10', '--out', dir])).stderr).toMatch(/already holds a campaign: continue it with --resume/);
  }, 300_000);
});
