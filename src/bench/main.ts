// `npm run bench`: throughput figures measured in one run (never asserted as timed tests), as
// ratios measured within a round, with their spread over rounds and a warning when the machine is
// too noisy to trust them:
//  1. the machine's limits (bare fork, one maps read), the harness alone with fresh and reusable
//     sequence children, the end-to-end campaign both ways, the JavaScript side (src/bench/native.ts);
//  2. further sections registered by other stages (jobs scaling, QEMU, the concurrent oracle).
// Native figures are taken on one core (taskset -c 0); run the bench itself unpinned, the jobs
// section needs both CPUs.

import { ensureHarness } from '../runner/harness-build.js';
import { Noise } from './measure.js';
import { nativeSections, ROUNDS, SEED } from './native.js';

export interface BenchSection {
  title: string;
  run(noise: Noise): Promise<Array<[string, string]>>;
}

async function main(): Promise<void> {
  const n = Number(process.env.VMAFUZZ_BENCH_N ?? 6000);
  await ensureHarness();
  const noise = new Noise();
  console.log(`vmafuzz bench: seed ${SEED}, ${ROUNDS} rounds (VMAFUZZ_BENCH_ROUNDS), ${n} sequences per native run (VMAFUZZ_BENCH_N); load average ${noise.loadAtStart.toFixed(1)}`);
  // VMAFUZZ_BENCH_SECTIONS=native,jobs,qemu (default: all) picks sections
  const only = process.env.VMAFUZZ_BENCH_SECTIONS?.split(',').map((s) => s.trim());
  const want = (name: string) => !only || only.includes(name);
  if (want('native')) for (const [title, rows] of await nativeSections(n, noise)) print(title, rows);
  for (const s of await extraSections(want)) print(s.title, await s.run(noise));
  const warning = noise.finish();
  if (warning) console.log(`\n${warning}`);
}

function print(title: string, rows: Array<[string, string]>): void {
  console.log(`\n== ${title}`);
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}

/** Sections contributed by other stages; each module is optional so the bench runs at any stage. */
async function extraSections(want: (name: string) => boolean): Promise<BenchSection[]> {
  const out: BenchSection[] = [];
  for (const mod of ['jobs', 'qemu', 'threads'].filter(want).map((m) => `./${m}.js`)) {
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
