import { describe, expect, it } from 'vitest';
import { classifyMaps, firstDivergence } from '../src/compare/compare.js';
import { signature } from '../src/compare/signature.js';
import type { MapsEntry, SeqObservation } from '../src/seq/observation.js';
import { parseSequence } from '../src/seq/io.js';

const anon = (start: number, end: number, perms = 'rw-p'): MapsEntry => ({ start, end, perms, offset: 0, dev: '00:00', inode: 0, name: '' });
const shm = (start: number, end: number, dev: string, inode: number): MapsEntry => ({ start, end, perms: 'rw-s', offset: 0, dev, inode, name: '/dev/zero (deleted)' });
const ok = { ret: { kind: 'int' as const, value: 0 }, errno: 0, signal: 0 };

function obs(calls: SeqObservation['calls'], snaps: Array<[number, MapsEntry[]]>): SeqObservation {
  return { calls, snapshots: snaps.map(([after, maps]) => ({ after, maps })), status: 'ok' };
}

describe('compare', () => {
  it('agrees on identical observations', () => {
    const a = obs([ok, ok], [[-1, []], [0, [anon(0, 4)]], [1, [anon(0, 2), anon(2, 4, 'r--p')]]]);
    expect(firstDivergence(a, structuredClone(a))).toBeNull();
  });

  it('reports the first call whose result differs, before later maps differences', () => {
    const m = obs([ok, ok], [[-1, []], [0, [anon(0, 4)]], [1, [anon(0, 4)]]]);
    const k = obs([ok, { ret: { kind: 'int', value: -1 }, errno: 12, signal: 0 }], [[-1, []], [0, [anon(0, 4)]], [1, [anon(0, 8)]]]);
    const d = firstDivergence(m, k)!;
    expect(d.call).toBe(1);
    expect(d.layer).toBe('result');
    expect(d.kind).toBe('errno:0!=12');
  });

  it('classifies maps differences without addresses', () => {
    expect(classifyMaps([anon(0, 2), anon(2, 4)], [anon(0, 4)])).toBe('kernel-merged');
    expect(classifyMaps([anon(0, 4)], [anon(0, 1), anon(1, 4)])).toBe('kernel-split');
    expect(classifyMaps([anon(0, 4)], [anon(0, 5)])).toBe('kernel-mapped-more');
    expect(classifyMaps([anon(0, 4)], [anon(0, 3)])).toBe('kernel-mapped-less');
    expect(classifyMaps([anon(0, 4)], [anon(0, 4, 'r--p')])).toBe('perms');
  });

  it('compares file identity, not inode numbers', () => {
    // the model names its shmem files 1, 2; the kernel has real inodes
    const m = obs([ok, ok], [[0, [shm(0, 2, '00:01', 1)]], [1, [shm(0, 2, '00:01', 1), shm(2, 4, '00:01', 2)]]]);
    const k = obs([ok, ok], [[0, [shm(0, 2, '00:01', 9001)]], [1, [shm(0, 2, '00:01', 9001), shm(2, 4, '00:01', 9005)]]]);
    expect(firstDivergence(m, k)).toBeNull();
    // but the kernel reusing one file where the model has two is a divergence
    const k2 = obs([ok, ok], [[0, [shm(0, 2, '00:01', 9001)]], [1, [shm(0, 2, '00:01', 9001), shm(2, 4, '00:01', 9001)]]]);
    expect(firstDivergence(m, k2)?.kind).toBe('file');
  });

  it('gives the same signature to the same difference at other addresses', () => {
    const s1 = parseSequence({ vmafuzz: 1, arenaPages: 64, calls: [{ op: 'mprotect', addr: 'A+3p', len: '2p', prot: 'PROT_READ' }] }, 'a');
    const s2 = parseSequence({ vmafuzz: 1, arenaPages: 64, calls: [{ op: 'mmap', addr: 'A+0p', len: '9p', prot: 'PROT_READ', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' }, { op: 'mprotect', addr: 'A+30p', len: '7p', prot: 'PROT_READ' }] }, 'b');
    const d1 = firstDivergence(obs([ok], [[0, [anon(3, 4), anon(4, 5)]]]), obs([ok], [[0, [anon(3, 5)]]]))!;
    const d2 = firstDivergence(obs([ok, ok], [[1, [anon(30, 33), anon(33, 37)]]]), obs([ok, ok], [[1, [anon(30, 37)]]]))!;
    const sig1 = signature({ divergence: d1, calls: s1.calls, rules: ['merge.existing.next', 'anon_vma.refuse.distinct'] });
    // the same wrong decision reached through another merge shape, with other side effects
    const sig2 = signature({ divergence: d2, calls: s2.calls, rules: ['merge.existing.prev_partial', 'split.head', 'mprotect.account_set', 'anon_vma.refuse.distinct'] });
    expect(sig1).toBe(sig2);
    // a different decisive rule is a different finding
    expect(signature({ divergence: d2, calls: s2.calls, rules: ['anon_vma.refuse.faulted_into_unfaulted'] })).not.toBe(sig1);
  });
});

describe('compare: further layers', () => {
  const withLayers = (flags: string, pagemap: string, proc = 0): SeqObservation => ({
    calls: [ok],
    snapshots: [{ after: 0, proc, maps: [{ ...anon(0, 2), vmflags: flags }], pagemap }],
    status: 'ok',
  });

  it('checks VmFlags as a set and names the differing flags', () => {
    expect(firstDivergence(withLayers('rd wr mr mw me ac', 'PP'), withLayers('rd wr mr mw me ac', 'PP'))).toBeNull();
    const d = firstDivergence(withLayers('rd wr mr mw me ac', 'PP'), withLayers('rd wr mr mw me dc', 'PP'))!;
    expect(d.layer).toBe('vmflags');
    expect(d.kind).toBe('vmflags:+dc-ac');
  });

  it('checks pagemap page by page, with ? as the model saying "the kernel may choose"', () => {
    expect(firstDivergence(withLayers('rd', '?G'), withLayers('rd', 'PG'))).toBeNull();
    const d = firstDivergence(withLayers('rd', '-G'), withLayers('rd', 'PP'))!;
    expect(d.layer).toBe('pagemap');
    expect(d.kind).toBe('pagemap:-!=P');
  });

  it('compares snapshots of the same process only, and names the process', () => {
    const m: SeqObservation = { calls: [ok], snapshots: [{ after: 0, proc: 1, maps: [anon(0, 2)] }, { after: 0, proc: 0, maps: [anon(0, 4)] }], status: 'ok' };
    const k: SeqObservation = { calls: [ok], snapshots: [{ after: 0, proc: 1, maps: [anon(0, 2)] }, { after: 0, proc: 0, maps: [anon(0, 3)] }], status: 'ok' };
    const d = firstDivergence(m, k)!;
    expect(d.proc).toBe(0);
    expect(d.kind).toBe('kernel-mapped-less');
  });

  it('reports a different uffd event as a probe divergence', () => {
    const m: SeqObservation = { calls: [{ ...ok, event: 'missing' }], snapshots: [], status: 'ok' };
    const k: SeqObservation = { calls: [ok], snapshots: [], status: 'ok' };
    expect(firstDivergence(m, k)).toMatchObject({ layer: 'probe', kind: 'event:missing!=' });
  });
});
