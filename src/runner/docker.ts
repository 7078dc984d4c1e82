// Sequences in a Docker container: the host's kernel, behind the container's namespaces, cgroup
// limits and seccomp profile. The image is docker/Dockerfile.harness (FROM scratch + the static
// harness, so no registry is involved), tagged by the harness's hash and built on first use. One
// long-lived `docker run -i` per runner speaks the protocol on stdin/stdout.
//
// The container gets what the harness has on the host where it matters to mm (containerArgs):
// an exec-able tmpfs at /dev/shm (the engine mounts its own noexec, and a noexec file backing
// store changes mmap(PROT_EXEC) and VM_MAYEXEC), CAP_IPC_LOCK and CAP_SYS_PTRACE (mlock limits,
// kernel-mode userfaultfd and UFFD_FEATURE_EVENT_FORK), this process's memlock, stack and data
// limits (as the native harness inherits them), and docker/seccomp.json, which lets
// every call of the sequence language through while still refusing what leaves the container.
//
// A seccomp profile that denies a syscall makes it fail with EPERM or ENOSYS before the mm code
// sees it: a property of the target, not a divergence. When a call fails that way, the sequence is
// re-run in a container without seccomp; if the call then behaves differently, the observation is
// cut before that call, marked "infra" with a "seccomp:" detail, and listed by takeSeccompBlocks().

import { resolveFsDirs, type FsDirs } from './fsdirs.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { threadId } from 'node:worker_threads';
import { join } from 'node:path';
import { execa } from 'execa';
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';
import { CannotTestError } from '../util/errors.js';
import { ensureHarness, projectRoot } from './harness-build.js';
import type { RunnerOptions } from './index.js';
import { HarnessSession, HELLO_MS, targetInfo } from './native.js';
import { toWire, type WireOptions, type WireSequence } from './protocol.js';
import type { Runner, RunOptions, TargetInfo } from './types.js';

const EPERM = 1;
const ENOSYS = 38;

export interface DockerRunnerOptions {
  /** the docker CLI (default "docker" from PATH) */
  docker?: string;
  /** DOCKER_HOST for the CLI (default: the environment's) */
  host?: string;
  harnessPath?: string;
  /** "vmafuzz" (docker/seccomp.json, the default), "default" (the engine's own profile),
   *  "unconfined", or a profile JSON file */
  seccomp?: string;
  /** capabilities added to the engine's default set (default CONTAINER_CAPS) */
  capAdd?: readonly string[];
  /** more `docker run` arguments (e.g. ["--memory", "256m"]) */
  runArgs?: string[];
  stallMs?: number;
}

export interface SeccompBlock {
  /** index in the batch given to run() */
  batchIndex: number;
  call: number;
  op: string;
  errno: number;
  /** what the same call did without a seccomp profile */
  unconfined: string;
}

/** The profile file that `--security-opt seccomp=` gets for a seccomp option ("" = the engine's). */
export function seccompProfilePath(seccomp: string): string {
  if (seccomp === 'vmafuzz') return join(projectRoot(), 'docker', 'seccomp.json');
  if (seccomp === 'default') return '';
  return seccomp;
}

// The resource limits that mm consults (mlock, stack growth and mmap_base, may_expand_vm), by
// their /proc/<pid>/limits name. A container inherits dockerd's; the native harness this process's.
// (RLIMIT_AS has no `--ulimit` name: the container keeps dockerd's.)
const MM_LIMITS: Record<string, string> = {
  'Max locked memory': 'memlock',
  'Max stack size': 'stack',
  'Max data size': 'data',
};

