// Where chunks run. `--jobs N` means N lanes: N runners (harness processes, containers or VMs),
// each driven by its own JavaScript thread so that generation and prediction scale too: worker
// threads for N > 1, this thread for N = 1 (no message passing on the single-job hot path). A lane
// may be bound to one CPU (affinity.ts). Tests can also run several runners in this thread
// (InProcessExecutor with N runners).

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { makeProfile, type Profile } from '../model/index.js';
import { createRunner, type RunnerOptions } from '../runner/index.js';
import { projectRoot } from '../runner/harness-build.js';
import type { Runner, TargetInfo } from '../runner/types.js';
import { CannotTestError } from '../util/errors.js';
import { bindProcess } from './affinity.js';
import { runChunk, runMinimize, type ChunkProgress, type ChunkResult, type ChunkTask, type Found, type MinimizeDone, type MinimizeTask, type WorkConfig } from './work.js';

export interface Executor {
  readonly slots: number;
  /** after start(): the CPU each lane is bound to (null: unbound), and why a bind failed */
  readonly cpus: Array<number | null>;
  readonly bindErrors: string[];
  start(): Promise<TargetInfo>;
  /** the lane the next chunk() or minimize() call will run on (its speed sizes the piece) */
  nextLane(): number;
  chunk(task: ChunkTask, onProgress?: ChunkProgress): Promise<ChunkResult>;
  /** ask every chunk in flight to end after the batch it is running (a checkpoint) */
  stop(): void;
  minimize(task: MinimizeTask): Promise<MinimizeDone>;
  close(): Promise<void>;
}

export interface WorkerInit {
  runner: RunnerOptions;
  /** bind the lane's thread (and so its harness) to this CPU */
  cpu?: number;
  profilePatch?: Record<string, unknown>;
  cfg: WorkConfig;
}

export function profileFor(target: TargetInfo, patch?: Record<string, unknown>): Profile {
  return { ...makeProfile(target.release, target.facts), ...(patch as Partial<Profile> | undefined) };
}

/** Runners driven from this thread; with one runner this is the plain single-job campaign. */
export class InProcessExecutor implements Executor {
  private readonly busy: boolean[];
  private profiles: Profile[] = [];
  private stopping = false;
  readonly slots: number;
  cpus: Array<number | null> = [];
  bindErrors: string[] = [];

  constructor(
    private readonly runners: Runner[],
    private readonly cfg: WorkConfig,
    private readonly profilePatch?: Record<string, unknown>,
  ) {
    this.slots = runners.length;
    this.busy = runners.map(() => false);
  }

  /** With init.cpu, the whole process (this one lane) is bound to it before the runners spawn anything. */
  static async create(init: WorkerInit, jobs: number): Promise<InProcessExecutor> {
    const bindError = init.cpu === undefined ? null : bindProcess([init.cpu]);
    const runners: Runner[] = [];
    for (let i = 0; i < jobs; i++) runners.push(await createRunner(init.runner));
    const ex = new InProcessExecutor(runners, init.cfg, init.profilePatch);
    ex.cpus = runners.map(() => (init.cpu !== undefined && bindError === null && jobs === 1 ? init.cpu : null));
    if (bindError) ex.bindErrors.push(bindError);
    return ex;
  }

  async start(): Promise<TargetInfo> {
    const targets = await Promise.all(this.runners.map((r) => r.start()));
    this.profiles = targets.map((t) => profileFor(t, this.profilePatch));
    return targets[0]!;
  }

  private async withSlot<T>(f: (i: number) => Promise<T>): Promise<T> {
    const i = this.busy.indexOf(false);
    if (i < 0) throw new Error('executor: more tasks than slots');
    this.busy[i] = true;
    try {
      return await f(i);
    } finally {
      this.busy[i] = false;
    }
  }

  nextLane(): number {
    return this.busy.indexOf(false);
  }

  chunk(task: ChunkTask, onProgress?: ChunkProgress): Promise<ChunkResult> {
    return this.withSlot((i) => runChunk({ runner: this.runners[i]!, profile: this.profiles[i]!, cfg: this.cfg }, task, onProgress, () => this.stopping));
  }

  stop(): void {
    this.stopping = true;
  }

  minimize(task: MinimizeTask): Promise<MinimizeDone> {
    return this.withSlot((i) => runMinimize({ runner: this.runners[i]!, profile: this.profiles[i]!, cfg: this.cfg }, task));
  }

  async close(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.close()));
  }
}

/** The compiled worker entry (dist/campaign/worker.js), also when this module runs from src/ under vitest. */
function workerScript(): string {
  const here = fileURLToPath(new URL('./worker.js', import.meta.url));
  if (existsSync(here)) return here;
  const dist = join(projectRoot(), 'dist', 'campaign', 'worker.js');
  if (existsSync(dist)) return dist;
  throw new CannotTestError(`cannot find the campaign worker script (${here}); run npm run build`);
}

