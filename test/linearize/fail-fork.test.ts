// The oracle of a racing fork with an injected failure (src/linearize/fail-fork.ts) on hand-made
// kernel runs, and the schema's rules for failNth in a concurrent sequence. No kernel needed.
//
//   setup:     A+0p        A+4p  A+6p        A+10p
//              |  rw-p     |     |  r--p     |
//   thread 0:  fork failNth 3                        [0, 100] ns
//   thread 1:  touch A+0p read                       [10, 20] ns
//   reader 0:  reads /proc/self/maps                 [30, 60] ns: during the fork only
//
// A fork whose injected failure surfaced changed nothing of the parent: every read during it must
// be exactly the two VMAs above, and the fork excuses no missing line.
import { describe, expect, it } from 'vitest';
import { judgeRace } from '../../src/linearize/index.js';
import { makeProfile } from '../../src/model/index.js';
import type { CallObs, MapsEntry, MapsRead, SeqObservation } from '../../src/seq/observation.js';
import { parseSequence } from '../../src/seq/io.js';

const profile = makeProfile('7.3.0', {});
const FIXED = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';
const RW = 'PROT_READ|PROT_WRITE';
const SETUP = [
  { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: FIXED },
  { op: 'mmap', addr: 'A+6p', len: '4p', prot: 'PROT_READ', flags: FIXED },
];
const conc = (threads: unknown[], calls: unknown[] = SETUP) => parseSequence({ vmafuzz: 1, arenaPages: 12, calls, threads, readers: 1 }, 'test');
const seq = conc([{ calls: [{ op: 'fork', failNth: 3 }] }, { calls: [{ op: 'touch', addr: 'A+0p', access: 'read' }] }]);

const e = (start: number, end: number, perms: string): MapsEntry => ({ start, end, perms, offset: 0, dev: '00:00', inode: 0, name: '' });
const BEFORE = [e(0, 4, 'rw-p'), e(6, 10, 'r--p')];
const at = (page: number): CallObs => ({ ret: { kind: 'addr', page, off: 0 }, errno: 0, signal: 0 });
const OK: CallObs = { ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 };
const failed = (errno = 12): CallObs => ({ ret: { kind: 'int', value: -1 }, errno, signal: 0, injected: 'fired' });
const read = (maps: MapsEntry[]): MapsRead => ({ reader: 0, start: 30, end: 60, maps });

function run(o: { fork?: CallObs; reads?: MapsRead[]; final?: MapsEntry[]; child?: MapsEntry[] } = {}): SeqObservation {
  return {
    calls: [at(0), at(6), o.fork ?? failed(), OK],
    snapshots: [{ after: -1, maps: [] }, { after: 3, maps: o.final ?? BEFORE }],
    status: 'ok',
    timing: [undefined, undefined, { start: 0, end: 100 }, { start: 10, end: 20 }],
    reads: o.reads ?? [read(BEFORE)],
    ...(o.child ? { childMaps: [undefined, undefined, o.child, undefined] } : {}),
  };
}

describe('a racing fork whose injected failure surfaced', () => {
  it('passes when the parent is unchanged, no child ran and every read is the parent\'s maps', () => {
    const j = judgeRace(seq, run(), profile);
    expect(j.verdict).toBe('pass');
    expect(judgeRace(seq, run({ fork: failed(11) }), profile).verdict).toBe('pass'); // EAGAIN: fork(2)
  });

  it('rejects a read during the fork that shows a VMA the parent never had', () => {
    //   read: |rw-p|rw-p|r--p|   (A+4p..A+6p: something of the fork's own)
    const j = judgeRace(seq, run({ reads: [read([e(0, 4, 'rw-p'), e(4, 6, 'rw-p'), e(6, 10, 'r--p')])] }), profile);
    expect(j.verdict).toBe('fail');
    expect(j.divergence!.kind).toBe('race:read-unknown-line');
    expect(j.divergence!.detail).toContain('A+4p');
  });

  it('rejects a read during the fork that lacks a parent VMA: the failed fork excuses nothing', () => {
    const j = judgeRace(seq, run({ reads: [read([e(0, 4, 'rw-p')])] }), profile);
    expect(j.verdict).toBe('fail');
    expect(j.divergence!.kind).toBe('race:read-missing');
  });

  it('rejects an errno fork(2) does not give for a lack of memory', () => {
    const j = judgeRace(seq, run({ fork: failed(22) }), profile);
    expect(j.verdict).toBe('fail');
    expect(j.divergence).toMatchObject({ call: 2, layer: 'result', kind: 'errno:12!=22' });
  });

  it('rejects a child of the failed fork', () => {
    const j = judgeRace(seq, run({ child: BEFORE }), profile);
    expect(j.verdict).toBe('fail');
    expect(j.divergence).toMatchObject({ call: 2, kind: 'fork-failed-child-ran' });
  });

  it('rejects a parent whose end state changed', () => {
    const j = judgeRace(seq, run({ final: [e(0, 4, 'rw-p')] }), profile);
    expect(j.verdict).toBe('fail');
    expect(j.divergence!.detail).toContain('end state');
  });

  it('judges a fork whose injection did not fire (or fired and fork succeeded) as an ordinary racing fork', () => {
    for (const injected of ['not-fired', 'fired', 'unavailable'] as const) {
      const fork: CallObs = { ...OK, injected };
      expect(judgeRace(seq, run({ fork, child: BEFORE }), profile).verdict, injected).toBe('pass');
      // ... whose child must have the parent's maps at its place in the order
      const bad = judgeRace(seq, run({ fork, child: [e(0, 4, 'rw-p')] }), profile);
      expect(bad.verdict, injected).toBe('fail');
      expect(bad.divergence!.kind).toBe('race:fork-child-maps');
    }
  });
});

describe('failNth in a concurrent sequence (schema)', () => {
  const touch = { calls: [{ op: 'touch', addr: 'A+0p', access: 'read' }] };
  it('takes it on one plain racing fork only', () => {
    expect(() => conc([{ calls: [{ op: 'mprotect', addr: 'A+0p', len: '1p', prot: 'PROT_READ', failNth: 2 }] }, touch])).toThrow(/threads\[0\]\.calls\[0\]\.failNth: fault injection in a racing thread is for a plain fork only.*not on mprotect/);
    expect(() => conc([{ calls: [{ op: 'fork', failNth: 2 }] }, { calls: [{ op: 'fork' }] }])).toThrow(/the only racing fork/);
    expect(() => conc([{ calls: [{ op: 'fork', failNth: 2 }] }, touch], [{ ...SETUP[0], failNth: 1 }])).toThrow(/calls\[0\]\.failNth: fault injection is not in the setup of a concurrent sequence/);
    expect(() => conc([{ calls: [{ op: 'fork', failNth: 2 }] }, touch])).not.toThrow();
  });
});
