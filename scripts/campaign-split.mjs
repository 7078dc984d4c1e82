#!/usr/bin/env node
// Where a warm campaign's CPU goes: the native campaign's per-piece work (src/campaign/work.ts
// runChunk: generate, run on the host kernel, predict, compare, count rules; default call mix, no
// guidance) after a warm-up, split into this node process (process.cpuUsage: every thread, JIT and
// GC included) and the harness's process tree (its /proc stat utime + stime + reaped children,
// summed over the live descendants, such as the reusable sequence child). Needs the build.
//   taskset -c 0 node scripts/campaign-split.mjs [warm-up sequences] [measured sequences]
// Under `perf record -g` with `node --perf-basic-prof` the same run shows which functions these are.
import { readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(join(root, 'dist', p));
const { NativeRunner } = await dist('runner/native.js');
const { runChunk } = await dist('campaign/work.js');
const { profileFor } = await dist('campaign/executor.js');
const { DEFAULT_CONFIG } = await dist('gen/generate.js');
const { EMPTY_POOL } = await dist('gen/guided.js');
const { RULE_IDS } = await dist('model/index.js');
const { OPS } = await dist('seq/schema.js');

const warm = Number(process.argv[2] ?? 6000);
const n = Number(process.argv[3] ?? 6000);
const runner = new NativeRunner();
const ctx = { runner, profile: profileFor(await runner.start()), cfg: { seed: 20261123, gen: DEFAULT_CONFIG, batch: 64, stabilityRuns: 2, rules: [...RULE_IDS], ops: [...OPS] } };
const task = (lo, hi) => ({ g: 0, lo, hi, batch0: 0, pool: EMPTY_POOL, known: [] });

/** CPU seconds of a process and its descendants (clock ticks of 10 ms: measure thousands of sequences). */
function treeCpu(pid) {
  let f;
  try {
    f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  } catch {
    return 0; // gone since the children list was read
  }
  let s = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  let kids = '';
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8');
  } catch {}
  for (const k of kids.trim().split(/\s+/).filter(Boolean)) s += treeCpu(Number(k));
  return s;
}
const nodeCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

await runChunk(ctx, task(0, warm));
const h0 = treeCpu(runner.pid), n0 = nodeCpu();
const r = await runChunk(ctx, task(warm, warm + n));
const h1 = treeCpu(runner.pid), n1 = nodeCpu();
const us = (s) => ((1e6 * s) / n).toFixed(0);
console.log(`${n} sequences after ${warm} warm-up ones: node ${us(n1 - n0)} µs CPU/seq, harness ${us(h1 - h0)} µs CPU/seq, together ${(n / (n1 - n0 + h1 - h0)).toFixed(0)} seq/CPU-s (${r.div} divergences, ${r.partial} partial)`);
await runner.close();
