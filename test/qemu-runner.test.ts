// QemuRunner on real Debian kernels (fetched from this machine's Debian mirror), booted with the
// harness as init. Under TCG a boot takes ~3 s; everything here stays well under a minute per test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { fetchKernel, type KernelImage } from '../src/kernels/index.js';
import { NativeRunner } from '../src/runner/native.js';
import { toWire, type WireSequence } from '../src/runner/protocol.js';
import { QemuRunner } from '../src/runner/qemu.js';
import { ConsoleWatcher, type ConsoleReport } from '../src/runner/qemu/console.js';
import { parseSequence } from '../src/seq/io.js';
import type { SeqObservation } from '../src/seq/observation.js';
import type { Sequence } from '../src/seq/schema.js';
import { CannotTestError } from '../src/util/errors.js';
import { ensureCommand } from './helpers/system.js';

const seq = (arenaPages: number, calls: unknown[]): Sequence => parseSequence({ vmafuzz: 1, arenaPages, calls }, 'test');
const FIXED = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';
const RW = 'PROT_READ|PROT_WRITE';

// Semantics that hold on every kernel since long before 6.1.
const SEQS = {
  // mm/vma.c: mprotect of the middle of a VMA splits it in three
  split: seq(16, [
    { op: 'mmap', addr: 'A+0p', len: '10p', prot: RW, flags: FIXED },
    { op: 'mprotect', addr: 'A+3p', len: '2p', prot: 'PROT_READ' },
  ]),
  // refilling a hole with an identical anonymous mapping merges all three back into one VMA
  refill: seq(16, [
    { op: 'mmap', addr: 'A+0p', len: '8p', prot: RW, flags: FIXED },
    { op: 'munmap', addr: 'A+2p', len: '2p' },
    { op: 'mmap', addr: 'A+2p', len: '2p', prot: RW, flags: FIXED },
  ]),
  // errors and faults: PROT_NONE access raises SIGSEGV, unaligned and empty ranges are EINVAL
  errors: seq(8, [
    { op: 'mmap', addr: 'A+0p', len: '4p', prot: 'PROT_NONE', flags: FIXED },
    { op: 'touch', addr: 'A+1p', access: 'read' },
    { op: 'mprotect', addr: 'A+0p+0x10', len: '1p', prot: 'PROT_READ' },
    { op: 'munmap', addr: 'A+0p', len: '0' },
    { op: 'touch', addr: 'A+6p', access: 'write' },
  ]),
};
const ALL = [SEQS.split, SEQS.refill, SEQS.errors];

const maps = (o: SeqObservation) => o.snapshots[o.snapshots.length - 1]!.maps.map((m) => `${m.start}-${m.end} ${m.perms}`);

function expectEveryKernelSemantics(out: SeqObservation[]): void {
  expect(out.map((o) => o.status)).toEqual(['ok', 'ok', 'ok']);
  const [split, refill, errors] = out as [SeqObservation, SeqObservation, SeqObservation];
  expect(split.calls.map((c) => c.ret)).toEqual([{ kind: 'addr', page: 0, off: 0 }, { kind: 'int', value: 0 }]);
  expect(maps(split)).toEqual(['0-3 rw-p', '3-5 r--p', '5-10 rw-p']);
  expect(maps(refill)).toEqual(['0-8 rw-p']);
  expect(errors.calls.map((c) => [c.errno, c.signal])).toEqual([[0, 0], [0, 11], [22, 0], [22, 0], [0, 11]]);
  expect(maps(errors)).toEqual(['0-4 ---p']);
}

const sleepSeq = (ms: number): WireSequence => ({ arenaPages: 1, lines: [`sleep ${ms.toString(16)}`], returnsAddr: [false] });

