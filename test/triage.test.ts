// The triage classifier (src/triage/classify.ts) as a pure function of replay outcomes: the host
// (6.18.44 without the zero page) and reference Debian kernels, oldest first. Plus the queue that
// runs triages next to a campaign, with a fake runner, and what a finding directory records.

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { classify, factsDiffer, triageCounts, triageSchema, triageText, type Observed, type Reference } from '../src/triage/classify.js';
import { triageSequence } from '../src/triage/run.js';
import { needsTriage, TriageQueue } from '../src/triage/finding.js';
import { parseSequence } from '../src/seq/io.js';
import { FindingStore, readFinding } from '../src/campaign/findings.js';
import { DETAIL_RUN, type Runner, type TargetInfo } from '../src/runner/types.js';
import { makeProfile, predict } from '../src/model/index.js';
import { judge, modelPredictor } from '../src/findings/judge.js';
import type { Outcome } from '../src/campaign/check.js';

const HOST = '6.18.44-fc-v1272';
const FACTS = { release: HOST, thp: 'madvise', zero_page: '0', guard: 'file' };
const host: Observed = { verdict: 'diverge', signature: 'aaaaaaaaaaaaaaaa', release: HOST, detail: 'maps at call 3', facts: FACTS };
const match = (release: string, facts: Record<string, string> = {}): Observed => ({ verdict: 'match', release, detail: 'model profile', facts: { release, ...facts } });
const diverge = (release: string, signature = 'aaaaaaaaaaaaaaaa'): Observed => ({ verdict: 'diverge', signature, release, detail: 'maps at call 3' });
const skip = (detail: string): Observed => ({ verdict: 'skip', detail });
const ref = (kernel: string, observed: Observed): Reference => ({ kernel, observed });
const RULES = ['mremap.move.pgoff_reset', 'mremap.uffd_reset'];
const run = (references: Reference[], h: Observed = host, bisect?: { firstMatching: string; lastDiverging: string }) =>
  classify({ host: h, references, hostRelease: HOST, rules: RULES, ...(bisect ? { bisect } : {}) });

