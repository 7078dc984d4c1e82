// A racing fork with failNth while readers read the parent's maps (corpus/seed/races/), on the host
// kernel: the wire form, the harness's acceptance and refusals, the run judged by the oracle
// (src/linearize/fail-fork.ts), and `replay --fail-sweep` on it. The host may lack fail-nth (hello
// fail_nth=0): the harness then says so per call ('unavailable') and the fork simply runs; the real
// injection runs in QEMU (test/fail-nth-threads-qemu.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRaceReproC } from '../src/findings/repro-c-threads.js';
import { judgeRace } from '../src/linearize/index.js';
import { makeProfile, type Profile } from '../src/model/index.js';
import { NativeRunner } from '../src/runner/native.js';
import { encodeWire, toWire } from '../src/runner/protocol.js';
import { DETAIL_RUN } from '../src/runner/types.js';
import { loadSequenceFile } from '../src/seq/io.js';
import { ensureBuilt, vmafuzz } from './campaign-support.js';

const FILE = 'corpus/seed/races/fork-fail-nth-readers.json';
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
