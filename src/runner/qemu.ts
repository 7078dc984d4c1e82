// Sequences on a Debian (or any) kernel in a QEMU guest whose only process is the harness. One VM
// per runner, booted once and fed batch after batch; `--jobs N` makes N independent runners.
//
// What can go wrong in a guest, and what becomes of it:
//   - a kernel report on the console (BUG/WARNING/Oops/panic/KASAN...): a KernelCrash record
//     (takeCrashes()) and status "crash" for the sequence that was running; a fatal one (panic,
//     and every Oops: the command line has oops=panic because an oopsed kernel may hold mm locks
//     and answer nonsense afterwards) also costs the VM, which is rebooted for the next sequence;
//   - no answer within the watchdog (a hung VM): the VM is killed and rebooted, and the sequence
//     is "timeout" (indeterminate, never a divergence);
//   - a boot that fails, a VM that dies without a report: infrastructure. Boots are retried
//     (bootRetries); a sequence hit by an unexplained VM death is retried once on a fresh VM.

import { ensureFsModules } from '../kernels/fsmodules.js';
import { ensureScratchImages, FS_KINDS } from './fsdirs.js';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot, type KernelImage, resolveKernel } from '../kernels/index.js';
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';
import { CannotTestError } from '../util/errors.js';
import { ensureHarness } from './harness-build.js';
import type { RunnerOptions } from './index.js';
import { targetInfo } from './native.js';
import { type Hello, toWire, type WireOptions, type WireSequence } from './protocol.js';
import { chooseAccel } from './qemu/accel.js';
import type { ConsoleReport } from './qemu/console.js';
import { ensureInitramfs } from './qemu/initramfs.js';
import { type Accel, findOnPath, QemuVm } from './qemu/vm.js';
import type { Runner, RunOptions, TargetInfo } from './types.js';

// loglevel=5: WARNING, Oops and their register/stack dumps are printed at KERN_WARNING or
// KERN_DEFAULT (4), which `quiet` would hide; the boot chatter (NOTICE/INFO) stays off the slow UART.
// panic=-1 + QEMU's -no-reboot: a panic ends the QEMU process. sysrq_always_enabled: the test hook.
export const DEFAULT_CMDLINE = 'console=ttyS0 loglevel=5 panic=-1 oops=panic cryptomgr.notests=1 sysrq_always_enabled';
/** The harness's default per-sequence deadline (harness.c); scaled under TCG. */
const HARNESS_DEADLINE_MS = 5000;
/** Sequences are ~10x slower under TCG: give the harness's per-sequence deadline that much more room. */
const TCG_DEADLINE_SCALE = 4;
/** Bytes of protocol input in flight: a UART channel drops input that the guest does not read. */
const WINDOW_BYTES = 16 << 10;

export interface QemuRunnerOptions {
  /** Debian kernel version string ("6.12"), fetched on start() */
  kernel?: string;
  /** any x86 bzImage instead */
  kernelImage?: string;
  /** an already resolved kernel */
  image?: KernelImage;
  flavour?: string;
  /** guest memory (QEMU -m syntax), default 512M */
  memory?: string;
  /** extra kernel command-line words, appended to DEFAULT_CMDLINE */
  append?: string;
  cpus?: number;
  accel?: Accel | 'auto';
  harnessPath?: string;
  bootTimeoutMs?: number;
  /** boot attempts before giving up (default 3) */
  bootRetries?: number;
  /** hung-VM watchdog: no protocol output for this long while a sequence runs */
  stallMs?: number;
  /** where console logs go (default: a fresh temporary directory, removed by close() unless a crash was seen) */
  logDir?: string;
  log?: (msg: string) => void;
}

/** A kernel report seen on a guest's console. */
export interface KernelCrash extends ConsoleReport {
  release: string;
  /** index (in the batch given to run()) of the sequence that was running, when one was */
  batchIndex: number | null;
  sequence: Sequence | null;
  /** the full console log of that VM */
  consoleLog: string;
  at: string;
}

