// A racing fork with failNth while readers read the parent's maps (corpus/races/), on the host
// kernel: the wire form, the harness's acceptance and refusals, the run judged by the oracle
// (src/linearize/fail-fork.ts), and `replay --fail-sweep` on it. The host may lack fail-nth (hello
// fail_nth=0): the harness then says so per call ('unavailable') and the fork simply runs; the real
// injection runs in QEMU (test/fail-nth-threads-qemu.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatRaceStep, raceSweepStep, withRacingFailNth } from '../src/cli/commands/fail-sweep-threads.js';
import { renderRaceReproC } from '../src/findings/repro-c-threads.js';
import { judgeRace } from '../src/linearize/index.js';
import { makeProfile, type Profile } from '../src/model/index.js';
import { NativeRunner } from '../src/runner/native.js';
import { encodeWire, toWire } from '../src/runner/protocol.js';
import { DETAIL_RUN } from '../src/runner/types.js';
import { loadSequenceFile, parseSequence } from '../src/seq/io.js';
import type { MapsEntry, SeqObservation } from '../src/seq/observation.js';
import { ensureBuilt, vmafuzz } from './campaign-support.js';

const FILE = 'corpus/races/fork-fail-nth-readers.json';
const seq = loadSequenceFile(FILE);

let runner: NativeRunner;
let profile: Profile;
let failNth: string;
beforeAll(async () => {
  runner = new NativeRunner();
  const t = await runner.start();
  profile = makeProfile(t.release, t.facts);
  failNth = t.facts.fail_nth!;
}, 60_000);
afterAll(() => runner.close());

