// Generation of hugetlb mappings and SysV shared memory. Built on purpose: 2 MiB-aligned
// MAP_HUGETLB mappings with munmap/mprotect on and off the 2 MiB grid (may_split EINVAL, a start
// split kept when the end split is refused), attaches split by mprotect and protected back (merges
// that a vm_ops->close hook limits), SHM_REMAP over them, and shmdt of split attaches.

import { MADV, MAP, MREMAP, PAGE_SIZE, PROT } from '../seq/consts.js';
import type { Call, FileDecl } from '../seq/schema.js';
import { MAX_SHM, SHM, type ShmSeg } from '../seq/schema-sysv.js';
import type { ArenaAllocator, Picks } from './alloc.js';
import { pickProt } from './generate.js';

export const HUGESHM_OPS = ['shmat', 'shmdt'] as const;
export type HugeShmOp = (typeof HUGESHM_OPS)[number];

const HP = 512; // pages of a 2 MiB huge page
const P = BigInt(PAGE_SIZE);

interface HugeShmCtx {
  segs: ShmSeg[];
  /** arena has room for 2 MiB-aligned huge pages and the sequence uses them */
  huge: boolean;
  /** addresses of attaches made so far (shmdt targets) */
  attaches: number[];
  /** the remaining calls of a scenario */
  pending: Call[];
  /** a declared hugetlb file (memfd MFD_HUGETLB): its index in the sequence's files and its 2 MiB pages */
  hugeFile?: { index: number; blocks: number };
  /** fixed hugetlb mappings made so far (mremap sources) */
  maps?: { page: number; n: number }[];
}

export function hugeShmCtx(a: ArenaAllocator): HugeShmCtx {
  const x = a as ArenaAllocator & { hugeShmCtx?: HugeShmCtx };
  return (x.hugeShmCtx ??= { segs: [], huge: false, attaches: [], pending: [] });
}

/** Per sequence: maybe declare SysV segments and maybe use hugetlb (arenas of 1024 pages or more). */
export function genHugeShmSetup(p: Picks, a: ArenaAllocator): ShmSeg[] | undefined {
  const ctx = hugeShmCtx(a);
  ctx.huge = a.arenaPages >= 2 * HP && p.chance(60);
  if (!p.chance(55)) return undefined;
  const n = 1 + p.int(2);
  for (let i = 0; i < n && i < MAX_SHM; i++) {
    const pages = 1 + p.int(p.chance(70) ? 8 : 24);
    let size = BigInt(pages) * P;
    if (p.chance(25)) size -= BigInt(1 + p.int(PAGE_SIZE - 1));
    ctx.segs.push({ size });
  }
  return ctx.segs;
}

const segPages = (s: ShmSeg) => Number((s.size + P - 1n) / P);

/** Maybe a hugetlb file for a hugetlb sequence, declared after the `others` files; returns the files. */
export function genHugeFile(p: Picks, a: ArenaAllocator, others: readonly FileDecl[] | undefined): FileDecl[] | undefined {
  const ctx = hugeShmCtx(a);
  if (!ctx.huge || !p.chance(35)) return others ? [...others] : undefined;
  const blocks = 1 + p.int(2);
  ctx.hugeFile = { index: others?.length ?? 0, blocks };
  return [...(others ?? []), { kind: 'hugetlb', size: BigInt(blocks * HP) * P }];
}

/** A MAP_HUGETLB mapping or a mapping of the hugetlb file (the caller gives mmap calls of hugetlb
 *  sequences to this now and then). */
export function genHugetlbMmap(p: Picks, a: ArenaAllocator, invalid: boolean): Call {
  const file = hugeShmCtx(a).hugeFile;
  const c = genHugetlbAnon(p, a, invalid);
  if (!file || !p.chance(45) || c.op !== 'mmap') return c;
  // the file: no MAP_ANONYMOUS (MAP_HUGETLB is allowed and changes nothing), an offset on the grid,
  // sometimes past i_size (SIGBUS, or the file grows when the mapping is writable)
  let flags = (c.flags & ~MAP.MAP_ANONYMOUS) >>> 0;
  if (p.chance(50)) flags = (flags & ~MAP.MAP_HUGETLB) >>> 0;
  const offset = c.offset ?? BigInt(p.int(file.blocks + 1) * HP) * P;
  return { ...c, flags, fd: file.index, offset };
}

