// Campaigns on the host kernel through the built CLI, with a deliberately wrong model so that
// there are findings: shards merged equal one unsharded run, kill -9 then --resume loses nothing
// and records nothing twice, Ctrl-C writes the summary and --resume finishes the job.

import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { statsLineSchema } from '../src/campaign/config.js';
import { fuzzJson, reportJson } from '../src/cli/json.js';
import { ensureHarness } from '../src/runner/harness-build.js';
import { CLI, ensureBuilt, findingsOf, ndjson, SMALL_LAYOUT, vmafuzz, WRONG_PROFILE } from './campaign-support.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'vmafuzz-camp-'));
const wrong = ['--profile-override', WRONG_PROFILE, '--no-minimize', '--progress', 'off', ...SMALL_LAYOUT];

beforeAll(ensureBuilt, 600_000);

const lines = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter(Boolean).length : 0);

/** progress.ndjson's pieces: each case at most once, and how many cases they cover. */
function coverage(dir: string): { cases: number; overlap: boolean; chunks: number[] } {
  const ls = ndjson(join(dir, 'progress.ndjson')).map((l) => [l.lo as number, l.hi as number, l.g as number] as const).sort((a, b) => a[0] - b[0]);
  let overlap = false;
  for (let i = 1; i < ls.length; i++) if (ls[i]![0] < ls[i - 1]![1]) overlap = true;
  return { cases: ls.reduce((n, [lo, hi]) => n + hi - lo, 0), overlap, chunks: [...new Set(ls.map((l) => l[2]))].sort((a, b) => a - b) };
}

