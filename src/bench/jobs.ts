// `npm run bench` section: campaign throughput with --jobs 2 against --jobs 1 (the goal
// is >= 1.7x on 2 cores). Every run is the same campaign through the CLI, with the default options
// (as `vmafuzz fuzz --time ...` runs it) but --no-minimize (minimizing a finding holds a lane for up
// to 30 s, and --jobs 1 has only one), so the figures include the worker threads, guidance
// bookkeeping, the ledger and the findings store. In the first two guidance epochs (65536 cases)
// every case is freshly generated, so the mix of sequences is the same throughout the runs.
//
// What is compared is the steady rate a nightly campaign runs at: the mean of the campaign's own
// windowed rate (stats.ndjson `sequencesPerSec`, the last 5 s of judged sequences) from WARMUP
// seconds on, until the time budget ends. The first seconds are left out because every lane's
// JavaScript is still being compiled (each worker thread is its own V8 isolate and warms up on its
// own: about a second of its CPU time, the same for every lane). The whole-run rate, warm-up and
// drain included, is printed next to it. Runs alternate, ROUNDS times; figures are medians, because
// this machine's speed drifts by several percent within a minute.
//
// By default each lane is bound to a CPU of its own (src/campaign/affinity.ts), so --jobs 1 uses
// one core and --jobs 2 two. The unbound (--no-pin) runs are shown too: an unbound --jobs 1 may run
// its harness on the second core while its JavaScript judges the previous batch.

import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, generate } from '../gen/generate.js';
import { ensureHarness, projectRoot } from '../runner/harness-build.js';
import { harnessInput } from './input.js';
import { statsLineSchema } from '../campaign/config.js';
import type { BenchSection } from './main.js';
import { type Noise, withSpread } from './measure.js';

const SEED = 20261123;
const ROUNDS = Number(process.env.VMAFUZZ_BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.VMAFUZZ_BENCH_JOBS_SECONDS ?? 20);
const WARMUP = 6;

interface Run {
  /** mean windowed rate after the warm-up */
  steady: number;
  /** sequences / seconds of the whole session */
  whole: number;
  cpus: Array<number | null>;
}