/** `--ulimit` arguments that give the container this process's mm-relevant limits. */
export function ulimitArgs(procLimits: string): string[] {
  const out: string[] = [];
  for (const line of procLimits.split('\n')) {
    const name = Object.keys(MM_LIMITS).find((k) => line.startsWith(k));
    if (!name) continue;
    const [soft, hard] = line.slice(name.length).trim().split(/\s+/).map((v) => (v === 'unlimited' ? '-1' : v));
    if (soft && hard && /^-?\d+$/.test(soft) && /^-?\d+$/.test(hard)) out.push('--ulimit', `${MM_LIMITS[name]}=${soft}:${hard}`);
  }
  return out;
}

// mm/mlock.c:can_do_mlock (CAP_IPC_LOCK lifts RLIMIT_MEMLOCK); fs/userfaultfd.c: EVENT_FORK and,
// with vm.unprivileged_userfaultfd=0, kernel-mode faults need CAP_SYS_PTRACE
export const CONTAINER_CAPS = ['IPC_LOCK', 'SYS_PTRACE'] as const;

/** `docker run` arguments that give the harness the host's conditions (see the header). */
export function containerArgs(seccomp: string, capAdd: readonly string[] = CONTAINER_CAPS): string[] {
  const profile = seccompProfilePath(seccomp);
  return [
    ...ulimitArgs(readFileSync('/proc/self/limits', 'utf8')),
    // the engine's /dev/shm is noexec: do_mmap() then refuses PROT_EXEC on its files (EPERM) and
    // clears VM_MAYEXEC; the host's /dev/shm is exec-able, and `file tmpfs` lives there
    '--tmpfs', '/dev/shm:rw,exec,mode=1777',
    ...capAdd.flatMap((c) => ['--cap-add', c]),
    ...(profile ? ['--security-opt', `seccomp=${profile}`] : []),
  ];
}

class Container {
  readonly session: HarnessSession;
  readonly exited: Promise<void>;
  stderr = '';

  constructor(
    readonly proc: ChildProcess,
    readonly name: string,
    stallMs: number | undefined,
    /** this container's subdirectories of the shared filesystem directories, removed when it ends */
    dirs: readonly string[] = [],
  ) {
    proc.stderr!.setEncoding('utf8');
    proc.stderr!.on('data', (s: string) => (this.stderr = (this.stderr + s).slice(-4000)));
    this.session = new HarnessSession(proc.stdin!, proc.stdout!, {
      name: `docker container ${name}`,
      failOnEnd: false,
      helloMs: 2 * HELLO_MS, // the engine starts the container first
      ...(stallMs !== undefined ? { stallMs } : {}),
      onFail: () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      },
    });
    this.exited = new Promise((res) =>
      proc.once('exit', (code, signal) => {
        const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        setImmediate(() => this.session.fail(new Error(`docker run ${how}${this.stderr.trim() ? `: ${this.stderr.trim()}` : ''}`)));
        for (const d of dirs) rmSync(d, { recursive: true, force: true });
        res();
      }),
    );
  }
}

let serial = 0;

export class DockerRunner implements Runner {
  readonly name = 'docker';
  private main: Container | null = null;
  private reference: Container | null = null;
  private image = '';
  private info: TargetInfo | null = null;
  private blocks: SeccompBlock[] = [];

  constructor(private readonly opts: DockerRunnerOptions = {}) {}
  private fsDirs: FsDirs | undefined;

  private get seccomp(): string {
    return this.opts.seccomp ?? 'vmafuzz';
  }

  private get docker(): string {
    return this.opts.docker ?? 'docker';
  }

  private async cli(args: string[], input?: string) {
    const env = this.opts.host ? { DOCKER_HOST: this.opts.host } : {};
    return execa(this.docker, args, { env, reject: false, all: true, ...(input !== undefined ? { input } : {}) });
  }