describe('console watcher', () => {
  const WARN = `[   12.345678] ------------[ cut here ]------------
[   12.345900] WARNING: CPU: 0 PID: 77 at mm/vma.c:1234 vma_merge_existing_range+0x1a/0x50
[   12.346000] Modules linked in:
[   12.346100] CPU: 0 UID: 0 PID: 77 Comm: harness Not tainted 6.12.117+deb13-cloud-amd64 #1  Debian 6.12.117-1
[   12.346200] RIP: 0010:vma_merge_existing_range+0x1a/0x50
[   12.346300] Call Trace:
[   12.346500]  __x64_sys_mprotect+0x1e/0x30
[   12.346700] ---[ end trace 0000000000000000 ]---
[   12.350000] an unrelated line
`;
  const OOPS = `\x1b[0m[   20.000001] BUG: unable to handle page fault for address: ffffffffffffff10
[   20.000002] #PF: supervisor read access in kernel mode
[   20.000003] Oops: 0000 [#1] PREEMPT SMP NOPTI
[   20.000004] CPU: 0 PID: 90 Comm: harness Not tainted 6.1.0-50-cloud-amd64 #1
[   20.000005] Kernel panic - not syncing: Fatal exception
[   20.000006] ---[ end Kernel panic - not syncing: Fatal exception ]---
`;
  it('cuts one report per splat, with its kind, title and task, from chunked output', () => {
    const got: ConsoleReport[] = [];
    const w = new ConsoleWatcher((r) => got.push(r), 50);
    w.tag = 7;
    const text = 'boot noise\r\n' + WARN + OOPS;
    for (let i = 0; i < text.length; i += 13) w.push(text.slice(i, i + 13)); // lines split anywhere
    expect(got.map((r) => [r.kind, r.fatal, r.comm, r.tag])).toEqual([['warning', false, 'harness', 7], ['bug', true, 'harness', 7]]);
    expect(got[0]!.title).toBe('WARNING: CPU: 0 PID: 77 at mm/vma.c:1234 vma_merge_existing_range+0x1a/0x50');
    expect(got[0]!.excerpt.split('\n')).toHaveLength(9); // "cut here" .. "end trace", not the line after
    expect(got[1]!.excerpt).toMatch(/^\[\s+20\.000001\] BUG: unable[\s\S]*Oops: 0000[\s\S]*end Kernel panic/);
  });
  it('ends a report without an end marker after a quiet spell, or when told the VM died', async () => {
    const got: ConsoleReport[] = [];
    const w = new ConsoleWatcher((r) => got.push(r), 50);
    w.push('[    1.0] BUG: KASAN: slab-use-after-free in vma_complete+0x1/0x2\n[    1.1] Read of size 8\n');
    expect(w.collecting).toBe(true);
    await new Promise((r) => setTimeout(r, 120));
    expect(got.map((r) => r.kind)).toEqual(['kasan']);
    w.push('[    2.0] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [harness:80]\n');
    w.finish();
    expect(got.map((r) => r.kind)).toEqual(['kasan', 'lockup']);
    w.push('[    3.0] harmless: WARNING: is only a start at the beginning of a line\n');
    w.finish();
    expect(got).toHaveLength(2);
  });
});

let k612: KernelImage;
// console logs of every VM here (runners keep the logs of crashed VMs; the tests clean up)
const logRoot = mkdtempSync(join(tmpdir(), 'vmafuzz-qemu-test-'));
let nLogs = 0;
const logDir = () => join(logRoot, String(nLogs++));
afterAll(() => rmSync(logRoot, { recursive: true, force: true }));
beforeAll(async () => {
  await ensureCommand('qemu-system-x86_64', ['qemu-system-x86']);
  k612 = await fetchKernel('6.12');
}, 600_000);

