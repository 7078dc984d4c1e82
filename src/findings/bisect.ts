// Semantic bisection over an ordered list of kernels: where does a sequence's behaviour change?
// The behaviour on one kernel is its verdict: "match", or "diverge" with the deterministic
// signature (src/compare/signature.ts), or "skip" when the kernel cannot be tested (does not
// boot, indeterminate or unstable runs). Binary search between the oldest and the newest testable
// kernel finds the last kernel that behaves like the oldest and the first one that does not;
// skipped kernels are stepped around, as `git bisect skip` does.
//
// The verdict of a kernel is injectable (`bisectKernels(kernels, test)`): `kernelTester` boots
// each kernel with the QEMU runner (createRunner), tests use a fake.

import { existsSync } from 'node:fs';
import { makeProfile } from '../model/index.js';
import { createRunner, type RunnerOptions } from '../runner/index.js';
import type { Runner } from '../runner/types.js';
import type { Sequence } from '../seq/schema.js';
import { CannotTestError } from '../util/errors.js';
import { determinate, judge, modelPredictor, type Predictor } from './judge.js';
import { DETAIL_RUN } from '../runner/types.js';

/** `facts`: the harness hello facts of the kernel that ran (src/triage compares them) */
export type Verdict =
  | { kind: 'match'; release?: string; detail: string; facts?: Record<string, string> }
  | { kind: 'diverge'; signature: string; signatureText?: string; release?: string; detail: string; facts?: Record<string, string> }
  | { kind: 'skip'; release?: string; detail: string; facts?: Record<string, string> };

/** Two kernels behave the same when their keys are equal. */
export function verdictKey(v: Verdict): string {
  return v.kind === 'diverge' ? `diverge ${v.signature}` : v.kind;
}

export interface BisectStep {
  index: number;
  kernel: string;
  verdict: Verdict;
}

export interface BisectResult {
  /** changed: lastSame/firstChanged found; unchanged: both ends behave the same; undecided: too few testable kernels */
  status: 'changed' | 'unchanged' | 'undecided';
  lastSame?: string;
  firstChanged?: string;
  /** kernels that could not be tested between lastSame and firstChanged (the change may be in any of them) */
  skipped: string[];
  steps: BisectStep[];
  message: string;
}

export type KernelTest = (kernel: string) => Promise<Verdict>;

const short = (v: Verdict) => (v.kind === 'diverge' ? `diverges, signature ${v.signature}` : v.kind === 'match' ? 'matches the model' : 'skipped');
const say = (v: Verdict) => short(v) + (v.detail ? ` (${v.detail})` : '');

export async function bisectKernels(kernels: readonly string[], test: KernelTest, log: (line: string) => void = () => {}): Promise<BisectResult> {
  const tested = new Map<number, Verdict>();
  const steps: BisectStep[] = [];
  const probe = async (i: number): Promise<Verdict> => {
    const verdict = await test(kernels[i]!);
    tested.set(i, verdict);
    steps.push({ index: i, kernel: kernels[i]!, verdict });
    log(`step ${steps.length}: ${kernels[i]}${verdict.release && verdict.release !== kernels[i] ? ` (${verdict.release})` : ''}: ${say(verdict)}`);
    return verdict;
  };
  const undecided = (message: string): BisectResult => ({ status: 'undecided', skipped: [], steps, message });
  if (kernels.length < 2) return undecided('bisect needs at least two kernels');

  // The ends: the oldest and the newest kernel that can be tested.
  let lo = -1;
  for (let i = 0; i < kernels.length && lo < 0; i++) if ((await probe(i)).kind !== 'skip') lo = i;
  if (lo < 0) return undecided('no kernel could be tested');
  let hi = -1;
  for (let i = kernels.length - 1; i > lo && hi < 0; i--) if ((await probe(i)).kind !== 'skip') hi = i;
  if (hi < 0) return undecided(`only ${kernels[lo]} could be tested`);
  const a = verdictKey(tested.get(lo)!);
  if (a === verdictKey(tested.get(hi)!)) {
    return {
      status: 'unchanged',
      skipped: [],
      steps,
      message: `${kernels[lo]} and ${kernels[hi]} behave the same (${short(tested.get(lo)!)}); a change reverted in between would not be seen`,
    };
  }

  for (;;) {
    const open: number[] = [];
    for (let i = lo + 1; i < hi; i++) if (!tested.has(i)) open.push(i);
    if (open.length === 0) break;
    const middle = (lo + hi) / 2;
    const mid = open.reduce((best, i) => (Math.abs(i - middle) < Math.abs(best - middle) ? i : best));
    const v = await probe(mid);
    if (v.kind === 'skip') continue;
    if (verdictKey(v) === a) lo = mid;
    else hi = mid;
  }
  const skipped: string[] = [];
  for (let i = lo + 1; i < hi; i++) skipped.push(kernels[i]!);
  const last = tested.get(lo)!;
  const first = tested.get(hi)!;
  return {
    status: 'changed',
    lastSame: kernels[lo],
    firstChanged: kernels[hi],
    skipped,
    steps,
    message:
      `the behaviour changed between ${kernels[lo]} (${short(last)}) and ${kernels[hi]} (${short(first)})` +
      (skipped.length ? `; untestable in between: ${skipped.join(', ')}` : ''),
  };
}

