// Fault injection per call (failNth): the corpus field, the protocol (`nth <k>`, `f` records), the
// harness on the host kernel (which may or may not have /proc/thread-self/fail-nth: the hello says),
// and the model's oracle for an injected failure (src/model/fail-nth.ts) on kernel observations.

import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { divergenceOf, predictAgainst } from '../src/campaign/check.js';
import { makeProfile } from '../src/model/index.js';
import { strayChild } from '../src/model/fail-nth.js';
import type { Prediction } from '../src/model/index.js';
import { ensureHarness } from '../src/runner/harness-build.js';
import { encodeCallLine, encodeWire, OutputParser, parseHello, toObservation, toWire, type RawResult } from '../src/runner/protocol.js';
import { parseSequence } from '../src/seq/io.js';
import type { SeqObservation } from '../src/seq/observation.js';
import type { Sequence } from '../src/seq/schema.js';

const RW = 'PROT_READ|PROT_WRITE';
const ANON = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';
const seqOf = (calls: unknown[], arenaPages = 16): Sequence => parseSequence({ vmafuzz: 1, arenaPages, calls }, 'test');

describe('corpus field', () => {
  it('is optional on calls, at least 1, and not on touch', () => {
    const s = seqOf([{ op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON, failNth: 3 }, { op: 'fork', failNth: 1 }]);
    expect(s.calls.map((c) => c.failNth)).toEqual([3, 1]);
    expect(() => seqOf([{ op: 'fork', failNth: 0 }])).toThrow(/failNth/);
    expect(() => seqOf([{ op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON }, { op: 'touch', addr: 'A+0p', access: 'write', failNth: 2 }])).toThrow(/failNth needs a system call/);
  });

  it('travels as `nth <k>` and comes back from `f` records', () => {
    const s = seqOf([{ op: 'munmap', addr: 'A+1p', len: '1p', failNth: 0x12 }, { op: 'fork' }]);
    expect(encodeCallLine(s.calls[0]!)).toBe('munmap 1 0 1000 nth 12');
    expect(encodeCallLine(s.calls[1]!)).toBe('fork');
    const got: RawResult[] = [];
    const p = new OutputParser({ onResult: (r) => got.push(r) });
    p.push('seq 1 base=200000 pages=10\nr 0 ffffffffffffffff c 0\nf 0 1\nr 1 0 0 0\ndone 1 ok\n');
    const obs = toObservation(got[0]!, toWire(s));
    expect(obs.calls.map((c) => c.injected)).toEqual(['fired', undefined]);
  });
});

describe('harness on the host kernel', () => {
  let harness: string;
  beforeAll(async () => {
    harness = await ensureHarness();
  }, 120_000);

  it('says whether fail-nth exists and reports each armed call', async () => {
    const s = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'mprotect', addr: 'A+1p', len: '1p', prot: 'PROT_READ', failNth: 1 },
      { op: 'munmap', addr: 'A+0p', len: '4p', failNth: 1000 },
    ]);
    const w = toWire(s);
    const r = await execa(harness, ['--serve'], { input: encodeWire('9', w, { snapshotEveryCall: true }) + 'quit\n', timeout: 30_000 });
    let hello = null as ReturnType<typeof parseHello>;
    const got: RawResult[] = [];
    new OutputParser({ onHello: (h) => (hello = h), onResult: (x) => got.push(x) }).push(r.stdout + '\n');
    const has = existsSync('/proc/thread-self/fail-nth');
    expect(hello!.facts.fail_nth).toBe(has ? '1' : '0');
    const obs = toObservation(got[0]!, w);
    expect(obs.status).toBe('ok');
    expect(obs.snapshots[0]!.maps).toEqual([]); // arming needs nothing mapped in the arena
    expect(obs.calls[0]!.injected).toBeUndefined();
    if (!has) {
      expect(obs.calls.slice(1).map((c) => c.injected)).toEqual(['unavailable', 'unavailable']);
      expect(obs.calls.slice(1).map((c) => c.errno)).toEqual([0, 0]); // nothing injected: the calls just ran
    } else {
      // a munmap of one VMA makes far fewer than 1000 allocation checks
      expect(obs.calls[2]!.injected).toBe('not-fired');
      expect(obs.calls[2]!.errno).toBe(0);
    }
  });
});

