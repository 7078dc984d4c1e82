// NativeRunner (persistent harness process + HarnessSession) against the host kernel.
import { release } from 'node:os';
import { statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureHarness, findCompiler, projectRoot } from '../src/runner/harness-build.js';
import { PassThrough } from 'node:stream';
import { HarnessSession, NativeRunner } from '../src/runner/native.js';
import { toWire } from '../src/runner/protocol.js';
import { parseSequence } from '../src/seq/io.js';
import type { Sequence } from '../src/seq/schema.js';
import { CannotTestError } from '../src/util/errors.js';

const seq = (arenaPages: number, calls: unknown[]): Sequence => parseSequence({ vmafuzz: 1, arenaPages, calls }, 'test');
const FIXED = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';

const split = seq(16, [
  { op: 'mmap', addr: 'A+0p', len: '4p', prot: 'PROT_READ|PROT_WRITE', flags: FIXED },
  { op: 'mprotect', addr: 'A+1p', len: '2p', prot: 'PROT_READ' },
  { op: 'touch', addr: 'A+1p', access: 'write' },
  { op: 'touch', addr: 'A+3p', access: 'write' },
  { op: 'munmap', addr: 'A+3p+0x10', len: '1p' },
  { op: 'mmap', addr: 'NULL', len: '2p', prot: 'PROT_READ', flags: 'MAP_SHARED|MAP_ANONYMOUS' },
]);

let runner: NativeRunner;
beforeAll(() => {
  runner = new NativeRunner();
});
afterAll(() => runner.close());

describe('NativeRunner', () => {
  it('probes the host kernel', async () => {
    const info = await runner.start();
    expect(info.runner).toBe('native');
    expect(info.release).toBe(release());
    expect(info.facts['thp']).toBeDefined();
    expect(info.facts['mmap_min_addr']).toMatch(/^[0-9a-f]+$/);
  }, 120_000);

  it('runs corpus sequences and reports arena-relative results', async () => {
    const [o] = await runner.run([split], { snapshotEveryCall: false });
    expect(o!.status).toBe('ok');
    expect(o!.calls.map((c) => [c.ret, c.errno, c.signal])).toEqual([
      [{ kind: 'addr', page: 0, off: 0 }, 0, 0],
      [{ kind: 'int', value: 0 }, 0, 0],
      [{ kind: 'int', value: 0 }, 0, 11],
      [{ kind: 'int', value: 0 }, 0, 0],
      [{ kind: 'int', value: -1 }, 22, 0],
      [{ kind: 'addr', page: 14, off: 0 }, 0, 0],
    ]);
    const maps = o!.snapshots.at(-1)!.maps.map((e) => `${e.start}-${e.end} ${e.perms} ${e.name}`.trim());
    expect(maps).toEqual(['0-1 rw-p', '1-3 r--p', '3-4 rw-p', '14-16 r--s /dev/zero (deleted)']);
    expect(o!.rawMaps).toHaveLength(o!.snapshots.length);
    expect(o!.base).toMatch(/^0x[0-9a-f]+$/);
  });

  it('keeps results in order across a batch and overlapping batches', async () => {
    const mk = (i: number) => seq(8, [{ op: 'mmap', addr: `A+${i % 8}p`, len: '1p', prot: 'PROT_READ', flags: FIXED }]);
    const a = Array.from({ length: 300 }, (_, i) => mk(i));
    const b = Array.from({ length: 300 }, (_, i) => mk(i + 3));
    const [ra, rb] = await Promise.all([runner.run(a, { snapshotEveryCall: true }), runner.run(b, { snapshotEveryCall: false })]);
    ra.forEach((o, i) => {
      expect(o.calls[0]!.ret).toEqual({ kind: 'addr', page: i % 8, off: 0 });
      expect(o.snapshots.map((s) => s.after)).toEqual([-1, 0]);
    });
    rb.forEach((o, i) => expect(o.snapshots.at(-1)!.maps[0]!.start).toBe((i + 3) % 8));
  });

  it('reports a timeout through the session and goes on', async () => {
    const w = toWire(split);
    const slow = { ...w, lines: [w.lines[0]!, 'sleep 2710', ...w.lines.slice(1)], returnsAddr: [true, false, ...w.returnsAddr.slice(1)] };
    const [t, ok] = await runner.runWire([slow, w], { snapshotEveryCall: false, deadlineMs: 150 });
    expect(t!.status).toBe('timeout');
    expect(t!.calls).toHaveLength(1);
    expect(ok!.status).toBe('ok');
  });

  it('rejects with a clear error when the harness dies, and restarts on the next run', async () => {
    const w = toWire(split);
    const pid = runner.pid!;
    const pending = runner.runWire([{ ...w, lines: ['sleep 2710'], returnsAddr: [false] }], { snapshotEveryCall: false, deadlineMs: 20_000 });
    setTimeout(() => process.kill(pid, 'SIGKILL'), 100);
    await expect(pending).rejects.toThrow(/native harness was killed by SIGKILL/);
    const [o] = await runner.run([split], { snapshotEveryCall: false });
    expect(o!.status).toBe('ok');
    expect(runner.pid).not.toBe(pid);
  });
});