/** A slow target: the harness behind a filter that holds every sequence's `end` line for `ms`. */
async function slowHarness(ms: number): Promise<string> {
  const real = await ensureHarness();
  const f = join(tmp(), 'slow-harness.sh');
  writeFileSync(f, `#!/bin/sh\nwhile IFS= read -r l; do\n  if [ "$l" = end ]; then sleep ${ms / 1000}; fi\n  printf '%s\\n' "$l"\ndone | exec '${real}' "$@"\n`);
  chmodSync(f, 0o755);
  return f;
}

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
    // Whether MAP_HUGETLB is judged follows the free huge pages the harness sees at start (fact
    // hugepages_free, src/model/hugetlb.ts), which other tests running at the same time take from the
    // shared pool, and runs with different facts need not find the same (checked by hand: the
    // unsharded run finds 47 unique with 42 free pages, 44 with the fact at 0). shmat=0 leaves out
    // the hugetlb family, but genMmap's MAP_HUGETLB remains: the model is told the pool is empty.
    const pinned = wrong.map((a) => (a === WRONG_PROFILE ? JSON.stringify({ ...(JSON.parse(WRONG_PROFILE) as object), hugepagesFree: 0 }) : a));
    const args = ['fuzz', '--count', '4800', '--seed', '21', ...pinned, '--weights', 'shmat=0,shmdt=0'];
    const one = await vmafuzz([...args, '--jobs', '1', '--out', join(base, 'all'), '--json']);
    expect(one.exitCode, one.stderr).toBe(1);
    const all = fuzzJson.parse(JSON.parse(one.stdout));
    expect(all.unique).toBeGreaterThan(3);
    for (const i of [0, 1]) {
      const r = await vmafuzz([...args, '--shard', `${i}/2`, '--jobs', '2', '--out', join(base, `s${i}`)]);
      expect(r.stderr.split('\n')[0]).toBe(`vmafuzz fuzz: seed 21 shard ${i}/2`);
      expect([0, 1]).toContain(r.exitCode);
    }
    // A sequence the harness could not run (infra) is not judged, so runs with some need not find the
    // same: there must be none (a container starting beside this test once removed the harness's
    // disk-file directories, harness-c/privdir.c). Its reasons are kept in infra/index.ndjson.
    for (const d of ['all', 's0', 's1']) {
      const infra = (JSON.parse(readFileSync(join(base, d, 'stats.ndjson'), 'utf8').trim().split('\n').at(-1)!) as { infra: number }).infra;
      const why = existsSync(join(base, d, 'infra', 'index.ndjson')) ? ndjson(join(base, d, 'infra', 'index.ndjson')).slice(0, 3).map((l) => `${l.i}: ${l.detail}`) : [];
      expect({ run: d, infra, why }).toEqual({ run: d, infra: 0, why: [] });
    }
    // the shards ran disjoint chunks that together are the unsharded run's
    const s0 = coverage(join(base, 's0')).chunks;
    const s1 = coverage(join(base, 's1')).chunks;
    expect(s0.filter((g) => s1.includes(g))).toEqual([]);
    expect([...s0, ...s1].sort((a, b) => a - b)).toEqual(coverage(join(base, 'all')).chunks);
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

    // a campaign merged with itself and with its own shards: every case counted once, and said so
    const m2 = await vmafuzz(['report', '--merge', join(base, 'all'), join(base, 's0'), join(base, 'all'), '--out', join(base, 'twice'), '--json']);
    expect(m2.exitCode, m2.stderr).toBe(1);
    expect(m2.stderr).toMatch(/sources 0 and 2 both ran 4800 of the same cases .*: counted once/);
    const twice = reportJson.parse(JSON.parse(m2.stdout));
    expect(twice.totals).toEqual(single.totals);
    expect(twice.findings.map((f) => [f.signature, f.count, f.samples])).toEqual(single.findings.map((f) => [f.signature, f.count, f.samples]));
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
    expect(coverage(dir).cases).toBeLessThan(6000); // it really was mid-campaign
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
    const cov = coverage(dir);
    expect(cov.overlap).toBe(false);
    expect(cov.cases).toBe(6000);
    expect(cov.chunks).toHaveLength(30);
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
    expect(stderr).toMatch(/SIGINT: each lane ends its piece after the batch it is running/);
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

  it('a short --time campaign on a slow target judges, checkpoints and reports sequences', async () => {
    // ~20 sequences/s: a 4096-case chunk would take 3.5 minutes; pieces are sized to the lane's speed
    const env = { VMAFUZZ_HARNESS: await slowHarness(50) };
    const dir = join(tmp(), 'slow');
    const t0 = Date.now();
    const r = await vmafuzz(['fuzz', '--time', '8s', '--jobs', '1', '--seed', '3', '--ops', 'core', '--no-minimize', '--out', dir, '--progress', 'lines', '--stats-every', '1s', '--json'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(60_000);
    const s = fuzzJson.parse(JSON.parse(r.stdout));
    expect(s.sequences).toBeGreaterThanOrEqual(64);
    const cov = coverage(dir);
    expect(cov.cases).toBe(s.sequences); // every judged case is in the ledger
    expect(ndjson(join(dir, 'progress.ndjson')).length).toBeGreaterThanOrEqual(2); // several checkpoints
    // the heartbeat moved before the end: some line before the last shows sequences and rules
    const beats = [...r.stderr.matchAll(/\] ([\d,]+) sequences .* rules (\d+)\//g)].map((m) => [Number(m[1]!.replace(/,/g, '')), Number(m[2])]);
    expect(beats.slice(0, -1).some(([n, rules]) => n! > 0 && rules! > 0)).toBe(true);
    // resumed without --jobs: the campaign's one lane, not one per CPU; the rest of the budget is gone
    const again = await vmafuzz(['fuzz', '--resume', dir, '--progress', 'off'], { env });
    expect(again.exitCode, again.stderr).toBe(125);
    expect(again.stderr).toMatch(/nothing was tested: the campaign's time budget is used up; give --time D/);
    expect(again.stderr).toMatch(/; 1 job[ ;(]/);
    expect((await vmafuzz(['fuzz', '--resume', dir, '--out', dir])).stderr).toMatch(/do not give --out/);
  }, 300_000);

  it('refuses a second process in a campaign directory, naming the one that holds it', async () => {
    const dir = join(tmp(), 'locked');
    const child = spawn(process.execPath, [CLI, 'fuzz', '--time', '60s', '--jobs', '1', '--ops', 'core', '--no-minimize', '--out', dir, '--progress', 'off'], { stdio: 'ignore' });
    const code = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    try {
      await waitFor(() => lines(join(dir, 'progress.ndjson')) >= 1, 120_000);
      const r = await vmafuzz(['fuzz', '--resume', dir, '--progress', 'off']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`in use by another vmafuzz: pid ${child.pid}, started \\S+ \\(vmafuzz fuzz --time 60s`));
    } finally {
      child.kill('SIGINT');
    }
    expect(await code).toBe(0);
    expect(existsSync(join(dir, 'lock'))).toBe(false); // released on exit
  }, 300_000);
});