describe('model oracle for an injected failure', () => {
  const profile = makeProfile('7.3.4', {});
  /** The kernel observation the model predicts for `seq`, with call i's outcome replaced. */
  function kernelWith(seq: Sequence, edits: Record<number, Partial<SeqObservation['calls'][number]>>, dropChild = false): SeqObservation {
    const plain = predictAgainst({ ...seq, calls: seq.calls.map(({ failNth: _f, ...c }) => c as Sequence['calls'][number]) }, { calls: [], snapshots: [], status: 'ok' }, profile, true);
    const k: SeqObservation = { calls: plain.calls.map((c, i) => ({ ...c, ...(edits[i] ?? {}) })), snapshots: plain.snapshots, status: 'ok' };
    if (dropChild) k.snapshots = k.snapshots.filter((s) => !s.proc);
    return k;
  }
  const ENOMEM = 12;

  it('munmap splitting a VMA: ENOMEM and the maps exactly as before', () => {
    // before:  |AAAA|      munmap A+0p..A+1p fails: still |AAAA|, not   |AAA|
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'munmap', addr: 'A+0p', len: '1p', failNth: 1 },
    ]);
    const model = predictAgainst(seq, kernelWith(seq, { 1: { injected: 'fired', errno: ENOMEM, ret: { kind: 'int', value: -1 } } }), profile, true);
    expect(model.calls[1]).toMatchObject({ errno: ENOMEM });
    expect(model.snapshots.at(-1)!.maps.map((m) => [m.start, m.end])).toEqual([[0, 4]]);
    // a kernel that did split although it said ENOMEM diverges at the maps
    const split = kernelWith(seq, { 1: { injected: 'fired', errno: ENOMEM, ret: { kind: 'int', value: -1 } } });
    split.snapshots = predictAgainst({ ...seq, calls: seq.calls.map(({ failNth: _f, ...c }) => c as Sequence['calls'][number]) }, { calls: [], snapshots: [], status: 'ok' }, profile, true).snapshots;
    const bad = predictAgainst(seq, split, profile, true);
    expect(divergenceOf(seq, bad, split)).toMatchObject({ call: 1, layer: 'maps' });
  });

  it('an undocumented errno is a divergence; a failure absorbed by the kernel is judged as a plain call', () => {
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'mprotect', addr: 'A+0p', len: '1p', prot: 'PROT_READ', failNth: 2 },
    ]);
    const einval = kernelWith(seq, { 1: { injected: 'fired', errno: 22, ret: { kind: 'int', value: -1 } } });
    // the EINVAL run: maps unchanged as the oracle wants, but the errno is not ENOMEM
    einval.snapshots = einval.snapshots.map((s) => (s.after === 1 ? { ...s, maps: einval.snapshots.find((x) => x.after === 0)!.maps } : s));
    const m = predictAgainst(seq, einval, profile, true);
    expect(divergenceOf(seq, m, einval)).toMatchObject({ call: 1, layer: 'result', kind: 'errno:12!=22' });
    const absorbed = kernelWith(seq, { 1: { injected: 'fired' } });
    expect(divergenceOf(seq, predictAgainst(seq, absorbed, profile, true), absorbed)).toBeNull();
  });

  it('fork: the parent unchanged and no child; later calls run in the parent', () => {
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'fork', failNth: 5 },
      { op: 'munmap', addr: 'A+0p', len: '1p' },
    ]);
    const m = predictAgainst(seq, kernelWith(seq, { 1: { injected: 'fired', errno: ENOMEM, ret: { kind: 'int', value: -1 } } }), profile, true);
    expect(m.calls[1]).toMatchObject({ errno: ENOMEM });
    expect(m.snapshots.every((s) => s.proc === 0)).toBe(true); // every snapshot from the first process
    expect(m.snapshots.at(-1)!.maps.map((e) => [e.start, e.end])).toEqual([[1, 4]]);
  });

  it('anon_name: ENOMEM (the name) or EAGAIN (a split: madvise_vma_behavior), nothing else', () => {
    // found by a fail-nth campaign: the 7.3 kernel answered EAGAIN for a failed split
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: 'MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED' },
      { op: 'anon_name', addr: 'A+0p', len: '1p', name: 'x', failNth: 4 },
    ]);
    const anonProfile = makeProfile('7.3.4', { anon_name: '1' });
    const judge = (errno: number) => {
      const plain = predictAgainst({ ...seq, calls: seq.calls.map(({ failNth: _f, ...c }) => c as Sequence['calls'][number]) }, { calls: [], snapshots: [], status: 'ok' }, anonProfile, true);
      const k: SeqObservation = { calls: plain.calls.map((c, i) => (i === 1 ? { ...c, injected: 'fired', errno, ret: { kind: 'int', value: -1 } } : c)), snapshots: plain.snapshots.map((x) => (x.after === 1 ? { ...x, maps: plain.snapshots.find((y) => y.after === 0)!.maps } : x)), status: 'ok' };
      return divergenceOf(seq, predictAgainst(seq, k, anonProfile, true), k);
    };
    expect(judge(ENOMEM)).toBeNull();
    expect(judge(11)).toBeNull();
    expect(judge(22)).toMatchObject({ call: 1, layer: 'result' });
  });

  it('no child of a failed fork: a later fork\'s child is not taken for one', () => {
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'fork', failNth: 5 },
      { op: 'munmap', addr: 'A+0p', len: '1p' },
      { op: 'fork' },
      { op: 'munmap', addr: 'A+1p', len: '1p' },
    ]);
    const snap = (after: number, proc: number) => ({ after, proc, maps: [] });
    const k = (snaps: ReturnType<typeof snap>[]): SeqObservation => ({ calls: seq.calls.map((_, i) => ({ ret: { kind: 'int', value: i === 1 ? -1 : 0 }, errno: i === 1 ? ENOMEM : 0, signal: 0, ...(i === 1 ? { injected: 'fired' as const } : {}) })), snapshots: snaps, status: 'ok' });
    const model = { calls: [], snapshots: [snap(-1, 0), snap(2, 0)], status: 'ok', rules: [], unsupported: { call: 3, reason: 'x' } } as unknown as Prediction;
    // a process 1 snapshot between the failed fork and the next fork: a child that should not exist
    expect(strayChild(seq, model, k([snap(-1, 0), snap(2, 1)]))).toMatchObject({ call: 1, kind: 'fork-failed-child-ran' });
    // after the later fork: that fork's own child
    expect(strayChild(seq, model, k([snap(-1, 0), snap(2, 0), snap(4, 1)]))).toBeNull();
  });

  it('a failed uffd_create still takes its handle: the next create is handle 1', () => {
    // found by a fail-nth campaign (7.3+kasan+fault-injection): the no-op stand-in took no handle
    const seq = seqOf([
      { op: 'uffd_create', features: '0', failNth: 3 },
      { op: 'uffd_create', features: '0' },
    ]);
    const k = kernelWith(seq, { 0: { injected: 'fired', errno: ENOMEM, ret: { kind: 'int', value: -1 } }, 1: { ret: { kind: 'int', value: 1 } } });
    const m = predictAgainst(seq, k, profile, true);
    expect(m.calls[0]).toMatchObject({ errno: ENOMEM });
    expect(m.calls[1]!.ret).toEqual({ kind: 'int', value: 1 });
    expect(divergenceOf(seq, m, k)).toBeNull();
  });

  it('no verdict for a range split at both ends (the first split may stay)', () => {
    // |AAAA|   munmap A+1p..A+2p: split at A+1p, then at A+2p; if the second fails: |A|AAA|
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'munmap', addr: 'A+1p', len: '1p', failNth: 2 },
    ]);
    const m = predictAgainst(seq, kernelWith(seq, { 1: { injected: 'fired', errno: ENOMEM, ret: { kind: 'int', value: -1 } } }), profile, true);
    expect(m.unsupported).toMatchObject({ call: 1 });
    expect(m.unsupported!.reason).toMatch(/both ends/);
  });

  it('no verdict for an mremap shrink whose unmapped tail splits at both ends (found by a campaign)', () => {
    // |AAA| mremap(A+0p, 2p -> 1p): unmaps A+1p..A+2p, split at A+1p then at A+2p
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '3p', prot: 'PROT_NONE', flags: ANON },
      { op: 'mremap', addr: 'A+0p', oldLen: '2p', newLen: '1p', flags: '0', failNth: 3 },
    ]);
    const m = predictAgainst(seq, kernelWith(seq, { 1: { injected: 'fired', errno: ENOMEM, ret: { kind: 'int', value: -1 } } }), profile, true);
    expect(m.unsupported).toMatchObject({ call: 1 });
  });

  it('judges a call in a fork child by the child\'s arena (found by a campaign)', () => {
    // the parent forks with an empty arena; the child maps |AAA| and MAP_FIXED over A+1p may leave a hole
    const seq = seqOf([
      { op: 'fork' },
      { op: 'mmap', addr: 'A+0p', len: '3p', prot: 'PROT_NONE', flags: ANON },
      { op: 'mmap', addr: 'A+1p', len: '1p', prot: 'PROT_NONE', flags: 'MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED', failNth: 7 },
    ]);
    const m = predictAgainst(seq, kernelWith(seq, { 2: { injected: 'fired', errno: ENOMEM, ret: { kind: 'int', value: -1 } } }), profile, true);
    expect(m.unsupported).toMatchObject({ call: 2 });
    expect(m.unsupported!.reason).toMatch(/MAP_FIXED mmap over 1 existing/);
  });

  it('no verdict where a failure part-way is allowed to leave work done', () => {
    // |AAAA|BBBB| (different prot): mprotect over both may fail after changing A
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'mmap', addr: 'A+4p', len: '4p', prot: 'PROT_READ', flags: ANON },
      { op: 'mprotect', addr: 'A+0p', len: '8p', prot: 'PROT_NONE', failNth: 3 },
    ]);
    const m = predictAgainst(seq, kernelWith(seq, { 2: { injected: 'fired', errno: ENOMEM, ret: { kind: 'int', value: -1 } } }), profile, true);
    expect(m.unsupported).toMatchObject({ call: 2 });
    expect(m.unsupported!.reason).toMatch(/over 2 VMAs/);
  });

  it('no verdict after a MAP_POPULATE mmap that absorbed the failure (found by a campaign: populated nothing)', () => {
    // mmap(MAP_POPULATE) succeeds whatever populating met (mm/util.c:vm_mmap_pgoff ignores it):
    // the model would say PPPP, the kernel stopped at the failed fault: ---- on 7.3.4-vmafuzz
    const seq = seqOf([{ op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON + '|MAP_POPULATE', failNth: 3 }, { op: 'munmap', addr: 'A+0p', len: '1p' }]);
    const m = predictAgainst(seq, kernelWith(seq, { 0: { injected: 'fired' } }), profile, true);
    expect(m.unsupported).toMatchObject({ call: 0 });
    expect(m.unsupported!.reason).toMatch(/__mm_populate/);
    // without populate, an absorbed failure is judged as a plain call
    const plain = seqOf([{ op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON, failNth: 3 }]);
    expect(predictAgainst(plain, kernelWith(plain, { 0: { injected: 'fired' } }), profile, true).unsupported).toBeUndefined();
  });

  it('no verdict after an absorbed failure of an mmap that merges (the kernel may map a VMA of its own)', () => {
    // |AAAA|....   mmap A+4p..A+8p merges into A (mm/vma.c:vma_merge_new_range); when the merge's
    // allocation fails, __mmap_region allocates a new VMA: |AAAA|BBBB| with the call's success
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'mmap', addr: 'A+4p', len: '4p', prot: RW, flags: ANON, failNth: 2 },
    ]);
    const m = predictAgainst(seq, kernelWith(seq, { 1: { injected: 'fired' } }), profile, true);
    expect(m.unsupported).toMatchObject({ call: 1 });
    expect(m.unsupported!.reason).toMatch(/__mmap_new_vma/);
    // not fired: the ordinary merge is predicted and judged
    expect(predictAgainst(seq, kernelWith(seq, { 1: { injected: 'not-fired' } }), profile, true).unsupported).toBeUndefined();
  });

  it('no verdict where the call\'s own failure comes after work and the injected one may come first (found by a campaign)', () => {
    // |AAAA|BBBB|..   anon_name over A+0p..A+10p names A and B, then ENOMEM for the hole; an
    // injected failure of the name's allocation is the same ENOMEM with nothing named
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'mmap', addr: 'A+4p', len: '4p', prot: 'PROT_READ', flags: ANON },
      { op: 'anon_name', addr: 'A+0p', len: '10p', name: 'x', failNth: 2 },
    ]);
    const m = predictAgainst(seq, kernelWith(seq, { 2: { injected: 'fired' } }), profile, true);
    expect(m.unsupported).toMatchObject({ call: 2 });
    expect(m.unsupported!.reason).toMatch(/own reason/);
    // mlock over A and a hole: VM_LOCKED on A (no split, the maps text is the same), then ENOMEM
    const lock = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'mlock2', addr: 'A+0p', len: '6p', flags: 'MLOCK_ONFAULT', failNth: 1 },
    ]);
    const l = predictAgainst(lock, kernelWith(lock, { 1: { injected: 'fired' } }), profile, true);
    expect(l.unsupported).toMatchObject({ call: 1 });
    // an own failure before any work (EINVAL for the alignment) is judged
    const early = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'anon_name', addr: 'A+0p+0x10', len: '1p', name: 'x', failNth: 2 },
    ]);
    const e = predictAgainst(early, kernelWith(early, { 1: { injected: 'fired' } }), profile, true);
    expect(e.unsupported).toBeUndefined();
    expect(e.calls[1]).toMatchObject({ errno: 22 });
  });

  it('no verdict after a shmdt that absorbed the failure (ipc/shm.c:ksys_shmdt ignores its munmap errors)', () => {
    const seq = parseSequence({ vmafuzz: 1, arenaPages: 16, shm: [{ size: '2p' }], calls: [{ op: 'shmat', shm: 0, addr: 'A+0p', flags: '0' }, { op: 'shmdt', addr: 'A+0p', failNth: 1 }] }, 'test');
    const m = predictAgainst(seq, kernelWith(seq, { 1: { injected: 'fired' } }), profile, true);
    expect(m.unsupported).toMatchObject({ call: 1 });
    expect(m.unsupported!.reason).toMatch(/ksys_shmdt/);
  });

  it('no verdict for an mlock or MADV_POPULATE_WRITE that failed while populating (the work before stays)', () => {
    const lock = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'mlock', addr: 'A+0p', len: '4p', failNth: 4 },
    ]);
    const m = predictAgainst(lock, kernelWith(lock, { 1: { injected: 'fired', errno: 11, ret: { kind: 'int', value: -1 } } }), profile, true);
    expect(m.unsupported).toMatchObject({ call: 1 });
    expect(m.unsupported!.reason).toMatch(/do_mlock/);
    const pop = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'madvise', addr: 'A+0p', len: '4p', advice: 'MADV_POPULATE_WRITE', failNth: 2 },
    ]);
    const p = predictAgainst(pop, kernelWith(pop, { 1: { injected: 'fired', errno: ENOMEM, ret: { kind: 'int', value: -1 } } }), profile, true);
    expect(p.unsupported).toMatchObject({ call: 1 });
    // MLOCK_ONFAULT populates nothing: the failure leaves the mm as it was
    const onfault = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'mlock2', addr: 'A+0p', len: '4p', flags: 'MLOCK_ONFAULT', failNth: 1 },
    ]);
    const o = predictAgainst(onfault, kernelWith(onfault, { 1: { injected: 'fired', errno: ENOMEM, ret: { kind: 'int', value: -1 } } }), profile, true);
    expect(o.unsupported).toBeUndefined();
    expect(o.calls[1]).toMatchObject({ errno: ENOMEM });
  });
});

