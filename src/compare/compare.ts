// Structured comparison of a model prediction with a kernel observation: per call, first the
// result (return value, errno, signal), then the maps snapshot taken after it. The first mismatch
// is the divergence; everything after it is noise.

import type { CallObs, MapsEntry, SeqObservation, Snapshot } from '../seq/observation.js';
import { canonicalFileName, mapsEntryToString } from '../seq/maps.js';

/** Oracle layers in the order they are checked for each call. */
export type Layer = 'result' | 'probe' | 'maps' | 'vmflags' | 'pagemap';

export interface Divergence {
  /** call index; -1 = the arena before the first call */
  call: number;
  layer: Layer;
  /** short classification used in the signature (no addresses) */
  kind: string;
  /** human-readable one-line explanation */
  detail: string;
  /** process of the snapshot (fork children are 1, 2, …) */
  proc?: number;
  model?: CallObs | MapsEntry[] | string;
  kernel?: CallObs | MapsEntry[] | string;
}

function sameRet(a: CallObs, b: CallObs): boolean {
  if (a.errno !== b.errno || a.signal !== b.signal || (a.event ?? '') !== (b.event ?? '')) return false;
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
    ...s,
    maps: s.maps.map((e) => {
      if (e.inode === 0 && e.dev === '00:00') return e;
      const key = `${e.dev}/${e.inode}`;
      let id = ids.get(key);
      if (id === undefined) ids.set(key, (id = ids.size + 1));
      return { ...e, dev: 'file', inode: id, name: canonicalFileName(e.name) };
    }),
  }));
}

function samePagemap(model: string, kernel: string): boolean {
  if (model.length !== kernel.length) return false;
  for (let i = 0; i < model.length; i++) if (model[i] !== '?' && model[i] !== kernel[i]) return false;
  return true;
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
  const ev = c.event ? ` (uffd event ${c.event})` : '';
  return (c.signal ? `signal ${c.signal}` : c.errno ? `-1 errno ${c.errno}` : JSON.stringify(c.ret)) + ev;
}

/** Compare the layers of one snapshot: maps, then VmFlags, then pagemap (each only if both sides have it). */
function compareSnapshot(a: Snapshot, b: Snapshot): Divergence | null {
  const call = a.after;
  const proc = a.proc ?? 0;
  const where = { proc };
  const am = a.maps;
  const bm = b.maps;
  if (am.length !== bm.length || !am.every((e, j) => sameEntry(e, bm[j]!))) {
    return { call, layer: 'maps', kind: classifyMaps(am, bm), detail: describeMaps(am, bm), model: am, kernel: bm, ...where };
  }
  const j = am.findIndex((e, k) => e.vmflags !== undefined && bm[k]!.vmflags !== undefined && normFlags(e.vmflags) !== normFlags(bm[k]!.vmflags!));
  if (j >= 0) {
    const mf = new Set(normFlags(am[j]!.vmflags!).split(' '));
    const kf = new Set(normFlags(bm[j]!.vmflags!).split(' '));
    const extra = [...kf].filter((f) => f && !mf.has(f));
    const missing = [...mf].filter((f) => f && !kf.has(f));
    const kind = `vmflags:${extra.map((f) => '+' + f).join('')}${missing.map((f) => '-' + f).join('')}`;
    return { call, layer: 'vmflags', kind, detail: `${mapsEntryToString(am[j]!)}: model "${am[j]!.vmflags}" vs kernel "${bm[j]!.vmflags}"`, model: am, kernel: bm, ...where };
  }
  if (a.pagemap !== undefined && b.pagemap !== undefined && !samePagemap(a.pagemap, b.pagemap)) {
    let k = 0;
    while (k < a.pagemap.length && (a.pagemap[k] === '?' || a.pagemap[k] === b.pagemap[k])) k++;
    const kind = `pagemap:${a.pagemap[k] ?? ''}!=${b.pagemap[k] ?? ''}`;
    return { call, layer: 'pagemap', kind, detail: `page A+${k}p: model '${a.pagemap[k]}' vs kernel '${b.pagemap[k]}' (model ${a.pagemap} vs kernel ${b.pagemap})`, model: a.pagemap, kernel: b.pagemap, ...where };
  }
  return null;
}

const normFlags = (f: string) => f.trim().split(/\s+/).sort().join(' ');

/** First divergence between prediction and observation, or null when they agree. */
export function firstDivergence(model: SeqObservation, kernel: SeqObservation): Divergence | null {
  const ms = canonicalizeFiles(model.snapshots);
  const ks = canonicalizeFiles(kernel.snapshots);
  // Kernel snapshots by (call, process); the model's are walked in order.
  const key = (s: Snapshot) => s.after * 64 + (s.proc ?? 0);
  const kernelSnap = new Map<number, Snapshot>();
  for (const s of ks) kernelSnap.set(key(s), s);
  let mi = 0;
  const checkSnaps = (i: number): Divergence | null => {
    while (mi < ms.length && ms[mi]!.after < i) mi++;
    for (; mi < ms.length && ms[mi]!.after === i; mi++) {
      const b = kernelSnap.get(key(ms[mi]!));
      if (!b) continue;
      const d = compareSnapshot(ms[mi]!, b);
      if (d) return d;
    }
    return null;
  };
  const d0 = checkSnaps(-1);
  if (d0) return d0;
  const n = Math.min(model.calls.length, kernel.calls.length);
  for (let i = 0; i < n; i++) {
    const a = model.calls[i]!;
    const b = kernel.calls[i]!;
    if (!sameRet(a, b)) {
      const probe = a.signal !== b.signal || (a.event ?? '') !== (b.event ?? '');
      const kind =
        a.signal !== b.signal ? `signal:${a.signal}!=${b.signal}` : a.errno !== b.errno ? `errno:${a.errno}!=${b.errno}` : probe ? `event:${a.event ?? ''}!=${b.event ?? ''}` : `ret:${a.ret.kind}!=${b.ret.kind}`;
      return { call: i, layer: probe && a.errno === b.errno ? 'probe' : 'result', kind, detail: `model ${describeCall(a)} vs kernel ${describeCall(b)}`, model: a, kernel: b };
    }
    const d = checkSnaps(i);
    if (d) return d;
  }
  return null;
}
