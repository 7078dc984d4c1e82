// Kernel crashes as findings (src/findings/crash.ts): the signature of console reports, and a real
// panic in a QEMU guest (magic SysRq "c") recorded under <out>/crashes/<sig>/ while the runner goes
// on with a fresh VM.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crashFindingSchema, crashSignature, recordRunnerCrashes } from '../src/findings/crash.js';
import { fetchKernel, type KernelImage } from '../src/kernels/index.js';
import { QemuRunner } from '../src/runner/qemu.js';
import { loadSequenceFile, parseSequence, sequenceToJson } from '../src/seq/io.js';
import { MAX_CALL_PAGES, type Sequence } from '../src/seq/schema.js';
import { ensureCommand } from './helpers/system.js';

const warning = (pid: number, line: number, fn: string, off: string) => `[   12.345678] ------------[ cut here ]------------
[   12.345900] WARNING: CPU: ${pid % 2} PID: ${pid} at mm/vma.c:${line} ${fn}+${off}/0x50
[   12.346100] CPU: 0 UID: 0 PID: ${pid} Comm: harness Not tainted 6.12.117+deb13-cloud-amd64 #1
[   12.346700] ---[ end trace 0000000000000000 ]---`;
const report = (excerpt: string) => ({ excerpt, title: excerpt.split('\n')[1]!.replace(/^\[[^\]]*\]\s*/, '') });

describe('crash signatures', () => {
  it('name the bug, not the PID, CPU, line number or address', () => {
    const a = crashSignature(report(warning(77, 1234, 'vma_merge_existing_range', '0x1a')));
    const b = crashSignature(report(warning(4242, 1301, 'vma_merge_existing_range', '0x2c')));
    const c = crashSignature(report(warning(77, 1234, 'vma_complete', '0x1a')));
    expect(a.signatureText).toBe('WARNING in vma_merge_existing_range'); // syzkaller-style title (src/findings/kreport.ts), no stack printed here
    expect(b.signature).toBe(a.signature);
    expect(c.signature).not.toBe(a.signature);
  });
  it('use the first BUG line of an Oops that ends in a panic', () => {
    const oops = `[   20.000001] BUG: unable to handle page fault for address: ffffffffffffff10
[   20.000003] Oops: 0000 [#1] PREEMPT SMP NOPTI
[   20.000005] Kernel panic - not syncing: Fatal exception`;
    expect(crashSignature({ excerpt: oops, title: 'x' }).signatureText).toBe('BUG: unable to handle kernel paging request');
    const panic = '[    9.1] Kernel panic - not syncing: sysrq triggered crash\n[    9.2] CPU: 0 PID: 0 Comm: swapper/0';
    expect(crashSignature({ excerpt: panic, title: 'x' }).signatureText).toBe('Kernel panic - not syncing: sysrq triggered crash');
  });
});

const RW = 'PROT_READ|PROT_WRITE';
/**
 * A sequence that keeps the guest busy: `cycles` times populate and unmap 4096 pages. Built from a
 * one-cycle corpus sequence, repeated: it runs without snapshots, so the corpus bound on calls x
 * arenaPages (src/seq/schema.ts MAX_CALL_PAGES, which is about snapshot cost) does not apply.
 */
