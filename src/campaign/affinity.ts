// CPU binding of campaign lanes, the way AFL++ binds each fuzzer instance to a free core, so that
// `--jobs N` uses N CPUs. A lane is one JavaScript thread and the runner it drives; the thread
// binds itself before it spawns the harness, which inherits the mask (fork copies the calling
// thread's affinity), so both share one CPU. The rest of the process (the coordinating main thread,
// V8's compiler and GC helper threads) is bound to the union of the lanes' CPUs. Unbound, the
// harness parent and its per-sequence child wander between CPUs and every wake-up crosses CPUs;
// `npm run bench` measures both (bound and --no-pin).
//
// Binding uses taskset(1) (util-linux), because Node has no sched_setaffinity.

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** "0-3,8,10-11" -> [0,1,2,3,8,10,11] (the kernel's cpulist format, /proc/<pid>/status). */
export function parseCpuList(s: string): number[] {
  const out: number[] = [];
  for (const part of s.trim().split(',')) {
    if (!part) continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`bad cpu list ${JSON.stringify(s)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out;
}

function cpusAllowed(statusText: string): number[] | null {
  const m = /^Cpus_allowed_list:\s*(\S+)\s*$/m.exec(statusText);
  return m ? parseCpuList(m[1]!) : null;
}

function readOr(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The CPUs this thread may run on. */
export function allowedCpus(): number[] {
  return cpusAllowed(readOr('/proc/thread-self/status') ?? '') ?? [];
}

/**
 * CPUs some other process has a user thread bound to alone (another campaign's lane, an AFL++
 * instance, a benchmark under taskset). Kernel threads (no VmSize) are per-CPU by nature and do not
 * count.
 */
export function boundCpus(proc = '/proc'): Set<number> {
  const busy = new Set<number>();
  const self = String(process.pid);
  let pids: string[];
  try {
    pids = readdirSync(proc).filter((d) => /^\d+$/.test(d) && d !== self);
  } catch {
    return busy;
  }
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`${proc}/${pid}/task`);
    } catch {
      continue; // exited meanwhile
    }
    for (const tid of tids) {
      const st = readOr(`${proc}/${pid}/task/${tid}/status`);
      if (!st || !/^VmSize:/m.test(st)) continue;
      const cpus = cpusAllowed(st);
      if (cpus && cpus.length === 1) busy.add(cpus[0]!);
    }
  }
  return busy;
}

export interface LanePlan {
  /** the CPU of each lane, in lane order; all undefined when there are fewer free CPUs than lanes */
  cpus: Array<number | undefined>;
  /** why some or all lanes stay unbound, for the campaign header; null when every lane is bound */
  note: string | null;
}

/** Free CPUs for `lanes` lanes: allowed for this process and not bound by anyone else. */
export function planLanes(lanes: number, opts: { allowed?: number[]; bound?: Set<number>; taskset?: boolean } = {}): LanePlan {
  const unbound = (note: string): LanePlan => ({ cpus: new Array<number | undefined>(lanes).fill(undefined), note });
  if (!(opts.taskset ?? hasTaskset())) return unbound('not bound to CPUs: taskset (util-linux) not found');
  const allowed = opts.allowed ?? allowedCpus();
  const bound = opts.bound ?? boundCpus();
  const free = allowed.filter((c) => !bound.has(c));
  if (free.length === 0) return unbound(`not bound to CPUs: every allowed CPU (${allowed.join(',')}) is bound by another process`);
  // All or nothing: the process is bound to the lanes' CPUs, so an unbound lane would be confined to them.
  if (free.length < lanes) return unbound(`not bound to CPUs: ${lanes} lanes, ${free.length} free CPU${free.length === 1 ? '' : 's'} (${free.join(',')})`);
  return { cpus: free.slice(0, lanes), note: null };
}

let tasksetFound: boolean | undefined;
function hasTaskset(): boolean {
  return (tasksetFound ??= spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0);
}

function taskset(args: string[]): string | null {
  const r = spawnSync('taskset', args, { encoding: 'utf8' });
  if (r.error) return `taskset: ${r.error.message}`;
  return r.status === 0 ? null : `taskset ${args.join(' ')}: ${(r.stderr || '').trim() || 'exit ' + r.status}`;
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((c, i) => c === b[i]);

/** Bind the calling thread (main or worker) to one CPU; returns null when done, else why not. */
export function bindThisThread(cpu: number): string | null {
  let tid: string;
  try {
    tid = readlinkSync('/proc/thread-self').split('/').pop()!; // "<pid>/task/<tid>"
  } catch (e) {
    return `cannot name this thread: ${(e as Error).message}`;
  }
  const err = taskset(['-p', '-c', String(cpu), tid]);
  if (err) return err;
  const now = allowedCpus();
  return same(now, [cpu]) ? null : `thread ${tid} still runs on CPUs ${now.join(',')}`;
}

/** Bind every thread of this process (and so every thread it creates later) to these CPUs. */
export function bindProcess(cpus: readonly number[]): string | null {
  const want = [...cpus].sort((a, b) => a - b);
  const err = taskset(['-a', '-p', '-c', want.join(','), String(process.pid)]);
  if (err) return err;
  const now = cpusAllowed(readOr('/proc/self/status') ?? '') ?? [];
  return same(now, want) ? null : `process ${process.pid} still runs on CPUs ${now.join(',')}`;
}
