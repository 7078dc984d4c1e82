// Deliberately wrong models for the findings-pipeline tests: the real prediction, post-processed.
// They stand for a model bug without touching src/model.

import { modelPredictor, type Predictor } from '../../src/findings/judge.js';
import type { MapsEntry } from '../../src/seq/observation.js';

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
