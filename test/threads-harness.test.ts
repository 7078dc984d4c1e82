// Concurrent sequences on the host kernel (harness-c/threads.c): racing threads with timestamps,
// a sync barrier, maps readers, and the final snapshot.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeRunner } from '../src/runner/native.js';
import { encodeWire, toWire } from '../src/runner/protocol.js';
import { parseSequence } from '../src/seq/io.js';
import type { Sequence } from '../src/seq/schema.js';

const FIXED = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';
const RW = 'PROT_READ|PROT_WRITE';
const conc = (o: Record<string, unknown>): Sequence => parseSequence({ vmafuzz: 1, arenaPages: 16, ...o }, 'test');

let runner: NativeRunner;
beforeAll(() => {
  runner = new NativeRunner();
});
afterAll(() => runner.close());

describe('concurrent sequences on the host kernel', () => {
  const seq = conc({
    calls: [{ op: 'mmap', addr: 'A+0p', len: '8p', prot: RW, flags: FIXED }],
    threads: [
      { calls: [{ op: 'mprotect', addr: 'A+2p', len: '2p', prot: 'PROT_READ' }, { op: 'sync' }, { op: 'touch', addr: 'A+6p', access: 'write' }] },
      { calls: [{ op: 'touch', addr: 'A+0p', access: 'write' }, { op: 'sync' }, { op: 'munmap', addr: 'A+6p', len: '2p' }] },
    ],
    readers: 1,
  });

  it('goes on the wire as thread, sync and readers lines after the setup calls', () => {
    const text = encodeWire('1', toWire(seq), { snapshotEveryCall: false });
    expect(text.split('\n').slice(1, -2)).toEqual([
      'mmap 0 0 8000 3 32 ffffffffffffffff 0',
      'thread', 'mprotect 2 0 2000 1', 'sync', 'touch 6 0 w',
      'thread', 'touch 0 0 w', 'sync', 'munmap 6 0 2000',
      'readers 1',
    ]);
  });

  it('runs two racing threads: results, timestamps that respect the barrier, reads and the final state', async () => {
    await runner.start();
    const [o] = await runner.run([seq], { snapshotEveryCall: false });
    expect(o!.status).toBe('ok');
    expect(o!.calls).toHaveLength(5);
    // the setup call has no timing; every racing call does, with start <= end
    expect(o!.timing?.[0]).toBeUndefined();
    for (const i of [1, 2, 3, 4]) expect(o!.timing![i]!.start).toBeLessThanOrEqual(o!.timing![i]!.end);
    // the sync: both calls before it ended before either call after it started
    const before = Math.max(o!.timing![1]!.end, o!.timing![3]!.end);
    expect(before).toBeLessThanOrEqual(Math.min(o!.timing![2]!.start, o!.timing![4]!.start));
    expect(o!.calls[3]!.signal).toBe(0); // thread 1's write at A+0p
    // the write at A+6p raced with the munmap of A+6p: either it ran first or it faulted
    expect([0, 11]).toContain(o!.calls[2]!.signal);
    expect(o!.snapshots.at(-1)!.maps.map((e) => `${e.start}-${e.end} ${e.perms}`)).toEqual(['0-2 rw-p', '2-4 r--p', '4-6 rw-p']);
    expect(o!.reads!.length).toBeGreaterThan(0);
    for (const r of o!.reads!) expect(r.maps.length).toBeGreaterThan(0);
  }, 120_000);

  it('has a second reader read smaps: only its VMA header lines come back, as maps lines', async () => {
    const two = { ...seq, readers: 2 };
    const [o] = await runner.run([two], { snapshotEveryCall: false });
    expect(o!.status).toBe('ok');
    const smaps = o!.reads!.filter((r) => r.reader === 1);
    expect(smaps.length).toBeGreaterThan(0);
    for (const r of smaps) {
      expect(r.maps.length).toBeGreaterThan(0);
      expect(r.maps.every((e) => /^[r-][w-][x-][ps]$/.test(e.perms) && e.end > e.start)).toBe(true);
    }
  }, 60_000);

  it('binds racing threads to CPUs when asked (a pin line)', async () => {
    expect(encodeWire('1', toWire(seq), { snapshotEveryCall: false, pinThreads: true }).split('\n').slice(-3, -2)).toEqual(['pin']);
    const [o] = await runner.run([seq], { snapshotEveryCall: false, pinThreads: true });
    expect(o!.status).toBe('ok');
    expect(o!.snapshots.at(-1)!.maps.map((e) => `${e.start}-${e.end} ${e.perms}`)).toEqual(['0-2 rw-p', '2-4 r--p', '4-6 rw-p']);
  }, 60_000);

  it('refuses a racing exec probe and unequal barriers (schema and harness)', async () => {
    expect(() => conc({ calls: [], threads: [{ calls: [{ op: 'touch', addr: 'A+0p', access: 'exec' }] }, { calls: [{ op: 'touch', addr: 'A+0p', access: 'read' }] }] })).toThrow(/exec probe/);
    expect(() => conc({ calls: [], threads: [{ calls: [{ op: 'sync' }, { op: 'touch', addr: 'A+0p', access: 'read' }] }, { calls: [{ op: 'touch', addr: 'A+0p', access: 'read' }] }] })).toThrow(/same barriers/);
    const ok = conc({ calls: [], threads: [{ calls: [{ op: 'touch', addr: 'A+0p', access: 'read' }] }, { calls: [{ op: 'touch', addr: 'A+0p', access: 'read' }] }] });
    const w = toWire(ok);
    const [o] = await runner.runWire([{ ...w, racing: { ...w.racing!, body: [...w.racing!.body, 'sync'] } }], { snapshotEveryCall: false });
    expect(o!.status).toBe('infra');
    expect(o!.detail).toContain('bad-thread-line');
  }, 60_000);

  it('runs a fork racing with the threads: its child reports the arena it copied', async () => {
    const forking = conc({
      calls: [{ op: 'mmap', addr: 'A+0p', len: '8p', prot: RW, flags: FIXED }],
      threads: [
        { calls: [{ op: 'mprotect', addr: 'A+2p', len: '2p', prot: 'PROT_READ' }, { op: 'fork' }] },
        { calls: [{ op: 'munmap', addr: 'A+6p', len: '2p' }] },
      ],
    });
    const [o] = await runner.run([forking], { snapshotEveryCall: false });
    expect(o!.status).toBe('ok');
    expect(o!.calls[2]).toEqual({ ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 });
    // the fork came after the mprotect (program order); the munmap may or may not have run
    const child = o!.childMaps![2]!.map((e) => `${e.start}-${e.end} ${e.perms}`);
    expect([['0-2 rw-p', '2-4 r--p', '4-8 rw-p'], ['0-2 rw-p', '2-4 r--p', '4-6 rw-p']]).toContainEqual(child);
    expect(o!.snapshots.at(-1)!.maps.map((e) => `${e.start}-${e.end} ${e.perms}`)).toEqual(['0-2 rw-p', '2-4 r--p', '4-6 rw-p']);
  }, 60_000);
});
