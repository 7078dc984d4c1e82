// The linearization search: is there an order of the racing calls, consistent with each thread's
// program order and with the observed real-time order (a call that ended before another began
// comes first), in which the model gives exactly the observed result of every call, the observed
// final state and a valid listing for every concurrent maps read?
//
// Depth-first over orders, with
// - memoized failures: (per-thread progress, model state) that has no accepted completion is not
//   searched again (keyed with the sleep set it was searched under: a hit needs a subset of it);
// - sleep sets (partial-order reduction): after exploring call a at state S, a sibling b's subtree
//   skips a for as long as a and b commute: both orders from S give the same results and state
//   (checked on the model at S, after a cheap test that their VMA neighbourhoods are disjoint);
// - a bound on model call applications: when it is exhausted the answer is indeterminate.

import { firstDivergence, type Divergence, type Layer } from '../compare/compare.js';
import { applyCall, Unsupported } from '../model/index.js';
import { renderMaps, snapshotOf } from '../model/predict.js';
import type { Mm } from '../model/state.js';
import type { CallObs, CallTiming, MapsEntry, MapsRead, Snapshot } from '../seq/observation.js';
import { mapsEntryToString } from '../seq/maps.js';
import { MADV } from '../seq/consts.js';
import type { RacingCall } from '../seq/threads.js';
import { checkReads, lineKey, type ReadProblem } from './reads.js';
import { footprint, overlaps } from './footprint.js';
import { cloneMm, stateKey } from './state.js';

export interface RaceInput {
  /** the model state after the setup calls */
  start: Mm;
  calls: readonly RacingCall[];
  /** per racing call (same positions as `calls`): what the kernel returned, and when it ran */
  observed: readonly CallObs[];
  timing: readonly CallTiming[];
  final: Snapshot;
  layers: { vmflags?: boolean; pagemap?: boolean };
  reads: readonly MapsRead[];
  /** per racing call (same positions): a racing fork's child's arena maps */
  childMaps?: readonly (MapsEntry[] | undefined)[];
  /** per racing call (same positions): a call known to have changed nothing (a racing fork whose
   *  injected failure surfaced, src/linearize/fail-fork.ts): taken with its observed result and the
   *  state unchanged, and never counted as running during a read */
  noop?: readonly boolean[];
  /** model call applications before giving up (indeterminate) */
  bound: number;
  apply?: (mm: Mm, c: RacingCall['call'], kernel?: CallObs['ret']) => CallObs;
}

/** One order tried and where it stopped (global call indices). */
export interface Candidate {
  order: number[];
  /** the call whose result differed, or null when the order completed but its end state (or a read) did not fit */
  failedAt: number | null;
  layer: Layer | 'reads';
  kind: string;
  detail: string;
}

export interface SearchStats {
  /** model call applications (cache misses) */
  applied: number;
  memoHits: number;
  sleepSkips: number;
  /** complete orders checked against the end state */
  complete: number;
  /** touches accepted as hits of a page table entry not torn down yet */
  staleHits: number;
}

export type SearchResult =
  | { kind: 'pass'; order: number[]; stats: SearchStats }
  | { kind: 'fail'; candidates: Candidate[]; stats: SearchStats }
  | { kind: 'indeterminate'; reason: string; candidates: Candidate[]; stats: SearchStats };

const MAX_CANDIDATES = 5;

class BoundExhausted extends Error {}

interface Step {
  obs: CallObs | null;
  /** a racing fork whose child's maps are not the model's child at this point */
  mismatch?: string;
  unsupported?: string;
  next: Mm | null;
  key: string;
}

export function sameRet(a: CallObs, b: CallObs): boolean {
  if (a.errno !== b.errno || a.signal !== b.signal || (a.event ?? '') !== (b.event ?? '')) return false;
  if (a.ret.kind !== b.ret.kind) return false;
  if (a.ret.kind === 'int' && b.ret.kind === 'int') return a.ret.value === b.ret.value;
  if (a.ret.kind === 'addr' && b.ret.kind === 'addr') return a.ret.page === b.ret.page && a.ret.off === b.ret.off;
  return true;
}

const describe = (c: CallObs) => (c.signal ? `signal ${c.signal}` : c.errno ? `-1 errno ${c.errno}` : JSON.stringify(c.ret));

