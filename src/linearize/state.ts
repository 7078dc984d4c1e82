// Model states for the linearization search: a copy of one process's Mm (and its Sys) that the
// search can apply a call to without touching the original, and a key that names a state up to
// the identities the model hands out in call order (anon_vma and shmem file numbers), so that two
// orders of commuting calls reach the same key.

import { Mm } from '../model/state.js';
import type { Sys } from '../model/sys.js';

/** A deep copy of a single-process state (concurrent sequences have no fork and no userfaultfd). */
export function cloneMm(mm: Mm): Mm {
  const sys = Object.assign(Object.create(Object.getPrototypeOf(mm.sys) as object) as Sys, mm.sys);
  sys.files = mm.sys.files.map((f) => ({ ...f, cache: new Set(f.cache) }));
  sys.uffds = [...mm.sys.uffds];
  sys.handles = [...mm.sys.handles];
  sys.events = [];
  const c = Object.assign(Object.create(Mm.prototype) as Mm, mm);
  c.vmas = mm.vmas.map((v) => ({ ...v }));
  c.pmd = mm.pmd.slice();
  c.pte = mm.pte.slice();
  c.hits = [];
  c.sys = sys;
  sys.procs = [c];
  sys.current = c;
  return c;
}

/** The state as a string; anon_vma and file identities renumbered by first appearance. */
export function stateKey(mm: Mm): string {
  const anon = new Map<number, number>();
  const file = new Map<number, number>();
  const ren = (m: Map<number, number>, v: number) => {
    if (v <= 0) return v;
    let r = m.get(v);
    if (r === undefined) m.set(v, (r = m.size + 1));
    return r;
  };
  // declared files keep their identity (their index is in the sequence); shmem-anon ones are renamed
  const declared = new Set(mm.sys.files.filter((f) => f.kind !== 'anon').map((f) => f.id));
  const parts: string[] = [];
  for (const v of mm.vmas) {
    const f = declared.has(v.file) ? `d${v.file}` : ren(file, v.file);
    parts.push(`${v.start},${v.end},${v.flags},${v.pgoff},${f},${ren(anon, v.anonVma)},${v.forkChild ? 1 : 0},${v.uffd ?? 0},${v.anonDelta ?? 0},${v.anonName ?? '\u0000'}`);
  }
  parts.push(`o${mm.outside}`, Buffer.from(mm.pte).toString('latin1'), Buffer.from(mm.pmd).toString('latin1'));
  for (const f of mm.sys.files) {
    const id = declared.has(f.id) ? `d${f.id}` : file.has(f.id) ? String(file.get(f.id)) : null;
    if (id === null) continue; // a shmem file no VMA maps any more cannot matter
    parts.push(`f${id}:${f.size}:${[...f.cache].sort((a, b) => a - b).join('.')}`);
  }
  return parts.join('|');
}
