// The `replay --fail-sweep CALL` branch of `vmafuzz replay` (src/cli/commands/fail-sweep.ts).

import type { Profile } from '../../model/index.js';
import type { Runner } from '../../runner/types.js';
import type { Sequence } from '../../seq/schema.js';
import { EXIT, UsageError } from '../../util/errors.js';
import { log, write } from '../common.js';
import { z } from 'zod';
import { failSweep, formatStep, type SweepStep } from './fail-sweep.js';

export const SWEEP_JSON_VERSION = 1;
/** The fields of one k that both sweeps report (the concurrent one adds reads, src/cli/commands/fail-sweep-threads.ts). */
export const sweepStepFields = {
  k: z.number().int().min(1),
  injected: z.enum(['fired', 'not-fired', 'unavailable', 'none']),
  errno: z.number().int(),
  unchanged: z.boolean(),
  kernelStatus: z.string(),
  verdict: z.enum(['match', 'diverge', 'indeterminate']),
  detail: z.string(),
};
const sweepJson = z.strictObject({
  vmafuzz: z.literal(SWEEP_JSON_VERSION),
  command: z.literal('replay --fail-sweep'),
  release: z.string(),
  call: z.number().int().min(0),
  files: z.array(
    z.strictObject({
      file: z.string(),
      op: z.string(),
      steps: z.array(
        z.strictObject({ ...sweepStepFields, child: z.boolean().nullable() }),
      ),
    }),
  ),
  exitCode: z.number().int(),
});

/** Exit code: 1 if some k diverged, 125 if the kernel has no fail-nth or nothing was judged, else 0. */
export async function sweepFiles(runner: Runner, profile: Profile, facts: Record<string, string>, seqs: Sequence[], files: string[], o: Record<string, unknown>): Promise<number> {
  const call = Number(o.failSweep);
  const maxK = Number(o.maxK ?? 1000);
  if (!Number.isInteger(maxK) || maxK < 1) throw new UsageError(`--max-k: expected a positive integer, got ${JSON.stringify(o.maxK)}`);
  if (!Number.isInteger(call) || call < 0) throw new UsageError(`--fail-sweep: expected a call index (0-based), got ${JSON.stringify(o.failSweep)}`);
  if (facts.fail_nth !== '1') {
    log(`vmafuzz: --fail-sweep needs /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION); the kernel ${facts.release ?? ''} has none (hello fail_nth=${facts.fail_nth ?? '?'}): use a kernel from \`vmafuzz kernels build VERSION --with fault-injection\``);
    return EXIT.CANNOT_TEST;
  }
  let code: number = EXIT.OK;
  let judged = 0;
  const json = o.json === true;
  const say = (t: string) => (json ? undefined : write(t));
  const docs: { file: string; op: string; steps: SweepStep[] }[] = [];
  for (let f = 0; f < seqs.length; f++) {
    const seq = seqs[f]!;
    if (call >= seq.calls.length) throw new UsageError(`${files[f]}: --fail-sweep ${call}: the sequence has ${seq.calls.length} calls`);
    const op = seq.calls[call]!.op;
    if (op === 'touch' || op === 'probe' || op === 'exit') throw new UsageError(`${files[f]}: --fail-sweep ${call}: call ${call} is a ${op} (failNth needs a system call)`);
    say(`${files[f]}: sweeping failNth on call ${call} (${seq.calls[call]!.op})\n`);
    const t0 = Date.now();
    const steps = await failSweep(runner, profile, seq, call, { maxK, onStep: (s) => say(`  ${formatStep(s)}\n`) });
    docs.push({ file: files[f]!, op: seq.calls[call]!.op, steps });
    const fired = steps.filter((s) => s.injected === 'fired');
    const failed = fired.filter((s) => s.errno !== 0);
    const div = steps.filter((s) => s.verdict === 'diverge');
    judged += steps.filter((s) => s.verdict !== 'indeterminate').length;
    const last = steps.at(-1);
    const end = last && last.injected !== 'fired' ? `the call makes ${last.k - 1} allocation check(s)` : `stopped at k=${last?.k ?? 0}`;
    say(`  ${steps.length} runs in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${end}; ${fired.length} injected, ${failed.length} surfaced as errors (all with the mm unchanged: ${failed.every((s) => s.unchanged) ? 'yes' : 'NO'}), ${div.length} divergent\n`);
    if (div.length) code = EXIT.DIVERGENCE;
  }
  const exitCode = code === EXIT.OK && judged === 0 ? EXIT.CANNOT_TEST : code;
  if (json) process.stdout.write(JSON.stringify(sweepJson.parse({ vmafuzz: SWEEP_JSON_VERSION, command: 'replay --fail-sweep', release: facts.release ?? '', call, files: docs, exitCode }), null, 2) + '\n');
  return exitCode;
}