function campaign(jobs: number, pin: boolean, seconds = SECONDS): Run {
  const out = mkdtempSync(join(tmpdir(), 'vmafuzz-bench-jobs-'));
  try {
    const dir = join(out, 'c');
    const args = [join(projectRoot(), 'dist/cli/main.js'), 'fuzz', '--time', `${seconds}s`, '--seed', String(SEED), '--jobs', String(jobs), '--stats-every', '1s', '--out', dir, '--json', '--progress', 'off', '--no-minimize', ...(pin ? [] : ['--no-pin'])];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0 && r.status !== 1) throw new Error(`fuzz --jobs ${jobs} failed (${r.status}): ${r.stderr}`);
    const j = JSON.parse(r.stdout) as { sequencesPerSecond: number; cpus: Array<number | null> };
    const lines = readFileSync(join(dir, 'stats.ndjson'), 'utf8').split('\n').filter(Boolean).map((l) => statsLineSchema.parse(JSON.parse(l)));
    const steady = lines.filter((l) => !l.final && l.elapsed >= WARMUP + 5 && l.elapsed <= seconds).map((l) => l.sequencesPerSec);
    if (!steady.length && seconds > WARMUP + 5) throw new Error(`fuzz --jobs ${jobs}: no stats line after the warm-up`);
    return { steady: steady.length ? steady.reduce((a, b) => a + b, 0) / steady.length : NaN, whole: j.sequencesPerSecond, cpus: j.cpus };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * The machine's own scaling for the harness alone: sequences/s of two C-only harnesses on CPUs 0
 * and 1 at once against one on CPU 0 (no JavaScript at all). The kernel work of two processes
 * that fork, fault and read /proc in parallel does not scale perfectly; this bounds the campaign.
 */
async function cOnlyPair(n: number): Promise<number> {
  const harness = await ensureHarness();
  const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-bench-pair-'));
  try {
    const file = join(dir, 'in');
    writeFileSync(file, harnessInput(Array.from({ length: n }, (_, i) => generate(SEED, i, DEFAULT_CONFIG))));
    const run = (cpu: number) =>
      new Promise<void>((resolve, reject) => {
        const fd = openSync(file, 'r');
        const p = spawn('taskset', ['-c', String(cpu), harness, '--serve'], { stdio: [fd, 'ignore', 'inherit'] });
        p.on('error', reject);
        p.on('exit', (c) => {
          closeSync(fd);
          if (c === 0) resolve();
          else reject(new Error(`harness exited ${c}`));
        });
      });
    const time = async (cpus: number[]) => {
      const t0 = performance.now();
      await Promise.all(cpus.map(run));
      return performance.now() - t0;
    };
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const one = n / (await time([0]));
      const two = (2 * n) / (await time([0, 1]));
      ratios.push(two / one);
    }
    return median(ratios);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface JobsBench {
  jobs1: Run;
  jobs2: Run;
  jobs1Unbound: Run;
  jobs2Unbound: Run;
  /** --jobs 2 / --jobs 1 (bound, steady) within each round */
  ratios: number[];
}

/** Median rates of --jobs 1 and --jobs 2, bound and unbound, over alternating runs. */
export async function benchJobs(): Promise<JobsBench> {
  campaign(1, true, 3); // warm up the harness binary and the page cache (no steady rate)
  const runs: Record<Exclude<keyof JobsBench, 'ratios'>, Run[]> = { jobs1: [], jobs2: [], jobs1Unbound: [], jobs2Unbound: [] };
  for (let r = 0; r < ROUNDS; r++) {
    runs.jobs1.push(campaign(1, true));
    runs.jobs2.push(campaign(2, true));
    runs.jobs1Unbound.push(campaign(1, false));
    runs.jobs2Unbound.push(campaign(2, false));
  }
  const med = (rs: Run[]): Run => ({ steady: median(rs.map((x) => x.steady)), whole: median(rs.map((x) => x.whole)), cpus: rs.at(-1)!.cpus });
  const ratios = runs.jobs2.map((x, i) => x.steady / runs.jobs1[i]!.steady);
  return { jobs1: med(runs.jobs1), jobs2: med(runs.jobs2), jobs1Unbound: med(runs.jobs1Unbound), jobs2Unbound: med(runs.jobs2Unbound), ratios };
}

export function section(): BenchSection {
  return {
    title: `campaign --jobs scaling (${availableParallelism()} cores; ${SECONDS} s campaigns, steady rate from ${WARMUP} s on; median of ${ROUNDS} alternating runs)`,
    async run(noise?: Noise) {
      const r = await benchJobs();
      noise?.check('--jobs 2 / --jobs 1', r.ratios);
      const cpus = (c: Array<number | null>) => (c.every((x) => x === null) ? 'unbound' : `CPU ${c.map((x) => x ?? '-').join(',')}`);
      const fig = (x: Run) => `${x.steady.toFixed(0)} sequences/s steady, ${x.whole.toFixed(0)} whole run  (${cpus(x.cpus)})`;
      const rows: Array<[string, string]> = [
        ['--jobs 1', fig(r.jobs1)],
        ['--jobs 2', fig(r.jobs2)],
        ['ratio --jobs 2 / --jobs 1', `${withSpread(r.ratios, 2, 'x')} steady, within each round (goal >= 1.7x on 2 cores); ${(r.jobs2.whole / r.jobs1.whole).toFixed(2)}x whole run`],
        ['--jobs 1 --no-pin', fig(r.jobs1Unbound)],
        ['--jobs 2 --no-pin', fig(r.jobs2Unbound)],
        ['bound / unbound, --jobs 2', `${(r.jobs2.steady / r.jobs2Unbound.steady).toFixed(2)}x steady`],
      ];
      if (availableParallelism() >= 2 && r.jobs2.cpus.every((c) => c !== null)) rows.push(['C-only harness, 2 CPUs / 1 CPU', `${(await cOnlyPair(4096)).toFixed(2)}x  (the kernel side's own scaling on this machine)`]);
      return rows;
    },
  };
}