type Reply =
  | { type: 'ready'; target: TargetInfo; cpu: number | null; bindError: string | null }
  | { type: 'fail'; error: string; cannotTest: boolean }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; error: string }
  | { type: 'progress'; id: number; n: number; calls: number; found: Found[] };

interface Slot {
  worker: Worker;
  ready: Promise<TargetInfo>;
  pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; progress?: ChunkProgress }>;
  busy: boolean;
  dead: boolean;
}

/**
 * N worker threads, each with its own runner, lane i bound to laneCpus[i] when given. A thread
 * that dies is replaced on next use, on the same CPU.
 */
export class ThreadExecutor implements Executor {
  private slotsList: Slot[] = [];
  private nextId = 0;
  private closing = false;
  cpus: Array<number | null> = [];
  bindErrors: string[] = [];

  constructor(
    readonly slots: number,
    private readonly init: WorkerInit,
    private laneCpus: ReadonlyArray<number | undefined> = [],
  ) {}

  private spawn(lane: number): Slot {
    const cpu = this.laneCpus[lane];
    const worker = new Worker(workerScript(), { workerData: cpu === undefined ? this.init : { ...this.init, cpu } });
    const pending: Slot['pending'] = new Map();
    const slot: Slot = { worker, pending, busy: false, dead: false, ready: undefined as unknown as Promise<TargetInfo> };
    slot.ready = new Promise<TargetInfo>((resolve, reject) => {
      worker.on('message', (m: Reply) => {
        if (m.type === 'ready') {
          this.cpus[lane] = m.cpu;
          if (m.bindError && !this.bindErrors.includes(m.bindError)) this.bindErrors.push(m.bindError);
          resolve(m.target);
        }
        else if (m.type === 'fail') reject(m.cannotTest ? new CannotTestError(m.error) : new Error(m.error));
        else if (m.type === 'progress') pending.get(m.id)?.progress?.(m.n, m.calls, m.found);
        else {
          const p = pending.get(m.id);
          pending.delete(m.id);
          if (m.type === 'result') p?.resolve(m.value);
          else p?.reject(new Error(m.error));
        }
      });
      const die = (e: Error) => {
        slot.dead = true;
        reject(e);
        for (const p of pending.values()) p.reject(e);
        pending.clear();
      };
      worker.on('error', (e) => die(e instanceof Error ? e : new Error(String(e))));
      worker.on('exit', (code) => die(new Error(`campaign worker exited (code ${code})`)));
    });
    slot.ready.catch(() => {});
    return slot;
  }

  async start(): Promise<TargetInfo> {
    // The process first (main thread, V8 helpers, and the workers until they bind themselves).
    const lanes = this.laneCpus.filter((c): c is number => c !== undefined);
    const err = lanes.length ? bindProcess(lanes) : null;
    if (err) {
      this.bindErrors.push(err);
      this.laneCpus = [];
    }
    this.slotsList = Array.from({ length: this.slots }, (_, i) => this.spawn(i));
    const targets = await Promise.all(this.slotsList.map((s) => s.ready));
    return targets[0]!;
  }

  private async call<T>(type: 'chunk' | 'minimize', task: unknown, progress?: ChunkProgress): Promise<T> {
    let i = this.slotsList.findIndex((s) => !s.busy);
    if (i < 0) throw new Error('executor: more tasks than slots');
    if (this.slotsList[i]!.dead && !this.closing) this.slotsList[i] = this.spawn(i);
    const slot = this.slotsList[i]!;
    slot.busy = true;
    try {
      await slot.ready;
      const id = this.nextId++;
      return await new Promise<T>((resolve, reject) => {
        slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, ...(progress ? { progress } : {}) });
        slot.worker.postMessage({ type, id, task });
      });
    } finally {
      slot.busy = false;
    }
  }

  nextLane(): number {
    return this.slotsList.findIndex((s) => !s.busy);
  }

  chunk(task: ChunkTask, onProgress?: ChunkProgress): Promise<ChunkResult> {
    return this.call('chunk', task, onProgress);
  }

  stop(): void {
    for (const s of this.slotsList) if (!s.dead) s.worker.postMessage({ type: 'stop' });
  }

  minimize(task: MinimizeTask): Promise<MinimizeDone> {
    return this.call('minimize', task);
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.slotsList.map(async (s) => {
        if (s.dead) return;
        const exited = new Promise<void>((res) => s.worker.once('exit', () => res()));
        s.worker.postMessage({ type: 'close' });
        // a worker still busy after the campaign gave up on its piece may never read 'close'
        // (a model loop): it gets 2 s, an idle one 10 s to close its runner
        const t = setTimeout(() => void s.worker.terminate(), s.busy ? 2000 : 10_000);
        await exited;
        clearTimeout(t);
      }),
    );
  }
}