  /** The engine answers, or a CannotTestError that says what is missing. */
  async engineVersion(): Promise<string> {
    const r = await this.cli(['version', '--format', '{{.Server.Version}}']);
    if ((r as { code?: string }).code === 'ENOENT' || /ENOENT/.test(r.message ?? '')) {
      throw new CannotTestError(`the docker CLI (${this.docker}) is not installed: install docker.io (or docker-ce)`);
    }
    if (r.exitCode !== 0 || !r.stdout.trim()) {
      const why = (r.all ?? '').trim().split('\n').slice(-2).join(' ');
      throw new CannotTestError(`no Docker engine is running (${this.docker} version: ${why || `exit ${r.exitCode}`}); start dockerd, or use --runner native`);
    }
    return r.stdout.trim();
  }

  /** Build the FROM-scratch image for this harness unless it exists. */
  async ensureImage(harness: string): Promise<string> {
    const hash = createHash('sha256').update(readFileSync(harness)).digest('hex').slice(0, 12);
    const tag = `vmafuzz-harness:${hash}`;
    if ((await this.cli(['image', 'inspect', '--format', '{{.Id}}', tag])).exitCode === 0) return tag;
    const ctx = mkdtempSync(join(tmpdir(), 'vmafuzz-docker-'));
    try {
      copyFileSync(harness, join(ctx, 'harness'));
      copyFileSync(join(projectRoot(), 'docker', 'Dockerfile.harness'), join(ctx, 'Dockerfile'));
      let r = await this.cli(['build', '-q', '-t', tag, ctx]);
      if (r.exitCode !== 0 && /buildx|BuildKit/i.test(r.all ?? '')) {
        // an engine without the buildx plugin: the classic builder handles FROM scratch fine
        r = await execa(this.docker, ['build', '-q', '-t', tag, ctx], {
          env: { DOCKER_BUILDKIT: '0', ...(this.opts.host ? { DOCKER_HOST: this.opts.host } : {}) },
          reject: false,
          all: true,
        });
      }
      if (r.exitCode !== 0) throw new CannotTestError(`docker build of the harness image failed:\n${r.all}`);
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
    return tag;
  }

  private async launch(seccomp: string): Promise<Container> {
    // lanes are worker threads of one process: the thread id keeps their names apart
    const name = `vmafuzz-${process.pid}-${threadId}-${serial++}`;
    // --init: docker's tini is PID 1, so the harness does not take itself for a VM's init
    // disk-filesystem directories (the native runner's loop mounts, src/runner/fsdirs.ts), bind-mounted
    // at /vmafuzz-fs/<kind> and named to the harness (entrypoint `harness --serve`) as --fs-dir
    this.fsDirs ??= await resolveFsDirs({}, (l) => process.stderr.write(`vmafuzz: ${l}\n`));
    // Each container gets a subdirectory of its own: the harness in it cannot see the pids of the
    // harnesses around it (PID namespace), so it must not see their private directories either
    // (harness-c/privdir.c locks them; a harness of an older build would remove them).
    const kinds = Object.entries(this.fsDirs)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .map(([k, d]) => [k, mkdtempSync(join(d, `docker-${name}-`))] as const);
    const mounts = kinds.flatMap(([k, d]) => ['-v', `${d}:/vmafuzz-fs/${k}`]);
    const fsArgs = kinds.flatMap(([k]) => ['--fs-dir', `${k}=/vmafuzz-fs/${k}`]);
    const args = ['run', '-i', '--rm', '--init', '--name', name, '--network', 'none', ...mounts, ...containerArgs(seccomp, this.opts.capAdd), ...(this.opts.runArgs ?? []), this.image, ...fsArgs];
    const proc = spawn(this.docker, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...(this.opts.host ? { DOCKER_HOST: this.opts.host } : {}) } });
    const c = new Container(proc, name, this.opts.stallMs, kinds.map(([, d]) => d));
    const spawnError = new Promise<never>((_, rej) => proc.once('error', (e) => rej(e)));
    spawnError.catch(() => {});
    try {
      await Promise.race([c.session.hello, spawnError]);
    } catch (e) {
      await c.exited.catch(() => {});
      throw new CannotTestError(`the harness container did not start: ${(e as Error).message}${c.stderr ? `\n${c.stderr.trim()}` : ''}`);
    }
    return c;
  }

  async start(): Promise<TargetInfo> {
    if (this.info && this.main?.session.alive) return this.info;
    const engine = await this.engineVersion();
    const harness = this.opts.harnessPath ?? (await ensureHarness());
    this.image = await this.ensureImage(harness);
    this.main = await this.launch(this.seccomp);
    const hello = await this.main.session.hello;
    this.info = targetInfo(this.name, hello);
    this.info.facts = { ...this.info.facts, engine, image: this.image, seccomp: this.seccomp };
    return this.info;
  }

  async run(batch: readonly Sequence[], opts: RunOptions): Promise<SeqObservation[]> {
    return this.runWire(batch.map(toWire), opts);
  }

  async runWire(wires: readonly WireSequence[], opts: WireOptions): Promise<SeqObservation[]> {
    if (!this.main?.session.alive) await this.start();
    const out = await this.main!.session.runWire(wires, opts);
    if (this.seccomp === 'unconfined') return out;
    const suspects = out.map((o, i) => (o.calls.some((c) => c.errno === EPERM || c.errno === ENOSYS) ? i : -1)).filter((i) => i >= 0);
    if (suspects.length) await this.confirmSeccomp(wires, out, suspects, opts);
    return out;
  }

  /** Re-run EPERM/ENOSYS sequences without seccomp; a call that then behaves otherwise was blocked. */
  private async confirmSeccomp(wires: readonly WireSequence[], out: SeqObservation[], suspects: number[], opts: WireOptions): Promise<void> {
    if (!this.reference?.session.alive) this.reference = await this.launch('unconfined');
    const ref = await this.reference.session.runWire(
      suspects.map((i) => wires[i]!),
      opts,
    );
    suspects.forEach((i, j) => {
      const o = out[i]!;
      const r = ref[j]!;
      const call = o.calls.findIndex((c, n) => (c.errno === EPERM || c.errno === ENOSYS) && r.calls[n] !== undefined && r.calls[n]!.errno !== c.errno);
      if (call < 0) return;
      const op = wires[i]!.lines[call]!.split(' ')[0]!;
      const u = r.calls[call]!;
      const unconfined = u.errno ? `errno ${u.errno}` : 'success';
      const errno = o.calls[call]!.errno;
      this.blocks.push({ batchIndex: i, call, op, errno, unconfined });
      o.calls = o.calls.slice(0, call);
      o.snapshots = o.snapshots.filter((s) => s.after < call);
      if (o.rawMaps) o.rawMaps = o.rawMaps.slice(0, o.snapshots.length);
      o.status = 'infra';
      o.detail =
        `seccomp: call ${call} (${op}) failed with ${errno === EPERM ? 'EPERM' : 'ENOSYS'} ` +
        `under the container's seccomp profile (${this.seccomp}) but gave ${unconfined} without it; ` +
        'a property of the target, not a divergence';
    });
  }

  /** Calls that the container's seccomp profile blocked, since the last call. */
  takeSeccompBlocks(): SeccompBlock[] {
    const b = this.blocks;
    this.blocks = [];
    return b;
  }

  async close(): Promise<void> {
    const cs = [this.main, this.reference].filter((c): c is Container => c !== null);
    this.main = this.reference = null;
    this.info = null;
    await Promise.all(
      cs.map(async (c) => {
        c.session.close();
        const t = setTimeout(() => void this.cli(['rm', '-f', c.name]), 5000);
        await c.exited;
        clearTimeout(t);
      }),
    );
  }
}

/** Entry point for src/runner/index.ts (--runner docker). */
export async function createRunnerFromOptions(o: RunnerOptions): Promise<Runner> {
  return new DockerRunner(o.seccomp !== undefined ? { seccomp: o.seccomp } : {}); // checked by the CLI
}