export interface QemuStats {
  accel: Accel | null;
  accelWhy: string;
  boots: number;
  bootMs: number[];
  failedBoots: number;
}

export function findQemu(): string | null {
  return findOnPath('qemu-system-x86_64');
}

interface BatchCtx {
  out: SeqObservation[];
  seqs: readonly (Sequence | null)[];
  /** console tag of the batch's first sequence: tags are serial numbers over the runner's life */
  base: number;
  /** the runner's epoch when the batch started: close() bumps it, and the batch must not boot again */
  epoch: number;
}

let accelLogged = false;

export class QemuRunner implements Runner {
  readonly name = 'qemu';
  private image: KernelImage | null = null;
  private qemu = '';
  private initrd = '';
  /** scratch images in NVMe namespace order (src/runner/fsdirs.ts ensureScratchImages) */
  private disks: string[] = [];
  private accel: Accel | null = null;
  private vm: QemuVm | null = null;
  private vmLog = '';
  private info: TargetInfo | null = null;
  private crashes: KernelCrash[] = [];
  private sawCrash = false;
  private logDirPath: string | null;
  private readonly ownLogDir: boolean;
  private ctx: BatchCtx | null = null;
  /** the last batch, kept for reports that finish printing after it returned */
  private lastCtx: BatchCtx | null = null;
  private serial = 0;
  /** bumped by close(): a batch still streaming then stops instead of booting a VM nobody will close */
  private epoch = 0;
  /** the last batch submitted: batches run in submission order, never interleaved */
  private queue: Promise<unknown> = Promise.resolve();
  /** reports seen while booting are boot failures (infrastructure), not kernel findings */
  private booting = false;
  /** reports of the current VM not yet matched with a failure (fatal ones decide a sequence's status) */
  private vmReports: ConsoleReport[] = [];
  readonly stats: QemuStats = { accel: null, accelWhy: '', boots: 0, bootMs: [], failedBoots: 0 };

  constructor(private readonly opts: QemuRunnerOptions = {}) {
    this.ownLogDir = !opts.logDir;
    this.logDirPath = opts.logDir ?? null;
  }

  /** created on first use, so that a runner that never starts leaves nothing behind */
  private get logDir(): string {
    this.logDirPath ??= mkdtempSync(join(tmpdir(), 'vmafuzz-qemu-'));
    mkdirSync(this.logDirPath, { recursive: true });
    return this.logDirPath;
  }

  get cmdline(): string {
    return [DEFAULT_CMDLINE, this.opts.append ?? ''].join(' ').trim();
  }

  async start(): Promise<TargetInfo> {
    if (this.info && this.vm?.alive) return this.info;
    if (!this.image) {
      const q = findQemu();
      if (!q) throw new CannotTestError('qemu-system-x86_64 not found: install the qemu-system-x86 package');
      this.qemu = q;
      this.image = this.opts.image ?? (await resolveKernel({ ...this.opts, log: this.opts.log ?? (() => {}) }));
      const harness = this.opts.harnessPath ?? (await ensureHarness());
      const log = this.opts.log ?? (() => {});
      let mods = null;
      try {
        mods = await ensureFsModules(this.image, log);
      } catch (e) {
        log(`qemu: no xfs/btrfs modules for ${this.image.release} (${(e as Error).message.split('\n')[0]}); only built-in filesystems are mounted`);
      }
      this.initrd = ensureInitramfs(
        harness,
        join(cacheRoot(), 'initramfs'),
        mods ? { kinds: Object.fromEntries(Object.entries(mods.manifest.kinds).map(([k, fs]) => [k, fs.map((f) => join(mods.dir, f))])) } : undefined,
      );
      const imgs = await ensureScratchImages(log);
      this.disks = FS_KINDS.flatMap((k) => (imgs[k] ? [imgs[k]] : []));
    }
    if (!this.accel) {
      const forced = this.opts.accel && this.opts.accel !== 'auto' ? this.opts.accel : null;
      const v = forced ? { accel: forced, why: 'requested' } : await chooseAccel(() => this.probeKvm());
      this.accel = v.accel;
      this.stats.accel = v.accel;
      this.stats.accelWhy = v.why;
      // once per process: the verdict is (chooseAccel), and triage or matrix boot many VMs
      if (!accelLogged) this.opts.log?.(`qemu: using ${v.accel} (${v.why})`);
      accelLogged = true;
    }
    const hello = await this.boot();
    this.info = targetInfo(this.name, hello);
    this.info.facts = { ...this.info.facts, accel: this.accel, kernel_package_version: this.image.version };
    return this.info;
  }