export interface KernelTesterOptions {
  /** judge against the model profile of this release on every kernel (default: each kernel's own release) */
  profileRelease?: string;
  predictor?: Predictor;
  /** runs per kernel; differing verdicts make the kernel "skip" (default 2) */
  runs?: number;
  /** runner options other than the kernel (default: qemu) */
  runner?: Omit<RunnerOptions, 'kernel' | 'kernelImage'>;
  makeRunner?: (o: RunnerOptions) => Promise<Runner>;
}

/** A kernel given as a version ("6.12") or as a path to a bzImage. */
export function kernelRunnerOptions(kernel: string, base: Omit<RunnerOptions, 'kernel' | 'kernelImage'> = { runner: 'qemu' }): RunnerOptions {
  return kernel.includes('/') || existsSync(kernel) ? { ...base, kernelImage: kernel } : { ...base, kernel };
}

/** The verdict of `seq` on each kernel, booted with the runner (QEMU by default). */
export function kernelTester(seq: Sequence, opts: KernelTesterOptions = {}): KernelTest {
  const runs = Math.max(1, opts.runs ?? 2);
  const predictor = opts.predictor ?? modelPredictor;
  const make = opts.makeRunner ?? createRunner;
  return async (kernel) => {
    let runner: Runner;
    let release: string | undefined;
    let facts: Record<string, string> | undefined;
    try {
      runner = await make(kernelRunnerOptions(kernel, opts.runner));
    } catch (e) {
      if (e instanceof CannotTestError) return { kind: 'skip', detail: e.message };
      throw e;
    }
    try {
      const target = await runner.start();
      release = target.release;
      facts = target.facts;
      const profile = makeProfile(opts.profileRelease ?? target.release, target.facts);
      const obs = await runner.run(Array<Sequence>(runs).fill(seq), DETAIL_RUN);
      const js = obs.map((k) => judge(predictor, profile, seq, k));
      const bad = js.find((j) => !determinate(j));
      if (bad) return { kind: 'skip', release, facts, detail: `kernel run ${bad.kernel.status}${bad.kernel.detail ? `: ${bad.kernel.detail}` : ''}` };
      const keys = new Set(js.map((j) => j.signature ?? 'match'));
      if (keys.size > 1) return { kind: 'skip', release, facts, detail: `unstable: ${[...keys].join(' / ')} over ${runs} runs` };
      const j = js[0]!;
      const against = opts.profileRelease ? `model profile ${opts.profileRelease}` : `model profile ${target.release}`;
      if (!j.divergence) return { kind: 'match', release, facts, detail: against };
      const d = j.divergence;
      return { kind: 'diverge', signature: j.signature!, signatureText: j.signatureText!, release, facts, detail: `${d.layer} at call ${d.call}: ${d.kind}; ${against}` };
    } catch (e) {
      if (e instanceof CannotTestError) return { kind: 'skip', ...(release ? { release } : {}), detail: e.message };
      throw e;
    } finally {
      await runner.close();
    }
  };
}
