// A racing fork with an injected allocation failure (`failNth` on a plain fork in a racing thread,
// src/seq/threads.ts; armed by its own thread, harness-c/threads.c). Whether the k-th allocation
// check exists and whether the failure surfaces is the kernel's choice (src/model/fail-nth.ts);
// what must hold when it surfaced (fork returned an error) is the sequential oracle's, plus the
// readers': kernel/fork.c:dup_mmap copies the parent's VMAs into the child's mm and only reads the
// parent's (under mmap_write_lock, each VMA write-locked), and a failure unwinds the child alone.
// So
//   - the errno is one fork(2) documents for a lack of memory (ENOMEM, EAGAIN);
//   - no child exists (the harness checks with waitpid and reports a child's maps if one ran);
//   - the fork is a no-op of the parent in every linearization: the end state and every maps read
//     are judged as if the fork were not there, and the fork itself never excuses a read (a failing
//     dup_mmap must expose nothing of its own to a concurrent reader of the parent's maps).
// When it did not fire, or fired and fork still succeeded, the ordinary linearization check applies.

import type { Divergence } from '../compare/compare.js';
import { INJECTED_ERRNOS } from '../model/fail-nth.js';
import { errnoName } from '../seq/consts.js';
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';
import { racingCalls, type RacingCall } from '../seq/threads.js';

/** The racing fork carrying failNth (the schema allows one), if any. */
export function armedFork(seq: Pick<Sequence, 'calls' | 'threads'>): RacingCall | undefined {
  return racingCalls(seq).find((r) => r.call.op === 'fork' && r.call.failNth !== undefined);
}

/** The armed racing fork when its injected failure fired and fork returned an error. */
export function failedFork(seq: Pick<Sequence, 'calls' | 'threads'>, kernel: SeqObservation): RacingCall | undefined {
  const f = armedFork(seq);
  const o = f && kernel.calls[f.index];
  return o && o.injected === 'fired' && o.errno !== 0 ? f : undefined;
}

/** The errno and "no child" halves of the oracle for a failed racing fork, or null. */
export function failedForkProblem(fork: RacingCall, kernel: SeqObservation): Divergence | null {
  const o = kernel.calls[fork.index]!;
  const allowed = INJECTED_ERRNOS.fork;
  if (!allowed.includes(o.errno)) {
    return { call: fork.index, layer: 'result', kind: `errno:${allowed[0]}!=${o.errno}`, detail: `racing fork with an injected allocation failure returned ${errnoName(o.errno)}; fork(2) documents ${allowed.map(errnoName).join(' or ')} for a lack of memory` };
  }
  const child = kernel.childMaps?.[fork.index];
  if (child) {
    return { call: fork.index, layer: 'result', kind: 'fork-failed-child-ran', detail: `racing fork failed (injected, ${errnoName(o.errno)}) but a child process existed and reported ${child.length} arena line(s)` };
  }
  return null;
}
