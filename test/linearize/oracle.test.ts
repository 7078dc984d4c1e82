// The linearizability oracle (src/linearize/) on hand-made kernel runs: no kernel needed.
//
//   setup:   A+0p            A+8p
//            |  rw-p  anon   |
//   thread 0: mmap FIXED PROT_READ  [A+2p, A+4p)
//   thread 1: mprotect PROT_NONE    [A+3p, A+5p)
//
//   mmap first:      |rw|rw|r-|--|--|rw|rw|rw|     0-2 rw, 2-3 r, 3-5 ---, 5-8 rw
//   mprotect first:  |rw|rw|r-|r-|--|rw|rw|rw|     0-2 rw, 2-4 r, 4-5 ---, 5-8 rw
import { describe, expect, it } from 'vitest';
import { judgeRace } from '../../src/linearize/index.js';
import { makeProfile } from '../../src/model/index.js';
import type { CallObs, CallTiming, MapsEntry, MapsRead, SeqObservation } from '../../src/seq/observation.js';
import { parseSequence } from '../../src/seq/io.js';

const profile = makeProfile('7.3.0', {});
const FIXED = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';
const RW = 'PROT_READ|PROT_WRITE';
const seq = parseSequence({
  vmafuzz: 1,
  arenaPages: 8,
  calls: [{ op: 'mmap', addr: 'A+0p', len: '8p', prot: RW, flags: FIXED }],
  threads: [
    { calls: [{ op: 'mmap', addr: 'A+2p', len: '2p', prot: 'PROT_READ', flags: FIXED }] },
    { calls: [{ op: 'mprotect', addr: 'A+3p', len: '2p', prot: 'PROT_NONE' }] },
  ],
}, 'test');

const e = (start: number, end: number, perms: string): MapsEntry => ({ start, end, perms, offset: 0, dev: '00:00', inode: 0, name: '' });
const ok = (v = 0): CallObs => ({ ret: { kind: 'int', value: v }, errno: 0, signal: 0 });
const at = (page: number): CallObs => ({ ret: { kind: 'addr', page, off: 0 }, errno: 0, signal: 0 });
const MMAP_FIRST = [e(0, 2, 'rw-p'), e(2, 3, 'r--p'), e(3, 5, '---p'), e(5, 8, 'rw-p')];
const MPROTECT_FIRST = [e(0, 2, 'rw-p'), e(2, 4, 'r--p'), e(4, 5, '---p'), e(5, 8, 'rw-p')];
const OVERLAP: CallTiming[] = [{ start: 0, end: 100 }, { start: 10, end: 90 }];

function run(final: MapsEntry[], timing: CallTiming[] = OVERLAP, reads: MapsRead[] = [], calls: CallObs[] = [at(0), at(2), ok()]): SeqObservation {
  return {
    calls,
    snapshots: [{ after: -1, maps: [] }, { after: 2, maps: final }],
    status: 'ok',
    timing: [undefined, ...timing],
    reads,
  };
}

