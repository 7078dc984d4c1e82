// Measuring on a shared machine: wall time and CPU time of a command (its whole process tree,
// through /usr/bin/time where it exists), figures over rounds as median with spread, and when to
// warn that the machine is too noisy to trust them.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Timed {
  /** seconds */
  wall: number;
  /** user + system seconds of the command and every child it waited for; NaN without /usr/bin/time */
  cpu: number;
  stdout: string;
  stderr: string;
  status: number | null;
}

const TIME = '/usr/bin/time';

/** `cmd args` pinned to CPU 0 when taskset works, input from `stdinFile`, timed. */
export function timed(cmd: string, args: string[], opts: { stdinFile?: string; env?: NodeJS.ProcessEnv; pin?: boolean } = {}): Timed {
  const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-bench-time-'));
  try {
    const pin = opts.pin !== false && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
    let argv = pin ? ['taskset', '-c', '0', cmd, ...args] : [cmd, ...args];
    const withTime = existsSync(TIME);
    if (withTime) argv = [TIME, '-f', '%e %U %S', '-o', join(dir, 't'), ...argv];
    const stdin = opts.stdinFile ? readFileSync(opts.stdinFile) : undefined;
    const t0 = performance.now();
    const r = spawnSync(argv[0]!, argv.slice(1), { input: stdin, encoding: 'utf8', maxBuffer: 256 << 20, env: opts.env ?? process.env });
    let wall = (performance.now() - t0) / 1000;
    let cpu = NaN;
    if (withTime && existsSync(join(dir, 't'))) {
      const f = readFileSync(join(dir, 't'), 'utf8').trim().split('\n').at(-1)!.split(/\s+/).map(Number);
      if (f.length === 3 && f.every(Number.isFinite)) [wall, cpu] = [f[0]!, f[1]! + f[2]!];
    }
    return { wall, cpu, stdout: r.stdout, stderr: r.stderr, status: r.status };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** "x (spread -a%..+b%)": the median and how far the rounds' extremes lie from it. */
export function withSpread(xs: number[], digits = 0, unit = ''): string {
  const m = median(xs);
  if (xs.length < 2 || !Number.isFinite(m)) return `${m.toFixed(digits)}${unit}`;
  const lo = (100 * (Math.min(...xs) - m)) / m, hi = (100 * (Math.max(...xs) - m)) / m;
  return `${m.toFixed(digits)}${unit} (spread ${lo.toFixed(0)}%..+${hi.toFixed(0)}%)`;
}

/** Relative spread of a figure over rounds: (max - min) / median. */
export const relSpread = (xs: number[]): number => (Math.max(...xs) - Math.min(...xs)) / median(xs);

/** A ratio measured within each round (a/b), reported as median with spread. */
export function ratios(a: number[], b: number[]): number[] {
  return a.map((x, i) => x / b[i]!);
}

/**
 * Noise: the load average (other processes competing for the CPUs) and, per figure, its spread over
 * rounds. Collects the reasons; the bench prints them as one warning at the end.
 */
export class Noise {
  readonly reasons: string[] = [];
  readonly loadAtStart = loadavg()[0]!;

  /** a figure whose rounds differ by more than `limit` (relative) */
  check(name: string, xs: number[], limit = 0.15): void {
    if (xs.length >= 2 && relSpread(xs) > limit) this.reasons.push(`${name} varied by ${(100 * relSpread(xs)).toFixed(0)}% over rounds`);
  }

  finish(): string | null {
    const cpus = availableParallelism();
    const load = Math.max(this.loadAtStart, loadavg()[0]!);
    // the bench itself keeps about one CPU busy; more than that is someone else
    if (load > 1 + 0.25 * cpus) this.reasons.unshift(`load average ${load.toFixed(1)} on ${cpus} CPUs (others are using the machine)`);
    return this.reasons.length ? `WARNING: this machine is too noisy to trust these figures: ${this.reasons.join('; ')}. CPU-time figures (per CPU-second) suffer least; compare ratios measured within one round.` : null;
  }
}
