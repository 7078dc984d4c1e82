// One QEMU guest: the kernel, the harness initramfs as its whole userspace, the console (ttyS0) on
// QEMU's stdout, and the protocol on two candidate channels at once: a virtio console (fast; the
// harness prefers /dev/hvc0) and a second UART (/dev/ttyS1, for kernels whose virtio drivers are
// modules, such as Debian's 6.1 cloud kernel). Whichever channel speaks first is the session.

import { findOnPath } from '../../util/ensure.js';
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { HarnessSession } from '../native.js';
import type { Hello } from '../protocol.js';
import { ConsoleWatcher, type ConsoleReport } from './console.js';

export type Accel = 'kvm' | 'tcg';

export interface VmConfig {
  qemu: string;
  vmlinuz: string;
  initrd: string;
  /** the whole kernel command line */
  append: string;
  memory: string;
  cpus: number;
  accel: Accel;
  /** full console output goes here */
  consoleLog: string;
  /** session stall limit (the hung-VM watchdog) */
  stallMs?: number;
  /** scratch images (ext4, xfs, btrfs; src/runner/fsdirs.ts ensureScratchImages), namespaces of one NVMe disk */
  disks?: readonly string[];
  onReport: (r: ConsoleReport) => void;
}

export interface VmExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export function qemuArgs(c: VmConfig, serialSock: string, virtioSock: string): string[] {
  return [
    '-name', 'vmafuzz',
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    ...(c.accel === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', 'tcg', '-cpu', 'max']),
    '-m', c.memory, '-smp', String(c.cpus),
    '-kernel', c.vmlinuz, '-initrd', c.initrd, '-append', c.append,
    // ttyS0: the console; mux=on gives the "C-a b" escape that sends a serial break (magic SysRq)
    '-chardev', 'stdio,id=con,mux=on,signal=off', '-serial', 'chardev:con',
    // ttyS1 and hvc0: protocol channels; QEMU connects to our listening sockets before the guest runs
    '-chardev', `socket,id=ser1,path=${serialSock}`, '-serial', 'chardev:ser1',
    '-device', 'virtio-serial-pci', '-chardev', `socket,id=vcon,path=${virtioSock}`, '-device', 'virtconsole,chardev=vcon',
    // the scratch disks the guest harness mounts (harness-c/guestfs.c), each with a throw-away overlay
    ...nvmeArgs(c.disks ?? []),
  ];
}

/** One NVMe controller (built into the Debian kernels, unlike virtio-blk) with a namespace per image. */
function nvmeArgs(disks: readonly string[]): string[] {
  if (disks.length === 0) return [];
  return [
    '-device', 'nvme,id=nvme0,serial=vmafuzz',
    ...disks.flatMap((d, i) => ['-drive', `file=${d},if=none,id=disk${i},format=raw,snapshot=on`, '-device', `nvme-ns,drive=disk${i},bus=nvme0,nsid=${i + 1}`]),
  ];
}

export { findOnPath };

let setpriv: string | null | undefined;

/**
 * Spawn QEMU so that it dies with the thread that started it (util-linux `setpriv --pdeathsig`,
 * which then execs QEMU under the same pid): a vmafuzz killed without closing its runners must not
 * leave guests spinning on the CPUs. Without setpriv QEMU is spawned directly.
 */
export function spawnTied(cmd: string, args: readonly string[], opts: SpawnOptions): ChildProcess {
  setpriv ??= findOnPath('setpriv');
  return setpriv ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', cmd, ...args], opts) : spawn(cmd, [...args], opts);
}

export class QemuVm {
  readonly console: ConsoleWatcher;
  session: HarnessSession | null = null;
  readonly exited: Promise<VmExit>;
  private proc: ChildProcess | null = null;
  private readonly dir: string;
  private readonly servers: Server[] = [];
  private readonly sockets: Socket[] = [];
  private log: WriteStream;
  private exitInfo: VmExit | null = null;
  private resolveExit!: (e: VmExit) => void;
  private sessionFailed: ((e: Error) => void) | null = null;
  readonly startedAt = Date.now();