function genHugetlbAnon(p: Picks, a: ArenaAllocator, invalid: boolean): Call {
  const blocks = Math.floor(a.arenaPages / HP);
  const n = 1 + p.int(Math.min(2, blocks));
  let len = BigInt(n * HP) * P;
  if (p.chance(15)) len -= BigInt(1 + p.int(HP * PAGE_SIZE - 1)); // rounded up by the kernel
  let flags = (p.chance(30) ? MAP.MAP_SHARED : MAP.MAP_PRIVATE) | MAP.MAP_ANONYMOUS | MAP.MAP_HUGETLB;
  const block = p.int(blocks - n + 1);
  let addr: { page: number; off: number } | null = { page: block * HP, off: 0 };
  const roll = p.int(100);
  if (roll < 60) flags |= MAP.MAP_FIXED;
  else if (roll < 70) flags |= MAP.MAP_FIXED_NOREPLACE;
  else if (roll < 85) addr = { page: p.int(a.arenaPages - 1), off: 0 }; // a hint, rounded up to 2 MiB
  else addr = null;
  if (p.chance(15)) flags |= MAP.MAP_NORESERVE;
  if (p.chance(10)) flags |= MAP.MAP_POPULATE;
  if (p.chance(10)) flags |= (21 << 26) >>> 0; // MAP_HUGE_2MB
  let offset: bigint | undefined;
  if (invalid) {
    switch (p.int(4)) {
      case 0: if (addr && flags & MAP.MAP_FIXED) addr = { page: addr.page + 1 + p.int(HP - 1), off: 0 }; break; // unaligned fixed
      case 1: offset = BigInt(1 + p.int(HP - 1)) * P; break; // offset off the 2 MiB grid
      case 2: flags = (flags | (20 << 26)) >>> 0; break; // no 1 MiB hstate
      default: len = 0n; break;
    }
  }
  // the range (rounded up to 2 MiB) stays inside the arena, as the schema wants
  if (addr && addr.page + n * HP > a.arenaPages) addr = { page: a.arenaPages - n * HP, off: 0 };
  const c: Call = { op: 'mmap', addr, len, prot: pickProt(p, false), flags: flags >>> 0, offset };
  if (addr && flags & MAP.MAP_FIXED && !invalid) (hugeShmCtx(a).maps ??= []).push({ page: addr.page, n });
  if (addr && flags & MAP.MAP_FIXED && !invalid && p.chance(50)) queueHugeFollowUps(p, a, addr.page, n);
  return c;
}

/** After a fixed huge mapping: munmap or mprotect on the 2 MiB grid or off it, then a touch. */
function queueHugeFollowUps(p: Picks, a: ArenaAllocator, page: number, n: number): void {
  const q = hugeShmCtx(a).pending;
  const onGrid = p.chance(50);
  const start = onGrid ? page + HP * p.int(n) : page + p.int(n * HP);
  const pages = onGrid ? HP : 1 + p.int(HP);
  const len = BigInt(Math.min(pages, page + n * HP - start)) * P;
  if (len <= 0n) return;
  if (p.chance(50)) q.push({ op: 'mprotect', addr: { page: start, off: 0 }, len, prot: pickProt(p, false) });
  else q.push({ op: 'munmap', addr: { page: start, off: 0 }, len });
  q.push({ op: 'touch', addr: { page: page + p.int(n * HP), off: 0 }, access: p.chance(50) ? 'write' : 'read' });
  if (p.chance(60)) q.push(hugeMremap(p, a, page, n));
  if (p.chance(35)) q.push(hugeLockSeal(p, page, n));
}

/** Flag advice and populate on hugetlb (src/model/hugetlb-madvise.ts: splits off the grid EINVAL). */
const HUGE_ADVICE = [
  MADV.MADV_DONTFORK, MADV.MADV_DOFORK, MADV.MADV_DONTDUMP, MADV.MADV_DODUMP, MADV.MADV_RANDOM, MADV.MADV_HUGEPAGE,
  MADV.MADV_MERGEABLE, MADV.MADV_WIPEONFORK, MADV.MADV_WILLNEED, MADV.MADV_POPULATE_WRITE, MADV.MADV_DONTNEED, MADV.MADV_REMOVE,
];

/** mlock, mlock2, munlock, mseal, an anon name or madvise over part of a hugetlb mapping, on the
 *  2 MiB grid or off it (mlock skips hugetlb but populates it; mseal off the grid is EINVAL). */
function hugeLockSeal(p: Picks, page: number, n: number): Call {
  const onGrid = p.chance(50);
  const start = onGrid ? page + HP * p.int(n) : page + p.int(n * HP);
  const len = BigInt(onGrid ? HP : 1 + p.int(page + n * HP - start)) * P;
  const addr = { page: start, off: 0 };
  if (p.chance(40)) return { op: 'madvise', addr, len, advice: HUGE_ADVICE[p.int(HUGE_ADVICE.length)]! };
  switch (p.int(5)) {
    case 0: return { op: 'mlock', addr, len };
    case 1: return { op: 'mlock2', addr, len, flags: p.chance(60) ? 1 : 0 };
    case 2: return { op: 'munlock', addr, len };
    case 3: return { op: 'mseal', addr, len, flags: 0 };
    default: return { op: 'anon_name', addr, len, name: 'huge' };
  }
}

