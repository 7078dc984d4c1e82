// The kernel matrix: the same corpus files on several kernels, each judged against the model with
// that kernel's own profile (makeProfile(release, facts)), so a cell that is not "match" is either
// a model bug or a kernel behaving differently from the model's table of intended per-version
// differences (src/model/profile-rows.ts). One runner (one VM) per kernel; kernels may run in
// parallel. The matrix runs each file once, with a snapshot after every call, so the divergent
// call it names is the first one that differs.

import { predictAgainst, rulesAt } from '../campaign/check.js';
import { firstDivergence, type Divergence } from '../compare/compare.js';
import { signature, signatureText } from '../compare/signature.js';
import { kernelRunnerOptions } from '../findings/bisect.js';
import type { KnownLabel, KnownLookup } from '../findings/known.js';
import { makeProfile, PROFILE_ROWS, type Profile } from '../model/index.js';
import { createRunner, type RunnerOptions } from '../runner/index.js';
import type { Runner, TargetInfo } from '../runner/types.js';
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';
import { CannotTestError, EXIT } from '../util/errors.js';
import { DETAIL_RUN } from '../runner/types.js';

export type CellStatus = 'match' | 'diverge' | 'crash' | 'timeout' | 'infra' | 'untested';

export interface Cell {
  status: CellStatus;
  divergence?: Divergence;
  signature?: string;
  signatureText?: string;
  /** the known kernel bug this divergence's signature pins (corpus/regression), if any */
  known?: KnownLabel;
  /** the kernel run's detail (crash title, timeout, infra reason) or why the kernel was untested */
  detail?: string;
}

export interface KernelColumn {
  /** as given on the command line ("6.12" or a bzImage path) */
  kernel: string;
  /** null: the kernel could not be tested at all (error says why) */
  target: TargetInfo | null;
  profile: Profile | null;
  error?: string;
  seconds: number;
  cells: Cell[];
}

export interface MatrixResult {
  files: string[];
  kernels: KernelColumn[];
}

export interface MatrixOptions {
  /** runner options without the kernel (default: qemu with its defaults) */
  runner?: Omit<RunnerOptions, 'kernel' | 'kernelImage'>;
  /** kernels tested at once (one VM each); default 1 */
  jobs?: number;
  makeRunner?: (o: RunnerOptions) => Promise<Runner>;
  /** judge every kernel against the model of this release instead of its own (shows where kernels changed) */
  profileRelease?: string;
  /** progress lines (kernel booted, kernel done) */
  log?: (line: string) => void;
  /** known-bug lookup (KnownBugs.lookup): a divergent cell is labelled with the bug it pins, never hidden */
  known?: KnownLookup;
}

/** Judge one kernel run of `seq` against the profile. A crash outranks a divergence seen before it. */
export function cellOf(seq: Sequence, k: SeqObservation, profile: Profile): Cell {
  if (k.status === 'crash') return { status: 'crash', ...(k.detail ? { detail: k.detail } : {}) };
  const m = predictAgainst(seq, k, profile, true);
  // timeouts and infra failures are compared over the calls that did run (as `replay` does)
  const d = firstDivergence(m, k);
  if (d) {
    const input = { divergence: d, calls: seq.calls, rules: rulesAt(m, d.call) };
    return { status: 'diverge', divergence: d, signature: signature(input), signatureText: signatureText(input), ...(k.detail ? { detail: k.detail } : {}) };
  }
  if (k.status !== 'ok') return { status: k.status, ...(k.detail ? { detail: k.detail } : {}) };
  // agreement up to a call the model cannot predict is no verdict
  if (m.unsupported) return { status: 'untested', detail: `the model cannot predict call ${m.unsupported.call}: ${m.unsupported.reason}` };
  return { status: 'match' };
}

