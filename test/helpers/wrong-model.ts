// Deliberately wrong models for the findings-pipeline tests: the real prediction, post-processed.
// They stand for a model bug without touching src/model.

import { modelPredictor, type Predictor } from '../../src/findings/judge.js';
import type { MapsEntry } from '../../src/seq/observation.js';
import type { ApplyCall } from '../../src/linearize/index.js';
import { applyCall, Unsupported, type Prediction } from '../../src/model/index.js';
import { firstProcess, snapshotOf } from '../../src/model/predict.js';
import { Mm } from '../../src/model/state.js';

const anon = (e: MapsEntry) => e.inode === 0 && e.dev === '00:00';

/** Adjacent anonymous VMAs that look identical in /proc/self/maps are merged (the kernel may keep
 *  them apart: different anon_vma, VM_ACCOUNT, VM_NOHUGEPAGE...). */
export function mergeLookalikes(maps: readonly MapsEntry[]): MapsEntry[] {
  const out: MapsEntry[] = [];
  for (const e of maps) {
    const p = out[out.length - 1];
    if (p && p.end === e.start && p.perms === e.perms && p.name === e.name && anon(p) && anon(e)) out[out.length - 1] = { ...p, end: e.end };
    else out.push(e);
  }
  return out;
}

export const wrongMerge: Predictor = (seq, kernel, profile, every) => {
  const p = modelPredictor(seq, kernel, profile, every);
  return { ...p, snapshots: p.snapshots.map((s) => ({ after: s.after, maps: mergeLookalikes(s.maps) })) };
};

/** Every ENOMEM the model predicts is dropped: the call "succeeds". */
export const wrongNoEnomem: Predictor = (seq, kernel, profile, every) => {
  const p = modelPredictor(seq, kernel, profile, every);
  return { ...p, calls: p.calls.map((c) => (c.errno === 12 ? { ret: { kind: 'int' as const, value: 0 }, errno: 0, signal: 0 } : c)) };
};

/** In fork children the model gets the first VMA's VmFlags wrong: it forgets `me` (may-exec) and
 *  claims `dd` (don't-dump); the kernel's difference reads `+me -dd`. */
export const wrongChildFlags: Predictor = (seq, kernel, profile, every) => {
  const p = modelPredictor(seq, kernel, profile, every);
  const wrong = (f: string) => [...f.split(' ').filter((x) => x && x !== 'me'), 'dd'].join(' ');
  return { ...p, snapshots: p.snapshots.map((s) => (s.proc ? { ...s, maps: s.maps.map((e, i) => (i === 0 && e.vmflags ? { ...e, vmflags: wrong(e.vmflags) } : e)) } : s)) };
};

/** The model believes the first present page of the arena is never present. */
export const wrongFirstPage: Predictor = (seq, kernel, profile, every) => {
  const p = modelPredictor(seq, kernel, profile, every);
  return { ...p, snapshots: p.snapshots.map((s) => (s.pagemap?.includes('P') ? { ...s, pagemap: s.pagemap.replace('P', '-') } : s)) };
};

/** The first call the model predicts to fail fails with another errno (EPERM for EINVAL, else EINVAL). */
export const wrongFirstErrno: Predictor = (seq, kernel, profile, every) => {
  const p = modelPredictor(seq, kernel, profile, every);
  const i = p.calls.findIndex((c) => c.errno !== 0);
  return { ...p, calls: p.calls.map((c, j) => (j === i ? { ...c, errno: c.errno === 22 ? 1 : 22 } : c)) };
};

/** The model forgets the first userfaultfd event a call raises. */
export const wrongNoEvent: Predictor = (seq, kernel, profile, every) => {
  const p = modelPredictor(seq, kernel, profile, every);
  const i = p.calls.findIndex((c) => c.event);
  return { ...p, calls: p.calls.map((c, j) => (j === i ? { ret: c.ret, errno: c.errno, signal: c.signal } : c)) };
};

// ---------------------------------------------------------------- a wrong rule inside the model
// For the concurrent oracle (src/linearize) the model is applied call by call, so the wrong rule
// must be a wrong step, not a post-processed prediction; the sequential predictor below runs the
// same wrong step, so both oracles face the same bug.

/** An mprotect that splits a VMA at its start splits it one page too late. */
export const lateSplitApply: ApplyCall = (mm, c, kernel) => {
  const v = c.op === 'mprotect' ? mm.lookup(c.addr.page) : null;
  const at = v && v.start < c.addr.page ? c.addr.page : null;
  const obs = applyCall(mm, c, kernel);
  if (at !== null && obs.errno === 0) {
    const i = mm.findIndex(at);
    const right = mm.vmas[i]!;
    const left = mm.vmas[i - 1]!;
    if (right.start === at && left.end === at && right.end - right.start > 1 && !mm.isFence(right)) {
      left.end++;
      right.start++;
      right.pgoff++;
    }
  }
  return obs;
};

/** The sequential model with `apply` for every call (predict()'s loop, src/model/predict.ts). */
export function predictorWith(apply: ApplyCall): Predictor {
  return (seq, kernel, profile, every) => {
    const first = firstProcess(seq, profile);
    const sys = first.sys;
    const layers = { vmflags: kernel.snapshots.some((s) => s.maps.some((e) => e.vmflags !== undefined)), pagemap: kernel.snapshots.some((s) => s.pagemap !== undefined) };
    const forks = seq.calls.some((c) => c.op === 'fork');
    const snap = (mm: Mm, after: number) => snapshotOf(mm, after, { snapshotEveryCall: every, layers }, forks ? mm.proc : undefined);
    const pred: Prediction = { calls: [], snapshots: [snap(first, -1)], status: 'ok', rules: [] };
    const n = seq.calls.length;
    for (let i = 0; i < n; i++) {
      const mm = sys.current!;
      mm.hits = [];
      sys.events = [];
      let obs;
      try {
        obs = apply(mm, seq.calls[i]!, kernel.calls[i]?.ret);
      } catch (e) {
        if (!(e instanceof Unsupported)) throw e;
        pred.unsupported = { call: i, reason: e.message };
        if (i > 0 && !every) pred.snapshots.push(snap(mm, i - 1));
        break;
      }
      pred.calls.push(sys.events.length ? { ...obs, event: sys.events.join(',') } : obs);
      pred.rules.push(mm.hits);
      if (every || i === n - 1) pred.snapshots.push(snap(sys.current!, i));
      if (i === n - 1) for (let p = sys.current!.proc - 1; p >= 0; p--) pred.snapshots.push(snap(sys.procs[p]!, i));
    }
    return pred;
  };
}
