// Concurrent sequences. A sequence with `threads` runs its `calls` serially (the setup), then each
// thread's list in its own racing thread, all released together; a `{ "op": "sync" }` entry is a
// barrier of every racing thread (all must hold the same number). `readers` threads read
// /proc/self/maps over and over meanwhile. Racing calls are numbered after the setup calls, thread
// by thread, syncs skipped: that global index is the one in observations and findings.
//
// This module must not use schema.ts's exports at load time (schema.ts imports it).

import { UsageError } from '../util/errors.js';
import { arenaProblem, MAX_CALL_PAGES, type Call, type Sequence, type ThreadCall } from './schema.js';

export { MAX_READERS, MAX_THREADS } from './schema.js';
/** racing calls per thread: the linearization search is exponential in them */
export const MAX_THREAD_CALLS = 12;

// Fault injection: a racing plain `fork` may carry `failNth` (judged by src/linearize/fail-fork.ts);
// its thread arms its own /proc/thread-self/fail-nth, the readers and other threads stay unarmed. No
// other racing call and no setup call may (the linearization oracle models no other injected failure).
/** Ops a racing thread cannot run: userfaultfd needs the serial harness's resolver; so does the
 *  exec probe (single-stepping). A racing `fork` is dup_mmap racing with the other threads: its
 *  child reports its maps and exits (harness-c/threads.c). The setup of a concurrent sequence has
 *  neither fork nor userfaultfd (a serial fork would run the rest in the child). Fork blocks
 *  (`fork until exit` ... `exit`) and the byte probe stay serial too: the block's child and the
 *  probe's fault recovery belong to the serial harness (harness-c/child.c, ops.c:exec_probe). */
const NOT_RACING = new Set<string>(['uffd_create', 'uffd_register', 'uffd_unregister', 'exit', 'probe']);
const NOT_SETUP = new Set<string>(['fork', ...NOT_RACING]);
export const MAX_RACING_FORKS = 4;

export interface RacingCall {
  /** global call index (after the setup calls) */
  index: number;
  thread: number;
  /** position in its thread among the non-sync calls */
  pos: number;
  /** barriers its thread passed before it */
  syncsBefore: number;
  call: Call;
}

export function isConcurrent(seq: Pick<Sequence, 'threads'>): boolean {
  return (seq.threads?.length ?? 0) > 0;
}

const isSync = (c: ThreadCall): c is { op: 'sync' } => c.op === 'sync';

/** The racing calls in global order (thread 0's, then thread 1's, ...). */
export function racingCalls(seq: Pick<Sequence, 'calls' | 'threads'>): RacingCall[] {
  const out: RacingCall[] = [];
  let index = seq.calls.length;
  (seq.threads ?? []).forEach((t, thread) => {
    let syncs = 0;
    let pos = 0;
    for (const c of t.calls) {
      if (isSync(c)) syncs++;
      else out.push({ index: index++, thread, pos: pos++, syncsBefore: syncs, call: c });
    }
  });
  return out;
}

/** Every call in global order: the setup calls, then the racing ones. */
export function allCalls(seq: Pick<Sequence, 'calls' | 'threads'>): Call[] {
  return [...seq.calls, ...racingCalls(seq).map((r) => r.call)];
}

/** Barriers in each thread's list. */
export function syncCount(calls: readonly ThreadCall[]): number {
  return calls.filter(isSync).length;
}

/** Schema checks of the threads form (called from sequenceSchema's superRefine). */
export function threadsProblems(seq: Sequence, issue: (path: (string | number)[], message: string) => void): void {
  if (!seq.threads) {
    if (seq.readers) issue(['readers'], 'readers need threads (a concurrent sequence)');
    return;
  }
  seq.calls.forEach((c, i) => {
    if (NOT_SETUP.has(c.op)) issue(['calls', i], `${c.op} cannot be in the setup of a concurrent sequence (a serial fork runs the rest in the child; userfaultfd needs the serial harness)`);
    // the concurrent oracle applies setup calls plainly (src/linearize): no injected failure there
    if ('failNth' in c && c.failNth !== undefined) issue(['calls', i, 'failNth'], 'fault injection is not in the setup of a concurrent sequence (only a racing fork may carry failNth)');
  });
  const nfiles = seq.files?.length ?? 0;
  const syncs0 = syncCount(seq.threads[0]!.calls);
  let total = seq.calls.length;
  seq.threads.forEach((t, ti) => {
    const n = t.calls.filter((c) => !isSync(c)).length;
    total += n;
    if (n > MAX_THREAD_CALLS) issue(['threads', ti, 'calls'], `${n} calls in thread ${ti}: at most ${MAX_THREAD_CALLS} per racing thread`);
    if (syncCount(t.calls) !== syncs0) issue(['threads', ti, 'calls'], `thread ${ti} has ${syncCount(t.calls)} sync(s), thread 0 has ${syncs0}: every thread must pass the same barriers`);
    t.calls.forEach((c, ci) => {
      if (isSync(c)) return;
      const path = ['threads', ti, 'calls', ci];
      if (NOT_RACING.has(c.op)) issue(path, `${c.op} cannot run in a racing thread`);
      if (c.op === 'touch' && c.access === 'exec') issue(path, 'the exec probe (single-stepping) cannot run in a racing thread');
      if (c.op === 'fork' && c.until) issue(path, 'a fork block cannot run in a racing thread (only a plain racing fork)');
      if ('failNth' in c && c.failNth !== undefined && c.op !== 'fork') issue([...path, 'failNth'], `fault injection in a racing thread is for a plain fork only (the thread arms its own fail-nth around the fork syscall, harness-c/threads.c); not on ${c.op}`);
      const problem = arenaProblem(c, seq.arenaPages);
      if (problem) issue(path, problem);
      const file = c.op === 'mmap' ? c.fd : c.op === 'ftruncate' ? c.file : undefined;
      if (file !== undefined && file >= nfiles) issue([...path, c.op === 'mmap' ? 'fd' : 'file'], `file ${file} is not declared (the sequence declares ${nfiles} file(s))`);
    });
  });
  const forks = seq.threads.reduce((n, t) => n + t.calls.filter((c) => c.op === 'fork').length, 0);
  if (forks > MAX_RACING_FORKS) issue(['threads'], `${forks} racing forks: at most ${MAX_RACING_FORKS}`);
  // a failing fork's "no child exists" is checked with waitpid(-1): no other racing fork's child may be around
  const armed = racingCalls(seq).filter((r) => r.call.op === 'fork' && r.call.failNth !== undefined);
  if (armed.length && forks > 1) issue(['threads', armed[0]!.thread, 'calls'], `a racing fork with failNth must be the only racing fork (the sequence has ${forks})`);
  if (total * seq.arenaPages > MAX_CALL_PAGES) issue(['threads'], `${total} calls on a ${seq.arenaPages}-page arena: over the calls x arenaPages limit of ${MAX_CALL_PAGES}`);
}

/** Commands that judge sequences one call after another refuse concurrent ones, saying so. */
export function refuseConcurrent(seq: Pick<Sequence, 'threads'>, file: string, command: string): void {
  if (isConcurrent(seq)) throw new UsageError(`${file} is a concurrent sequence (threads): ${command} does not judge those yet; use replay, minimize, repro or fuzz --threads`);
}
