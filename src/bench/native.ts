// `npm run bench`, native sections, everything on one core (taskset -c 0) and in alternating
// rounds so that ratios are measured within a round: the machine's limits (bare fork, one maps
// read), the harness alone (C-only) with fresh and with reusable sequence children, the whole
// campaign (end-to-end) both ways, and the JavaScript side (generation, model, comparison).
// Rates are given per CPU-second (the work a nightly campaign buys with its CPU-hours; CPU time of
// the whole process tree, so other users of a shared machine distort it least) and per wall second.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, generate, type GenConfig, type Weights } from '../gen/generate.js';
import { expandOps } from '../gen/families.js';
import { OPS, type Sequence } from '../seq/schema.js';
import { ensureHarness, projectRoot } from '../runner/harness-build.js';
import { fsDirArgs, resolveFsDirs } from '../runner/fsdirs.js';
import { harnessInput } from './input.js';
import { modelRound } from './model.js';
import { median, Noise, ratios, timed, withSpread } from './measure.js';

export const SEED = 20261123;
export const ROUNDS = Number(process.env.VMAFUZZ_BENCH_ROUNDS ?? 3);

/** The core calls (mmap, munmap, mprotect, touch): the mix of the earlier benches. */
export const CORE: GenConfig = { ...DEFAULT_CONFIG, weights: Object.fromEntries(OPS.map((op) => [op, expandOps('core').includes(op) ? DEFAULT_CONFIG.weights[op] : 0])) as Weights };

type Rows = Array<[string, string]>;
const perSec = (n: number, s: number) => n / s;

/** Bare fork and one /proc/self/maps read, as the harness measures them (harness-c/limits.c). */
export async function machineLimits(noise: Noise): Promise<Rows> {
  const harness = await ensureHarness();
  const fork: number[] = [], forkCpu: number[] = [], maps: number[] = [], mapsCpu: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t = timed(harness, ['--limits', '400']);
    const m = /fork_ns=(\d+) fork_cpu_ns=(\d+) maps_ns=(\d+) maps_cpu_ns=(\d+)/.exec(t.stdout);
    if (!m) throw new Error(`harness --limits: unexpected output ${JSON.stringify(t.stdout)} ${t.stderr}`);
    fork.push(Number(m[1]) / 1000); forkCpu.push(Number(m[2]) / 1000); maps.push(Number(m[3]) / 1000); mapsCpu.push(Number(m[4]) / 1000);
  }
  noise.check('the bare fork (CPU time)', forkCpu, 0.25);
  return [
    ['bare fork + _exit + waitpid', `${withSpread(forkCpu, 0, ' µs CPU')} = ${(1e6 / median(forkCpu)).toFixed(0)}/CPU-s; ${withSpread(fork, 0, ' µs wall')}`],
    ['one /proc/self/maps read (harness)', `${withSpread(mapsCpu, 1, ' µs CPU')}; ${withSpread(maps, 1, ' µs wall')}`],
  ];
}

interface Mode { cpu: number[]; wall: number[] }
const mode = (): Mode => ({ cpu: [], wall: [] });

/**
 * The harness alone on the sequences, fresh children (--no-persist) against reusable ones, with
 * the disk-filesystem directories a native campaign gives it (NativeRunner: resolveFsDirs). Without
 * them every sequence that declares an ext4/xfs/btrfs file stops at its setup (`error
 * file-setup-failed`, a third to a half of the default mix) and the harness looks far cheaper than
 * it is in a campaign.
 */
