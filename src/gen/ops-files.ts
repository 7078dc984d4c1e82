// Generation of file mappings, ftruncate, fork, mremap and userfaultfd calls. The layouts the model
// finds subtle are built on purpose: file mappings that continue an earlier one (same file, pgoff
// lined up: they merge), private file pages copied then truncated away, moves to the edge of other
// VMAs and back to where they came from, DONTUNMAP, registered ranges next to unregistered ones,
// and forks after faults (every inherited anon_vma is a fork child's, refusing later merges).

import { MAP, MREMAP, PAGE_SIZE, UFFD_FEATURE, UFFDIO_REGISTER_MODE } from '../seq/consts.js';
import type { Call, FileDecl } from '../seq/schema.js';
import { MAX_FILES, MAX_UFFDS } from '../seq/schema.js';
import type { ArenaAllocator, Picks } from './alloc.js';
import { genRange, pickProt } from './generate.js';
import { forkBlockScenario, genAddSeals, pickMfdFlags } from './ops-seals.js';
import { pickFileDecl } from './ops-content.js';

/** The ops of this file, for `--ops` families (src/gen/families.ts). */
export const FILE_OPS = ['ftruncate', 'mremap', 'fork', 'uffd_create', 'uffd_register', 'uffd_unregister', 'add_seals'] as const;
export type FileOp = (typeof FILE_OPS)[number];

/** Per-sequence facts the calls of this file refer to; kept on the allocator (one per sequence). */
export interface FilesCtx {
  files: FileDecl[];
  /** file mappings made so far: a later one may continue them */
  maps: { page: number; pages: number; fd: number; pgoff: number }[];
  uffds: number;
  forks: number;
  /** the last mremap source, a destination for moving back */
  lastSource: number | null;
  /** mappings at known addresses (MAP_FIXED, NOREPLACE, hints): likely live ranges to act on */
  ranges: { page: number; pages: number; prot: number; flags: number; fd?: number }[];
  /** the remaining calls of a scenario, emitted by genCall before anything else */
  pending: Call[];
  /** fork {until: exit} block of generated calls (src/gen/ops-seals.ts): calls it still gets once
   *  its fork is out (pendingBlock), then calls left before its exit (blockLeft) */
  pendingBlock?: number;
  blockLeft?: number;
}

export function filesCtx(a: ArenaAllocator): FilesCtx {
  const x = a as ArenaAllocator & { filesCtx?: FilesCtx };
  return (x.filesCtx ??= { files: [], maps: [], uffds: 0, forks: 0, lastSource: null, ranges: [], pending: [] });
}

function pick<T>(p: Picks, xs: readonly T[]): T {
  return xs[p.int(xs.length)]!;
}

const P = BigInt(PAGE_SIZE);

/** 1-3 declared files: memfd, tmpfs, ext4, xfs or btrfs, often pre-filled, small, sometimes unaligned or empty, sometimes read-only. */
export function genFiles(p: Picks): FileDecl[] {
  const n = 1 + p.int(3);
  const out: FileDecl[] = [];
  for (let i = 0; i < n && i < MAX_FILES; i++) {
    const pages = p.chance(8) ? 0 : 1 + p.int(p.chance(70) ? 12 : 40);
    let size = BigInt(pages) * P;
    if (pages && p.chance(20)) size -= BigInt(1 + p.int(PAGE_SIZE - 1));
    const f: FileDecl = pickFileDecl(p, size); // src/gen/ops-content.ts: shmem or disk, filled or not
    if (p.chance(15)) f.readOnly = true;
    pickMfdFlags(p, f);
    out.push(f);
  }
  return out;
}