describe('QemuRunner on Debian 6.12', () => {
  // one runner (one VM at a time) for the whole block; every test starts it, which is a no-op while it runs
  let runner: QemuRunner;
  beforeAll(() => {
    runner = new QemuRunner({ image: k612, logDir: logDir() });
  });
  afterAll(() => runner?.close());

  it('boots the kernel with the harness as init and replays sequences', async () => {
    const t0 = Date.now();
    const info = await runner.start();
    console.log(`6.12 boot: ${Date.now() - t0} ms total (${runner.stats.accel}: ${runner.stats.accelWhy}); boots ${runner.stats.bootMs.join(', ')} ms`);
    expect(info.runner).toBe('qemu');
    expect(info.release).toBe(k612.release);
    expect(info.facts['accel']).toMatch(/^(kvm|tcg)$/);
    expectEveryKernelSemantics(await runner.run(ALL, { snapshotEveryCall: false }));
  }, 180_000);

  it('gives the same observations as the host kernel for these sequences', async () => {
    await runner.start();
    const native = new NativeRunner();
    try {
      const [q, n] = [await runner.run(ALL, { snapshotEveryCall: true }), await native.run(ALL, { snapshotEveryCall: true })];
      const strip = (o: SeqObservation) => ({ calls: o.calls, snapshots: o.snapshots, status: o.status });
      expect(q.map(strip)).toEqual(n.map(strip));
    } finally {
      await native.close();
    }
  }, 120_000);

  it('streams batches to the same VM (no reboot) and measures sequences/s', async () => {
    await runner.start();
    const boots = runner.stats.boots;
    const batch = Array.from({ length: 100 }, (_, i) => ALL[i % 3]!);
    const t0 = Date.now();
    const out = await runner.run(batch, { snapshotEveryCall: false });
    const rate = batch.length / ((Date.now() - t0) / 1000);
    console.log(`6.12 ${runner.stats.accel}: ${rate.toFixed(0)} sequences/s (3-5 calls each)`);
    expect(out.filter((o) => o.status === 'ok')).toHaveLength(100);
    expect(maps(out[99]!)).toEqual(['0-3 rw-p', '3-5 r--p', '5-10 rw-p']);
    expect(runner.stats.boots).toBe(boots);
  }, 120_000);

  it('reports a kernel panic as a crash of the running sequence and goes on in a fresh VM', async () => {
    await runner.start();
    const boots = runner.stats.boots;
    runner.takeCrashes();
    const done = runner.runWire([sleepSeq(5000), ...ALL.map(toWire), sleepSeq(1)], { snapshotEveryCall: false });
    await new Promise((r) => setTimeout(r, 1500)); // the first sequence is sleeping in the guest now
    runner.triggerSysrq('c');
    const out = await done;
    expect(out[0]!.status).toBe('crash');
    expect(out[0]!.detail).toMatch(/kernel panic: Kernel panic - not syncing: sysrq triggered crash/);
    expect(out.slice(1).map((o) => o.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(maps(out[1]!)).toEqual(['0-3 rw-p', '3-5 r--p', '5-10 rw-p']);
    expect(runner.stats.boots).toBe(boots + 1);
    const crashes = runner.takeCrashes();
    expect(crashes).toHaveLength(1);
    expect(crashes[0]).toMatchObject({ kind: 'panic', fatal: true, batchIndex: 0, release: k612.release });
    expect(crashes[0]!.excerpt).toMatch(/sysrq triggered crash[\s\S]*Call Trace/);
    // and the new VM still answers real sequences
    expectEveryKernelSemantics(await runner.run(ALL, { snapshotEveryCall: false }));
  }, 180_000);

  it('retries a sequence once when the VM vanishes without a kernel report (infrastructure)', async () => {
    await runner.start();
    const boots = runner.stats.boots;
    const done = runner.runWire([sleepSeq(1500), toWire(SEQS.split)], { snapshotEveryCall: false });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(runner.qemuPid!, 'SIGKILL');
    const out = await done;
    expect(out.map((o) => o.status)).toEqual(['ok', 'ok']); // the sleep ran again on the next VM
    expect(maps(out[1]!)).toEqual(['0-3 rw-p', '3-5 r--p', '5-10 rw-p']);
    expect(runner.stats.boots).toBe(boots + 1);
    expect(runner.takeCrashes()).toEqual([]);
  }, 180_000);

  it('kills a hung VM, reports the sequence as timeout and reboots', async () => {
    const r = new QemuRunner({ image: k612, stallMs: 4000, logDir: logDir() });
    try {
      await r.start();
      const done = r.runWire([sleepSeq(300), sleepSeq(1)], { snapshotEveryCall: false });
      process.kill(r.qemuPid!, 'SIGSTOP'); // the guest freezes: no answer, no exit
      const out = await done;
      expect(out[0]!.status).toBe('timeout');
      expect(out[0]!.detail).toMatch(/VM hung/);
      expect(out[1]!.status).toBe('ok');
      expect(r.stats.boots).toBe(2);
      expect(r.takeCrashes()).toEqual([]);
    } finally {
      await r.close();
    }
  }, 180_000);
});

describe('QemuRunner boot paths', () => {
  it('boots any bzImage given as --kernel-image', async () => {
    const r = new QemuRunner({ kernelImage: k612.vmlinuz, logDir: logDir() });
    try {
      expect((await r.start()).release).toBe(k612.release);
      expectEveryKernelSemantics(await r.run(ALL, { snapshotEveryCall: false }));
    } finally {
      await r.close();
    }
  }, 180_000);

  it('treats a kernel that cannot boot as an infrastructure failure, retried, and not as a finding', async () => {
    // no /init to run: the kernel looks for a root device, finds none and panics
    const r = new QemuRunner({ image: k612, append: 'rdinit=/nonexistent', bootRetries: 2, logDir: logDir() });
    try {
      const err = await r.start().then(() => null, (e: Error) => e);
      expect(err).toBeInstanceOf(CannotTestError);
      expect(err!.message).toMatch(/cannot boot .* after 2 attempts[\s\S]*Kernel panic - not syncing/);
      expect(r.stats.failedBoots).toBe(2);
      expect(r.takeCrashes()).toEqual([]);
    } finally {
      await r.close();
    }
  }, 180_000);
});

describe('QemuRunner on Debian 6.1', () => {
  it('boots 6.1 (virtio as modules: the protocol goes over ttyS1) and replays sequences', async () => {
    const k61 = await fetchKernel('6.1');
    const r = new QemuRunner({ image: k61, memory: '384M', logDir: logDir() });
    try {
      const info = await r.start();
      expect(info.release).toBe(k61.release);
      expect(info.release).toMatch(/^6\.1\./);
      expectEveryKernelSemantics(await r.run(ALL, { snapshotEveryCall: false }));
    } finally {
      await r.close();
    }
  }, 600_000);
});
