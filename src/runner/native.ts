// Runs sequences on the host kernel through one persistent `harness --serve` process, and the
// transport-independent HarnessSession that the Docker and QEMU runners reuse.

import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';
import { CannotTestError } from '../util/errors.js';
import { fsDirArgs, resolveFsDirs, type FsDirs } from './fsdirs.js';
import { ensureHarness } from './harness-build.js';
import { encodeWire, type Hello, OutputParser, PROTOCOL_VERSION, type RawResult, toObservation, toWire, type WireOptions, type WireSequence } from './protocol.js';
import type { Runner, RunOptions, TargetInfo } from './types.js';

/** The harness's own default per-sequence deadline and post-SIGKILL grace (harness.c). */
const HARNESS_DEADLINE_MS = 5000;
const HARNESS_KILL_GRACE_MS = 5000;

export interface SessionOptions {
  /** used in error messages ("native harness", "qemu guest") */
  name?: string;
  /** fail when results are pending and nothing arrived for this long (default: from the deadline) */
  stallMs?: number;
  /** called once when the session fails (dead stream, stall, protocol error), e.g. to kill a process */
  onFail?: (err: Error) => void;
  /** fail when the output stream ends (default true; a process owner may prefer its exit event) */
  failOnEnd?: boolean;
  /** fail when no `hello` arrived within this long (a wrong VMAFUZZ_HARNESS that never speaks would
   *  otherwise hold every caller forever; the probe child needs a second or two, more under load) */
  helloMs?: number;
}

/** Default `hello` wait of a harness process started on this machine (native, Docker). */
export const HELLO_MS = 60_000;

interface Pending {
  id: string;
  wire: WireSequence;
  batch: Batch;
  index: number;
}
interface Batch {
  out: SeqObservation[];
  left: number;
  resolve: (o: SeqObservation[]) => void;
  reject: (e: Error) => void;
}

/**
 * One conversation with a harness over any pair of streams (a child's stdio, a serial socket).
 * Batches may overlap: each run() writes at once and resolves when its last `done` arrives.
 */
export class HarnessSession {
  readonly hello: Promise<Hello>;
  private failed: Error | null = null;
  private readonly queue: Pending[] = [];
  private head = 0;
  private nextId = 0;
  private lastData = Date.now();
  private stallMs: number;
  private watchdog: NodeJS.Timeout | null = null;
  private rejectHello!: (e: Error) => void;
  private helloSeen = false;
  private readonly name: string;