/** mmap of a declared file: shared/private, at a page offset, often continuing an earlier one. */
export function genFileMmap(p: Picks, a: ArenaAllocator, invalid: boolean): Call {
  const ctx = filesCtx(a);
  let r = a.range(p);
  let fd = p.int(ctx.files.length);
  let pgoff = p.chance(45) ? 0 : p.int(p.chance(70) ? 8 : 32);
  if (ctx.maps.length && p.chance(35)) {
    // continue an earlier mapping of the same file: right after it (or before it), pgoff in line
    const m = pick(p, ctx.maps);
    fd = m.fd;
    const pages = 1 + p.int(8);
    if (p.chance(65)) r = { page: m.page + m.pages, pages };
    else r = { page: m.page - pages, pages };
    pgoff = p.chance(85) ? (r.page >= m.page ? m.pgoff + m.pages : m.pgoff - pages) : pgoff;
    if (r.page < 0 || r.page + r.pages > a.arenaPages || pgoff < 0) r = a.range(p);
    if (pgoff < 0) pgoff = 0;
  }
  const roll = p.int(100);
  let flags: number = roll < 45 ? MAP.MAP_SHARED : roll < 92 ? MAP.MAP_PRIVATE : MAP.MAP_SHARED_VALIDATE;
  let addr: { page: number; off: number } | null = { page: r.page, off: 0 };
  const placement = p.int(100);
  if (placement < 66) flags |= MAP.MAP_FIXED;
  else if (placement < 74) flags |= MAP.MAP_FIXED_NOREPLACE;
  else if (placement >= 88) addr = null;
  if (p.chance(6)) flags |= MAP.MAP_POPULATE;
  if (p.chance(2)) flags |= MAP.MAP_LOCKED;
  if (p.chance(4)) flags |= MAP.MAP_NORESERVE;
  if (p.chance(3)) flags |= MAP.MAP_STACK;
  if (p.chance(3)) flags |= MAP.MAP_ANONYMOUS; // the descriptor is then ignored
  let prot = pickProt(p, false);
  let len = BigInt(r.pages) * P;
  let offset = BigInt(pgoff) * P;
  if (invalid) {
    switch (p.int(8)) {
      case 0: offset += BigInt(1 + p.int(PAGE_SIZE - 1)); break; // EINVAL
      case 1: offset = 1n << 63n; break; // EOVERFLOW
      case 2: flags |= MAP.MAP_GROWSDOWN; break; // EINVAL
      case 3: flags |= MAP.MAP_HUGETLB; break; // EINVAL (not hugetlbfs)
      case 4: flags = (flags & ~0x0f) | pick(p, [0, 0x08, 0x0f]); break; // bad map type
      case 5: flags = (flags & ~0x0f) | MAP.MAP_SHARED_VALIDATE | pick(p, [MAP.MAP_SYNC, 0x200, MAP.MAP_FIXED_NOREPLACE]); break;
      case 6: len = 0n; break;
      default: prot = pickProt(p, true); break;
    }
  }
  // MAP_FIXED(_NOREPLACE) at NULL would map page 0, outside the arena: the schema refuses it.
  if (addr === null) flags &= ~(MAP.MAP_FIXED | MAP.MAP_FIXED_NOREPLACE);
  return { op: 'mmap', addr, len, prot, flags: flags >>> 0, fd, offset };
}

/** A file-family or process call; falls back to a plain touch/uffd_create when the sequence has
 *  nothing it could refer to (no files, no userfaultfd yet, the fork limit reached). */
export function genFilesCall(p: Picks, a: ArenaAllocator, op: FileOp, invalid: boolean): Call {
  const ctx = filesCtx(a);
  switch (op) {
    case 'ftruncate': {
      if (!ctx.files.length) return touchAny(p, a);
      const file = p.int(ctx.files.length);
      let len = BigInt(p.chance(20) ? 0 : 1 + p.int(p.chance(70) ? 12 : 40)) * P;
      if (len && p.chance(20)) len -= BigInt(1 + p.int(PAGE_SIZE - 1));
      if (invalid) len = pick(p, [1n << 63n, (1n << 64n) - 1n]);
      return { op, file, len };
    }
    case 'fork':
      if (ctx.forks >= 4 || ctx.blockLeft !== undefined || ctx.pendingBlock) return touchAny(p, a); // no fork inside a block
      if (p.chance(40)) return forkBlockScenario(p, a); // src/gen/ops-seals.ts
      if (p.chance(50)) return forkScenario(p, a);
      return { op };
    case 'add_seals':
      return genAddSeals(p, a, invalid);
    case 'uffd_create': {
      if (ctx.uffds >= MAX_UFFDS) return touchAny(p, a);
      return { op, features: pickFeatures(p, invalid) };
    }
    case 'uffd_register':
    case 'uffd_unregister': {
      if (op === 'uffd_register' && ctx.files.length && p.chance(15)) {
        const sc = minorScenario(p, a);
        if (sc) return sc;
      }
      if (op === 'uffd_register' && ctx.ranges.length && p.chance(45)) return registerScenario(p, a);
      if (!ctx.uffds) return genFilesCall(p, a, 'uffd_create', false);
      const uffd = p.int(ctx.uffds);
      const r = genRange(p, a, invalid && p.chance(50));
      if (op === 'uffd_unregister') return { op, uffd, ...r };
      return { op, uffd, ...r, mode: pickMode(p, invalid) };
    }
    case 'mremap':
      if (!invalid && ctx.ranges.length && p.chance(25)) {
        // move a faulted range: it keeps its pgoff and anon_vma (and may come back later)
        const r = pick(p, ctx.ranges);
        ctx.pending.push(genMremap(p, a, false, r));
        return { op: 'touch', addr: { page: r.page + p.int(r.pages), off: 0 }, access: 'write' };
      }
      return genMremap(p, a, invalid);
  }
}

