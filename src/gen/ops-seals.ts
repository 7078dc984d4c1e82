// Generation of memfd seals (memfd_create flags of declared files, fcntl F_ADD_SEALS and what it
// refuses afterwards) and of forks whose child runs a block and exits while the parent goes on.
// The interesting layouts are built on purpose: a seal added while a shared mapping exists
// (EBUSY), a shared mapping of a write-sealed file made read-only (no VM_MAYWRITE: mprotect
// EACCES), a sealed size; and a fork of faulted, WIPEONFORK or guarded memory whose child writes,
// unmaps or reprotects before it exits, and a parent that acts on the same range afterwards.

import { MADV, MAP, PAGE_SIZE } from '../seq/consts.js';
import { F_SEAL, MFD } from '../seq/seals.js';
import { MAX_UFFDS, type Call, type FileDecl } from '../seq/schema.js';
import type { ArenaAllocator, Picks } from './alloc.js';
import { filesCtx } from './ops-files.js';

const P = BigInt(PAGE_SIZE);

/** memfd_create flags for a generated memfd (MFD_ALLOW_SEALING most often). */
export function pickMfdFlags(p: Picks, f: FileDecl): void {
  if (f.kind !== 'memfd') return;
  const roll = p.int(100);
  if (roll < 40) f.flags = MFD.MFD_ALLOW_SEALING;
  else if (roll < 55) f.flags = MFD.MFD_NOEXEC_SEAL;
  else if (roll < 65) f.flags = MFD.MFD_EXEC | (p.chance(50) ? MFD.MFD_ALLOW_SEALING : 0);
}

const SEAL_CHANCES: ReadonlyArray<readonly [number, number]> = [
  [F_SEAL.F_SEAL_WRITE, 35], [F_SEAL.F_SEAL_FUTURE_WRITE, 25], [F_SEAL.F_SEAL_SHRINK, 30],
  [F_SEAL.F_SEAL_GROW, 30], [F_SEAL.F_SEAL_SEAL, 12], [F_SEAL.F_SEAL_EXEC, 15],
];

function pickSeals(p: Picks, invalid: boolean): number {
  let s = 0;
  for (const [bit, pct] of SEAL_CHANCES) if (p.chance(pct)) s |= bit;
  if (invalid) s |= [0x40, 0x100, 0x80000000][p.int(3)]!;
  return s >>> 0;
}

function touchAny(p: Picks, a: ArenaAllocator): Call {
  return { op: 'touch', addr: { page: a.page(p), off: 0 }, access: p.chance(55) ? 'write' : 'read' };
}

/** add_seals on a declared file, half the time inside a scenario around a shared mapping of it. */
export function genAddSeals(p: Picks, a: ArenaAllocator, invalid: boolean): Call {
  const ctx = filesCtx(a);
  if (!ctx.files.length) return touchAny(p, a);
  const file = p.int(ctx.files.length);
  if (invalid || p.chance(50)) return { op: 'add_seals', file, seals: pickSeals(p, invalid) };
  const f = ctx.files[file]!;
  const pages = Math.max(1, Math.min(4, Number((f.size + P - 1n) / P)));
  const r = a.range(p);
  if (r.page + pages > a.arenaPages) return { op: 'add_seals', file, seals: pickSeals(p, false) };
  const at = { page: r.page, off: 0 };
  const len = BigInt(pages) * P;
  const seal = p.chance(60) ? F_SEAL.F_SEAL_WRITE : F_SEAL.F_SEAL_FUTURE_WRITE;
  const out: Call[] = [
    // a shared mapping (writable or not: both are VM_MAYWRITE) pins i_mmap_writable
    { op: 'mmap', addr: at, len, prot: p.chance(50) ? 0x3 : 0x1, flags: MAP.MAP_SHARED | MAP.MAP_FIXED, fd: file, offset: 0n },
    { op: 'add_seals', file, seals: seal | (p.chance(30) ? F_SEAL.F_SEAL_SHRINK : 0) },
  ];
  if (p.chance(60)) {
    out.push({ op: 'munmap', addr: at, len });
    out.push({ op: 'add_seals', file, seals: seal });
  }
  // after the seal: a shared writable mapping is refused, a read-only one cannot become writable
  out.push({ op: 'mmap', addr: at, len, prot: p.chance(40) ? 0x3 : 0x1, flags: MAP.MAP_SHARED | MAP.MAP_FIXED, fd: file, offset: 0n });
  out.push({ op: 'mprotect', addr: at, len, prot: 0x3 });
  if (p.chance(40)) out.push({ op: 'madvise', addr: at, len, advice: MADV.MADV_REMOVE });
  if (p.chance(40)) out.push({ op: 'ftruncate', file, len: p.chance(50) ? 0n : f.size + P });
  ctx.pending.push(...out.slice(1));
  return out[0]!;
}