describe('HarnessSession over plain streams', () => {
  const HELLO = 'hello vmafuzz-harness 1 release=9.9.9 page=1000 thp=none\n';

  it('writes nothing before hello, then fails a silent harness after stallMs', async () => {
    const toHarness = new PassThrough(), fromHarness = new PassThrough();
    let written = '';
    toHarness.setEncoding('utf8');
    toHarness.on('data', (s: string) => (written += s));
    let failures = 0;
    const session = new HarnessSession(toHarness, fromHarness, { name: 'fake', stallMs: 300, onFail: () => failures++ });
    const run = session.runWire([toWire(split)], { snapshotEveryCall: false });
    await new Promise((r) => setTimeout(r, 50));
    expect(written).toBe('');
    fromHarness.write(HELLO);
    expect((await session.hello).release).toBe('9.9.9');
    await new Promise((r) => setTimeout(r, 20));
    expect(written).toMatch(/^seq 0 10 0\nmmap 0 0 4000 3 32 f{16} 0\n/);
    await expect(run).rejects.toThrow(/fake stalled: no output for 300 ms with 1 sequences pending/);
    expect(failures).toBe(1);
    expect(session.alive).toBe(false);
    await expect(session.runWire([toWire(split)], { snapshotEveryCall: false })).rejects.toThrow(/stalled/);
  });

  it('fails a harness that never says hello after helloMs (a wrong VMAFUZZ_HARNESS would hang fuzz)', async () => {
    const a = new PassThrough(), b = new PassThrough();
    let failures = 0;
    const session = new HarnessSession(a, b, { name: 'fake', helloMs: 200, onFail: () => failures++ });
    await expect(session.hello).rejects.toThrow(/fake said no hello within 0.2 s/);
    expect(failures).toBe(1);
    // a harness that does speak in time is not failed later by the hello timer
    const c = new PassThrough(), d = new PassThrough();
    const ok = new HarnessSession(c, d, { name: 'fake', helloMs: 200 });
    d.write(HELLO);
    await ok.hello;
    await new Promise((r) => setTimeout(r, 300));
    expect(ok.alive).toBe(true);
  });

  it('rejects answers out of order and a wrong protocol version', async () => {
    const a = new PassThrough(), b = new PassThrough();
    const session = new HarnessSession(a, b, { name: 'fake' });
    b.write(HELLO);
    const run = session.runWire([{ arenaPages: 1, lines: [], returnsAddr: [] }], { snapshotEveryCall: false });
    b.write('seq 5 base=1000 pages=1\nm -1 0\ndone 5 ok\n');
    await expect(run).rejects.toThrow(/answered sequence 5, expected 0/);
    const c = new PassThrough(), d = new PassThrough();
    const old = new HarnessSession(c, d, { name: 'fake' });
    d.write('hello vmafuzz-harness 0 release=1\n');
    await expect(old.hello).rejects.toThrow(/speaks protocol 0, expected 1/);
  });
});

describe('harness build', () => {
  it('reports a missing compiler or prebuilt binary as CannotTestError', async () => {
    expect(findCompiler({ PATH: '/nonexistent' })).toBeNull();
    expect(findCompiler({ PATH: process.env['PATH'], CC: 'no-such-cc --flag' })).toBeNull();
    await expect(ensureHarness({ VMAFUZZ_HARNESS: '/nonexistent/harness' })).rejects.toBeInstanceOf(CannotTestError);
  });

  it('rebuilds when harness.c is newer, safely when two builds race', async () => {
    const bin = join(projectRoot(), 'harness-c', 'build', 'harness');
    const t0 = Date.now();
    utimesSync(bin, new Date(1000), new Date(1000)); // older than harness.c: stale
    await expect(ensureHarness({ PATH: '/nonexistent' })).rejects.toThrow(/no C compiler found/);
    const env = { ...process.env }; // distinct env objects bypass the in-process build memo
    delete env['VMAFUZZ_HARNESS'];
    const [p1, p2] = await Promise.all([ensureHarness(env), ensureHarness({ ...env })]);
    expect(p1).toBe(bin);
    expect(p2).toBe(bin);
    expect(statSync(bin).mtimeMs).toBeGreaterThan(t0 - 2000);
    const v = await execa(bin, ['--version']);
    expect(v.stdout).toBe('vmafuzz-harness 1');
  }, 120_000);
});