/** A range inside a recent mapping (its start, end or an interior sub-range). */
function within(p: Picks, r: { page: number; pages: number }): { page: number; pages: number } {
  if (r.pages < 2 || p.chance(40)) return { page: r.page, pages: r.pages };
  const s = r.page + p.int(r.pages - 1);
  return { page: s, pages: 1 + p.int(r.page + r.pages - s) };
}

const range = (r: { page: number; pages: number }) => ({ addr: { page: r.page, off: 0 }, len: BigInt(r.pages) * P });

/** Two recent mappings' union (usually several VMAs, maybe with a hole), or one mapping. */
function across(p: Picks, a: ArenaAllocator): { page: number; pages: number } {
  const ctx = filesCtx(a);
  const x = pick(p, ctx.ranges);
  const y = pick(p, ctx.ranges);
  const lo = Math.min(x.page, y.page);
  const hi = Math.min(a.arenaPages, Math.max(x.page + x.pages, y.page + y.pages));
  // a partial range ending at a VMA edge: start inside the first mapping
  const start = p.chance(30) && x.page <= y.page && x.pages > 1 ? lo + p.int(x.pages) : lo;
  return { page: start, pages: Math.max(1, hi - start) };
}

/** uffd_register on a live range (within one mapping or across several VMAs), then touches in it
 *  (events), sometimes an unregister of part; or two contexts on neighbouring ranges. */
function registerScenario(p: Picks, a: ArenaAllocator): Call {
  const ctx = filesCtx(a);
  const out: Call[] = [];
  if (ctx.uffds < MAX_UFFDS && p.chance(25)) {
    // two contexts on neighbouring ranges with the same modes: their VMAs cannot merge
    // (mm/vma.c:is_mergeable_vm_userfaultfd_ctx); then a registration or unregistration of one
    // context across both (EBUSY / EINVAL: mm/userfaultfd.c:userfaultfd_register, _unregister)
    const r = across(p, a);
    if (r.pages >= 2) {
      const cut = r.page + 1 + p.int(r.pages - 1);
      let n = ctx.uffds;
      while (n < 2) out.push({ op: 'uffd_create', features: pickFeatures(p, false) }), n++;
      const u0 = p.int(n);
      const u1 = (u0 + 1 + p.int(n - 1)) % n;
      const mode = pickMode(p, false);
      out.push({ op: 'uffd_register', uffd: u0, addr: { page: r.page, off: 0 }, len: BigInt(cut - r.page) * P, mode });
      out.push({ op: 'uffd_register', uffd: u1, addr: { page: cut, off: 0 }, len: BigInt(r.page + r.pages - cut) * P, mode });
      const roll = p.int(3);
      if (roll === 0) out.push({ op: 'uffd_register', uffd: u0, ...range(r), mode });
      else if (roll === 1) out.push({ op: 'uffd_unregister', uffd: u0, ...range(r) });
      else out.push({ op: 'uffd_unregister', uffd: u1, ...range(within(p, { page: cut, pages: r.page + r.pages - cut })) });
      out.push({ op: 'touch', addr: { page: r.page + p.int(r.pages), off: 0 }, access: p.chance(50) ? 'write' : 'read' });
      ctx.pending.push(...out.slice(1));
      return out[0]!;
    }
  }
  if (!ctx.uffds) out.push({ op: 'uffd_create', features: pickFeatures(p, false) });
  const uffd = ctx.uffds ? p.int(ctx.uffds) : 0;
  const r = p.chance(30) ? across(p, a) : within(p, pick(p, ctx.ranges));
  out.push({ op: 'uffd_register', uffd, ...range(r), mode: pickMode(p, false) });
  for (let k = 1 + p.int(3); k > 0; k--) out.push({ op: 'touch', addr: { page: r.page + p.int(r.pages), off: 0 }, access: p.chance(50) ? 'write' : 'read' });
  if (p.chance(30)) {
    const u = within(p, r);
    out.push({ op: 'uffd_unregister', uffd, ...range(u) });
    out.push({ op: 'touch', addr: { page: u.page + p.int(u.pages), off: 0 }, access: p.chance(50) ? 'write' : 'read' });
  }
  ctx.pending.push(...out.slice(1));
  return out[0]!;
}

