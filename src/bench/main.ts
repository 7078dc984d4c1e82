// `npm run bench`: throughput ratios measured in one run (never asserted as timed tests).
//  1. native end-to-end (generator + harness + model + compare) vs the C-only baseline (the
//     harness alone running the same sequences), both pinned to one core;
//  2. where the JavaScript time goes (generate / predict / compare per sequence);
//  3. further sections registered by other stages (jobs scaling, QEMU, the concurrent oracle).

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, generate, type GenConfig, type Weights } from '../gen/generate.js';
import { expandOps } from '../gen/families.js';
import { OPS } from '../seq/schema.js';
import { ensureHarness, projectRoot } from '../runner/harness-build.js';
import { harnessInput } from './input.js';
import { NativeRunner } from '../runner/native.js';
import { makeProfile, predict } from '../model/index.js';
import { firstDivergence } from '../compare/compare.js';
import type { Sequence } from '../seq/schema.js';

const SEED = 20261123;

function pinned(cmd: string, args: string[]): [string, string[]] {
  return spawnSync('taskset', ['-c', '0', 'true']).status === 0 ? ['taskset', ['-c', '0', cmd, ...args]] : [cmd, args];
}

async function cOnly(harness: string, seqs: Sequence[]): Promise<number> {
  // The same observations the campaign collects (src/bench/input.ts).
  const input = harnessInput(seqs);
  const [cmd, args] = pinned(harness, ['--serve']);
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    p.stdout.on('data', () => {});
    p.on('error', reject);
    p.on('exit', (c) => (c === 0 ? resolve() : reject(new Error(`harness exited ${c}`))));
    p.stdin.end(input);
  });
  return seqs.length / ((performance.now() - t0) / 1000);
}

// The core calls (mmap, munmap, mprotect, touch) with plain generation, so the end-to-end run
// executes exactly the sequences of the baseline: generate(SEED, i, CORE).
const CORE: GenConfig = { ...DEFAULT_CONFIG, weights: Object.fromEntries(OPS.map((op) => [op, expandOps('core').includes(op) ? DEFAULT_CONFIG.weights[op] : 0])) as Weights };

function endToEnd(n: number): { perSec: number; divergences: number } {
  const out = mkdtempSync(join(tmpdir(), 'vmafuzz-bench-'));
  try {
    const fuzz = ['fuzz', '--count', String(n), '--seed', String(SEED), '--ops', 'core', '--no-guidance', '--no-minimize', '--progress', 'off', '--out', out, '--json'];
    const [cmd, args] = pinned(process.execPath, [join(projectRoot(), 'dist/cli/main.js'), ...fuzz]);
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0 && r.status !== 1) throw new Error(`fuzz failed (${r.status}): ${r.stderr}`);
    const j = JSON.parse(r.stdout) as { sequencesPerSecond: number; divergences: number };
    return { perSec: j.sequencesPerSecond, divergences: j.divergences };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function jsBreakdown(seqs: Sequence[]): Promise<Record<string, number>> {
  const runner = new NativeRunner();
  const target = await runner.start();
  const profile = makeProfile(target.release, target.facts);
  const kernel = await runner.run(seqs, { snapshotEveryCall: false });
  await runner.close();
  const us = (ms: number) => (ms * 1000) / seqs.length;
  let t = performance.now();
  for (let i = 0; i < seqs.length; i++) generate(SEED, i, CORE);
  const gen = us(performance.now() - t);
  t = performance.now();
  const preds = seqs.map((s, i) => predict(s, profile, { snapshotEveryCall: false, kernelPlacement: (c) => kernel[i]!.calls[c]?.ret }));
  const pred = us(performance.now() - t);
  t = performance.now();
  preds.forEach((p, i) => firstDivergence(p, kernel[i]!));
  const cmp = us(performance.now() - t);
  return { 'generate µs/seq': gen, 'predict µs/seq': pred, 'compare µs/seq': cmp };
}

export interface BenchSection {
  title: string;
  run(): Promise<Array<[string, string]>>;
}

async function main(): Promise<void> {
  const n = Number(process.env.VMAFUZZ_BENCH_N ?? 6000);
  const harness = await ensureHarness();
  const seqs = Array.from({ length: n }, (_, i) => generate(SEED, i, CORE));
  const calls = seqs.reduce((s, q) => s + q.calls.length, 0);
  console.log(`vmafuzz bench: ${n} sequences of the core calls (${calls} calls), seed ${SEED}, one core (taskset -c 0)`);
  // Warm up the page cache and the harness binary once, then measure.
  await cOnly(harness, seqs.slice(0, 200));
  const base = await cOnly(harness, seqs);
  const e2e = endToEnd(n);
  const rows: Array<[string, string]> = [
    ['C-only baseline (harness alone)', `${base.toFixed(0)} sequences/s`],
    ['end-to-end native campaign', `${e2e.perSec.toFixed(0)} sequences/s`],
    ['ratio end-to-end / C-only', `${((100 * e2e.perSec) / base).toFixed(1)}%  (goal >= 50%)`],
  ];
  for (const [k, v] of Object.entries(await jsBreakdown(seqs.slice(0, 2000)))) rows.push([k, v.toFixed(1)]);
  print('native, one core', rows);
  for (const s of await extraSections()) print(s.title, await s.run());
}

function print(title: string, rows: Array<[string, string]>): void {
  console.log(`\n== ${title}`);
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}

/** Sections contributed by other stages; each module is optional so the bench runs at any stage. */
async function extraSections(): Promise<BenchSection[]> {
  const out: BenchSection[] = [];
  for (const mod of ['./jobs.js', './qemu.js', './threads.js']) {
    try {
      const m = (await import(mod)) as { section?: () => BenchSection };
      if (m.section) out.push(m.section());
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    }
  }
  return out;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1; // not process.exit(): that would drop output a pipe has not taken yet
});