describe('generated cases', () => {
  it('get failNth on one system call of the chosen share, from (seed, index) alone', async () => {
    const { withFailNth } = await import('../src/gen/fail-nth.js');
    const { generate, DEFAULT_CONFIG } = await import('../src/gen/generate.js');
    const cases = Array.from({ length: 200 }, (_, i) => withFailNth(generate(7, i, DEFAULT_CONFIG), 7, i, 25, 5));
    const injected = cases.filter((s) => s.calls.some((c) => c.failNth !== undefined));
    expect(injected.length).toBeGreaterThan(25);
    expect(injected.length).toBeLessThan(75);
    for (const s of injected) {
      const marked = s.calls.filter((c) => c.failNth !== undefined);
      expect(marked).toHaveLength(1);
      expect(marked[0]!.op).not.toBe('touch');
      expect(marked[0]!.failNth).toBeGreaterThanOrEqual(1);
      expect(marked[0]!.failNth).toBeLessThanOrEqual(5);
    }
    expect(withFailNth(generate(7, 3, DEFAULT_CONFIG), 7, 3, 25, 5)).toEqual(cases[3]);
    expect(withFailNth(generate(7, 3, DEFAULT_CONFIG), 7, 3, 0, 5).calls.some((c) => c.failNth !== undefined)).toBe(false);
  });
});