/** A shmem page in the page cache but not mapped here: MINOR faults. Map a file shared, write to
 *  it, map the same pages elsewhere (shared or private), register MINOR there and touch. */
function minorScenario(p: Picks, a: ArenaAllocator): Call | null {
  const ctx = filesCtx(a);
  const fd = p.int(ctx.files.length);
  if (ctx.files[fd]!.readOnly || ctx.files[fd]!.size < P) return null;
  const pages = Math.max(1, Math.min(4, Number(ctx.files[fd]!.size / P)));
  const r1 = a.range(p);
  const r2 = a.range(p);
  if (r1.page + pages > a.arenaPages || r2.page + pages > a.arenaPages || overlap(r1.page, pages, r2.page, pages)) return null;
  const rw = 0x3;
  const out: Call[] = [
    { op: 'mmap', addr: { page: r1.page, off: 0 }, len: BigInt(pages) * P, prot: rw, flags: MAP.MAP_SHARED | MAP.MAP_FIXED, fd, offset: 0n },
    { op: 'touch', addr: { page: r1.page + p.int(pages), off: 0 }, access: 'write' },
    { op: 'mmap', addr: { page: r2.page, off: 0 }, len: BigInt(pages) * P, prot: rw, flags: (p.chance(60) ? MAP.MAP_SHARED : MAP.MAP_PRIVATE) | MAP.MAP_FIXED, fd, offset: 0n },
  ];
  if (!ctx.uffds) out.push({ op: 'uffd_create', features: pickFeatures(p, false) });
  const M = UFFDIO_REGISTER_MODE;
  out.push({ op: 'uffd_register', uffd: ctx.uffds ? p.int(ctx.uffds) : 0, addr: { page: r2.page, off: 0 }, len: BigInt(pages) * P, mode: M.UFFDIO_REGISTER_MODE_MINOR | (p.chance(40) ? M.UFFDIO_REGISTER_MODE_MISSING : 0) });
  for (let k = 1 + p.int(3); k > 0; k--) out.push({ op: 'touch', addr: { page: r2.page + p.int(pages), off: 0 }, access: p.chance(50) ? 'write' : 'read' });
  ctx.pending.push(...out.slice(1));
  return out[0]!;
}

/** Fault a range, fork, then try the merges a fork child refuses: a new mapping or an mprotect
 *  next to the inherited faulted VMA, and a split of it that is put back together. */
function forkScenario(p: Picks, a: ArenaAllocator): Call {
  const ctx = filesCtx(a);
  const out: Call[] = [];
  const r: { page: number; pages: number; prot?: number } = ctx.ranges.length ? pick(p, ctx.ranges) : a.range(p);
  const prot = r.prot ?? 0x3;
  out.push({ op: 'touch', addr: { page: r.page + p.int(r.pages), off: 0 }, access: 'write' });
  out.push({ op: 'fork' });
  const after = r.page + r.pages;
  const roll = p.int(3);
  if (roll === 0 && after < a.arenaPages) {
    // a new anonymous mapping right after it, same protection
    out.push({ op: 'mmap', addr: { page: after, off: 0 }, len: P, prot, flags: MAP.MAP_PRIVATE | MAP.MAP_ANONYMOUS | MAP.MAP_FIXED });
  } else if (roll === 1 && r.pages > 1) {
    // split and re-merge (same anon_vma: allowed) or change a neighbour to match
    const cut = r.page + 1 + p.int(r.pages - 1);
    out.push({ op: 'mprotect', addr: { page: cut, off: 0 }, len: BigInt(r.page + r.pages - cut) * P, prot: 0x1 });
    out.push({ op: 'mprotect', addr: { page: cut, off: 0 }, len: BigInt(r.page + r.pages - cut) * P, prot });
  } else if (after + 1 < a.arenaPages) {
    out.push({ op: 'mmap', addr: { page: after, off: 0 }, len: P, prot: 0x1, flags: MAP.MAP_PRIVATE | MAP.MAP_ANONYMOUS | MAP.MAP_FIXED });
    out.push({ op: 'mprotect', addr: { page: after, off: 0 }, len: P, prot });
  }
  ctx.pending.push(...out.slice(1));
  return out[0]!;
}