  constructor(private readonly cfg: VmConfig) {
    this.console = new ConsoleWatcher(cfg.onReport);
    this.dir = mkdtempSync(join(tmpdir(), 'vmafuzz-vm-'));
    this.log = createWriteStream(cfg.consoleLog, { flags: 'a' });
    this.exited = new Promise((res) => (this.resolveExit = res));
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get alive(): boolean {
    return this.exitInfo === null && (this.session?.alive ?? true);
  }

  /** Start QEMU and wait for the harness's hello (rejects on timeout, early exit or a dead channel). */
  async boot(timeoutMs: number, onSessionFail: (e: Error) => void): Promise<Hello> {
    this.sessionFailed = onSessionFail;
    const serialSock = join(this.dir, 'ttyS1.sock');
    const virtioSock = join(this.dir, 'hvc0.sock');
    let chosen: ((s: Socket, first: Buffer) => void) | null = null;
    const helloSeen = new Promise<Hello>((resolve, reject) => {
      chosen = (sock, first) => {
        const out = new PassThrough();
        const session = new HarnessSession(sock, out, {
          name: `qemu guest (${this.cfg.accel})`,
          failOnEnd: true,
          ...(this.cfg.stallMs !== undefined ? { stallMs: this.cfg.stallMs } : {}),
          onFail: (e) => this.sessionFailed?.(e),
        });
        this.session = session;
        out.write(first);
        sock.pipe(out);
        session.hello.then(resolve, reject);
      };
    });
    await Promise.all(
      [serialSock, virtioSock].map(
        (path) =>
          new Promise<void>((res, rej) => {
            const srv = createServer((sock) => {
              this.sockets.push(sock);
              sock.on('error', () => {}); // reported through the session or the exit
              sock.once('data', (b: Buffer) => {
                if (this.session || !chosen) return; // the other channel already won
                chosen(sock, b);
              });
            });
            srv.once('error', rej);
            srv.listen(path, () => res());
            this.servers.push(srv);
          }),
      ),
    );
    const proc = spawnTied(this.cfg.qemu, qemuArgs(this.cfg, serialSock, virtioSock), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    let stderr = '';
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (s: string) => (stderr = (stderr + s).slice(-2000)));
    proc.stdout!.setEncoding('utf8');
    proc.stdout!.on('data', (s: string) => {
      this.log.write(s);
      this.console.push(s);
    });
    proc.stdin!.on('error', () => {});
    const spawned = new Promise<never>((_, rej) => {
      proc.once('error', (e) => rej(new Error(`cannot run ${this.cfg.qemu}: ${e.message}`)));
      proc.once('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        // stdout may still hold the end of a panic; let it drain before reporting the exit
        const done = () => {
          this.console.finish();
          this.resolveExit(this.exitInfo!);
          this.session?.fail(new Error(`QEMU exited (${signal ?? `status ${code}`})`));
        };
        if (proc.stdout!.readableEnded) done();
        else {
          proc.stdout!.once('end', done);
          setTimeout(done, 500).unref();
        }
        const why = stderr.trim() ? `: ${stderr.trim()}` : '';
        rej(new Error(`QEMU exited during boot (${signal ?? `status ${code}`})${why}`));
      });
    });
    spawned.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`no hello from the harness within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([helloSeen, spawned, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Magic SysRq through a serial break on the console (needs sysrq_always_enabled): a test hook. */
  sysrq(key: string): void {
    this.proc?.stdin?.write('\x01b');
    setTimeout(() => this.proc?.stdin?.write(key), 100);
  }

  /** Stop the VM hard and release everything; resolves when QEMU is gone. */
  async kill(): Promise<VmExit> {
    const proc = this.proc;
    if (proc && this.exitInfo === null) proc.kill('SIGKILL');
    const e = proc ? await this.exited : { code: null, signal: null };
    this.cleanup();
    return e;
  }

  /** Ask the harness to power the guest off; kill it if that takes too long. */
  async shutdown(graceMs = 3000): Promise<void> {
    this.session?.close();
    if (this.proc && this.exitInfo === null) {
      const t = setTimeout(() => this.proc?.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(t);
    }
    this.cleanup();
  }

  private cleanup(): void {
    for (const s of this.sockets) s.destroy();
    for (const s of this.servers) s.close();
    this.log.end();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
