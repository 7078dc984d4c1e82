// `vmafuzz replay FILE --fail-sweep CALL` on a concurrent sequence: CALL is a racing plain fork
// (its global index, src/seq/threads.ts). Per k = 1, 2, ... one run with failNth = k on that fork
// while the maps readers read; per k: whether the injection fired, the fork's errno, whether the
// parent's end state is the one it had before the race, whether a child ran, how many reads
// overlapped the fork and how many of them were exactly the parent's maps before the race, and
// the linearization oracle's verdict (src/linearize/fail-fork.ts). Stops when k passes the
// allocation checks fork makes (the injection no longer fires).

import { z } from 'zod';
import { judgeRace } from '../../linearize/index.js';
import { lineKey } from '../../linearize/reads.js';
import type { Profile } from '../../model/index.js';
import type { Runner } from '../../runner/types.js';
import { DETAIL_RUN } from '../../runner/types.js';
import { errnoName } from '../../seq/consts.js';
import { MAX_FAIL_NTH } from '../../seq/fail-nth.js';
import type { MapsEntry, SeqObservation, Snapshot } from '../../seq/observation.js';
import type { Sequence } from '../../seq/schema.js';
import { racingCalls } from '../../seq/threads.js';
import { EXIT, UsageError } from '../../util/errors.js';
import { log, write } from '../common.js';
import { SWEEP_JSON_VERSION, sweepStepFields } from './fail-sweep-cli.js';

export interface RaceSweepStep {
  k: number;
  injected: 'fired' | 'not-fired' | 'unavailable' | 'none';
  /** the fork's errno (0 = success, -1 = no result) */
  errno: number;
  /** the parent's final maps and pagemap equal its snapshot after the setup (before the race) */
  unchanged: boolean;
  /** a child process ran (its maps were reported) */
  child: boolean;
  /** reads whose interval overlapped the fork's */
  reads: number;
  /** of those, the ones whose text is exactly the parent's maps before the race */
  readsSame: number;
  kernelStatus: string;
  verdict: 'match' | 'diverge' | 'indeterminate';
  detail: string;
}

const sameMaps = (a: readonly MapsEntry[], b: readonly MapsEntry[]) => a.length === b.length && a.every((e, i) => lineKey(e) === lineKey(b[i]!));
const sameSnap = (a: Snapshot | undefined, b: Snapshot | undefined) => !!a && !!b && sameMaps(a.maps, b.maps) && (a.pagemap ?? '') === (b.pagemap ?? '');

/** The sweep's reading of one run of `seq` (failNth = k on racing call `call`). */
export function raceSweepStep(seq: Sequence, call: number, k: number, kernel: SeqObservation, profile: Profile): RaceSweepStep {
  const c = kernel.calls[call];
  const proc0 = kernel.snapshots.filter((s) => (s.proc ?? 0) === 0);
  const before = proc0.filter((s) => s.after === seq.calls.length - 1).at(-1);
  const t = kernel.timing?.[call];
  const during = t ? (kernel.reads ?? []).filter((r) => r.start <= t.end && r.end >= t.start) : [];
  const j = judgeRace(seq, kernel, profile);
  return {
    k,
    injected: c?.injected ?? 'none',
    errno: c?.errno ?? -1,
    unchanged: sameSnap(before, proc0.at(-1)),
    child: !!kernel.childMaps?.[call],
    reads: during.length,
    readsSame: before ? during.filter((r) => sameMaps(r.maps, before.maps)).length : 0,
    kernelStatus: kernel.status + (kernel.detail ? ` ${kernel.detail}` : ''),
    verdict: j.verdict === 'pass' ? 'match' : j.verdict === 'fail' ? 'diverge' : 'indeterminate',
    detail: j.divergence ? `${j.divergence.layer} at call ${j.divergence.call} (${j.divergence.kind}): ${j.divergence.detail}` : (j.reason ?? ''),
  };
}