async function cOnly(seqs: Sequence[], noise: Noise, label: string): Promise<{ rows: Rows; fresh: Mode; persist: Mode }> {
  const harness = await ensureHarness();
  const fs = fsDirArgs(await resolveFsDirs({}, (l) => process.stderr.write(`bench: ${l}\n`)));
  const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-bench-c-'));
  try {
    const file = join(dir, 'in');
    writeFileSync(file, harnessInput(seqs));
    const w = timed(harness, ['--serve', ...fs], { stdinFile: file }); // warm-up: binary, page cache
    const setupFailed = (w.stdout.match(/^done \S+ error file-setup-failed/gm) ?? []).length;
    const fresh = mode(), persist = mode();
    for (let r = 0; r < ROUNDS; r++) {
      for (const [m, args] of [[fresh, ['--serve', '--no-persist', ...fs]], [persist, ['--serve', ...fs]]] as const) {
        const t = timed(harness, [...args], { stdinFile: file });
        if (t.status !== 0) throw new Error(`harness ${args.join(' ')} exited ${t.status}: ${t.stderr}`);
        m.cpu.push(perSec(seqs.length, t.cpu));
        m.wall.push(perSec(seqs.length, t.wall));
      }
    }
    const gain = ratios(persist.cpu, fresh.cpu);
    noise.check(`C-only ${label} persistent/fresh`, gain);
    return {
      fresh, persist,
      rows: [
        [`C-only ${label}, fresh child per sequence`, `${withSpread(fresh.cpu)} seq/CPU-s; ${withSpread(fresh.wall)} seq/s wall`],
        [`C-only ${label}, reusable children`, `${withSpread(persist.cpu)} seq/CPU-s; ${withSpread(persist.wall)} seq/s wall`],
        [`  ratio reusable / fresh`, `${withSpread(gain, 2, 'x')} per CPU-s; ${withSpread(ratios(persist.wall, fresh.wall), 2, 'x')} wall`],
        [`  disk filesystems; sequences whose file setup failed`, `${fs.filter((a) => a !== '--fs-dir').map((a) => a.split('=')[0]).join(', ') || 'none'}; ${setupFailed} of ${seqs.length}`],
      ],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Campaign { cpu: number; wall: number; findings: string; divergences: number }

function campaign(n: number, persist: boolean): Campaign {
  const out = mkdtempSync(join(tmpdir(), 'vmafuzz-bench-e2e-'));
  try {
    const args = [join(projectRoot(), 'dist/cli/main.js'), 'fuzz', '--count', String(n), '--seed', String(SEED), '--jobs', '1', '--no-guidance', '--no-minimize', '--progress', 'off', '--out', join(out, 'c'), '--json'];
    const t = timed(process.execPath, args, { env: { ...process.env, VMAFUZZ_PERSIST: persist ? '1' : '0' } });
    if (t.status !== 0 && t.status !== 1) throw new Error(`fuzz failed (${t.status}): ${t.stderr.slice(-2000)}`);
    const j = JSON.parse(t.stdout) as { divergences: number; findings: Array<{ signature: string; count: number }> };
    const findings = j.findings.map((f) => `${f.signature}x${f.count}`).sort().join(' ');
    return { cpu: t.cpu, wall: t.wall, findings, divergences: j.divergences };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/**
 * The whole campaign (`vmafuzz fuzz --jobs 1`, default call mix, no guidance so both modes judge
 * the same sequences) with fresh and with reusable children. Each round runs n/2 and n sequences
 * per mode and takes the difference: start-up (module loading, the hello probe) and the JIT's
 * warm-up over the first few thousand sequences fall out, what remains is the steady cost per
 * sequence of a long campaign.
 */
async function endToEnd(n: number, noise: Noise, cOnlyFresh: Mode, cOnlyPersist: Mode): Promise<Rows> {
  const n0 = Math.floor(n / 2);
  const fresh = mode(), persist = mode();
  const found = new Set<string>();
  let divergences = 0;
  for (let r = 0; r < ROUNDS; r++) {
    for (const [m, p] of [[fresh, false], [persist, true]] as const) {
      const s = campaign(n0, p);
      const c = campaign(n, p);
      m.cpu.push(perSec(n - n0, c.cpu - s.cpu));
      m.wall.push(perSec(n - n0, c.wall - s.wall));
      found.add(c.findings);
      divergences = c.divergences;
    }
  }
  const gain = ratios(persist.cpu, fresh.cpu);
  noise.check('end-to-end reusable/fresh', gain);
  return [
    [`end-to-end (fuzz --jobs 1), fresh children`, `${withSpread(fresh.cpu)} seq/CPU-s; ${withSpread(fresh.wall)} seq/s wall`],
    [`end-to-end, reusable children`, `${withSpread(persist.cpu)} seq/CPU-s; ${withSpread(persist.wall)} seq/s wall`],
    [`  ratio reusable / fresh`, `${withSpread(gain, 2, 'x')} per CPU-s; ${withSpread(ratios(persist.wall, fresh.wall), 2, 'x')} wall`],
    [`  ratio end-to-end / C-only`, `fresh ${withSpread(ratios(fresh.cpu, cOnlyFresh.cpu).map((x) => 100 * x), 0, '%')}, reusable ${withSpread(ratios(persist.cpu, cOnlyPersist.cpu).map((x) => 100 * x), 0, '%')} (per CPU-s)`],
    // What a sequence costs beyond the harness alone: the campaign's node process (generation, the
    // model, comparison, protocol, GC, JIT) and the harness's extra work next to it.
    [`  µs CPU/seq beyond C-only (reusable)`, withSpread(persist.cpu.map((x, i) => 1e6 / x - 1e6 / cOnlyPersist.cpu[i]!), 0, ' µs')],
    [`  findings, both modes, every round`, found.size === 1 ? `identical (${divergences} divergent sequences: ${[...found][0] || 'none'})` : `DIFFER: ${[...found].join(' | ')}`],
  ];
}

/** The JavaScript side alone, in this process (src/bench/model.ts), over the default mix. */
function javascript(n: number, noise: Noise): Rows {
  const seqs = Array.from({ length: n }, (_, i) => generate(SEED, i));
  const calls = seqs.reduce((k, q) => k + q.calls.length, 0);
  // A campaign's model runs warm: the JIT needs some 10,000 sequences before its rate settles.
  for (let w = 0; w < Math.ceil(12000 / n); w++) modelRound(n, DEFAULT_CONFIG, seqs);
  const rs = Array.from({ length: ROUNDS }, () => modelRound(n, DEFAULT_CONFIG, seqs));
  const f = (xs: number[], d = 1) => withSpread(xs, d);
  noise.check('the model (calls per CPU-s)', rs.map((r) => r.callsPerCpuSec));
  return [
    ['model (predict), default mix', `${f(rs.map((r) => r.callsPerCpuSec), 0)} calls/CPU-s (goal >= 200000); ${f(rs.map((r) => r.callsPerSec), 0)} calls/s wall; ${n} sequences, ${calls} calls`],
    ['generate µs/seq (CPU)', f(rs.map((r) => r.genCpu))],
    ['predict µs/seq (CPU)', f(rs.map((r) => r.predictCpu))],
    ['compare µs/seq (CPU)', f(rs.map((r) => r.compareCpu))],
  ];
}

export async function nativeSections(n: number, noise: Noise): Promise<Array<[string, Rows]>> {
  const out: Array<[string, Rows]> = [];
  out.push(['machine limits, one core', await machineLimits(noise)]);
  const def = Array.from({ length: n }, (_, i) => generate(SEED, i));
  const core = Array.from({ length: n }, (_, i) => generate(SEED, i, CORE));
  const cd = await cOnly(def, noise, 'default mix');
  const cc = await cOnly(core, noise, 'core calls');
  out.push([`harness alone (C-only), one core, ${n} sequences, ${ROUNDS} alternating rounds`, [...cd.rows, ...cc.rows]]);
  out.push([`end-to-end native campaign, one core, default mix, ${n} sequences, ${ROUNDS} alternating rounds`, await endToEnd(n, noise, cd.fresh, cd.persist)]);
  out.push(['JavaScript side, one thread (no kernel)', javascript(Math.min(n, 4000), noise)]);
  return out;
}