/** Count what later calls may refer to (called for every generated or replayed call). */
export function noteFilesCall(a: ArenaAllocator, c: Call): void {
  const ctx = filesCtx(a);
  if (c.op === 'mmap' && c.addr && c.len > 0n && c.len < 1n << 40n) {
    ctx.ranges.push({ page: c.addr.page, pages: Number((c.len + P - 1n) / P), prot: c.prot, flags: c.flags, ...(c.fd !== undefined ? { fd: c.fd } : {}) });
    if (ctx.ranges.length > 12) ctx.ranges.shift();
  }
  if (c.op === 'uffd_create') ctx.uffds++;
  else if (c.op === 'fork') {
    ctx.forks++;
    if (c.until === 'exit' && ctx.pendingBlock) {
      ctx.blockLeft = ctx.pendingBlock;
      ctx.pendingBlock = 0;
    }
  }
  else if (c.op === 'mmap' && c.fd !== undefined && !(c.flags & MAP.MAP_ANONYMOUS) && c.addr && c.len > 0n && c.len < 1n << 40n && (c.offset ?? 0n) < 1n << 40n) {
    ctx.maps.push({ page: c.addr.page, pages: Number((c.len + P - 1n) / P), fd: c.fd, pgoff: Number((c.offset ?? 0n) / P) });
  }
}

function touchAny(p: Picks, a: ArenaAllocator): Call {
  return { op: 'touch', addr: { page: a.page(p), off: 0 }, access: p.chance(55) ? 'write' : 'read' };
}

const F = UFFD_FEATURE;
const FEATURE_CHANCES: ReadonlyArray<readonly [number, number]> = [
  [F.UFFD_FEATURE_EVENT_FORK, 40], [F.UFFD_FEATURE_EVENT_REMAP, 40], [F.UFFD_FEATURE_EVENT_REMOVE, 35],
  [F.UFFD_FEATURE_EVENT_UNMAP, 40], [F.UFFD_FEATURE_SIGBUS, 10], [F.UFFD_FEATURE_THREAD_ID, 10],
  [F.UFFD_FEATURE_MISSING_SHMEM, 20], [F.UFFD_FEATURE_MINOR_SHMEM, 20], [F.UFFD_FEATURE_EXACT_ADDRESS, 8],
  [F.UFFD_FEATURE_WP_UNPOPULATED, 8], [F.UFFD_FEATURE_WP_HUGETLBFS_SHMEM, 8], [F.UFFD_FEATURE_WP_ASYNC, 4],
];

function pickFeatures(p: Picks, invalid: boolean): number {
  let f = 0;
  for (const [bit, pct] of FEATURE_CHANCES) if (p.chance(pct)) f |= bit;
  if (invalid) f |= pick(p, [1 << 20, 1 << 30, 0x80000000]);
  return f >>> 0;
}

function pickMode(p: Picks, invalid: boolean): number {
  const M = UFFDIO_REGISTER_MODE;
  if (invalid) return pick(p, [0, 8, 0x10 | M.UFFDIO_REGISTER_MODE_MISSING]);
  const roll = p.int(100);
  if (roll < 42) return M.UFFDIO_REGISTER_MODE_MISSING;
  if (roll < 57) return M.UFFDIO_REGISTER_MODE_MINOR;
  if (roll < 70) return M.UFFDIO_REGISTER_MODE_WP;
  if (roll < 82) return M.UFFDIO_REGISTER_MODE_MISSING | M.UFFDIO_REGISTER_MODE_MINOR;
  if (roll < 94) return M.UFFDIO_REGISTER_MODE_MISSING | M.UFFDIO_REGISTER_MODE_WP;
  return M.UFFDIO_REGISTER_MODE_MISSING | M.UFFDIO_REGISTER_MODE_WP | M.UFFDIO_REGISTER_MODE_MINOR;
}

/** mremap: shrink, no-op, grow (in place or moving), MREMAP_FIXED moves next to other VMAs or back,
 *  DONTUNMAP, multi-VMA moves, and the invalid combinations. */
