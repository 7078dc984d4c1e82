// `vmafuzz replay FILE --fail-sweep CALL`: inject an allocation failure at every k (failNth = 1, 2,
// ...) into one call of a sequence, until k exceeds the allocations the call makes (the injection
// no longer fires). Per k: whether it fired, the call's result, whether the mm (for fork: the
// parent) is exactly as before the call and no child ran, and the model's verdict on the run.

import { divergenceOf, predictAgainst } from '../../campaign/check.js';
import { errnoName } from '../../seq/consts.js';
import type { SeqObservation, Snapshot } from '../../seq/observation.js';
import type { Sequence } from '../../seq/schema.js';
import type { Profile } from '../../model/index.js';
import type { Runner } from '../../runner/types.js';
import { DETAIL_RUN } from '../../runner/types.js';
import { MAX_FAIL_NTH } from '../../seq/fail-nth.js';

export interface SweepStep {
  k: number;
  injected: 'fired' | 'not-fired' | 'unavailable' | 'none';
  /** the call's errno (0 = success) */
  errno: number;
  /** the mm after the call equals the mm before it (maps, VmFlags, pagemap of the process that made the call) */
  unchanged: boolean;
  /** fork only: a child process ran (its snapshots are in the run) */
  child: boolean | null;
  kernelStatus: string;
  verdict: 'match' | 'diverge' | 'indeterminate';
  detail: string;
}

const same = (a: Snapshot | undefined, b: Snapshot | undefined) => !!a && !!b && JSON.stringify(a.maps) === JSON.stringify(b.maps) && (a.pagemap ?? '') === (b.pagemap ?? '');

/** The sweep's reading of one run of `seq` with failNth on call `call`. */
export function sweepStep(seq: Sequence, call: number, k: number, kernel: SeqObservation, profile: Profile): SweepStep {
  const c = kernel.calls[call];
  const proc0 = kernel.snapshots.filter((s) => (s.proc ?? 0) === 0);
  const before = proc0.filter((s) => s.after === call - 1).at(-1);
  const after = proc0.find((s) => s.after === call);
  const model = predictAgainst(seq, kernel, profile, true);
  const d = kernel.status === 'ok' || kernel.status === 'crash' ? divergenceOf(seq, model, kernel) : null;
  const verdict = d ? 'diverge' : kernel.status !== 'ok' || model.unsupported ? 'indeterminate' : 'match';
  return {
    k,
    injected: c?.injected ?? 'none',
    errno: c?.errno ?? -1,
    unchanged: same(before, after),
    child: seq.calls[call]!.op === 'fork' ? kernel.snapshots.some((s) => (s.proc ?? 0) > 0) : null,
    kernelStatus: kernel.status + (kernel.detail ? ` ${kernel.detail}` : ''),
    verdict,
    detail: d ? `${d.layer} at call ${d.call} (${d.kind}): ${d.detail}` : model.unsupported ? `model: ${model.unsupported.reason}` : '',
  };
}

export function formatStep(s: SweepStep): string {
  const res = s.errno === 0 ? 'ok' : s.errno < 0 ? 'not run' : errnoName(s.errno);
  const child = s.child === null ? '' : s.child ? ', child ran' : ', no child';
  // the oracle's "as before" is about a failed call; a call that succeeded is judged by the model
  const mm = s.errno > 0 ? `, mm ${s.unchanged ? 'unchanged' : 'CHANGED'}` : '';
  return `k=${s.k}: ${s.injected}, ${res}${mm}${child} -> ${s.verdict.toUpperCase()}${s.detail ? ` (${s.detail})` : ''}`;
}

/**
 * Sweep k = 1, 2, ... (in batches) until the injection stops firing or `maxK`. Stops early at a
 * run that did not finish (a crash report on the console says why).
 */
export async function failSweep(runner: Runner, profile: Profile, seq: Sequence, call: number, o: { maxK?: number; batch?: number; onStep?: (s: SweepStep) => void } = {}): Promise<SweepStep[]> {
  const maxK = Math.min(o.maxK ?? 1000, MAX_FAIL_NTH);
  const batch = o.batch ?? 8;
  const steps: SweepStep[] = [];
  for (let k0 = 1; k0 <= maxK; k0 += batch) {
    const ks = Array.from({ length: Math.min(batch, maxK - k0 + 1) }, (_, i) => k0 + i);
    const seqs = ks.map((k) => ({ ...seq, calls: seq.calls.map((c, i) => (i === call ? { ...c, failNth: k } : c)) }) as Sequence);
    const runs = await runner.run(seqs, DETAIL_RUN);
    for (let i = 0; i < ks.length; i++) {
      const s = sweepStep(seqs[i]!, call, ks[i]!, runs[i]!, profile);
      steps.push(s);
      o.onStep?.(s);
      if (s.injected !== 'fired' || s.kernelStatus.startsWith('timeout') || s.kernelStatus.startsWith('infra')) return steps;
    }
  }
  return steps;
}