describe('a racing fork with failNth and maps readers on the host kernel', () => {
  it('goes on the wire with `nth <k>` on the racing fork line', () => {
    const text = encodeWire('1', toWire(seq), { snapshotEveryCall: false });
    expect(text.split('\n').slice(4, -2)).toEqual(['thread', 'fork nth 1', 'thread', 'touch 0 0 r', 'readers 2']);
  });

  it('runs: the readers read during the race, the harness reports the injection, the oracle accepts', async () => {
    expect(['0', '1']).toContain(failNth);
    const ks = await runner.run(Array(4).fill(seq), DETAIL_RUN);
    let reads = 0;
    for (const k of ks) {
      expect(k.status).toBe('ok');
      const fork = k.calls[3]!;
      if (failNth === '0') {
        // no fail-nth on this kernel: the fork runs as any racing fork, its child reports
        expect(fork).toMatchObject({ errno: 0, injected: 'unavailable' });
        expect(k.childMaps?.[3]?.length).toBe(4); // rw-p, r--p, rw-p, rw-s
      } else {
        expect(fork.injected).toBe('fired'); // k = 1: fork makes at least one allocation check
        expect(!!k.childMaps?.[3]).toBe(fork.errno === 0);
      }
      expect(k.calls[4]!.injected).toBeUndefined(); // the other racing thread is not armed
      reads += k.reads?.length ?? 0;
      const j = judgeRace(seq, k, profile);
      expect(j.verdict, j.divergence?.detail ?? j.reason).toBe('pass');
    }
    expect(reads).toBeGreaterThan(0);
  }, 120_000);

  it('refuses `nth` on another racing call, in the setup, and beside a second racing fork (harness)', async () => {
    const w = toWire(seq);
    const body = w.racing!.body;
    const refused = [
      { ...w, racing: { ...w.racing!, body: body.map((l) => (l === 'touch 0 0 r' ? 'mprotect 0 0 1000 1 nth 1' : l)) } },
      { ...w, lines: w.lines.map((l, i) => (i === 0 ? `${l} nth 1` : l)) },
      { ...w, racing: { ...w.racing!, body: body.map((l) => (l === 'touch 0 0 r' ? 'fork' : l)) } },
    ];
    const out = await runner.runWire(refused, { snapshotEveryCall: false });
    for (const o of out) {
      expect(o.status).toBe('infra');
      expect(o.detail).toContain('bad-thread-line');
    }
  }, 60_000);

  it('the concurrent C reproducer refuses a failing racing fork, naming the sweep instead', () => {
    const kernel = { calls: [], snapshots: [], status: 'ok' as const };
    expect(() => renderRaceReproC({ seq, kernel, verdict: 'fail', divergence: null })).toThrow(/does not run racing forks yet \(a failing racing fork: vmafuzz replay FILE --fail-sweep CALL/);
  });

  it('replay --fail-sweep: bad call indices are exit 2; a kernel without fail-nth is exit 125', async () => {
    await ensureBuilt();
    const touch = await vmafuzz(['replay', FILE, '--fail-sweep', '4']);
    expect(touch.exitCode).toBe(2);
    expect(touch.stderr).toContain('racing call 4 is a touch');
    const setup = await vmafuzz(['replay', FILE, '--fail-sweep', '0']);
    expect(setup.exitCode).toBe(2);
    expect(setup.stderr).toContain('call 0 is a setup call');
    if (failNth !== '0') return;
    const r = await vmafuzz(['replay', FILE, '--fail-sweep', '3']);
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toContain('fail_nth=0');
  }, 120_000);
});

describe('the concurrent sweep\'s reading of a run (synthetic kernel results)', () => {
  const e = (start: number, end: number, perms: string): MapsEntry => ({ start, end, perms, offset: 0, dev: '00:00', inode: 0, name: '' });
  const sweepSeq = parseSequence({
    vmafuzz: 1, arenaPages: 8, readers: 1,
    calls: [{ op: 'mmap', addr: 'A+0p', len: '4p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' }],
    threads: [{ calls: [{ op: 'touch', addr: 'A+0p', access: 'read' }, { op: 'sync' }, { op: 'fork' }] }, { calls: [{ op: 'sync' }, { op: 'touch', addr: 'A+1p', access: 'read' }] }],
  }, 'test');
  const BEFORE = [e(0, 4, 'rw-p')];
  const run = (forkErrno: number, reads: MapsEntry[][], child?: MapsEntry[]): SeqObservation => ({
    calls: [
      { ret: { kind: 'addr', page: 0, off: 0 }, errno: 0, signal: 0 },
      { ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 },
      { ret: { kind: 'int', value: forkErrno ? -1 : 0 }, errno: forkErrno, signal: 0, injected: 'fired' },
      { ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 },
    ],
    snapshots: [{ after: -1, maps: [] }, { after: 0, maps: BEFORE }, { after: 3, maps: BEFORE }],
    status: 'ok',
    timing: [undefined, { start: 0, end: 5 }, { start: 10, end: 100 }, { start: 12, end: 14 }],
    // one read during the fork per entry, and one before it (not counted)
    reads: [{ reader: 0, start: 1, end: 4, maps: BEFORE }, ...reads.map((maps, i) => ({ reader: 0, start: 20 + 10 * i, end: 25 + 10 * i, maps }))],
    ...(child ? { childMaps: [undefined, undefined, child, undefined] } : {}),
  });

  it('puts failNth on the swept racing call, past syncs', () => {
    const armed = withRacingFailNth(sweepSeq, 2, 7);
    expect(armed.threads![0]!.calls[2]).toEqual({ op: 'fork', failNth: 7 });
    expect(armed.threads![1]).toEqual(sweepSeq.threads![1]);
  });

  it('counts the reads during a failed fork and those that are the parent\'s maps, with the verdict', () => {
    const seq = withRacingFailNth(sweepSeq, 2, 3);
    const good = raceSweepStep(seq, 2, 3, run(12, [BEFORE, BEFORE]), makeProfile('7.3.0', {}));
    expect(good).toMatchObject({ k: 3, injected: 'fired', errno: 12, unchanged: true, child: false, reads: 2, readsSame: 2, verdict: 'match' });
    expect(formatRaceStep(good)).toBe("k=3: fired, ENOMEM, parent unchanged, no child, 2 read(s) during the fork (2 the parent's maps before it) -> MATCH");
    const bad = raceSweepStep(seq, 2, 3, run(12, [BEFORE, [e(0, 2, 'rw-p'), e(2, 4, 'rw-p')]]), makeProfile('7.3.0', {}));
    expect(bad).toMatchObject({ reads: 2, readsSame: 1, verdict: 'diverge' });
    expect(bad.detail).toContain('read-unknown-line');
    const child = raceSweepStep(seq, 2, 3, run(12, [], BEFORE), makeProfile('7.3.0', {}));
    expect(child).toMatchObject({ child: true, verdict: 'diverge' });
    expect(child.detail).toContain('fork-failed-child-ran');
  });
});