/**
 * A touch that ends in a signal may have faulted successfully first: the fault handler returns,
 * the access is retried, and a call that changed the VMA meanwhile (unmap, move, mprotect) makes
 * the retried access fault with SIGSEGV (mm/memory.c:handle_mm_fault returns to the instruction,
 * which runs again; arch/x86/mm/fault.c). The first fault's effects (a page, an anon_vma) stay.
 * So such a touch gets an optional event before it: a successful fault, applied or skipped.
 * In orders it is written as -(index + 1).
 */
interface Event {
  call: RacingCall;
  observed: CallObs;
  /** a racing fork: its child's arena maps */
  child?: MapsEntry[] | undefined;
  timing: CallTiming;
  /** the optional first fault of a touch */
  pre: boolean;
  noop?: boolean;
}

const FAULTED: CallObs = { ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 };

const ZAPPING = new Set<number>([MADV.MADV_DONTNEED, MADV.MADV_DONTNEED_LOCKED, MADV.MADV_FREE, MADV.MADV_REMOVE, MADV.MADV_COLD, MADV.MADV_PAGEOUT]);

export function searchLinearization(inp: RaceInput): SearchResult {
  const ev: Event[] = [];
  inp.calls.forEach((call, i) => {
    const observed = inp.observed[i]!;
    const timing = inp.timing[i]!;
    if (call.call.op === 'touch' && observed.signal !== 0) ev.push({ call, observed: FAULTED, timing, pre: true });
    ev.push({ call, observed, timing, pre: false, child: inp.childMaps?.[i], ...(inp.noop?.[i] ? { noop: true } : {}) });
  });
  const threadOf = ev.map((e) => e.call.thread);
  const nthreads = Math.max(0, ...threadOf.map((t) => t + 1));
  const lists: number[][] = Array.from({ length: nthreads }, () => []);
  const posOf: number[] = [];
  ev.forEach((e, i) => {
    posOf.push(lists[e.call.thread]!.length);
    lists[e.call.thread]!.push(i);
  });
  // real-time predecessors: j ended before i began
  const preds = ev.map((_, i) => ev.map((_, j) => j).filter((j) => threadOf[j] !== threadOf[i] && ev[j]!.timing.end < ev[i]!.timing.start));
  const stats: SearchStats = { applied: 0, memoHits: 0, sleepSkips: 0, complete: 0, staleHits: 0 };
  const candidates: Candidate[] = [];
  let unsupported: string | null = null;
  const note = (c: Candidate) => {
    candidates.push(c);
    candidates.sort((a, b) => b.order.length - a.order.length);
    if (candidates.length > MAX_CANDIDATES) candidates.pop();
  };
  const global = (path: number[]) => path.map((i) => (ev[i]!.pre ? -(ev[i]!.call.index + 1) : ev[i]!.call.index));

  const steps = new Map<string, Step>();
  const step = (s: Mm, key: string, i: number): Step => {
    const k = `${key}#${i}`;
    const hit = steps.get(k);
    if (hit) return hit;
    if (++stats.applied > inp.bound) throw new BoundExhausted();
    const next = cloneMm(s);
    let r: Step;
    if (ev[i]!.noop) {
      r = { obs: ev[i]!.observed, next, key };
      steps.set(k, r);
      return r;
    }
    try {
      const obs = (inp.apply ?? applyCall)(next, ev[i]!.call.call, ev[i]!.observed.ret);
      r = { obs, next, key: '' };
      if (ev[i]!.call.call.op === 'fork') {
        // dup_mmap at this point: the child (sys.current) must have the kernel child's maps; it
        // exits at once, so the search goes on with the parent alone
        const child = next.sys.current!;
        next.sys.current = next;
        next.sys.procs = [next];
        const model = renderMaps(child);
        const kernel = ev[i]!.child ?? [];
        if (model.length !== kernel.length || model.some((e, j) => lineKey(e) !== lineKey(kernel[j]!))) {
          r.mismatch = `fork child: model [${model.map(mapsEntryToString).join(', ')}] vs kernel [${kernel.map(mapsEntryToString).join(', ')}]`;
        }
      }
      r.key = stateKey(next);
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      r = { obs: null, unsupported: e.message, next: null, key: '' };
    }
    steps.set(k, r);
    return r;
  };
  // a and b commute at s: both orders give each call the same result and reach the same state
  const commute = (s: Mm, key: string, a: number, b: number): boolean => {
    if (overlaps(footprint(s, ev[a]!.call.call), footprint(s, ev[b]!.call.call))) return false;
    const sa = step(s, key, a);
    const sb = step(s, key, b);
    if (!sa.next || !sb.next) return false;
    const sab = step(sa.next, sa.key, b);
    const sba = step(sb.next, sb.key, a);
    return !!sab.next && !!sba.next && sab.key === sba.key && sameRet(sab.obs!, sb.obs!) && sameRet(sba.obs!, sa.obs!);
  };

  const memo = new Map<string, Set<number>[]>();
  const pos = new Array<number>(nthreads).fill(0);
  const path: number[] = [];
  const states: Mm[] = [inp.start];
  const done = (j: number) => pos[threadOf[j]!]! > posOf[j]!;

  /**
   * A touch the kernel saw succeed where the model, at this point of the order, faults: munmap,
   * mremap and mprotect change the VMA tree first and tear down or write-protect the page tables
   * after (mm/vma.c:vms_complete_munmap_vmas, after the VMAs are detached), so an access that
   * needs no fault still hits the old entry meanwhile. Accepted, with no effect, when in a model
   * state current at some moment of the touch's interval the same access needs no fault (the
   * model's touch succeeds there without changing anything).
   */
  let staleChecks = 0;
  const staleHit = (i: number): boolean => {
    const e = ev[i]!;
    if (e.pre || e.call.call.op !== 'touch' || e.observed.signal !== 0) return false;
    staleChecks++;
    for (let k = path.length - 1; k >= 0; k--) {
      const live = (k === 0 || ev[path[k - 1]!]!.timing.start <= e.timing.end) && ev[path[k]!]!.timing.end >= e.timing.start;
      if (!live) continue;
      const before = states[k]!;
      const probe = cloneMm(before);
      try {
        const r = (inp.apply ?? applyCall)(probe, e.call.call, e.observed.ret);
        if (r.signal === 0 && stateKey(probe) === stateKey(before)) return true;
      } catch (err) {
        if (!(err instanceof Unsupported)) throw err;
      }
    }
    return false;
  };

  /** 'pass', 'clean' (no completion fits the results and end state: memoizable) or 'reads' */
  const dfs = (s: Mm, key: string, sleep: Set<number>): 'pass' | 'clean' | 'reads' => {
    if (pos.every((p, t) => p === lists[t]!.length)) return complete(s);
    const mkey = `${pos.join(',')}|${key}`;
    const failed = memo.get(mkey);
    if (failed?.some((z) => [...z].every((x) => sleep.has(x)))) {
      stats.memoHits++;
      return 'clean';
    }
    const enabled: number[] = [];
    for (let t = 0; t < nthreads; t++) {
      const i = lists[t]![pos[t]!];
      if (i !== undefined && preds[i]!.every(done)) enabled.push(i);
    }
    let verdict: 'clean' | 'reads' = 'clean';
    const checks0 = staleChecks;
    // skipping an optional first fault changes nothing: the same state, one event further
    for (const i of enabled) {
      if (!ev[i]!.pre) continue;
      pos[threadOf[i]!]!++;
      const r = dfs(s, key, sleep);
      pos[threadOf[i]!]!--;
      if (r === 'pass') return 'pass';
      if (r === 'reads') verdict = 'reads';
    }
    const explored: number[] = [];
    for (const i of enabled) {
      if (sleep.has(i)) {
        stats.sleepSkips++;
        continue;
      }
      let st = step(s, key, i);
      let stale = false;
      if (!st.next) {
        unsupported ??= `call ${ev[i]!.call.index}: ${st.unsupported}`;
        explored.push(i);
        continue;
      }
      const want = ev[i]!.observed;
      if (!sameRet(st.obs!, want) && staleHit(i)) {
        // the access hit a page table entry a concurrent call had not torn down yet: no effect
        stats.staleHits++;
        stale = true;
        st = { obs: want, next: s, key };
      }
      if (!sameRet(st.obs!, want)) {
        const k = st.obs!.errno !== want.errno ? `errno:${st.obs!.errno}!=${want.errno}` : st.obs!.signal !== want.signal ? `signal:${st.obs!.signal}!=${want.signal}` : `ret:${st.obs!.ret.kind}!=${want.ret.kind}`;
        // a first fault that does not succeed in the model is just not taken: no candidate
        if (!ev[i]!.pre) note({ order: global([...path, i]), failedAt: ev[i]!.call.index, layer: st.obs!.signal !== want.signal ? 'probe' : 'result', kind: k, detail: `model ${describe(st.obs!)} vs kernel ${describe(want)}` });
        explored.push(i);
        continue;
      }
      if (st.mismatch) {
        note({ order: global([...path, i]), failedAt: ev[i]!.call.index, layer: 'maps', kind: 'fork-child-maps', detail: st.mismatch });
        explored.push(i);
        continue;
      }
      const childSleep = new Set<number>();
      // (a stale hit is no model step: nothing is known to commute with it)
      if (!stale) for (const z of [...sleep, ...explored]) if (commute(s, key, z, i)) childSleep.add(z);
      path.push(i);
      states.push(st.next!);
      pos[threadOf[i]!]!++;
      const r = dfs(st.next!, st.key, childSleep);
      pos[threadOf[i]!]!--;
      states.pop();
      path.pop();
      if (r === 'pass') return 'pass';
      if (r === 'reads') verdict = 'reads';
      explored.push(i);
    }
    // a stale hit depends on the states before this one, which the memo key does not hold
    if (verdict === 'clean' && staleChecks === checks0) {
      const list = memo.get(mkey) ?? [];
      list.push(new Set(sleep));
      memo.set(mkey, list);
    }
    return verdict;
  };

  const complete = (s: Mm): 'pass' | 'clean' | 'reads' => {
    stats.complete++;
    const model = snapshotOf(s, -1, { snapshotEveryCall: false, layers: inp.layers });
    if (model.pagemap && unsettled.length) model.pagemap = [...model.pagemap].map((c, p) => (unsettled.some(([a, b]) => a <= p && p < b) ? '?' : c)).join('');
    const kernel: Snapshot = { ...inp.final, after: -1 };
    delete kernel.proc;
    const d: Divergence | null = firstDivergence({ calls: [], snapshots: [model], status: 'ok' }, { calls: [], snapshots: [kernel], status: 'ok' });
    if (d) {
      note({ order: global(path), failedAt: null, layer: d.layer, kind: d.kind, detail: `end state: ${d.detail}` });
      return 'clean';
    }
    const p: ReadProblem | null = checkReads(inp.reads, states, path.map((i) => ev[i]!.timing), path.map((i) => ev[i]!.call.call), path.map((i) => !!ev[i]!.noop));
    if (p) {
      note({ order: global(path), failedAt: null, layer: 'reads', kind: p.kind, detail: p.detail });
      return 'reads';
    }
    passOrder = global(path);
    return 'pass';
  };

  // Zapping advice works page by page under mmap_lock held for reading or the VMA's lock
  // (mm/madvise.c:madvise_dontneed_free -> zap_page_range_single; madvise_cold_or_pageout), so a
  // fault running meanwhile can map a page the zap already passed (fault-around included) or one
  // it reaches later: where such a call ran at the same time as another racing call, whether a
  // page ends up present is not decided by the order.
  const unsettled: [number, number][] = [];
  inp.calls.forEach((c, i) => {
    const call = c.call;
    if (call.op !== 'madvise' || !ZAPPING.has(call.advice)) return;
    const t = inp.timing[i]!;
    if (!inp.calls.some((o, j) => j !== i && o.thread !== c.thread && inp.timing[j]!.start <= t.end && t.start <= inp.timing[j]!.end)) return;
    const f = footprint(inp.start, call);
    unsettled.push(f === 'all' ? [0, inp.start.arenaPages] : [Math.max(0, f[0]), f[1]]);
  });

  let passOrder: number[] = [];
  try {
    if (dfs(inp.start, stateKey(inp.start), new Set()) === 'pass') return { kind: 'pass', order: passOrder, stats };
  } catch (e) {
    if (!(e instanceof BoundExhausted)) throw e;
    return { kind: 'indeterminate', reason: `search bound of ${inp.bound} model call applications exhausted`, candidates, stats };
  }
  if (unsupported) return { kind: 'indeterminate', reason: `the model cannot predict ${unsupported}`, candidates, stats };
  return { kind: 'fail', candidates, stats };
}