function withKnown(c: Cell, seq: Sequence, release: string, known: MatrixOptions['known']): Cell {
  if (!known || c.status !== 'diverge') return c;
  // the bug's required calls must be among the calls up to the divergent one (src/findings/known.ts)
  const calls = seq.calls.slice(0, Math.max(0, c.divergence!.call + 1));
  const k = known({ signature: c.signature!, signatureText: c.signatureText!, calls }, release);
  return k ? { ...c, known: k } : c;
}

async function runColumn(kernel: string, seqs: readonly Sequence[], o: MatrixOptions): Promise<KernelColumn> {
  const t0 = Date.now();
  const log = o.log ?? (() => {});
  const untested = (error: string, target: TargetInfo | null = null): KernelColumn => ({
    kernel,
    target,
    profile: null,
    error,
    seconds: (Date.now() - t0) / 1000,
    cells: seqs.map(() => ({ status: 'untested', detail: error })),
  });
  let runner: Runner;
  try {
    runner = await (o.makeRunner ?? createRunner)(kernelRunnerOptions(kernel, o.runner ?? { runner: 'qemu' }));
  } catch (e) {
    if (e instanceof CannotTestError) return untested(e.message);
    throw e;
  }
  let target: TargetInfo | null = null;
  try {
    target = await runner.start();
    const profile = makeProfile(o.profileRelease ?? target.release, target.facts);
    log(`${kernel}: ${target.release} up (${target.facts['accel'] ?? target.runner}); replaying ${seqs.length} files`);
    const obs = await runner.run(seqs, DETAIL_RUN);
    const cells = seqs.map((s, i) => withKnown(cellOf(s, obs[i]!, profile), s, target!.release, o.known));
    const col: KernelColumn = { kernel, target, profile, seconds: (Date.now() - t0) / 1000, cells };
    log(`${kernel}: done in ${col.seconds.toFixed(1)} s`);
    return col;
  } catch (e) {
    if (e instanceof CannotTestError) return untested(e.message, target);
    throw e;
  } finally {
    await runner.close();
  }
}

/** Replay every sequence on every kernel; columns come back in the order of `kernels`. */
export async function runMatrix(files: readonly string[], seqs: readonly Sequence[], kernels: readonly string[], o: MatrixOptions = {}): Promise<MatrixResult> {
  const cols: KernelColumn[] = new Array(kernels.length);
  let next = 0;
  const worker = async () => {
    while (next < kernels.length) {
      const i = next++;
      cols[i] = await runColumn(kernels[i]!, seqs, o);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.jobs ?? 1, kernels.length)) }, worker));
  return { files: [...files], kernels: cols };
}

/** What a cell shows in the table: match, "#3 maps", crash, timeout, infra, or "-" (kernel untested). */
export function cellLabel(c: Cell): string {
  if (c.status === 'diverge') return c.divergence!.call < 0 ? `init ${c.divergence!.layer}` : `#${c.divergence!.call} ${c.divergence!.layer}`;
  return c.status === 'untested' ? '-' : c.status;
}

/** 1 if any cell diverges or crashed the kernel; 125 if a kernel could not be tested or a run was indeterminate; else 0. */
export function matrixExitCode(r: MatrixResult): number {
  const cells = r.kernels.flatMap((k) => k.cells);
  if (cells.some((c) => c.status === 'diverge' || c.status === 'crash')) return EXIT.DIVERGENCE;
  if (r.kernels.some((k) => !k.target || k.error) || cells.some((c) => c.status !== 'match')) return EXIT.CANNOT_TEST;
  return EXIT.OK;
}

export function summary(r: MatrixResult): Record<CellStatus, number> {
  const s: Record<CellStatus, number> = { match: 0, diverge: 0, crash: 0, timeout: 0, infra: 0, untested: 0 };
  for (const k of r.kernels) for (const c of k.cells) s[c.status]++;
  return s;
}

/** The profile rows on which this kernel keeps the pre-7.3 behaviour. */
export function oldRows(p: Profile): string[] {
  return PROFILE_ROWS.filter((row) => !p.rows[row.id]).map((row) => row.id);
}
