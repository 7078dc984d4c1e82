// `failNth: k` on a call: the k-th fault-injection check (slab or page allocation, ...) inside that
// call fails, through /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION; harness-c/failnth.c).
// Only kernels built with fault injection (`vmafuzz kernels build VERSION --with fault-injection`)
// have it; the harness says so in its hello line (`fail_nth=1`).

import { z } from 'zod';

/** Bound on k: a call that makes more allocation checks than this is swept no further. */
export const MAX_FAIL_NTH = 10_000;

export const failNthField = z
  .number()
  .int()
  .min(1)
  .max(MAX_FAIL_NTH)
  .optional()
  .describe('fault injection: fail the k-th allocation inside this call (/proc/thread-self/fail-nth); needs a kernel with CONFIG_FAULT_INJECTION');

/** Whether a sequence injects failures (then it needs a kernel whose hello says fail_nth=1). */
export function injectsFailures(calls: readonly { failNth?: number | undefined }[]): boolean {
  return calls.some((c) => c.failNth !== undefined);
}