  /** What a guest of this runner boots with besides the kernel (after start()): the bench boots a twin. */
  get guestSetup(): { initrd: string; disks: readonly string[]; append: string } {
    return { initrd: this.initrd, disks: this.disks, append: `${this.cmdline} vmafuzz_disks=${this.disks.length}` };
  }

  private vmConfig(accel: Accel, consoleLog: string) {
    return {
      qemu: this.qemu,
      vmlinuz: this.image!.vmlinuz,
      initrd: this.initrd,
      // vmafuzz_disks (no dot: the kernel hands it to init as an environment variable): namespaces to wait for
      append: this.guestSetup.append,
      memory: this.opts.memory ?? '512M',
      cpus: this.opts.cpus ?? 1,
      accel,
      consoleLog,
      disks: this.disks,
      ...(this.opts.stallMs !== undefined ? { stallMs: this.opts.stallMs } : {}),
      onReport: (r: ConsoleReport) => this.onReport(r),
    };
  }

  private async probeKvm(): Promise<boolean> {
    const vm = new QemuVm({ ...this.vmConfig('kvm', join(this.logDir, 'kvm-probe.log')), onReport: () => {} });
    try {
      await vm.boot(15_000, () => {});
      return true;
    } catch {
      return false;
    } finally {
      await vm.kill();
    }
  }

  private async boot(): Promise<Hello> {
    const tries = this.opts.bootRetries ?? 3;
    const timeout = this.opts.bootTimeoutMs ?? (this.accel === 'kvm' ? 30_000 : 90_000);
    this.booting = true;
    try {
      return await this.bootAttempts(tries, timeout);
    } finally {
      this.booting = false;
    }
  }

  private async bootAttempts(tries: number, timeout: number): Promise<Hello> {
    let last = '';
    for (let attempt = 1; attempt <= tries; attempt++) {
      this.vmLog = join(this.logDir, `console-${this.stats.boots + this.stats.failedBoots + 1}.log`);
      const vm = new QemuVm(this.vmConfig(this.accel!, this.vmLog));
      this.vmReports = [];
      const t0 = Date.now();
      const epoch = this.epoch;
      try {
        const hello = await vm.boot(timeout, (e) => {
          // a stalled session means a hung guest: stop it now, run() sorts out the rest
          if (/stalled/.test(e.message)) void vm.kill();
        });
        if (epoch !== this.epoch) throw new Error('closed'); // close() came while this VM booted: stop it below
        this.vm = vm;
        this.stats.boots++;
        this.stats.bootMs.push(Date.now() - t0);
        return hello;
      } catch (e) {
        await vm.kill();
        if (epoch !== this.epoch) throw new CannotTestError('the runner was closed while a VM was booting');
        this.stats.failedBoots++;
        last = `${(e as Error).message}\n--- last console lines (${this.vmLog}) ---\n${vm.console.lastLines(25)}`;
        this.opts.log?.(`qemu: boot attempt ${attempt}/${tries} failed: ${(e as Error).message}`);
      }
    }
    throw new CannotTestError(`cannot boot ${this.image!.release} in QEMU (${this.accel}) after ${tries} attempts: ${last}`);
  }