  constructor(
    private readonly input: Writable,
    output: Readable,
    private readonly opts: SessionOptions = {},
  ) {
    this.name = opts.name ?? 'harness';
    this.stallMs = opts.stallMs ?? HARNESS_DEADLINE_MS + HARNESS_KILL_GRACE_MS + 10_000;
    let resolveHello!: (h: Hello) => void;
    this.hello = new Promise<Hello>((res, rej) => {
      resolveHello = res;
      this.rejectHello = rej;
    });
    this.hello.catch(() => {}); // observed through run()/start() instead
    const helloMs = opts.helloMs;
    if (helloMs !== undefined) {
      const t = setTimeout(() => this.helloSeen || this.fail(new Error(`${this.name} said no hello within ${helloMs / 1000} s`)), helloMs);
      t.unref();
      this.hello.then(() => clearTimeout(t), () => clearTimeout(t));
    }
    const parser = new OutputParser({
      onHello: (h, line) => {
        if (h.version !== PROTOCOL_VERSION) this.fail(new Error(`${this.name} speaks protocol ${h.version}, expected ${PROTOCOL_VERSION}: ${line}`));
        else {
          this.helloSeen = true;
          resolveHello(h);
        }
      },
      onResult: (r) => this.result(r),
      onStray: (line) => {
        if (line.startsWith('err ')) this.fail(new Error(`${this.name} rejected input: ${line}`));
      },
    });
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      this.lastData = Date.now();
      try {
        parser.push(chunk);
      } catch (e) {
        this.fail(new Error(`${this.name}: cannot parse output: ${(e as Error).message}`));
      }
    });
    output.on('end', () => {
      if (opts.failOnEnd !== false) this.fail(new Error(`${this.name} closed its output`));
    });
    output.on('error', (e) => this.fail(new Error(`${this.name} output: ${e.message}`)));
    input.on('error', (e) => this.fail(new Error(`${this.name} input: ${e.message}`)));
  }

  get alive(): boolean {
    return this.failed === null;
  }

  /** Run corpus sequences. */
  run(batch: readonly Sequence[], opts: RunOptions): Promise<SeqObservation[]> {
    return this.runWire(batch.map(toWire), opts);
  }

  /** Run wire-level sequences (tests use this for the protocol-only ops `sleep` and `crash`). */
  runWire(batch: readonly WireSequence[], opts: WireOptions): Promise<SeqObservation[]> {
    if (this.failed) return Promise.reject(this.failed);
    if (batch.length === 0) return Promise.resolve([]);
    const deadline = opts.deadlineMs ?? HARNESS_DEADLINE_MS;
    this.stallMs = Math.max(this.stallMs, this.opts.stallMs ?? deadline + HARNESS_KILL_GRACE_MS + 10_000);
    return new Promise<SeqObservation[]>((resolve, reject) => {
      const b: Batch = { out: new Array<SeqObservation>(batch.length), left: batch.length, resolve, reject };
      let text = '';
      batch.forEach((wire, index) => {
        const id = (this.nextId++).toString(16);
        this.queue.push({ id, wire, batch: b, index });
        text += encodeWire(id, wire, opts);
      });
      if (this.head === this.queue.length - batch.length) this.lastData = Date.now(); // idle until now
      // Input sent before `hello` could reach a tty that still echoes (QEMU serial): wait for it.
      // Continuations run in registration order, so the text order matches the queue order.
      if (this.helloSeen) this.input.write(text);
      else void this.hello.then(() => this.failed || this.input.write(text), () => {});
      this.armWatchdog();
    });
  }

  private result(r: RawResult): void {
    const p = this.queue[this.head];
    if (!p || p.id !== r.id) {
      this.fail(new Error(`${this.name} answered sequence ${r.id}, expected ${p ? p.id : 'nothing'}`));
      return;
    }
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    p.batch.out[p.index] = toObservation(r, p.wire);
    if (--p.batch.left === 0) p.batch.resolve(p.batch.out);
  }

  private armWatchdog(): void {
    if (this.watchdog) return;
    const tick = Math.min(1000, Math.max(50, this.stallMs / 4));
    this.watchdog = setInterval(() => {
      if (this.head === this.queue.length) {
        clearInterval(this.watchdog!);
        this.watchdog = null;
      } else if (Date.now() - this.lastData > this.stallMs) {
        this.fail(new Error(`${this.name} stalled: no output for ${this.stallMs} ms with ${this.queue.length - this.head} sequences pending`));
      }
    }, tick);
    this.watchdog.unref();
  }

  /** Reject everything pending; the session is unusable afterwards. Idempotent. */
  fail(err: Error, notify = true): void {
    if (this.failed) return;
    this.failed = err;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = null;
    this.rejectHello(err);
    const batches = new Set(this.queue.slice(this.head).map((p) => p.batch));
    this.queue.length = this.head = 0;
    for (const b of batches) b.reject(err);
    if (notify) this.opts.onFail?.(err);
  }

  /** Ask the harness to quit (it powers the machine off in init mode) and stop accepting work. */
  close(): void {
    if (!this.failed) this.input.end('quit\n');
    this.fail(new Error(`${this.name} session closed`), false);
  }
}

export function targetInfo(runner: string, h: Hello): TargetInfo {
  return { runner, release: h.release, facts: h.facts };
}

