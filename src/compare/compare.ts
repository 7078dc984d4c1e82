// Structured comparison of a model prediction with a kernel observation: per call, first the
// result (return value, errno, signal), then the maps snapshot taken after it. The first mismatch
// is the divergence; everything after it is noise.

import type { CallObs, MapsEntry, SeqObservation, Snapshot } from '../seq/observation.js';
import { mapsEntryToString } from '../seq/maps.js';

export type Layer = 'result' | 'maps';

export interface Divergence {
  /** call index; -1 = the arena before the first call */
  call: number;
  layer: Layer;
  /** short classification used in the signature (no addresses) */
  kind: string;
  /** human-readable one-line explanation */
  detail: string;
  model?: CallObs | MapsEntry[];
  kernel?: CallObs | MapsEntry[];
}

function sameRet(a: CallObs, b: CallObs): boolean {
  if (a.errno !== b.errno || a.signal !== b.signal) return false;
  if (a.ret.kind !== b.ret.kind) return false;
  if (a.ret.kind === 'int' && b.ret.kind === 'int') return a.ret.value === b.ret.value;
  if (a.ret.kind === 'addr' && b.ret.kind === 'addr') return a.ret.page === b.ret.page && a.ret.off === b.ret.off;
  return true; // both outside the arena: where exactly is not ours to judge
}

/**
 * Replace (dev, inode) of file-backed entries by an identity number in order of first appearance
 * across all snapshots, so that the model's symbolic shmem files compare with the kernel's inodes.
 */
export function canonicalizeFiles(snaps: readonly Snapshot[]): readonly Snapshot[] {
  // Hot path: most snapshots hold only anonymous memory and need no renaming.
  if (snaps.every((s) => s.maps.every((e) => e.inode === 0 && e.dev === '00:00'))) return snaps;
  const ids = new Map<string, number>();
  return snaps.map((s) => ({
    after: s.after,
    maps: s.maps.map((e) => {
      if (e.inode === 0 && e.dev === '00:00') return e;
      const key = `${e.dev}/${e.inode}`;
      let id = ids.get(key);
      if (id === undefined) ids.set(key, (id = ids.size + 1));
      return { ...e, dev: 'file', inode: id };
    }),
  }));
}

function sameEntry(a: MapsEntry, b: MapsEntry): boolean {
  return a.start === b.start && a.end === b.end && a.perms === b.perms && a.offset === b.offset && a.dev === b.dev && a.inode === b.inode && a.name === b.name;
}

function pagesCovered(m: readonly MapsEntry[]): Set<number> {
  const s = new Set<number>();
  for (const e of m) for (let p = e.start; p < e.end; p++) s.add(p);
  return s;
}

/** Classify a maps mismatch without referring to addresses. */
export function classifyMaps(model: readonly MapsEntry[], kernel: readonly MapsEntry[]): string {
  const mp = pagesCovered(model);
  const kp = pagesCovered(kernel);
  const extra = [...kp].some((p) => !mp.has(p));
  const less = [...mp].some((p) => !kp.has(p));
  if (extra && less) return 'kernel-mapped-elsewhere';
  if (extra) return 'kernel-mapped-more';
  if (less) return 'kernel-mapped-less';
  if (kernel.length < model.length) return 'kernel-merged';
  if (kernel.length > model.length) return 'kernel-split';
  const i = model.findIndex((e, j) => !sameEntry(e, kernel[j]!));
  const a = model[i]!;
  const b = kernel[i]!;
  if (a.start !== b.start || a.end !== b.end) return 'kernel-boundary';
  if (a.perms !== b.perms) return 'perms';
  if (a.offset !== b.offset) return 'offset';
  if (a.dev !== b.dev || a.inode !== b.inode) return 'file';
  return 'name';
}

function describeMaps(model: readonly MapsEntry[], kernel: readonly MapsEntry[]): string {
  const m = model.map(mapsEntryToString).join(', ') || '(empty)';
  const k = kernel.map(mapsEntryToString).join(', ') || '(empty)';
  return `model [${m}] vs kernel [${k}]`;
}

function describeCall(c: CallObs): string {
  return c.signal ? `signal ${c.signal}` : c.errno ? `-1 errno ${c.errno}` : JSON.stringify(c.ret);
}

/** First divergence between prediction and observation, or null when they agree. */
export function firstDivergence(model: SeqObservation, kernel: SeqObservation): Divergence | null {
  const ms = canonicalizeFiles(model.snapshots);
  const ks = canonicalizeFiles(kernel.snapshots);
  // Snapshots are in call order on both sides: walk them with two cursors instead of maps.
  let mi = 0;
  let ki = 0;
  const checkSnap = (i: number): Divergence | null => {
    while (mi < ms.length && ms[mi]!.after < i) mi++;
    while (ki < ks.length && ks[ki]!.after < i) ki++;
    const a = ms[mi]?.after === i ? ms[mi]!.maps : undefined;
    const b = ks[ki]?.after === i ? ks[ki]!.maps : undefined;
    if (!a || !b) return null;
    if (a.length === b.length && a.every((e, j) => sameEntry(e, b[j]!))) return null;
    return { call: i, layer: 'maps', kind: classifyMaps(a, b), detail: describeMaps(a, b), model: a, kernel: b };
  };
  const d0 = checkSnap(-1);
  if (d0) return d0;
  const n = Math.min(model.calls.length, kernel.calls.length);
  for (let i = 0; i < n; i++) {
    const a = model.calls[i]!;
    const b = kernel.calls[i]!;
    if (!sameRet(a, b)) {
      const kind = a.signal !== b.signal ? `signal:${a.signal}!=${b.signal}` : a.errno !== b.errno ? `errno:${a.errno}!=${b.errno}` : `ret:${a.ret.kind}!=${b.ret.kind}`;
      return { call: i, layer: 'result', kind, detail: `model ${describeCall(a)} vs kernel ${describeCall(b)}`, model: a, kernel: b };
    }
    const d = checkSnap(i);
    if (d) return d;
  }
  return null;
}