function genMremap(p: Picks, a: ArenaAllocator, invalid: boolean, from?: { page: number; pages: number }): Call {
  const ctx = filesCtx(a);
  const n = a.arenaPages;
  const src = from ? within(p, from) : a.range(p);
  const addr = { page: src.page, off: 0 };
  const oldLen = BigInt(src.pages) * P;
  const R = MREMAP;
  const roll = p.int(100);
  let c: Call;
  if (roll < 18) {
    const newPages = Math.max(1, src.pages - 1 - p.int(Math.max(1, src.pages - 1)));
    c = { op: 'mremap', addr, oldLen, newLen: BigInt(newPages) * P, flags: p.chance(50) ? R.MREMAP_MAYMOVE : 0 };
  } else if (roll < 22) {
    c = { op: 'mremap', addr, oldLen, newLen: oldLen, flags: p.chance(50) ? R.MREMAP_MAYMOVE : 0 };
  } else if (roll < 42) {
    const grow = 1 + p.int(p.chance(70) ? 4 : 16);
    c = { op: 'mremap', addr, oldLen, newLen: oldLen + BigInt(grow) * P, flags: p.chance(70) ? R.MREMAP_MAYMOVE : 0 };
  } else if (roll < 84) {
    // MREMAP_FIXED: to an edge of another range, or back to the last source
    const newPages = p.chance(75) ? src.pages : Math.max(1, src.pages + p.int(5) - 2);
    let dest = ctx.lastSource !== null && p.chance(20) ? ctx.lastSource : pickEdgeDest(p, a, newPages);
    if (overlap(src.page, src.pages, dest, newPages)) dest = src.page + src.pages + p.int(3);
    if (dest < 0 || dest + newPages > n || overlap(src.page, src.pages, dest, newPages)) {
      c = { op: 'mremap', addr, oldLen, newLen: oldLen + P, flags: R.MREMAP_MAYMOVE };
    } else {
      let flags = R.MREMAP_FIXED | R.MREMAP_MAYMOVE;
      if (newPages === src.pages && p.chance(20)) flags |= R.MREMAP_DONTUNMAP;
      c = { op: 'mremap', addr, oldLen, newLen: BigInt(newPages) * P, flags, newAddr: { page: dest, off: 0 } };
    }
  } else {
    // MREMAP_DONTUNMAP without a fixed destination: a hint, or none
    const c0: Call = { op: 'mremap', addr, oldLen, newLen: oldLen, flags: R.MREMAP_DONTUNMAP | R.MREMAP_MAYMOVE };
    const hint = pickEdgeDest(p, a, src.pages);
    if (p.chance(60) && hint >= 0 && hint + src.pages <= n) c0.newAddr = { page: hint, off: 0 };
    c = c0;
  }
  if (invalid && c.op === 'mremap') {
    switch (p.int(7)) {
      case 0: c.flags = (c.flags | pick(p, [8, 0x80])) >>> 0; break;
      case 1: c.addr = { page: c.addr.page, off: 1 + p.int(PAGE_SIZE - 1) }; break;
      case 2: c.newLen = 0n; break;
      case 3: if (c.newAddr) c.flags &= ~R.MREMAP_MAYMOVE; break;
      case 4: if (c.flags & R.MREMAP_DONTUNMAP) c.newLen = c.oldLen + P; break;
      case 5: c.oldLen = 0n; break;
      default: c.oldLen = (1n << 64n) - P; break;
    }
  }
  ctx.lastSource = src.page;
  // keep the destination inside the arena (the schema refuses anything else)
  if (c.op === 'mremap' && c.newAddr && c.newAddr.page + Number((c.newLen + P - 1n) / P) > n) delete c.newAddr;
  if (c.op === 'mremap' && !c.newAddr && c.flags & R.MREMAP_FIXED) c.flags &= ~R.MREMAP_FIXED;
  if (c.op === 'mremap' && !c.newAddr && c.newLen > BigInt(n) * P && c.newLen < 1n << 63n) c.newLen = BigInt(n) * P;
  return c;
}

function overlap(a: number, al: number, b: number, bl: number): boolean {
  return a < b + bl && b < a + al;
}

/** A destination page that starts or ends at an edge of an earlier range (so the moved VMA lands
 *  next to another and may merge there). */
function pickEdgeDest(p: Picks, a: ArenaAllocator, pages: number): number {
  const r = a.range(p);
  const at = p.int(3);
  const page = at === 0 ? r.page + r.pages : at === 1 ? r.page - pages : r.page;
  return Math.max(0, Math.min(page, a.arenaPages - pages));
}
