// predict(): the runner-shaped observation, snapshots, rule hits, kernel placement, unsupported calls.
import { describe, expect, it } from 'vitest';
import { applyCall, hostProfile, legalPlacement, makeProfile, Mm, predict, RULE_IDS, RULES } from '../../src/model/index.js';
import { sysMmap } from '../../src/model/syscalls.js';
import type { Sequence } from '../../src/seq/schema.js';
import { sequenceSchema } from '../../src/seq/schema.js';
import { mmap, mprotect, munmap, touch } from './helpers.js';

const predictInto = (mm: Mm, calls: Sequence['calls']) => calls.forEach((c) => applyCall(mm, c));
const seq = (arenaPages: number, ...calls: Sequence['calls']): Sequence => ({ vmafuzz: 1, arenaPages, calls });

describe('predict', () => {
  it('returns per-call results and snapshots before the first and after the last call', () => {
    const s = seq(8, mmap(0, 4, 'rw', 'fixed'), mprotect(2, 2, 'r'), touch(3, 'w'), munmap(6, 1));
    const p = predict(s, hostProfile(), { snapshotEveryCall: false });
    expect(p.status).toBe('ok');
    expect(p.calls).toEqual([
      { ret: { kind: 'addr', page: 0, off: 0 }, errno: 0, signal: 0 },
      { ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 },
      { ret: { kind: 'int', value: 0 }, errno: 0, signal: 11 },
      { ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 },
    ]);
    expect(p.snapshots.map((x) => x.after)).toEqual([-1, 3]);
    expect(p.snapshots[0]!.maps).toEqual([]);
    expect(p.snapshots[1]!.maps).toEqual([
      { start: 0, end: 2, perms: 'rw-p', offset: 0, dev: '00:00', inode: 0, name: '' },
      { start: 2, end: 4, perms: 'r--p', offset: 0, dev: '00:00', inode: 0, name: '' },
    ]);
    expect(p.rules).toHaveLength(4);
    expect(p.rules[2]).toEqual(['touch.segv.write_protected']);
  });

  it('takes a snapshot after every call on request; a failed call is reported with -1 and errno', () => {
    const s = seq(8, mmap(0, 2, 'rw', 'fixed'), munmap(0, 0n), mmap(0, 2, 'rw', 'noreplace'));
    const p = predict(s, hostProfile(), { snapshotEveryCall: true });
    expect(p.snapshots.map((x) => x.after)).toEqual([-1, 0, 1, 2]);
    expect(p.calls[1]).toEqual({ ret: { kind: 'int', value: -1 }, errno: 22, signal: 0 });
    expect(p.calls[2]!.errno).toBe(17);
  });

  it('renders shared anonymous memory as distinct shmem files with their page offsets', () => {
    const s = seq(8, mmap(0, 4, 'rw', 'fixed', 'shared'), mmap(4, 2, 'r', 'fixed', 'shared'), munmap(0, 1));
    const maps = predict(s, hostProfile(), { snapshotEveryCall: false }).snapshots.at(-1)!.maps;
    expect(maps).toEqual([
      { start: 1, end: 4, perms: 'rw-s', offset: 4096, dev: '00:01', inode: 1, name: '/dev/zero (deleted)' },
      { start: 4, end: 6, perms: 'r--s', offset: 0, dev: '00:01', inode: 2, name: '/dev/zero (deleted)' },
    ]);
  });

  it('records only known rule ids, each with a kernel reference', () => {
    const s = seq(16, mmap(null, 4, 'rw'), mmap(0, 4, 'r', 'fixed'), mprotect(0, 8, 'rw'), touch(1, 'w'), munmap(2, 14));
    const p = predict(s, hostProfile(), { snapshotEveryCall: false });
    for (const r of p.rules.flat()) expect(RULE_IDS).toContain(r);
    for (const id of RULE_IDS) expect(RULES[id]).toMatch(/\w+\.[ch]:|profile row|predict\.ts/);
  });

  it('accepts a legal kernel placement and rejects an illegal one', () => {
    const s = seq(16, mmap(12, 4, 'rw', 'fixed'), mmap(null, 2, 'rw'));
    const own = predict(s, hostProfile(), { snapshotEveryCall: false });
    expect(own.calls[1]!.ret).toEqual({ kind: 'addr', page: 10, off: 0 });
    // the same answer is legal
    const same = predict(s, hostProfile(), { snapshotEveryCall: false, kernelPlacement: (i) => (i === 1 ? { kind: 'addr', page: 10, off: 0 } : undefined) });
    expect(same.calls[1]!.ret).toEqual({ kind: 'addr', page: 10, off: 0 });
    // not at the top of the gap, overlapping, or unaligned: the model keeps its own answer
    for (const page of [3, 11, 0]) {
      const p = predict(s, hostProfile(), { snapshotEveryCall: false, kernelPlacement: (i) => (i === 1 ? { kind: 'addr', page, off: 0 } : undefined) });
      expect(p.calls[1]!.ret).toEqual({ kind: 'addr', page: 10, off: 0 });
    }
    // outside while the model found room inside: illegal
    const o = predict(s, hostProfile(), { snapshotEveryCall: false, kernelPlacement: () => ({ kind: 'outside', hex: '7f0000000000' }) });
    expect(o.calls[1]!.ret.kind).toBe('addr');
    // outside when the model also found no room: the kernel's address is copied
    const full = seq(4, mmap(0, 4, 'rw', 'fixed'), mmap(null, 2, 'rw'));
    const f = predict(full, hostProfile(), { snapshotEveryCall: false, kernelPlacement: () => ({ kind: 'outside', hex: '7f0000000000' }) });
    expect(f.calls[1]!.ret).toEqual({ kind: 'outside', hex: '7f0000000000' });
  });

  it('the legality judge is independent of the model search: it accepts a legal answer the model did not give', () => {
    //      0123456789abcdef
    //      AA.........BBB..     gaps: [2,11) and [14,16)
    const mm = new Mm(16, hostProfile());
    predictInto(mm, [mmap(0, 2, 'rw', 'fixed'), mmap(11, 3, 'rw', 'fixed')]);
    const wrongOwn = { kind: 'arena' as const, page: 3 }; // pretend the model had placed 2 pages at 3
    expect(legalPlacement(mm, { kind: 'addr', page: 14, off: 0 }, wrongOwn, 2, null, false)).toEqual({ kind: 'arena', page: 14 });
    expect(legalPlacement(mm, { kind: 'addr', page: 9, off: 0 }, wrongOwn, 2, null, false)).toBeNull(); // a lower gap
    expect(legalPlacement(mm, { kind: 'addr', page: 8, off: 0 }, wrongOwn, 3, null, false)).toEqual({ kind: 'arena', page: 8 }); // 3 pages only fit below
    expect(legalPlacement(mm, { kind: 'addr', page: 14, off: 0 }, wrongOwn, 2, 4, false)).toBeNull(); // the free hint must win
    expect(legalPlacement(mm, { kind: 'addr', page: 4, off: 0 }, wrongOwn, 2, 4, false)).toEqual({ kind: 'arena', page: 4 });
    expect(legalPlacement(mm, { kind: 'int', value: -1 }, wrongOwn, 2, null, false)).toBeNull();
  });

  it('a differing legal answer replaces the model\'s and is recorded', () => {
    const mm = new Mm(16, hostProfile());
    mm.hits = [];
    const judge = () => ({ kind: 'arena' as const, page: 5 });
    const r = sysMmap(mm, { addr: null, len: 4096n, prot: 3, flags: 0x22, offset: 0n }, judge);
    expect(r).toEqual({ placement: { kind: 'arena', page: 5 } });
    expect(mm.hits).toContain('mmap.place.kernel_accepted');
  });

  it('stops at a call it cannot predict and says why', () => {
    const s = seq(8, mmap(0, 2, 'rw', 'fixed'), mmap(null, 2, 'rw', 'fixed'), munmap(0, 2));
    const p = predict(s, hostProfile(), { snapshotEveryCall: false });
    expect(p.unsupported).toEqual({ call: 1, reason: expect.stringMatching(/address 0/) });
    expect(p.calls).toHaveLength(1);
    expect(p.snapshots.map((x) => x.after)).toEqual([-1, 0]);
  });

  it('refuses ranges that leave the arena (the corpus schema forbids them)', () => {
    for (const c of [munmap(2, 20), mprotect(6, 4, 'r'), mmap(6, 4, 'rw', 'fixed'), touch(8, 'w')]) {
      const p = predict(seq(8, c), hostProfile(), { snapshotEveryCall: false });
      expect(p.unsupported?.reason).toMatch(/leaves the 8-page arena/);
    }
  });

  it('works on sequences parsed from the corpus format', () => {
    const parsed = sequenceSchema.parse({
      vmafuzz: 1,
      arenaPages: 8,
      calls: [
        { op: 'mmap', addr: 'A+0p', len: '4p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
        { op: 'mprotect', addr: 'A+1p', len: '0x1001', prot: 'PROT_READ' },
      ],
    });
    const p = predict(parsed, makeProfile('7.3.4', { thp: 'always', max_map_count: 'fffa' }), { snapshotEveryCall: false });
    expect(p.snapshots.at(-1)!.maps.map((m) => `${m.start}-${m.end} ${m.perms}`)).toEqual(['0-1 rw-p', '1-3 r--p', '3-4 rw-p']);
  });

  it('is deterministic', () => {
    const s = seq(64, mmap(null, 3, 'rw'), mmap(null, 5, 'r'), touch(60, 'w'), mprotect(56, 8, 'rwx'), munmap(57, 2));
    const a = predict(s, hostProfile(), { snapshotEveryCall: true });
    const b = predict(s, hostProfile(), { snapshotEveryCall: true });
    expect(a).toEqual(b);
  });
});
