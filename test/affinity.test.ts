// Lane binding (src/campaign/affinity.ts): the cpulist parser, the choice of free CPUs, the scan of
// other processes' bound threads, and on the real kernel that a worker thread binds itself and the
// harness it then spawns inherits that CPU while the rest of the process stays unbound.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { beforeAll, describe, expect, it } from 'vitest';
import { allowedCpus, boundCpus, parseCpuList, planLanes } from '../src/campaign/affinity.js';
import { ensureBuilt } from './campaign-support.js';
import { projectRoot } from '../src/runner/harness-build.js';

const cpusOf = (pid: number | string) => parseCpuList(/^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!);

describe('cpulist and lane plans', () => {
  it('parses the kernel cpulist format', () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(() => parseCpuList('0-a')).toThrow(/bad cpu list/);
  });

  it('gives each lane a free CPU, skips CPUs others are bound to, and says why lanes stay unbound', () => {
    expect(planLanes(2, { allowed: [0, 1, 2, 3], bound: new Set([1]), taskset: true })).toEqual({ cpus: [0, 2], note: null });
    // all or nothing: the process is bound to the lanes' CPUs, which would confine an unbound lane
    const short = planLanes(4, { allowed: [0, 1, 2, 3], bound: new Set([1]), taskset: true });
    expect(short.cpus).toEqual([undefined, undefined, undefined, undefined]);
    expect(short.note).toBe('not bound to CPUs: 4 lanes, 3 free CPUs (0,2,3)');
    const none = planLanes(2, { allowed: [4, 5], bound: new Set([4, 5]), taskset: true });
    expect(none.cpus).toEqual([undefined, undefined]);
    expect(none.note).toMatch(/every allowed CPU \(4,5\) is bound/);
    expect(planLanes(1, { allowed: [0], bound: new Set(), taskset: false }).note).toMatch(/taskset \(util-linux\) not found/);
  });

  it('counts user threads bound to one CPU, not kernel threads or threads allowed several', () => {
    const proc = mkdtempSync(join(tmpdir(), 'vmafuzz-proc-'));
    const task = (pid: number, tid: number, status: string) => {
      mkdirSync(join(proc, String(pid), 'task', String(tid)), { recursive: true });
      writeFileSync(join(proc, String(pid), 'task', String(tid), 'status'), status);
    };
    task(100, 100, 'Name:\tafl-fuzz\nVmSize:\t 1000 kB\nCpus_allowed_list:\t3\n');
    task(100, 101, 'Name:\tafl-fuzz\nVmSize:\t 1000 kB\nCpus_allowed_list:\t0-7\n');
    task(200, 200, 'Name:\tnode\nVmSize:\t 1000 kB\nCpus_allowed_list:\t0-7\n');
    task(200, 205, 'Name:\tnode\nVmSize:\t 1000 kB\nCpus_allowed_list:\t5\n'); // a bound worker thread
    task(2, 2, 'Name:\tksoftirqd/6\nCpus_allowed_list:\t6\n'); // kernel thread: no VmSize
    mkdirSync(join(proc, 'self'));
    expect([...boundCpus(proc)].sort()).toEqual([3, 5]);
  });
});

describe('binding on the real kernel', () => {
  beforeAll(ensureBuilt, 600_000);

  it('a worker thread binds itself; the harness it spawns inherits the CPU, the main thread does not', async () => {
    const allowed = allowedCpus();
    const cpu = allowed[allowed.length - 1]!;
    const dist = (f: string) => join(projectRoot(), 'dist', f);
    const code = `
      const { parentPort, workerData } = await import('node:worker_threads');
      const { bindThisThread } = await import(${JSON.stringify(dist('campaign/affinity.js'))});
      const { NativeRunner } = await import(${JSON.stringify(dist('runner/native.js'))});
      const error = bindThisThread(workerData);
      const runner = new NativeRunner();
      await runner.start();
      parentPort.postMessage({ error, harness: runner.pid });
      await new Promise((r) => parentPort.once('message', r));
      await runner.close();`;
    const w = new Worker(code, { eval: true, workerData: cpu });
    const m = await new Promise<{ error: string | null; harness: number }>((res, rej) => {
      w.once('message', res);
      w.once('error', rej);
    });
    try {
      expect(m.error).toBeNull();
      expect(cpusOf(m.harness)).toEqual([cpu]);
      expect(cpusOf('self')).toEqual(allowed); // the process's main thread is untouched
    } finally {
      w.postMessage('close');
      await new Promise((r) => w.once('exit', r));
    }
  }, 60_000);
});