describe('triage classes', () => {
  it('host-specific: the Debian kernel of the host series and the newest match; names the probed facts that differ', () => {
    const c = run([ref('6.18', match('6.18.15+deb13-cloud-amd64', { thp: 'never', zero_page: '1', guard: 'file' })), ref('7.3', match('7.3.4+deb13-cloud-amd64', { thp: 'never', zero_page: '1', guard: 'file' }))]);
    expect(c.class).toBe('host-specific');
    expect(c.factsDiffer).toEqual([
      { fact: 'thp', host: 'madvise', kernels: { '6.18.15+deb13-cloud-amd64': 'never' } },
      { fact: 'zero_page', host: '0', kernels: { '6.18.15+deb13-cloud-amd64': '1' } },
    ]);
    expect(c.reason).toMatch(/probed facts that differ: thp madvise vs never, zero_page 0 vs 1/);
    expect(c.host).not.toHaveProperty('facts'); // facts are summarised, not copied
  });

  it('host-specific with no differing fact says so (a vendor patch, or an unprobed fact)', () => {
    const c = run([ref('6.18', match('6.18.15+deb13-cloud-amd64', { thp: 'madvise', zero_page: '0', guard: 'file' })), ref('7.3', match('7.3.4'))]);
    expect(c.class).toBe('host-specific');
    expect(c.factsDiffer).toEqual([]);
    expect(c.reason).toMatch(/no probed fact differs: a vendor patch/);
  });

  it('fixed upstream: the host series diverges, the newest matches; the first matching kernel is named', () => {
    const c = run([ref('6.18', diverge('6.18.15+deb13-cloud-amd64')), ref('7.3', match('7.3.4+deb13-cloud-amd64'))]);
    expect(c).toMatchObject({ class: 'fixed-upstream', lastDiverging: '6.18.15+deb13-cloud-amd64', firstMatching: '7.3.4+deb13-cloud-amd64' });
    // a bisection over kernels in between refines it
    const b = run([ref('6.18', diverge('6.18.15')), ref('7.3', match('7.3.4'))], host, { lastDiverging: '7.1.13', firstMatching: '7.2.6' });
    expect(b).toMatchObject({ class: 'fixed-upstream', lastDiverging: '7.1.13', firstMatching: '7.2.6' });
    expect(triageText(triageSchema.parse({ version: 1, at: 'now', file: 'minimized.json', ...b }))).toBe('triage: fixed upstream - 7.1.13 still diverges, 7.2.6 is the first kernel that matches the model');
  });

  it('fixed upstream from an older kernel standing in for an untestable host series (reported)', () => {
    const c = run([ref('6.12', diverge('6.12.117')), ref('6.18', skip('no linux-base package')), ref('7.3', match('7.3.4'))]);
    expect(c).toMatchObject({ class: 'fixed-upstream', lastDiverging: '6.12.117', firstMatching: '7.3.4' });
    expect(c.reason).toMatch(/untested: 6\.18 \(no linux-base package\)/);
    // a newer kernel still has it (6.12 has a stable backport of the fix)
    expect(run([ref('6.12', match('6.12.117')), ref('6.19', diverge('6.19.14')), ref('7.3', match('7.3.4'))])).toMatchObject({ class: 'fixed-upstream', lastDiverging: '6.19.14', firstMatching: '7.3.4' });
  });

  it('present through the newest kernel: lists the decisive rules, notes a different signature', () => {
    const c = run([ref('6.18', diverge('6.18.15')), ref('7.3', diverge('7.3.4'))]);
    expect(c).toMatchObject({ class: 'present', rules: RULES });
    expect(c.reason).toMatch(/7\.3\.4 diverges too, with the same signature/);
    expect(triageText(triageSchema.parse({ version: 1, at: 'now', file: 'x', ...c }))).toMatch(/decisive model rules to check: mremap\.move\.pgoff_reset, mremap\.uffd_reset$/);
    expect(run([ref('7.3', diverge('7.3.4', 'bbbbbbbbbbbbbbbb'))]).reason).toMatch(/with signature bbbbbbbbbbbbbbbb \(host aaaaaaaaaaaaaaaa\)/);
  });

  it('indeterminate, never a verdict: the newest cannot boot, the host run fails or no longer diverges, the host series is missing', () => {
    expect(run([ref('6.18', diverge('6.18.15')), ref('7.3', skip('qemu did not boot'))])).toMatchObject({ class: 'indeterminate', reason: expect.stringMatching(/newest reference kernel could not be tested: 7\.3 \(qemu did not boot\)/) });
    expect(run([ref('7.3', match('7.3.4'))], skip('harness crashed')).class).toBe('indeterminate');
    expect(run([ref('7.3', match('7.3.4'))], { verdict: 'match', release: HOST, detail: '' }).reason).toMatch(/does not diverge on the host/);
    // 6.12 matches (a stable backport) and 7.3 matches: without the host's own series, no verdict
    const c = run([ref('6.12', match('6.12.117')), ref('6.18', skip('fetch failed')), ref('7.3', match('7.3.4'))]);
    expect(c.class).toBe('indeterminate');
    expect(c.reason).toMatch(/none of the host's series 6\.18 was tested.*untested: 6\.18 \(fetch failed\)/);
    expect(run([]).class).toBe('indeterminate');
  });

  it('counts classes for summary lines', () => {
    expect(triageCounts(['present', 'fixed-upstream', 'present', undefined])).toBe('1 fixed upstream, 2 present, 1 not triaged');
    expect(triageCounts([undefined])).toBe('');
    expect(factsDiffer({ a: '1', release: 'x' }, [ref('7.3', match('7.3', { a: '1', b: '2' }))])).toEqual([{ fact: 'b', host: '(absent)', kernels: { '7.3': '2' } }]);
  });
});

// A fake target: the model is the kernel, except that `diverging` releases keep a VMA the model
// merges (WrongModelRunner). No QEMU: the reference kernels are fake runners with their releases.
describe('triageSequence over fake runners', () => {
  const seq = parseSequence(
    {
      vmafuzz: 1,
      arenaPages: 8,
      calls: [
        { op: 'mmap', addr: 'A+0p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
        { op: 'mmap', addr: 'A+2p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
      ],
    },
    'fake.json',
  );
  // A "kernel" that is the model itself, except that a diverging one fails the last call with ENOMEM.
  const fake = (release: string, diverging: boolean, facts: Record<string, string> = {}): Runner => {
    const target: TargetInfo = { runner: 'fake', release, facts: { release, ...facts } };
    return {
      name: 'fake',
      start: async () => target,
      run: async (batch, opts) =>
        batch.map((s) => {
          const p = predict(s, makeProfile(release, target.facts), { snapshotEveryCall: opts.snapshotEveryCall });
          const calls = diverging ? [...p.calls.slice(0, -1), { ret: { kind: 'int' as const, value: -1 }, errno: 12, signal: 0 }] : p.calls;
          return { calls, snapshots: p.snapshots, status: 'ok' as const };
        }),
      close: async () => {},
    };
  };

  const offline = async (): Promise<string[]> => {
    throw new Error('apt-get update failed: Temporary failure resolving the mirror');
  };
  const MIRROR = async () => ['6.1', '6.12', '6.17', '6.18', '7.1', '7.2', '7.3'];
  // host, 6.18 and everything before 7.2 diverge (a bug fixed in 7.2)
  const fixedIn72 = (boots: string[]) => async (o: { runner: string; kernel?: string }) => {
    const k = o.runner === 'native' ? HOST : o.kernel!;
    boots.push(k);
    return fake(k, !k.startsWith('7.3') && !k.startsWith('7.2'));
  };

  it('default references: the host\'s series and the newest series on the mirror (fetched), said in the log and result', async () => {
    const boots: string[] = [];
    const lines: string[] = [];
    const t = await triageSequence(seq, { file: 'fake.json', makeRunner: fixedIn72(boots), cached: () => ['6.12.117+deb13-cloud-amd64'], mirrorSeries: MIRROR, log: (l) => lines.push(l) });
    expect(t).toMatchObject({ class: 'fixed-upstream', referenceSource: 'mirror', lastDiverging: '6.18', firstMatching: '7.3' });
    // nothing cached between 6.18 and 7.3: no bisection, and no fetching unless asked
    expect(boots).toEqual([HOST, '6.18', '7.3']);
    expect(lines).toContain("triage: references: the host's series 6.18 and the newest series on the mirror, 7.3");
    expect(triageSchema.parse(t)).toEqual(t);
    // --bisect-fetch: the mirror's series between the references (7.1, 7.2) are bisected too
    const b: string[] = [];
    const f = await triageSequence(seq, { file: 'fake.json', makeRunner: fixedIn72(b), cached: () => [], mirrorSeries: MIRROR, bisectFetch: true });
    expect(f).toMatchObject({ class: 'fixed-upstream', lastDiverging: '7.1', firstMatching: '7.2' });
    expect(b.slice(0, 3)).toEqual([HOST, '6.18', '7.3']);
    expect([...b].sort()).toEqual([HOST, '6.18', '7.1', '7.2', '7.3'].sort());
  });

  it('offline with nothing cached: the host\'s series is the only reference (indeterminate when it matches, says so)', async () => {
    const lines: string[] = [];
    const t = await triageSequence(seq, { file: 'fake.json', makeRunner: async (o) => fake(o.runner === 'native' ? HOST : o.kernel!, o.runner === 'native'), cached: () => [], mirrorSeries: offline, log: (l) => lines.push(l) });
    expect(t).toMatchObject({ referenceSource: 'host-series', class: 'host-specific' });
    expect(t.kernels.map((k) => k.kernel)).toEqual(['6.18']);
    expect(lines).toContain("triage: references: the host's series 6.18 and nothing newer (the mirror could not be listed and no kernel is cached)");
  });

  it('a host series that cannot be fetched: the newest series below it on the mirror stands in', async () => {
    const boots: string[] = [];
    const t = await triageSequence(seq, {
      file: 'fake.json',
      makeRunner: async (o) => {
        if (o.kernel === '6.18') throw new Error('apt-get download failed: linux-base not found');
        return fixedIn72(boots)(o);
      },
      cached: () => [],
      mirrorSeries: async () => ['6.1', '6.12', '6.18', '7.3'],
    });
    expect(t).toMatchObject({ class: 'fixed-upstream', lastDiverging: '6.12', firstMatching: '7.3' });
    expect(boots).toEqual([HOST, '7.3', '6.12']);
  });

  it('QEMU missing and not installable: every reference is untested with a message naming the package', async () => {
    const boots: string[] = [];
    const t = await triageSequence(seq, { file: 'fake.json', makeRunner: fixedIn72(boots), cached: () => [], mirrorSeries: MIRROR, ensureQemu: async () => 'qemu-system-x86_64 is not on PATH: install the qemu-system-x86 package' });
    expect(t.class).toBe('indeterminate');
    expect(t.reason).toMatch(/could not be tested: .*install the qemu-system-x86 package/);
    expect(t.kernels.map((k) => [k.kernel, k.verdict])).toEqual([['6.18', 'skip'], ['7.3', 'skip']]);
    expect(boots).toEqual([HOST]); // no reference runner was made, and no stand-in tried
  });

  it('classifies and records: host diverges, 6.18 diverges, 7.3 matches -> fixed upstream; offline: the newest cached kernel, bisects over cached kernels', async () => {
    const boots: string[] = [];
    const lines: string[] = [];
    const t = await triageSequence(seq, {
      file: 'fake.json',
      mirrorSeries: offline,
      log: (l) => lines.push(l),
      makeRunner: async (o) => {
        const k = o.runner === 'native' ? HOST : o.kernel!;
        boots.push(k);
        return fake(k, !k.startsWith('7.3') && !k.startsWith('7.2'));
      },
      cached: () => ['6.12.117+deb13-cloud-amd64', '7.1.13+deb13-cloud-amd64', '7.2.6+deb13-cloud-amd64', '7.3.4+deb13-cloud-amd64'],
    });
    expect(t).toMatchObject({ class: 'fixed-upstream', referenceSource: 'cache', lastDiverging: '7.1.13+deb13-cloud-amd64', firstMatching: '7.2.6+deb13-cloud-amd64' });
    expect(lines).toContain('triage: the mirror cannot be listed (apt-get update failed: Temporary failure resolving the mirror)');
    expect(lines).toContain("triage: references: the host's series 6.18 and the newest cached kernel, 7.3.4+deb13-cloud-amd64 (the mirror could not be listed)");
    // the host, the two default references (host series, newest cached), then the bisection
    expect(boots.slice(0, 3)).toEqual([HOST, '6.18', '7.3.4+deb13-cloud-amd64']);
    expect(boots).toContain('7.2.6+deb13-cloud-amd64');
    expect(triageSchema.parse(t)).toEqual(t);
  });

  it('reports a host series that cannot be started, never fails on it', async () => {
    const t = await triageSequence(seq, {
      file: 'fake.json',
      makeRunner: async (o) => {
        if (o.kernel === '6.18') throw new Error('apt-get download failed: linux-base not found');
        return fake(o.runner === 'native' ? HOST : o.kernel!, o.runner === 'native');
      },
      cached: () => ['7.3.4+deb13-cloud-amd64'],
      mirrorSeries: offline,
    });
    expect(t.class).toBe('indeterminate');
    expect(t.kernels.find((k) => k.kernel === '6.18')).toMatchObject({ verdict: 'skip', detail: expect.stringMatching(/linux-base not found/) });
  });

  it('stops testing kernels once the time budget is used up (indeterminate, to retry)', async () => {
    const t = await triageSequence(seq, { file: 'fake.json', deadline: Date.now() - 1, makeRunner: async (o) => fake(o.runner === 'native' ? HOST : o.kernel!, true), cached: () => [], mirrorSeries: MIRROR });
    expect(t.class).toBe('indeterminate');
    expect(t.kernels.every((k) => k.verdict === 'skip' && /time budget/.test(k.detail))).toBe(true);
  });

  it('records the triage in finding.json and report.txt (replacing an earlier one)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-triage-'));
    const store = new FindingStore(dir);
    const runner = fake(HOST, true);
    const target = await runner.start();
    const [obs] = await runner.run([seq], DETAIL_RUN);
    const o = judge(modelPredictor, makeProfile(HOST, target.facts), seq, obs!) as Outcome;
    const rec = store.record(o, { runner: 'native', release: HOST }, (f) => `vmafuzz replay ${f}`, 'divergence');
    const triage = (kernel: string, diverging: boolean) =>
      triageSequence(seq, { file: rec.finding.samples[0]!.file, kernels: ['6.18', kernel], cached: () => [], makeRunner: async (x) => fake(x.runner === 'native' ? HOST : x.kernel!, x.runner === 'native' || x.kernel === '6.18' || diverging) });
    expect(store.attachTriage(rec.finding.signature, 'divergence', await triage('7.3', true)).triage?.class).toBe('present');
    store.attachTriage(rec.finding.signature, 'divergence', await triage('7.3', false));
    const f = readFinding(rec.dir);
    expect(f.triage).toMatchObject({ version: 1, class: 'fixed-upstream', firstMatching: '7.3', file: rec.finding.samples[0]!.file });
    const report = readFileSync(join(rec.dir, 'report.txt'), 'utf8');
    expect(report.match(/^triage: /gm)).toHaveLength(1);
    expect(report).toMatch(/^replay: .*\ntriage: fixed upstream - 6\.18 still diverges, 7\.3 is the first kernel that matches the model\n\n/m);
  });

  it('queues a campaign\'s triages one at a time; a stopped queue leaves findings to triage again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-triage-q-'));
    const store = new FindingStore(dir);
    const runner = fake(HOST, true);
    const [obs] = await runner.run([seq], DETAIL_RUN);
    const o = judge(modelPredictor, makeProfile(HOST, (await runner.start()).facts), seq, obs!) as Outcome;
    const sig = store.record(o, { runner: 'native', release: HOST }, (f) => f, 'divergence').finding.signature;
    expect(needsTriage(store.list()[0]!)).toBe(true);
    let boots = 0;
    const opts = { kernels: ['7.3'], cached: () => [], budgetMs: 60_000, makeRunner: async (x: { runner: string; kernel?: string }) => (boots++, fake(x.runner === 'native' ? HOST : x.kernel!, x.runner === 'native')) };
    // stopped before it ran: nothing recorded, the finding still needs a triage (fuzz --resume does it)
    const stopped = new TriageQueue(store, opts);
    await stopped.stop();
    stopped.add(sig);
    expect(stopped.pending).toBe(0);
    const done: string[] = [];
    const q = new TriageQueue(store, opts, (f, t) => done.push(`${f.signature} ${t.class}`));
    q.add(sig);
    q.add(sig); // queued once
    await q.drain();
    expect(done).toEqual([`${sig} indeterminate`]); // 7.3 matches, the host's series 6.18 was not given
    expect(boots).toBe(2);
    expect(needsTriage(store.list()[0]!)).toBe(true); // indeterminate: retried on --resume
  });
});