describe('linearizability oracle', () => {
  it('accepts either outcome of two overlapping calls, naming the order that explains it', () => {
    const a = judgeRace(seq, run(MMAP_FIRST), profile);
    expect(a.verdict).toBe('pass');
    expect(a.order).toEqual([1, 2]);
    const b = judgeRace(seq, run(MPROTECT_FIRST), profile);
    expect(b.verdict).toBe('pass');
    expect(b.order).toEqual([2, 1]);
  });

  it('rejects an outcome the observed real-time order forbids, with the candidate orders it tried', () => {
    // the mmap ended before the mprotect began: only "mmap first" is allowed
    const o = judgeRace(seq, run(MPROTECT_FIRST, [{ start: 0, end: 5 }, { start: 10, end: 20 }]), profile);
    expect(o.verdict).toBe('fail');
    expect(o.candidates!.map((c) => c.order)).toEqual([[1, 2]]);
    expect(o.divergence!.kind).toMatch(/^race:/);
    expect(o.divergence!.detail).toContain('no linearization');
    expect(o.signature).toMatch(/^[0-9a-f]{16}$/);
  });

  it('rejects an end state no order explains, and a result no order gives', () => {
    const o = judgeRace(seq, run([e(0, 8, 'rw-p')]), profile);
    expect(o.verdict).toBe('fail');
    expect(o.candidates!.map((c) => c.order).sort()).toEqual([[1, 2], [2, 1]]);
    const r = judgeRace(seq, run(MMAP_FIRST, OVERLAP, [], [at(0), at(2), { ret: { kind: 'int', value: -1 }, errno: 12, signal: 0 }]), profile);
    expect(r.verdict).toBe('fail');
    expect(r.divergence!.kind).toBe('race:errno:0!=12');
    expect(r.divergence!.call).toBe(2);
  });

  it('is indeterminate, never a pass, when the bound is exhausted', () => {
    const o = judgeRace(seq, run(MPROTECT_FIRST), profile, { bound: 1 });
    expect(o.verdict).toBe('indeterminate');
    expect(o.reason).toContain('bound');
  });

  it('judges a setup call like a sequential sequence', () => {
    const o = judgeRace(seq, run(MMAP_FIRST, OVERLAP, [], [{ ret: { kind: 'int', value: -1 }, errno: 22, signal: 0 }, at(2), ok()]), profile);
    expect(o.verdict).toBe('fail');
    expect(o.divergence!.call).toBe(0);
  });

  describe('maps reads', () => {
    const read = (maps: MapsEntry[], start = 20, end = 30): MapsRead => ({ reader: 0, start, end, maps });
    it('accepts a read of the state between the calls and one of the end state', () => {
      expect(judgeRace(seq, run(MMAP_FIRST, OVERLAP, [read([e(0, 2, 'rw-p'), e(2, 4, 'r--p'), e(4, 8, 'rw-p')])]), profile).verdict).toBe('pass');
      expect(judgeRace(seq, run(MMAP_FIRST, OVERLAP, [read([e(0, 2, 'rw-p'), e(2, 3, 'r--p'), e(3, 5, '---p'), e(5, 8, 'rw-p')])]), profile).verdict).toBe('pass');
    });
    it('accepts a VMA printed again after a merge extended it (the kernel selftest proc-maps-race accepts it)', () => {
      // 0-2 read while split, then 0-8 once merged back: a line of the setup state, live during the read
      expect(judgeRace(seq, run(MMAP_FIRST, OVERLAP, [read([e(0, 2, 'rw-p'), e(0, 8, 'rw-p')])]), profile).verdict).toBe('pass');
    });
    it('rejects a listing going backwards, a line of no state, and a missing page', () => {
      const back = judgeRace(seq, run(MMAP_FIRST, OVERLAP, [read([e(0, 8, 'rw-p'), e(2, 4, 'r--p')])]), profile);
      expect(back.verdict).toBe('fail');
      expect(back.divergence!.kind).toBe('race:read-backwards');
      const torn = judgeRace(seq, run(MMAP_FIRST, OVERLAP, [read([e(0, 3, 'rw-p'), e(3, 8, 'rw-p')])]), profile);
      expect(torn.divergence!.kind).toBe('race:read-unknown-line');
      // after both calls, pages 0-2 are mapped: a read without them is missing a line
      const missing = judgeRace(seq, run(MMAP_FIRST, OVERLAP, [read([e(2, 3, 'r--p'), e(3, 5, '---p'), e(5, 8, 'rw-p')], 200, 210)]), profile);
      expect(missing.divergence!.kind).toBe('race:read-missing');
    });
    it('does not require a page that a call running during the read acts on (per-VMA-lock readers see its steps)', () => {
      // both calls run during the read, and their neighbourhood is the whole 0-8 VMA
      expect(judgeRace(seq, run(MMAP_FIRST, OVERLAP, [read([e(2, 3, 'r--p'), e(3, 5, '---p'), e(5, 8, 'rw-p')])]), profile).verdict).toBe('pass');
    });
    it('a read after both calls ended sees only the end state', () => {
      const late = judgeRace(seq, run(MMAP_FIRST, OVERLAP, [read([e(0, 2, 'rw-p'), e(2, 4, 'r--p'), e(4, 8, 'rw-p')], 200, 210)]), profile);
      expect(late.verdict).toBe('fail');
    });
  });

  it('prunes orders of calls on disjoint ranges (sleep sets) and repeated states (memo)', () => {
    // three threads of touches and mprotects on three far-apart VMAs: every order commutes
    const three = parseSequence({
      vmafuzz: 1,
      arenaPages: 32,
      calls: [0, 10, 20].map((p) => ({ op: 'mmap', addr: `A+${p}p`, len: '4p', prot: RW, flags: FIXED })),
      threads: [0, 10, 20].map((p) => ({ calls: [
        { op: 'touch', addr: `A+${p}p`, access: 'write' },
        { op: 'mprotect', addr: `A+${p + 1}p`, len: '1p', prot: 'PROT_READ' },
        { op: 'touch', addr: `A+${p + 3}p`, access: 'read' },
      ] })),
    }, 'test');
    const final = [0, 10, 20].flatMap((p) => [e(p, p + 1, 'rw-p'), e(p + 1, p + 2, 'r--p'), e(p + 2, p + 4, 'rw-p')]);
    // a wrong end state forces the whole search: 9!/(3!^3) = 1680 orders without pruning
    const k: SeqObservation = {
      calls: [at(0), at(10), at(20), ...Array(9).fill(ok())],
      snapshots: [{ after: -1, maps: [] }, { after: 11, maps: final.slice(1) }],
      status: 'ok',
      timing: [undefined, undefined, undefined, ...Array.from({ length: 9 }, () => ({ start: 0, end: 100 }))],
    };
    const o = judgeRace(three, k, profile);
    expect(o.verdict).toBe('fail');
    expect(o.stats!.sleepSkips).toBeGreaterThan(0);
    expect(o.stats!.complete).toBeLessThan(1680);
    const good = judgeRace(three, { ...k, snapshots: [{ after: -1, maps: [] }, { after: 11, maps: final }] }, profile);
    expect(good.verdict).toBe('pass');
  });

  it('explains a touch that faulted in, then found its page moved away (the retried access gets SIGSEGV)', () => {
    //   setup   A+4p                 A+12p
    //           |  rw-p, not faulted  |
    //   thread 0: touch A+6p write  -> SIGSEGV
    //   thread 1: mremap [A+5p, A+9p) to A+12p (MREMAP_FIXED)
    //   kernel end state: 4-5 rw, 9-12 rw, 12-16 rw: the moved VMA kept the anon_vma of the fault
    //   (and its pgoff), so it cannot merge with 9-12 - which only the first fault explains
    const race = parseSequence({
      vmafuzz: 1,
      arenaPages: 16,
      calls: [{ op: 'mmap', addr: 'A+4p', len: '8p', prot: RW, flags: FIXED }],
      threads: [
        { calls: [{ op: 'touch', addr: 'A+6p', access: 'write' }] },
        { calls: [{ op: 'mremap', addr: 'A+5p', oldLen: '4p', newLen: '4p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED', newAddr: 'A+12p' }] },
      ],
    }, 'test');
    const k: SeqObservation = {
      calls: [at(4), { ret: { kind: 'int', value: 0 }, errno: 0, signal: 11 }, at(12)],
      snapshots: [{ after: -1, maps: [] }, { after: 2, maps: [e(4, 5, 'rw-p'), e(9, 12, 'rw-p'), e(12, 16, 'rw-p')] }],
      status: 'ok',
      timing: [undefined, { start: 0, end: 100 }, { start: 10, end: 50 }],
    };
    const o = judgeRace(race, k, profile);
    expect(o.verdict).toBe('pass');
    expect(o.order).toEqual([-2, 2, 1]);
    // without the move's split the plain order explains it: the first fault is optional
    const merged = judgeRace(race, { ...k, snapshots: [{ after: -1, maps: [] }, { after: 2, maps: [e(4, 5, 'rw-p'), e(9, 16, 'rw-p')] }] }, profile);
    expect(merged.verdict).toBe('pass');
    expect(merged.order).toEqual([2, 1]);
  });

  it('checks a racing fork\'s child against the state at the fork\'s place in the order', () => {
    const forking = parseSequence({
      vmafuzz: 1,
      arenaPages: 8,
      calls: [{ op: 'mmap', addr: 'A+0p', len: '8p', prot: RW, flags: FIXED }],
      threads: [
        { calls: [{ op: 'fork' }] },
        { calls: [{ op: 'mprotect', addr: 'A+3p', len: '2p', prot: 'PROT_NONE' }] },
      ],
    }, 'test');
    const end = [e(0, 3, 'rw-p'), e(3, 5, '---p'), e(5, 8, 'rw-p')];
    const k = (child: MapsEntry[], timing: CallTiming[]): SeqObservation => ({
      calls: [at(0), ok(), ok()],
      snapshots: [{ after: -1, maps: [] }, { after: 2, maps: end }],
      status: 'ok',
      timing: [undefined, ...timing],
      childMaps: [undefined, child, undefined],
    });
    // the child saw the mprotect: fork after it
    expect(judgeRace(forking, k(end, OVERLAP), profile).order).toEqual([2, 1]);
    // the child saw the arena before it
    expect(judgeRace(forking, k([e(0, 8, 'rw-p')], OVERLAP), profile).order).toEqual([1, 2]);
    // ... which the real-time order forbids when the mprotect ended before the fork began
    const late = judgeRace(forking, k([e(0, 8, 'rw-p')], [{ start: 50, end: 60 }, { start: 0, end: 10 }]), profile);
    expect(late.verdict).toBe('fail');
    expect(late.divergence!.kind).toBe('race:fork-child-maps');
    // a child with a line no state has
    expect(judgeRace(forking, k([e(0, 4, 'rw-p'), e(4, 8, 'rw-p')], OVERLAP), profile).verdict).toBe('fail');
  });

  it('accepts an access that hit a page table entry a running munmap had not torn down yet', () => {
    // setup: A+0p..A+4p rw, page 1 read in (present); thread 0 unmaps page 1 while thread 1
    // writes there (SIGSEGV: the VMA is gone) and then reads it (fine: the entry is still there)
    const race = parseSequence({
      vmafuzz: 1,
      arenaPages: 8,
      calls: [{ op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: FIXED }, { op: 'touch', addr: 'A+1p', access: 'read' }],
      threads: [
        { calls: [{ op: 'munmap', addr: 'A+1p', len: '1p' }] },
        { calls: [{ op: 'touch', addr: 'A+1p', access: 'write' }, { op: 'touch', addr: 'A+1p', access: 'read' }] },
      ],
    }, 'test');
    const segv: CallObs = { ret: { kind: 'int', value: 0 }, errno: 0, signal: 11 };
    const k = (read: CallTiming): SeqObservation => ({
      calls: [at(0), ok(), ok(), segv, ok()],
      snapshots: [{ after: -1, maps: [] }, { after: 4, maps: [e(0, 1, 'rw-p'), e(2, 4, 'rw-p')] }],
      status: 'ok',
      timing: [undefined, undefined, { start: 0, end: 100 }, { start: 10, end: 20 }, read],
    });
    const o = judgeRace(race, k({ start: 21, end: 22 }), profile);
    expect(o.verdict).toBe('pass');
    expect(o.stats!.staleHits).toBeGreaterThan(0);
    // once the munmap has returned, the entry is gone: the read must fault
    expect(judgeRace(race, k({ start: 150, end: 160 }), profile).verdict).toBe('fail');
  });

  it('leaves page presence open where a zapping madvise ran at the same time as another call', () => {
    // shmem A+0p..A+4p, page 1 in the page cache and mapped; thread 0 zaps it all (MADV_DONTNEED,
    // page by page) while thread 1 reads A+0p (fault-around maps page 1 again): the kernel ends
    // with 0 present and 1 not - the zap passed 0 before the fault and reached 1 after it
    const race = parseSequence({
      vmafuzz: 1,
      arenaPages: 8,
      calls: [{ op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: 'MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED' }, { op: 'touch', addr: 'A+1p', access: 'read' }],
      threads: [
        { calls: [{ op: 'madvise', addr: 'A+0p', len: '4p', advice: 'MADV_DONTNEED' }] },
        { calls: [{ op: 'touch', addr: 'A+0p', access: 'read' }] },
      ],
    }, 'test');
    const shmem: MapsEntry = { start: 0, end: 4, perms: 'rw-s', offset: 0, dev: '00:01', inode: 1, name: '/dev/zero (deleted)' };
    const k = (timing: CallTiming[]): SeqObservation => ({
      calls: [at(0), ok(), ok(), ok()],
      snapshots: [{ after: -1, maps: [], pagemap: '--------' }, { after: 3, maps: [shmem], pagemap: 'P-------' }],
      status: 'ok',
      timing: [undefined, undefined, ...timing],
    });
    expect(judgeRace(race, k(OVERLAP), profile).verdict).toBe('pass');
    // one after the other, the order decides: no order gives P-
    const apart = judgeRace(race, k([{ start: 0, end: 10 }, { start: 20, end: 30 }]), profile);
    expect(apart.verdict).toBe('fail');
    expect(apart.divergence!.layer).toBe('pagemap');
  });
});