  private onReport(r: ConsoleReport): void {
    this.vmReports.push(r);
    if (this.booting) return;
    if (/Attempted to kill init/.test(r.excerpt)) return; // the harness itself died: infrastructure
    this.sawCrash = true;
    const ctx = this.ctx ?? this.lastCtx;
    const idx = ctx && r.tag !== null && r.tag >= ctx.base && r.tag < ctx.base + ctx.out.length ? r.tag - ctx.base : null;
    this.crashes.push({
      ...r,
      release: this.info?.release ?? this.image?.release ?? 'unknown',
      batchIndex: idx,
      sequence: idx !== null && ctx ? (ctx.seqs[idx] ?? null) : null,
      consoleLog: this.vmLog,
      at: new Date().toISOString(),
    });
    // A report that leaves the VM running (WARNING, a KASAN report without panic) still makes the
    // sequence a crash finding, if its observation has not been handed out yet.
    const o = idx !== null && this.ctx ? this.ctx.out[idx] : undefined;
    if (o && !r.fatal) {
      o.status = 'crash';
      o.detail = `kernel ${r.kind}: ${r.title}`;
    }
  }

  /** Kernel reports seen since the last call, oldest first. */
  takeCrashes(): KernelCrash[] {
    const c = this.crashes;
    this.crashes = [];
    return c;
  }

  async run(batch: readonly Sequence[], opts: RunOptions): Promise<SeqObservation[]> {
    return this.runWire(batch.map(toWire), opts, batch);
  }

  /** Protocol-level access (tests use the harness's `sleep` op). Overlapping calls run one after the other. */
  runWire(wires: readonly WireSequence[], opts: WireOptions, seqs: readonly Sequence[] = []): Promise<SeqObservation[]> {
    const epoch = this.epoch; // a batch submitted before close() does not run after it
    const p = this.queue.then(() => this.runBatch(wires, opts, seqs, epoch));
    this.queue = p.catch(() => {});
    return p;
  }

  /** One batch at a time: crash attribution (ctx, console tags) and VM recovery assume it. */
  private async runBatch(wires: readonly WireSequence[], opts: WireOptions, seqs: readonly Sequence[], epoch: number): Promise<SeqObservation[]> {
    if (epoch === this.epoch && !this.vm?.alive) await this.start();
    const out: SeqObservation[] = new Array(wires.length);
    const ctx: BatchCtx = { out, seqs: wires.map((_, i) => seqs[i] ?? null), base: this.serial, epoch };
    this.serial += wires.length;
    this.ctx = this.lastCtx = ctx;
    const scale = this.accel === 'tcg' ? TCG_DEADLINE_SCALE : 1;
    const wopts: WireOptions = { ...opts, deadlineMs: (opts.deadlineMs ?? HARNESS_DEADLINE_MS) * scale };
    const retried = new Set<number>();
    let i = 0;
    try {
      while (i < wires.length) {
        if (ctx.epoch !== this.epoch) {
          for (let k = i; k < wires.length; k++) out[k] = { calls: [], snapshots: [], status: 'infra', detail: 'the runner was closed during the batch' };
          return out;
        }
        if (!this.vm?.alive) {
          try {
            await this.boot();
          } catch (e) {
            for (let k = i; k < wires.length; k++) out[k] = { calls: [], snapshots: [], status: 'infra', detail: (e as Error).message.split('\n')[0] };
            return out;
          }
        }
        i = await this.stream(this.vm!, wires, i, wopts, retried);
      }
      // a report still being printed when the last answer came belongs to this batch
      if (this.vm?.console.collecting) this.vm.console.finish();
      return out;
    } finally {
      this.ctx = null;
    }
  }

  /** Pipeline sequences from `from` into one VM; returns where to continue (after a VM loss). */
  private async stream(vm: QemuVm, wires: readonly WireSequence[], from: number, wopts: WireOptions, retried: Set<number>): Promise<number> {
    const session = vm.session!;
    const out = this.ctx!.out;
    const pending: { k: number; p: Promise<SeqObservation[]>; bytes: number }[] = [];
    let inflight = 0;
    let next = from;
    for (let k = from; k < wires.length; k++) {
      while (next < wires.length && (pending.length === 0 || inflight + wireBytes(wires[next]!) <= WINDOW_BYTES)) {
        const bytes = wireBytes(wires[next]!);
        const p = session.runWire([wires[next]!], wopts);
        p.catch(() => {});
        pending.push({ k: next++, p, bytes });
        inflight += bytes;
      }
      const head = pending.shift()!;
      const tag = this.ctx!.base + k;
      vm.console.tag = tag;
      try {
        const [obs] = await head.p;
        inflight -= head.bytes;
        out[k] = obs!;
        // a non-fatal report that came in while this sequence ran (see onReport)
        const r = this.vmReports.find((x) => x.tag === tag && !x.fatal && !/Attempted to kill init/.test(x.excerpt));
        if (r) {
          out[k]!.status = 'crash';
          out[k]!.detail = `kernel ${r.kind}: ${r.title}`;
        }
      } catch (e) {
        return this.lost(vm, k, tag, e as Error, retried);
      }
    }
    vm.console.tag = null;
    return wires.length;
  }

