// QemuRunner lifecycle: close() while a batch is streaming (what a campaign does when its time is
// up) must stop the batch, not boot a replacement VM that nobody would ever shut down.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchKernel, type KernelImage } from '../src/kernels/index.js';
import type { WireSequence } from '../src/runner/protocol.js';
import { QemuRunner } from '../src/runner/qemu.js';
import { parseSequence } from '../src/seq/io.js';
import type { SeqObservation } from '../src/seq/observation.js';
import { ensureCommand } from './helpers/system.js';

const sleepSeq = (ms: number): WireSequence => ({ arenaPages: 1, lines: [`sleep ${ms.toString(16)}`], returnsAddr: [false] });
const split = parseSequence(
  { vmafuzz: 1, arenaPages: 16, calls: [{ op: 'mmap', addr: 'A+0p', len: '10p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' }, { op: 'mprotect', addr: 'A+3p', len: '2p', prot: 'PROT_READ' }] },
  'test',
);
const refill = parseSequence(
  { vmafuzz: 1, arenaPages: 16, calls: [{ op: 'mmap', addr: 'A+0p', len: '8p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' }, { op: 'munmap', addr: 'A+2p', len: '2p' }] },
  'test',
);
const maps = (o: SeqObservation) => o.snapshots.at(-1)!.maps.map((m) => `${m.start}-${m.end} ${m.perms}`);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('QemuRunner lifecycle', () => {
  let k612: KernelImage;
  const logs = mkdtempSync(join(tmpdir(), 'vmafuzz-qemu-close-'));
  beforeAll(async () => {
    await ensureCommand('qemu-system-x86_64', ['qemu-system-x86']);
    k612 = await fetchKernel('6.12');
  }, 600_000);
  afterAll(() => rmSync(logs, { recursive: true, force: true }));

  it('runs overlapping batches one after the other; close() during a batch ends it as infra and leaves no VM behind', async () => {
    const r = new QemuRunner({ image: k612, logDir: logs });
    await r.start();
    // a caller that does not wait for one batch before sending the next (e.g. Promise.all over detail runs)
    const batches = [[split], [refill, refill, split], [split, refill], [refill], [split, split, split, refill]];
    const outs = await Promise.all(batches.map((b, i) => r.run(b, { snapshotEveryCall: i === 1 })));
    const want = (s: typeof split) => (s === split ? ['0-3 rw-p', '3-5 r--p', '5-10 rw-p'] : ['0-2 rw-p', '4-8 rw-p']);
    expect(outs.map((o) => o.map(maps))).toEqual(batches.map((b) => b.map(want)));
    expect(outs[1]!.map((o) => o.snapshots.length)).toEqual([3, 3, 3]); // this batch's own options
    expect(outs[2]!.map((o) => o.snapshots.length)).toEqual([2, 2]);

    const pid = r.qemuPid!;
    const done = r.runWire([sleepSeq(3000), sleepSeq(1), sleepSeq(1)], { snapshotEveryCall: false });
    const queued = r.run([split], { snapshotEveryCall: false }); // waits for the batch before it
    await new Promise((res) => setTimeout(res, 500));
    await r.close();
    const out = await done;
    expect(out.map((o) => o.status)).toEqual(['infra', 'infra', 'infra']);
    expect(out[0]!.detail).toMatch(/closed/);
    expect((await queued).map((o) => o.status)).toEqual(['infra']);
    await new Promise((res) => setTimeout(res, 1000));
    expect(r.stats.boots).toBe(1);
    expect(r.qemuPid).toBeUndefined();
    expect(alive(pid)).toBe(false);
    // and a closed runner can be started again
    expect((await r.start()).release).toBe(k612.release);
    await r.close();
  }, 180_000);
});