/** An mremap of one of the fixed hugetlb mappings made so far, if any (generate.ts asks for half
 *  the mremap calls of hugetlb sequences). */
export function genHugeMremap(p: Picks, a: ArenaAllocator): Call | null {
  const maps = hugeShmCtx(a).maps;
  if (!maps?.length) return null;
  const m = maps[p.int(maps.length)]!;
  return hugeMremap(p, a, m.page, m.n);
}

/** mremap of a hugetlb mapping of n blocks at `page` (mm/mremap.c:align_hugetlb): lengths off the
 *  2 MiB grid (rounded up), shrinks, MREMAP_FIXED moves of one block or all to another block (over
 *  whatever is there), and the refusals: growth, DONTUNMAP, addresses off the grid. */
function hugeMremap(p: Picks, a: ArenaAllocator, page: number, n: number): Call {
  const R = MREMAP;
  const blocks = Math.floor(a.arenaPages / HP);
  const ragged = (pages: number) => (p.chance(35) ? Math.max(1, pages - p.int(HP)) : pages); // rounded up again
  const roll = p.int(100);
  const addr = { page: page + (n > 1 && p.chance(30) ? HP : 0), off: 0 };
  const left = n - (addr.page - page) / HP;
  if (roll < 20) {
    // shrink (left > 1) or a no-op: new_len rounds to fewer (or the same) blocks
    const keep = 1 + p.int(left);
    return { op: 'mremap', addr, oldLen: BigInt(ragged(left * HP)) * P, newLen: BigInt(ragged(keep * HP)) * P, flags: p.chance(50) ? R.MREMAP_MAYMOVE : 0 };
  }
  if (roll < 65) {
    // MREMAP_FIXED to another block: one block (part of the VMA when left > 1) or all that is left
    const moved = p.chance(50) ? 1 : left;
    let dest = p.int(blocks - moved + 1) * HP;
    if (dest < addr.page + moved * HP && addr.page < dest + moved * HP) dest = addr.page >= moved * HP ? 0 : (blocks - moved) * HP;
    const len = BigInt(ragged(moved * HP)) * P;
    const shrinkTo = p.chance(20) ? BigInt(1 + p.int(HP)) * P : len;
    if (dest < addr.page + moved * HP && addr.page < dest + moved * HP) return { op: 'mremap', addr, oldLen: len, newLen: len, flags: 0 };
    return { op: 'mremap', addr, oldLen: len, newLen: shrinkTo, flags: R.MREMAP_FIXED | R.MREMAP_MAYMOVE, newAddr: { page: dest, off: 0 } };
  }
  // growth of one block by up to a block (the arena may hold only two)
  if (roll < 78) return { op: 'mremap', addr, oldLen: BigInt(HP) * P, newLen: BigInt(HP + 1 + p.int(HP - 1)) * P, flags: p.chance(70) ? R.MREMAP_MAYMOVE : 0 };
  if (roll < 88) {
    const c: Call = { op: 'mremap', addr, oldLen: BigInt(left * HP) * P, newLen: BigInt(left * HP) * P, flags: R.MREMAP_DONTUNMAP | R.MREMAP_MAYMOVE };
    // a hint the whole moved range fits behind (the schema keeps every range in the arena)
    if (p.chance(50) && blocks >= left) c.newAddr = { page: p.int(blocks - left + 1) * HP, off: 0 };
    return c;
  }
  // off the grid: the new_addr argument without a flag that uses it, or addr itself
  if (p.chance(50)) return { op: 'mremap', addr, oldLen: P, newLen: P, flags: 0, newAddr: { page: addr.page + 1 + p.int(HP - 1), off: 0 } };
  return { op: 'mremap', addr: { page: addr.page + 1 + p.int(HP - 1), off: 0 }, oldLen: P, newLen: P, flags: 0 };
}

