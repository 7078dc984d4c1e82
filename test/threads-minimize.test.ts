// Minimizing a concurrent sequence keeps the race (src/linearize/minimize.ts): one-step reductions,
// and a real-kernel minimization of a case a deliberately wrong model cannot linearize.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeRace } from '../src/linearize/index.js';
import { minimizeRace, reductions } from '../src/linearize/minimize.js';
import { makeProfile, type Profile } from '../src/model/index.js';
import { NativeRunner } from '../src/runner/native.js';
import { FAST_RUN } from '../src/runner/types.js';
import { parseSequence } from '../src/seq/io.js';
import { racingCalls } from '../src/seq/threads.js';
import { lateSplitApply } from './helpers/wrong-model.js';

const FIXED = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';

describe('race minimization', () => {
  it('reduces by one setup call, one racing call, one barrier or the readers, keeping two threads', () => {
    const s = parseSequence({
      vmafuzz: 1,
      arenaPages: 8,
      calls: [{ op: 'mmap', addr: 'A+0p', len: '8p', prot: 'PROT_READ', flags: FIXED }],
      threads: [
        { calls: [{ op: 'touch', addr: 'A+0p', access: 'read' }, { op: 'sync' }, { op: 'munmap', addr: 'A+1p', len: '1p' }] },
        { calls: [{ op: 'sync' }, { op: 'touch', addr: 'A+1p', access: 'read' }] },
      ],
      readers: 1,
    }, 'test');
    const r = reductions(s);
    // readers, the barrier, touch 0, munmap (touch of thread 1 would leave one thread), the setup mmap
    expect(r).toHaveLength(5);
    expect(r[0]!.readers).toBeUndefined();
    expect(r[1]!.threads!.map((t) => t.calls.map((c) => c.op))).toEqual([['touch', 'munmap'], ['touch']]);
    expect(r.every((x) => (x.threads?.length ?? 0) >= 2)).toBe(true);
    expect(r[4]!.calls).toHaveLength(0);
  });

  let runner: NativeRunner;
  let profile: Profile;
  beforeAll(async () => {
    runner = new NativeRunner();
    const t = await runner.start();
    profile = makeProfile(t.release, t.facts);
  }, 120_000);
  afterAll(() => runner.close());

  it('shrinks a case the wrong model (late split) cannot linearize and reports the hit rate', async () => {
    // Judged with the late-split model, every order of this sequence ends in the wrong state (the
    // mprotect splits in all of them): a "race" that shows on every run, whatever the timing.
    const seq = parseSequence({
      vmafuzz: 1,
      arenaPages: 16,
      calls: [
        { op: 'mmap', addr: 'A+0p', len: '8p', prot: 'PROT_READ|PROT_WRITE', flags: FIXED },
        { op: 'mmap', addr: 'A+10p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: FIXED },
      ],
      threads: [
        { calls: [{ op: 'touch', addr: 'A+10p', access: 'write' }, { op: 'mprotect', addr: 'A+2p', len: '2p', prot: 'PROT_READ' }, { op: 'sync' }] },
        { calls: [{ op: 'touch', addr: 'A+7p', access: 'write' }, { op: 'sync' }, { op: 'touch', addr: 'A+11p', access: 'read' }] },
      ],
      readers: 1,
    }, 'test');
    const [k] = await runner.run([seq], FAST_RUN);
    const o = judgeRace(seq, k!, profile, { apply: lateSplitApply });
    expect(o.verdict).toBe('fail');
    expect(judgeRace(seq, k!, profile).verdict).toBe('pass');
    const r = await minimizeRace(runner, profile, seq, o.signature!, { race: { apply: lateSplitApply }, runs: 3, confirmRuns: 6, timeMs: 60_000 });
    // left: the mapping, the mprotect, and one call in the other thread (two threads stay)
    expect(r.callsBefore).toBe(6);
    expect(r.callsAfter).toBe(3);
    expect(r.seq.readers).toBeUndefined();
    expect(r.seq.threads!.every((t) => t.calls.every((c) => c.op !== 'sync'))).toBe(true);
    expect(r.hits).toBe(6);
    expect([...r.seq.calls, ...racingCalls(r.seq).map((c) => c.call)].some((c) => c.op === 'mprotect')).toBe(true);
  }, 180_000);
});
