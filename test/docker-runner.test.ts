// DockerRunner against a real engine (a dockerd started here when none runs): the FROM-scratch
// harness image, replaying sequences on the host kernel through the container, the host's
// conditions inside it (same facts, exec-able tmpfs, userfaultfd and mseal let through, so the
// same verdicts as natively), a clear CannotTestError without an engine, and seccomp-blocked
// calls reported as such.

import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBatch, type Outcome } from '../src/campaign/check.js';
import { runnerOptionsFrom } from '../src/cli/common.js';
import { makeProfile } from '../src/model/index.js';
import { DockerRunner, ulimitArgs } from '../src/runner/docker.js';
import { resolveFsDirs } from '../src/runner/fsdirs.js';
import { ensureHarness } from '../src/runner/harness-build.js';
import { NativeRunner } from '../src/runner/native.js';
import type { Runner } from '../src/runner/types.js';
import { loadSequenceFile, parseSequence } from '../src/seq/io.js';
import type { SeqObservation } from '../src/seq/observation.js';
import type { Sequence } from '../src/seq/schema.js';
import { CannotTestError, UsageError } from '../src/util/errors.js';
import { type Dockerd, ensureDockerd } from './helpers/system.js';

const seq = (arenaPages: number, calls: unknown[]): Sequence => parseSequence({ vmafuzz: 1, arenaPages, calls }, 'test');
const FIXED = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';
const RW = 'PROT_READ|PROT_WRITE';
const split = seq(16, [
  { op: 'mmap', addr: 'A+0p', len: '10p', prot: RW, flags: FIXED },
  { op: 'mprotect', addr: 'A+3p', len: '2p', prot: 'PROT_READ' },
  { op: 'touch', addr: 'A+4p', access: 'write' },
  { op: 'munmap', addr: 'A+8p', len: '1p' },
]);
const rx = seq(8, [
  { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: FIXED },
  { op: 'mprotect', addr: 'A+1p', len: '1p', prot: 'PROT_READ|PROT_EXEC' },
  { op: 'mprotect', addr: 'A+2p', len: '1p', prot: 'PROT_READ' },
]);
// PROT_EXEC on a file of the harness's tmpfs directory: a noexec mount refuses it (EPERM) and
// leaves VM_MAYEXEC out of a read mapping (mm/mmap.c:do_mmap, path_noexec)
const tmpfsExec = parseSequence({
  vmafuzz: 1, arenaPages: 8, files: [{ kind: 'tmpfs', size: '4p' }],
  calls: [
    { op: 'mmap', addr: 'A+0p', len: '2p', prot: 'PROT_READ|PROT_EXEC', flags: 'MAP_SHARED|MAP_FIXED', fd: 0, offset: '0' },
    { op: 'mmap', addr: 'A+2p', len: '2p', prot: 'PROT_READ', flags: 'MAP_PRIVATE|MAP_FIXED', fd: 0, offset: '2p' },
    { op: 'mprotect', addr: 'A+2p', len: '1p', prot: 'PROT_READ|PROT_EXEC' },
    { op: 'touch', addr: 'A+0p', access: 'read' },
  ],
}, 'tmpfs-exec');
// userfaultfd with UFFD_FEATURE_EVENT_FORK (CAP_SYS_PTRACE), a fork, and mseal: the engine's
// default profile refuses userfaultfd and (before 2024 engines) mseal
const uffdSeal = parseSequence({
  vmafuzz: 1, arenaPages: 8,
  calls: [
    { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: FIXED },
    { op: 'uffd_create', features: 'UFFD_FEATURE_EVENT_FORK' },
    { op: 'uffd_register', uffd: 0, addr: 'A+1p', len: '1p', mode: 'UFFDIO_REGISTER_MODE_MISSING' },
    { op: 'mseal', addr: 'A+3p', len: '1p', flags: '0' },
    { op: 'fork' },
    { op: 'touch', addr: 'A+1p', access: 'read' },
    { op: 'munmap', addr: 'A+3p', len: '1p' },
  ],
}, 'uffd-seal');
const maps = (o: SeqObservation) => o.snapshots[o.snapshots.length - 1]!.maps.map((m) => `${m.start}-${m.end} ${m.perms}`);
const strip = (o: SeqObservation) => ({ calls: o.calls, snapshots: o.snapshots, status: o.status });
/** Each sequence's verdict on `r` with the model profiled from r's own facts, as a campaign judges it. */
async function verdicts(r: Runner, seqs: Sequence[]): Promise<Outcome[]> {
  const info = await r.start();
  return checkBatch(r, makeProfile(info.release, info.facts), seqs, { stabilityRuns: 0 });
}
const verdict = (o: Outcome) => `${o.kernel.status}${o.kernel.detail ? ` (${o.kernel.detail})` : ''} ${o.signatureText ?? 'agrees'}`;
/** hello facts that name this harness instance or the runner, not the target (and the free
 *  hugepage count, which other processes on the host change at any time) */