/** Sequences on the host kernel, in children of one long-lived harness process. */
export class NativeRunner implements Runner {
  readonly name = 'native';
  private proc: ChildProcess | null = null;
  private session: HarnessSession | null = null;
  private info: TargetInfo | null = null;

  /**
   * fsDirs: directories for `file ext4|xfs|btrfs` the user named; the others are loop-mounted
   * images of the runner's own (src/runner/fsdirs.ts), unless `fsAuto` is false. persist: let the
   * harness run many sequences in one reusable child (harness-c/persist.c), the default; false (or
   * VMAFUZZ_PERSIST=0 in the environment) forks a fresh child for every one.
   */
  constructor(private readonly opts: { harnessPath?: string; stallMs?: number; fsDirs?: FsDirs; fsAuto?: boolean; persist?: boolean } = {}) {}
  private fsArgs: string[] | null = null;

  private starting: Promise<TargetInfo> | null = null;

  start(): Promise<TargetInfo> {
    if (this.session?.alive && this.info) return Promise.resolve(this.info);
    // concurrent callers share one start-up
    return (this.starting ??= this.spawnHarness().finally(() => (this.starting = null)));
  }

  private async spawnHarness(): Promise<TargetInfo> {
    const path = this.opts.harnessPath ?? (await ensureHarness());
    // Own process group: a terminal Ctrl-C goes to vmafuzz, which then finishes the batch in
    // flight; the harness still ends on its own when our end of stdin closes (also after kill -9).
    // once per runner: the directories do not change between harness restarts
    this.fsArgs ??= fsDirArgs(this.opts.fsAuto === false ? (this.opts.fsDirs ?? {}) : await resolveFsDirs(this.opts.fsDirs ?? {}, (l) => process.stderr.write(`vmafuzz: ${l}\n`)));
    const persist = this.opts.persist ?? process.env['VMAFUZZ_PERSIST'] !== '0';
    const proc = spawn(path, ['--serve', ...(persist ? [] : ['--no-persist']), ...this.fsArgs], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let stderr = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
    const session = new HarnessSession(proc.stdin!, proc.stdout!, {
      name: `native harness (${path})`,
      failOnEnd: false, // the exit event below carries the status and stderr
      helloMs: HELLO_MS,
      ...(this.opts.stallMs !== undefined ? { stallMs: this.opts.stallMs } : {}),
      onFail: () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      },
    });
    const spawnError = new Promise<never>((_, reject) => proc.once('error', (e) => reject(new CannotTestError(`cannot run the harness ${path}: ${e.message}`))));
    spawnError.catch(() => {});
    proc.once('exit', (code, signal) => {
      const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
      // give stderr a moment to drain into the message
      setImmediate(() => session.fail(new Error(`native harness ${how}${stderr ? `: ${stderr.trim()}` : ''}`)));
    });
    this.proc = proc;
    this.session = session;
    let hello: Hello;
    try {
      hello = await Promise.race([session.hello, spawnError]);
    } catch (e) {
      throw e instanceof CannotTestError ? e : new CannotTestError(`the harness did not start: ${(e as Error).message}`);
    }
    this.info = targetInfo(this.name, hello);
    return this.info;
  }

  async run(batch: readonly Sequence[], opts: RunOptions): Promise<SeqObservation[]> {
    if (!this.session?.alive) await this.start();
    return this.session!.run(batch, opts);
  }

  /** Protocol-level access for tests and tools (hidden ops such as `sleep` and `crash`). */
  async runWire(batch: readonly WireSequence[], opts: WireOptions): Promise<SeqObservation[]> {
    if (!this.session?.alive) await this.start();
    return this.session!.runWire(batch, opts);
  }

  /** The harness process id, for tests that kill it. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  async close(): Promise<void> {
    const proc = this.proc;
    this.session?.close();
    this.session = null;
    this.proc = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      await new Promise<void>((res) => {
        const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
        proc.once('exit', () => {
          clearTimeout(t);
          res();
        });
      });
    }
  }
}