  /** The VM stopped answering while sequence k ran: decide what k's status is, return where to go on. */
  private async lost(vm: QemuVm, k: number, tag: number, err: Error, retried: Set<number>): Promise<number> {
    const out = this.ctx!.out;
    const hung = /stalled/.test(err.message);
    // a panicking guest exits by itself (panic=-1, -no-reboot); give it a moment to finish printing
    if (!hung) await Promise.race([vm.exited, new Promise((r) => setTimeout(r, 3000))]);
    await vm.kill();
    vm.console.finish();
    const fatal = this.vmReports.find((r) => r.fatal || (r.kind === 'lockup' && r.tag === tag));
    const initDied = this.vmReports.find((r) => /Attempted to kill init/.test(r.excerpt));
    if (this.vm === vm) this.vm = null;
    if (fatal && !initDied) {
      out[k] = { calls: [], snapshots: [], status: hung ? 'timeout' : 'crash', detail: `kernel ${fatal.kind}: ${fatal.title}; VM restarted` };
      return k + 1;
    }
    if (hung) {
      out[k] = { calls: [], snapshots: [], status: 'timeout', detail: `VM hung: ${err.message}; VM restarted` };
      return k + 1;
    }
    const why = initDied ? `the harness (init) died: ${initDied.title}` : err.message;
    if (this.ctx!.epoch !== this.epoch) return k; // closed under our feet: runBatch stops
    if (!retried.has(k)) {
      retried.add(k);
      this.opts.log?.(`qemu: VM lost during sequence ${k} (${why}); retrying it on a fresh VM`);
      return k;
    }
    out[k] = { calls: [], snapshots: [], status: 'infra', detail: `VM lost twice: ${why}` };
    return k + 1;
  }

  /** Test hook: magic SysRq on the guest (e.g. "c" to crash it), as if typed on its serial console. */
  triggerSysrq(key: string): void {
    this.vm?.sysrq(key);
  }

  /** The running QEMU process (tests stop it to simulate a hung guest). */
  get qemuPid(): number | undefined {
    return this.vm?.pid;
  }

  get consoleLog(): string {
    return this.vmLog;
  }

  async close(): Promise<void> {
    this.epoch++;
    const vm = this.vm;
    this.vm = null;
    this.info = null;
    if (vm) await vm.shutdown();
    if (this.ownLogDir && this.logDirPath && !this.sawCrash && !process.env.VMAFUZZ_KEEP_LOGS) {
      rmSync(this.logDirPath, { recursive: true, force: true });
      this.logDirPath = null;
    }
  }
}

function wireBytes(w: WireSequence): number {
  return 40 + w.lines.reduce((s, l) => s + l.length + 1, 0);
}

/** Entry point for src/runner/index.ts (--runner qemu). */
export async function createRunnerFromOptions(o: RunnerOptions): Promise<Runner> {
  return new QemuRunner({
    ...(o.kernel !== undefined ? { kernel: o.kernel } : {}),
    ...(o.kernelImage !== undefined ? { kernelImage: o.kernelImage } : {}),
    ...(o.memory !== undefined ? { memory: o.memory } : {}),
    ...(o.append !== undefined ? { append: o.append } : {}),
    ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
    log: (m) => process.stderr.write(`vmafuzz: ${m}\n`),
  });
}