describe('fail sweep reading', () => {
  it('per k: fired, errno, mm unchanged, child, verdict', async () => {
    const { sweepStep, formatStep } = await import('../src/cli/commands/fail-sweep.js');
    const profile = makeProfile('7.3.4', {});
    const seq = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'fork', failNth: 2 },
      { op: 'munmap', addr: 'A+0p', len: '1p' },
    ]);
    // what the kernel shows when the fork failed: every snapshot from process 0, the arena intact after it
    // the same process without the fork: munmap of length 0 changes nothing (EINVAL)
    const plain = seqOf([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
      { op: 'munmap', addr: 'A+0p', len: '0' },
      { op: 'munmap', addr: 'A+0p', len: '1p' },
    ]);
    const base = predictAgainst(plain, { calls: [], snapshots: [], status: 'ok' }, profile, true);
    const kernel: SeqObservation = {
      calls: [base.calls[0]!, { ret: { kind: 'int', value: -1 }, errno: 12, signal: 0, injected: 'fired' }, base.calls[2]!],
      snapshots: base.snapshots.map((s) => ({ ...s, proc: 0 })),
      status: 'ok',
    };
    const s = sweepStep(seq, 1, 2, kernel, profile);
    expect(s).toMatchObject({ k: 2, injected: 'fired', errno: 12, unchanged: true, child: false, verdict: 'match' });
    expect(formatStep(s)).toBe('k=2: fired, ENOMEM, mm unchanged, no child -> MATCH');
    // a kernel whose failed fork left a child behind diverges
    const withChild = { ...kernel, snapshots: [...kernel.snapshots, { ...kernel.snapshots.at(-1)!, proc: 1 }] };
    const bad = sweepStep(seq, 1, 2, withChild, profile);
    expect(bad.child).toBe(true);
    expect(bad.verdict).toBe('diverge');
  });
});
