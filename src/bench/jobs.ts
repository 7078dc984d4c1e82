// `npm run bench` section: campaign throughput with --jobs 2 against --jobs 1 (the goal
// is >= 1.7x on 2 cores). Both runs are the same campaign (seed, count, layout) through the CLI,
// so the figure includes the worker threads, the ledger and the findings store; start-up (harness
// build, thread spawn) is outside the measured interval.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../runner/harness-build.js';
import type { BenchSection } from './main.js';

const SEED = 20261123;

function campaign(jobs: number, count: number): number {
  const out = mkdtempSync(join(tmpdir(), 'vmafuzz-bench-jobs-'));
  try {
    const args = [join(projectRoot(), 'dist/cli/main.js'), 'fuzz', '--count', String(count), '--seed', String(SEED), '--jobs', String(jobs), '--chunk', '1024', '--out', join(out, 'c'), '--json', '--progress', 'off', '--no-minimize'];
    const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0 && r.status !== 1) throw new Error(`fuzz --jobs ${jobs} failed (${r.status}): ${r.stderr}`);
    return (JSON.parse(r.stdout) as { sequencesPerSecond: number }).sequencesPerSecond;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Sequences/s of --jobs 1 and --jobs 2 over the same campaign, and their ratio. */
export async function benchJobs(count = Number(process.env.VMAFUZZ_BENCH_JOBS_N ?? 16384)): Promise<{ jobs1: number; jobs2: number; ratio: number }> {
  campaign(1, 1024); // warm up: harness binary, page cache
  const jobs1 = campaign(1, count);
  const jobs2 = campaign(2, count);
  return { jobs1, jobs2, ratio: jobs2 / jobs1 };
}

export function section(): BenchSection {
  return {
    title: `campaign --jobs scaling (${availableParallelism()} cores available)`,
    async run() {
      const r = await benchJobs();
      return [
        ['--jobs 1', `${r.jobs1.toFixed(0)} sequences/s`],
        ['--jobs 2', `${r.jobs2.toFixed(0)} sequences/s`],
        ['ratio --jobs 2 / --jobs 1', `${r.ratio.toFixed(2)}x  (goal >= 1.7x on 2 cores)`],
      ];
    },
  };
}