/** shmat or shmdt (the sequence declares segments when these ops have weight). */
export function genHugeShmCall(p: Picks, a: ArenaAllocator, op: HugeShmOp, invalid: boolean): Call {
  const ctx = hugeShmCtx(a);
  if (op === 'shmdt' || !ctx.segs.length) {
    const known = ctx.attaches.length && !invalid && p.chance(75);
    const page = known ? ctx.attaches[p.int(ctx.attaches.length)]! : a.page(p);
    return { op: 'shmdt', addr: { page, off: invalid && p.chance(50) ? 1 + p.int(PAGE_SIZE - 1) : 0 } };
  }
  const shm = p.int(ctx.segs.length);
  const pages = segPages(ctx.segs[shm]!);
  let flags = 0;
  if (p.chance(25)) flags |= SHM.SHM_RDONLY;
  if (p.chance(30)) flags |= SHM.SHM_REMAP;
  if (p.chance(8)) flags |= SHM.SHM_EXEC;
  let addr: { page: number; off: number } | null = null;
  if (pages <= a.arenaPages && !p.chance(12)) {
    const r = a.range(p);
    addr = { page: Math.min(r.page, a.arenaPages - pages), off: 0 };
    if ((invalid || p.chance(5)) && pages < a.arenaPages) {
      // without SHM_RND the unrounded range must still end inside the arena (the schema says so)
      addr = { page: Math.min(addr.page, a.arenaPages - pages - 1), off: 1 + p.int(PAGE_SIZE - 1) };
      if (p.chance(60)) flags |= SHM.SHM_RND;
    }
  }
  if (addr === null && (invalid || pages > a.arenaPages)) flags &= ~SHM.SHM_REMAP;
  if (pages > a.arenaPages) return { op: 'shmdt', addr: { page: a.page(p), off: 0 } };
  const c: Call = { op: 'shmat', shm, addr, flags };
  if (addr && !addr.off) {
    ctx.attaches.push(addr.page);
    if (pages >= 3 && p.chance(45)) {
      // split the attach and protect it back: merges next to a vm_ops->close hook
      const mid = addr.page + 1 + p.int(pages - 2);
      const midLen = 1 + p.int(addr.page + pages - mid);
      const ro = flags & SHM.SHM_RDONLY ? PROT.PROT_NONE : PROT.PROT_READ;
      const back = flags & SHM.SHM_RDONLY ? PROT.PROT_READ : PROT.PROT_READ | PROT.PROT_WRITE;
      ctx.pending.push({ op: 'mprotect', addr: { page: mid, off: 0 }, len: BigInt(midLen) * P, prot: ro });
      const whole = p.chance(50);
      ctx.pending.push({ op: 'mprotect', addr: { page: whole ? mid : mid + p.int(midLen), off: 0 }, len: BigInt(whole ? midLen : 1) * P, prot: back });
      if (p.chance(40)) ctx.pending.push({ op: 'munmap', addr: { page: addr.page + p.int(pages), off: 0 }, len: P });
      if (p.chance(60)) ctx.pending.push({ op: 'shmdt', addr: { page: addr.page, off: 0 } });
    } else if (p.chance(40)) {
      ctx.pending.push(shmFollowUp(p, a, addr.page, pages));
      if (p.chance(50)) ctx.pending.push({ op: 'touch', addr: { page: addr.page + p.int(pages), off: 0 }, access: p.chance(50) ? 'write' : 'read' });
    }
  }
  return c;
}

const SHM_ADVICE = [
  MADV.MADV_REMOVE, MADV.MADV_DONTNEED, MADV.MADV_FREE, MADV.MADV_DONTFORK, MADV.MADV_POPULATE_READ, MADV.MADV_POPULATE_WRITE,
  MADV.MADV_COLD, MADV.MADV_PAGEOUT, MADV.MADV_GUARD_INSTALL, MADV.MADV_RANDOM, MADV.MADV_HUGEPAGE, MADV.MADV_WILLNEED,
];

/** After an attach of `pages` at `page`: madvise of part of it (the shmem paths through the
 *  attach's own file: MADV_REMOVE punches the segment for every attach) or an mremap of it
 *  (shrink, grow past the segment, MREMAP_FIXED or DONTUNMAP move). */
function shmFollowUp(p: Picks, a: ArenaAllocator, page: number, pages: number): Call {
  const s = page + p.int(pages);
  const len = BigInt(1 + p.int(page + pages - s)) * P;
  if (p.chance(60)) return { op: 'madvise', addr: { page: s, off: 0 }, len, advice: SHM_ADVICE[p.int(SHM_ADVICE.length)]! };
  const R = MREMAP;
  const old = BigInt(pages) * P;
  const roll = p.int(4);
  if (roll === 0) return { op: 'mremap', addr: { page, off: 0 }, oldLen: old, newLen: BigInt(Math.max(1, pages - 1 - p.int(pages))) * P, flags: 0 };
  if (roll === 1) return { op: 'mremap', addr: { page, off: 0 }, oldLen: old, newLen: old + BigInt(1 + p.int(4)) * P, flags: p.chance(60) ? R.MREMAP_MAYMOVE : 0 };
  const dest = p.int(Math.max(1, a.arenaPages - pages + 1));
  if (dest < page + pages && page < dest + pages) return { op: 'mremap', addr: { page, off: 0 }, oldLen: old, newLen: old, flags: 0 };
  const flags = R.MREMAP_MAYMOVE | (roll === 2 ? R.MREMAP_FIXED : R.MREMAP_DONTUNMAP | (p.chance(50) ? R.MREMAP_FIXED : 0));
  return { op: 'mremap', addr: { page, off: 0 }, oldLen: old, newLen: old, flags, newAddr: { page: dest, off: 0 } };
}