export function formatRaceStep(s: RaceSweepStep): string {
  const res = s.errno === 0 ? 'ok' : s.errno < 0 ? 'not run' : errnoName(s.errno);
  const parent = s.errno > 0 ? `, parent ${s.unchanged ? 'unchanged' : 'CHANGED'}` : '';
  const reads = `, ${s.reads} read(s) during the fork${s.errno > 0 ? ` (${s.readsSame} the parent's maps before it)` : ''}`;
  return `k=${s.k}: ${s.injected}, ${res}${parent}, ${s.child ? 'child ran' : 'no child'}${reads} -> ${s.verdict.toUpperCase()}${s.detail ? ` (${s.detail})` : ''}`;
}

/** The racing call `call` of `seq` with failNth = k. */
export function withRacingFailNth(seq: Sequence, call: number, k: number): Sequence {
  const r = racingCalls(seq).find((x) => x.index === call)!;
  const threads = seq.threads!.map((t, ti) => {
    if (ti !== r.thread) return t;
    let pos = -1;
    return { calls: t.calls.map((c) => (c.op !== 'sync' && ++pos === r.pos ? { ...c, failNth: k } : c)) };
  });
  return { ...seq, threads } as Sequence;
}

/** Sweep k = 1, 2, ... (in batches) until the injection stops firing or `maxK`. */
export async function failSweepRace(runner: Runner, profile: Profile, seq: Sequence, call: number, o: { maxK?: number; batch?: number; onStep?: (s: RaceSweepStep) => void } = {}): Promise<RaceSweepStep[]> {
  const maxK = Math.min(o.maxK ?? 1000, MAX_FAIL_NTH);
  const batch = o.batch ?? 8;
  const steps: RaceSweepStep[] = [];
  for (let k0 = 1; k0 <= maxK; k0 += batch) {
    const ks = Array.from({ length: Math.min(batch, maxK - k0 + 1) }, (_, i) => k0 + i);
    const seqs = ks.map((k) => withRacingFailNth(seq, call, k));
    const runs = await runner.run(seqs, DETAIL_RUN);
    for (let i = 0; i < ks.length; i++) {
      const s = raceSweepStep(seqs[i]!, call, ks[i]!, runs[i]!, profile);
      steps.push(s);
      o.onStep?.(s);
      if (s.injected !== 'fired' || s.kernelStatus.startsWith('timeout') || s.kernelStatus.startsWith('infra')) return steps;
    }
  }
  return steps;
}

export const raceSweepJson = z.strictObject({
  vmafuzz: z.literal(SWEEP_JSON_VERSION),
  command: z.literal('replay --fail-sweep (concurrent)'),
  release: z.string(),
  call: z.number().int().min(0),
  files: z.array(
    z.strictObject({
      file: z.string(),
      steps: z.array(
        z.strictObject({ ...sweepStepFields, child: z.boolean(), reads: z.number().int().min(0), readsSame: z.number().int().min(0) }),
      ),
    }),
  ),
  exitCode: z.number().int(),
});

/** The racing fork CALL of a concurrent file, or a usage error naming the file. */
function checkCall(seq: Sequence, call: number, file: string): void {
  const r = racingCalls(seq).find((x) => x.index === call);
  if (!r) throw new UsageError(`${file}: --fail-sweep ${call}: a concurrent sequence sweeps a racing fork; call ${call} is ${call < seq.calls.length ? 'a setup call' : 'no call'} (racing calls are ${seq.calls.length}..${seq.calls.length + racingCalls(seq).length - 1})`);
  if (r.call.op !== 'fork') throw new UsageError(`${file}: --fail-sweep ${call}: racing call ${call} is a ${r.call.op}; in a concurrent sequence only a racing fork takes failNth`);
  if (racingCalls(seq).filter((x) => x.call.op === 'fork').length > 1) throw new UsageError(`${file}: --fail-sweep ${call}: a swept racing fork must be the sequence's only racing fork`);
}

/** Exit code: 1 if some k diverged, 125 if the kernel has no fail-nth or nothing was judged, else 0. */
export async function sweepConcurrentFiles(runner: Runner, profile: Profile, facts: Record<string, string>, files: readonly { file: string; seq: Sequence }[], o: Record<string, unknown>): Promise<number> {
  const call = Number(o.failSweep);
  const maxK = Number(o.maxK ?? 1000);
  if (!Number.isInteger(maxK) || maxK < 1) throw new UsageError(`--max-k: expected a positive integer, got ${JSON.stringify(o.maxK)}`);
  if (!Number.isInteger(call) || call < 0) throw new UsageError(`--fail-sweep: expected a call index (0-based), got ${JSON.stringify(o.failSweep)}`);
  for (const f of files) checkCall(f.seq, call, f.file);
  if (facts.fail_nth !== '1') {
    log(`vmafuzz: --fail-sweep needs /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION); the kernel ${facts.release ?? ''} has none (hello fail_nth=${facts.fail_nth ?? '?'}): use a kernel from \`vmafuzz kernels build VERSION --with fault-injection\``);
    return EXIT.CANNOT_TEST;
  }
  const json = o.json === true;
  const say = (t: string) => (json ? undefined : write(t));
  let code: number = EXIT.OK;
  let judged = 0;
  const docs: { file: string; steps: RaceSweepStep[] }[] = [];
  for (const { file, seq } of files) {
    say(`${file}: sweeping failNth on racing call ${call} (fork) with ${seq.readers ?? 0} reader(s)\n`);
    const t0 = Date.now();
    const steps = await failSweepRace(runner, profile, seq, call, { maxK, onStep: (s) => say(`  ${formatRaceStep(s)}\n`) });
    docs.push({ file, steps });
    const failed = steps.filter((s) => s.injected === 'fired' && s.errno !== 0);
    const reads = failed.reduce((n, s) => n + s.reads, 0);
    const same = failed.reduce((n, s) => n + s.readsSame, 0);
    const div = steps.filter((s) => s.verdict === 'diverge');
    judged += steps.filter((s) => s.verdict !== 'indeterminate').length;
    const last = steps.at(-1);
    const end = last && last.injected !== 'fired' ? `fork makes ${last.k - 1} allocation check(s)` : `stopped at k=${last?.k ?? 0}`;
    say(`  ${steps.length} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${end}; ${failed.length} failed forks (parent unchanged in all: ${failed.every((s) => s.unchanged) ? 'yes' : 'NO'}, a child in ${failed.filter((s) => s.child).length}), ${reads} reads during them (${same} the parent's maps before the fork), ${div.length} divergent\n`);
    if (div.length) code = EXIT.DIVERGENCE;
  }
  const exitCode = code === EXIT.OK && judged === 0 ? EXIT.CANNOT_TEST : code;
  if (json) process.stdout.write(JSON.stringify(raceSweepJson.parse({ vmafuzz: SWEEP_JSON_VERSION, command: 'replay --fail-sweep (concurrent)', release: facts.release ?? '', call, files: docs, exitCode }), null, 2) + '\n');
  return exitCode;
}