const heavy = (name: string, cycles: number): Sequence => {
  const one = parseSequence(
    {
      vmafuzz: 1,
      name,
      arenaPages: 4096,
      calls: [
        { op: 'mmap', addr: 'A+0p', len: '4096p', prot: RW, flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_POPULATE' },
        { op: 'munmap', addr: 'A+0p', len: '4096p' },
      ],
    },
    'test',
  );
  return { ...one, calls: Array.from({ length: cycles }, () => one.calls).flat() };
};
const split = parseSequence(
  { vmafuzz: 1, arenaPages: 16, calls: [{ op: 'mmap', addr: 'A+0p', len: '10p', prot: RW, flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' }, { op: 'mprotect', addr: 'A+3p', len: '2p', prot: 'PROT_READ' }] },
  'test',
);

describe('a kernel panic in the VM becomes a crash finding', () => {
  let k612: KernelImage;
  const tmp = mkdtempSync(join(tmpdir(), 'vmafuzz-crash-test-'));
  let runner: QemuRunner;
  beforeAll(async () => {
    await ensureCommand('qemu-system-x86_64', ['qemu-system-x86']);
    k612 = await fetchKernel('6.12');
    runner = new QemuRunner({ image: k612, logDir: join(tmp, 'logs') });
  }, 600_000);
  afterAll(async () => {
    await runner?.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  /** Run three distinct busy sequences and panic the guest while the first is running. */
  async function panicDuring(cycles: number, ms: number) {
    const batch = [heavy('busy-a', cycles), heavy('busy-b', cycles), heavy('busy-c', cycles), split];
    const done = runner.run(batch, { snapshotEveryCall: false });
    await new Promise((r) => setTimeout(r, ms));
    runner.triggerSysrq('c');
    return { batch, out: await done };
  }

  it('records it once per signature, with the console excerpt and the running sequence, and goes on in a fresh VM', async () => {
    await runner.start();
    // calibrate: how long does a busy sequence run here (TCG or KVM)?
    const t0 = Date.now();
    expect((await runner.run([heavy('calibrate', 4)], { snapshotEveryCall: false }))[0]!.status).toBe('ok');
    const perCycle = (Date.now() - t0) / 4;
    const cycles = Math.min(2000, Math.max(8, Math.ceil(2000 / perCycle))); // ~2 s per sequence
    const boots = runner.stats.boots;
    runner.takeCrashes();
    const out = join(tmp, 'out');

    const first = await panicDuring(cycles, 1000);
    const crashed = first.out.findIndex((o) => o.status === 'crash');
    expect(crashed).toBeGreaterThanOrEqual(0);
    expect(first.out[crashed]!.detail).toMatch(/Kernel panic - not syncing: sysrq triggered crash/);
    expect(first.out.filter((o) => o.status === 'ok')).toHaveLength(3); // the rest ran on the fresh VM
    expect(runner.stats.boots).toBe(boots + 1);

    const recs = await recordRunnerCrashes(runner, out);
    expect(recs).toHaveLength(1);
    const rec = recs[0]!;
    expect(rec.isNew).toBe(true);
    expect(rec.dir).toBe(join(out, 'crashes', rec.signature));
    expect(readdirSync(rec.dir).sort()).toEqual(['console.log', 'console.txt', 'finding.json', 'sequence.json']);
    const f = crashFindingSchema.parse(JSON.parse(readFileSync(join(rec.dir, 'finding.json'), 'utf8')));
    expect(f).toMatchObject({ kind: 'crash', crashKind: 'panic', fatal: true, count: 1, releases: [k612.release] });
    // the report's title (syzkaller's first line), then the top of its stack (src/findings/kreport.ts)
    expect(f.signatureText.split('\n')[0]).toBe('Kernel panic - not syncing: sysrq triggered crash');
    expect(f.signatureText).toMatch(/\nsysrq_handle_crash\n/);
    expect(f.firstSeen).toBe(f.lastSeen);
    expect(f.replay).toBe(`vmafuzz replay ${join(rec.dir, 'sequence.json')} --runner qemu --kernel ${k612.release}`);
    expect(readFileSync(join(rec.dir, 'console.txt'), 'utf8')).toMatch(/sysrq triggered crash[\s\S]*Call Trace/);
    expect(readFileSync(join(rec.dir, 'console.log'), 'utf8')).toMatch(/sysrq triggered crash/);
    // the corpus file is the sequence that was running when the kernel went down
    expect(readFileSync(join(rec.dir, 'sequence.json'), 'utf8')).toBe(sequenceToJson(first.batch[crashed]!));
    // The busy sequences grow with the machine's speed (cycles above): when they are over the corpus
    // bound on calls x arenaPages they are kept but not replayable with a snapshot per call (campaign
    // sequences always are: fuzz --max-calls is capped to fit); below it they load as written.
    const onDisk = JSON.parse(readFileSync(join(rec.dir, 'sequence.json'), 'utf8')) as { name: string; calls: unknown[]; arenaPages: number };
    expect(onDisk.name).toBe(first.batch[crashed]!.name);
    if (onDisk.calls.length * onDisk.arenaPages > MAX_CALL_PAGES) expect(() => loadSequenceFile(join(rec.dir, 'sequence.json'))).toThrow(/calls x arenaPages/);
    else expect(loadSequenceFile(join(rec.dir, 'sequence.json')).calls).toHaveLength(first.batch[crashed]!.calls.length);

    // the same panic again: the same finding, counted twice
    const second = await panicDuring(cycles, 1000);
    expect(second.out.filter((o) => o.status === 'crash')).toHaveLength(1);
    const again = await recordRunnerCrashes(runner, out);
    expect(again.map((r) => [r.signature, r.isNew, r.finding.count])).toEqual([[rec.signature, false, 2]]);
    expect(readdirSync(join(out, 'crashes'))).toEqual([rec.signature]);
    const f2 = crashFindingSchema.parse(JSON.parse(readFileSync(join(rec.dir, 'finding.json'), 'utf8')));
    expect(f2.lastSeen > f2.firstSeen).toBe(true);
    expect(f2.firstSeen).toBe(f.firstSeen);
    expect(runner.stats.boots).toBe(boots + 2);

    // nothing left to record, and the VM answers real sequences
    expect(await recordRunnerCrashes(runner, out)).toEqual([]);
    const [o] = await runner.run([split], { snapshotEveryCall: false });
    expect(o!.status).toBe('ok');
    expect(o!.snapshots.at(-1)!.maps.map((m) => `${m.start}-${m.end} ${m.perms}`)).toEqual(['0-3 rw-p', '3-5 r--p', '5-10 rw-p']);
    expect(existsSync(join(rec.dir, '.lock'))).toBe(false);
  }, 300_000);
});