const INSTANCE_FACTS = ['tmpfs_dir', 'engine', 'image', 'seccomp', 'hugepages_free'];
const targetFacts = (f: Record<string, string>) => Object.fromEntries(Object.entries(f).filter(([k]) => !INSTANCE_FACTS.includes(k)));

let dockerd: Dockerd;
beforeAll(async () => {
  dockerd = await ensureDockerd();
}, 600_000);
afterAll(async () => {
  await dockerd?.stop();
}, 60_000);

describe('DockerRunner', () => {
  it('builds the FROM scratch image (only the harness in it) and replays sequences like the host', async () => {
    const h = await ensureHarness();
    const r = new DockerRunner();
    const tag = await r.ensureImage(h);
    await execa('docker', ['rmi', '-f', tag], { reject: false }); // force a real build
    const native = new NativeRunner();
    try {
      const t0 = Date.now();
      const info = await r.start();
      console.log(`docker: image build + container start ${Date.now() - t0} ms`);
      expect(info.runner).toBe('docker');
      expect(info.release).toBe(release()); // a container runs on the host's kernel
      expect(info.facts['seccomp']).toBe('vmafuzz');
      const layers = JSON.parse((await execa('docker', ['image', 'inspect', '--format', '{{json .RootFS.Layers}}', tag])).stdout) as string[];
      expect(layers).toHaveLength(1);
      const [d] = await r.run([split], { snapshotEveryCall: true });
      expect(d!.status).toBe('ok');
      expect(maps(d!)).toEqual(['0-3 rw-p', '3-5 r--p', '5-8 rw-p', '9-10 rw-p']);
      expect(d!.calls[2]!.signal).toBe(11);
      const [n] = await native.run([split], { snapshotEveryCall: true });
      expect(strip(d!)).toEqual(strip(n!));
      const many = await r.run(Array(200).fill(split), { snapshotEveryCall: false });
      expect(many.every((o) => o.status === 'ok')).toBe(true);
      expect(r.takeSeccompBlocks()).toEqual([]);
    } finally {
      await r.close();
      await native.close();
    }
  }, 300_000);

  it('gives the harness the host\'s conditions: the same facts inside the container as natively', async () => {
    const r = new DockerRunner();
    const native = new NativeRunner();
    try {
      const d = await r.start();
      const n = await native.start();
      // cap_ipc_lock, uffd_mode/uffd_features, mseal, memlock, rlimit_stack... all as on the host
      expect(targetFacts(d.facts)).toEqual(targetFacts(n.facts));
      expect(d.facts['tmpfs_dir']).toMatch(/^\/dev\/shm\/vmafuzz-/);
    } finally {
      await r.close();
      await native.close();
    }
  }, 300_000);

  it('runs PROT_EXEC tmpfs mappings, userfaultfd, fork and mseal as on the host, and as the model predicts', async () => {
    const r = new DockerRunner();
    const native = new NativeRunner();
    try {
      const [dx, du] = await verdicts(r, [tmpfsExec, uffdSeal]);
      const [nx, nu] = await verdicts(native, [tmpfsExec, uffdSeal]);
      // an exec-able tmpfs: the PROT_EXEC mapping succeeds and a read mapping may become executable
      expect(dx!.kernel.calls.map((c) => c.errno)).toEqual([0, 0, 0, 0]);
      expect(verdict(dx!)).toBe('ok agrees');
      // not cut short by seccomp (status infra), no EPERM from a missing capability
      expect(du!.kernel.calls.map((c) => c.errno)).toEqual([0, 0, 0, 0, 0, 0, 1]); // munmap of a sealed page: EPERM
      expect(verdict(du!)).toBe('ok agrees');
      expect([verdict(dx!), verdict(du!)]).toEqual([verdict(nx!), verdict(nu!)]);
      expect(dx!.kernel.calls).toEqual(nx!.kernel.calls);
      expect(du!.kernel.calls).toEqual(nu!.kernel.calls);
      expect(r.takeSeccompBlocks()).toEqual([]);
    } finally {
      await r.close();
      await native.close();
    }
  }, 300_000);

  it('leaves the native harness beside it its disk-file directories (its own subdirectory of the shared ones)', async () => {
    // a harness in the container cannot see host pids: it once removed the private directory of every
    // native harness as "dead" (harness-c/privdir.c), and their disk-file sequences ended infra
    const native = new NativeRunner();
    const r = new DockerRunner();
    const file = (kind: string) =>
      parseSequence({ vmafuzz: 1, arenaPages: 4, files: [{ kind, size: '1p', fill: 'pattern' }], calls: [{ op: 'mmap', addr: 'A+0p', len: '1p', prot: 'PROT_READ', flags: 'MAP_SHARED|MAP_FIXED', fd: 0, offset: '0' }, { op: 'probe', addr: 'A+0p' }] }, kind);
    const dirs = await resolveFsDirs({}, () => {});
    const kinds = (Object.keys(dirs) as Array<keyof typeof dirs>).filter((k) => dirs[k]);
    const mine = () => kinds.flatMap((k) => readdirSync(dirs[k]!).filter((n) => n.startsWith(`docker-vmafuzz-${process.pid}-`)));
    try {
      const n = await native.start();
      expect(n.facts['fs']!.split(',').sort()).toEqual([...kinds].sort());
      const d = await r.start(); // a harness starting in the container sweeps what it sees
      expect(d.facts['fs']).toBe(n.facts['fs']);
      expect(mine()).toHaveLength(kinds.length);
      const seqs = kinds.map(file);
      for (const o of await native.run(seqs, { snapshotEveryCall: false })) expect([o.status, o.detail ?? '']).toEqual(['ok', '']);
      for (const o of await r.run(seqs, { snapshotEveryCall: false })) expect([o.status, o.detail ?? '']).toEqual(['ok', '']);
    } finally {
      await r.close();
      await native.close();
    }
    expect(mine()).toEqual([]); // removed with the container
  }, 300_000);

  it('gives every seed corpus sequence the verdict it gets natively (nothing indeterminate)', async () => {
    const dir = join(import.meta.dirname, '..', 'corpus', 'seed');
    const seqs = readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => loadSequenceFile(join(dir, f)));
    expect(seqs.length).toBeGreaterThan(30);
    const r = new DockerRunner();
    const native = new NativeRunner();
    try {
      const d = (await verdicts(r, seqs)).map(verdict);
      const n = (await verdicts(native, seqs)).map(verdict);
      expect(d).toEqual(n);
      expect(d.filter((v) => !v.startsWith('ok'))).toEqual([]);
      expect(r.takeSeccompBlocks()).toEqual([]);
    } finally {
      await r.close();
      await native.close();
    }
  }, 300_000);

  it('probes CAP_SYS_PTRACE in the container: without it, EVENT_FORK is EPERM and the model says so', async () => {
    // root in a container with the engine's default capabilities (+ IPC_LOCK): no CAP_SYS_PTRACE
    const r = new DockerRunner({ capAdd: ['IPC_LOCK'] });
    try {
      const info = await r.start();
      expect(info.facts['euid']).toBe('0');
      expect(info.facts['cap_sys_ptrace']).toBe('0');
      const [o] = await verdicts(r, [uffdSeal]);
      expect(o!.kernel.calls[1]!.errno).toBe(1); // fs/userfaultfd.c:userfaultfd_api
      expect(verdict(o!)).toBe('ok agrees');
    } finally {
      await r.close();
    }
  }, 300_000);

  it('passes this process\'s memlock, stack and data limits to the container', () => {
    const limits = [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max data size             unlimited            unlimited            bytes     ',
      'Max stack size            8388608              unlimited            bytes     ',
      'Max open files            20000                20000                files     ',
      'Max locked memory         65536                65536                bytes     ',
      'Max address space         unlimited            unlimited            bytes     ',
    ].join('\n');
    expect(ulimitArgs(limits)).toEqual(['--ulimit', 'data=-1:-1', '--ulimit', 'stack=8388608:-1', '--ulimit', 'memlock=65536:65536']);
  });

  it('takes --seccomp vmafuzz|default|unconfined|FILE for the docker runner only (else exit 2)', () => {
    expect(runnerOptionsFrom({ runner: 'docker', seccomp: 'unconfined' })).toEqual({ runner: 'docker', seccomp: 'unconfined' });
    expect(runnerOptionsFrom({ runner: 'docker', seccomp: 'docker/seccomp.json' }).seccomp).toBe('docker/seccomp.json');
    expect(() => runnerOptionsFrom({ runner: 'native', seccomp: 'default' })).toThrow(UsageError);
    expect(() => runnerOptionsFrom({ runner: 'docker', seccomp: '/nonexistent/profile.json' })).toThrow(/--seccomp: "\/nonexistent\/profile.json" is neither vmafuzz, default, unconfined nor an existing profile file/);
  });

  it('says clearly when no engine is running', async () => {
    const r = new DockerRunner({ host: 'unix:///nonexistent/docker.sock' });
    await expect(r.start()).rejects.toThrow(CannotTestError);
    await expect(r.start()).rejects.toThrow(/no Docker engine is running/);
    await expect(new DockerRunner({ docker: '/nonexistent/docker' }).start()).rejects.toThrow(/docker CLI .* is not installed/);
  }, 60_000);

  it('reports a call blocked by the seccomp profile as a property of the target', async () => {
    // a profile that denies mprotect(..., PROT_READ|PROT_EXEC) with EPERM, as a stricter engine profile might
    const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-seccomp-'));
    const profile = join(dir, 'deny-rx.json');
    writeFileSync(profile, JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [{ names: ['mprotect'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 2, value: 5, valueTwo: 0, op: 'SCMP_CMP_EQ' }] }],
    }));
    const r = new DockerRunner({ seccomp: profile });
    try {
      const info = await r.start();
      expect(info.facts['seccomp']).toBe(profile);
      const [blocked, fine] = await r.run([rx, split], { snapshotEveryCall: false });
      expect(blocked!.status).toBe('infra');
      expect(blocked!.detail).toMatch(/^seccomp: call 1 \(mprotect\) failed with EPERM .* gave success without it; a property of the target/);
      expect(blocked!.calls).toHaveLength(1); // cut before the blocked call: nothing to compare there
      expect(fine!.status).toBe('ok');
      expect(r.takeSeccompBlocks()).toEqual([{ batchIndex: 0, call: 1, op: 'mprotect', errno: 1, unconfined: 'success' }]);
    } finally {
      await r.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('does not blame seccomp for an EPERM that the kernel itself returns', async () => {
    // MAP_FIXED at address 0, below vm.mmap_min_addr, without CAP_SYS_RAWIO (not granted to
    // containers): security_mmap_addr() refuses it with EPERM, seccomp profile or not.
    const nullFixed = { arenaPages: 1, lines: ['mmap - 0 1000 3 32 ffffffffffffffff 0'], returnsAddr: [true] };
    const r = new DockerRunner();
    try {
      await r.start();
      const [o] = await r.runWire([nullFixed], { snapshotEveryCall: false });
      expect(o!.status).toBe('ok');
      expect(o!.calls.map((c) => c.errno)).toEqual([1]);
      expect(r.takeSeccompBlocks()).toEqual([]);
    } finally {
      await r.close();
    }
  }, 300_000);
});