/**
 * fork {until: exit}: prepare a range (write-faulted, sometimes WIPEONFORK, DONTFORK or guarded),
 * fork; the child touches, reprotects or unmaps part of it and exits; the parent then touches it
 * and changes its neighbourhood (its VMAs are no fork children: they still merge).
 */
export function forkBlockScenario(p: Picks, a: ArenaAllocator): Call {
  const ctx = filesCtx(a);
  if (p.chance(50)) {
    // the child runs 1-6 calls of the ordinary generator (any family but fork), then exits
    ctx.pendingBlock = 1 + p.int(6);
    return { op: 'fork', until: 'exit' };
  }
  const r: { page: number; pages: number } = ctx.ranges.length ? ctx.ranges[p.int(ctx.ranges.length)]! : a.range(p);
  const at = (k: number) => ({ page: r.page + Math.min(k, r.pages - 1), off: 0 });
  const out: Call[] = [{ op: 'touch', addr: at(p.int(r.pages)), access: 'write' }];
  const prep = p.int(100);
  if (prep < 25) out.push({ op: 'madvise', addr: at(0), len: BigInt(r.pages) * P, advice: MADV.MADV_WIPEONFORK });
  else if (prep < 35) out.push({ op: 'madvise', addr: at(0), len: BigInt(r.pages) * P, advice: MADV.MADV_DONTFORK });
  else if (prep < 55) out.push({ op: 'madvise', addr: at(p.int(r.pages)), len: P, advice: MADV.MADV_GUARD_INSTALL });
  if (ctx.uffds < MAX_UFFDS && p.chance(30)) {
    // a registered range: the child gets its own context and the parent's reads a fork event
    out.push({ op: 'uffd_create', features: 0x2 /* UFFD_FEATURE_EVENT_FORK */ });
    out.push({ op: 'uffd_register', uffd: ctx.uffds, addr: at(0), len: BigInt(r.pages) * P, mode: 1 /* MISSING */ });
  }
  out.push({ op: 'fork', until: 'exit' });
  for (let k = 1 + p.int(3); k > 0; k--) {
    const roll = p.int(100);
    const page = p.int(r.pages);
    if (roll < 45) out.push({ op: 'touch', addr: at(page), access: p.chance(60) ? 'write' : 'read' });
    else if (roll < 65) out.push({ op: 'mprotect', addr: at(page), len: P, prot: p.chance(50) ? 0x1 : 0x3 });
    else if (roll < 80) out.push({ op: 'munmap', addr: at(page), len: P });
    else out.push({ op: 'madvise', addr: at(page), len: P, advice: [MADV.MADV_DONTNEED, MADV.MADV_KEEPONFORK, MADV.MADV_GUARD_REMOVE][p.int(3)]! });
  }
  out.push({ op: 'exit' });
  out.push({ op: 'touch', addr: at(p.int(r.pages)), access: p.chance(50) ? 'write' : 'read' });
  if (r.pages > 1 && p.chance(50)) {
    const cut = 1 + p.int(r.pages - 1);
    out.push({ op: 'mprotect', addr: at(cut), len: BigInt(r.pages - cut) * P, prot: 0x1 });
    out.push({ op: 'mprotect', addr: at(cut), len: BigInt(r.pages - cut) * P, prot: 0x3 });
  }
  ctx.pending.push(...out.slice(1));
  return out[0]!;
}

/** The exit of a block of generated calls, when its calls are done (genCall asks first). */
export function blockExit(a: ArenaAllocator): Call | null {
  const ctx = filesCtx(a);
  if (ctx.blockLeft === undefined || ctx.pending.length) return null;
  if (ctx.blockLeft-- > 0) return null;
  ctx.blockLeft = undefined;
  return { op: 'exit' };
}
