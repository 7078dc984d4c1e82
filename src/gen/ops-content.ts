// Generation of page-content checks: `probe` reads (anywhere, usually where something was mapped),
// and scenarios that make the page cache and private copies disagree: one file mapped shared and
// privately at the same offset, writes through one, reads through the other, MADV_DONTNEED of the
// private one (it sees the file again), a guard region over the file, truncation. The files they
// use are declared by src/gen/ops-files.ts genFiles, which also picks disk filesystems and fills.

import { MADV, MAP, PAGE_SIZE, PROT } from '../seq/consts.js';
import type { Call, FileDecl } from '../seq/schema.js';
import type { ArenaAllocator, Picks } from './alloc.js';
import { filesCtx } from './ops-files.js';

const P = BigInt(PAGE_SIZE);
const KINDS: readonly FileDecl['kind'][] = ['memfd', 'memfd', 'tmpfs', 'ext4', 'ext4', 'xfs', 'btrfs'];

/** The backing of a declared file: shmem (memfd, tmpfs) or a disk filesystem; often pre-filled. */
export function pickFileDecl(p: Picks, size: bigint): FileDecl {
  const f: FileDecl = { kind: KINDS[p.int(KINDS.length)]!, size };
  if (size && p.chance(60)) f.fill = 'pattern';
  return f;
}

const probe = (page: number, off = 0): Call => ({ op: 'probe', addr: { page, off } });

/** A probe call, or (with declared files, a third of the time) a shared/private content scenario. */
export function genProbe(p: Picks, a: ArenaAllocator): Call {
  const ctx = filesCtx(a);
  if (ctx.files.length && p.chance(35)) {
    const sc = contentScenario(p, a);
    if (sc) return sc;
  }
  const page = ctx.ranges.length && p.chance(60) ? (() => { const r = ctx.ranges[p.int(ctx.ranges.length)]!; return Math.min(a.arenaPages - 1, r.page + p.int(r.pages)); })() : a.page(p);
  return probe(page, p.chance(15) ? p.int(PAGE_SIZE) : 0);
}

/**
 * The same file pages mapped MAP_SHARED at s and MAP_PRIVATE at q: writes through either, reads
 * through both, then one of MADV_DONTNEED of the private copy, a guard region on the private or
 * shared mapping, or a truncation; every step followed by probes.
 */
function contentScenario(p: Picks, a: ArenaAllocator): Call | null {
  const ctx = filesCtx(a);
  const fd = p.int(ctx.files.length);
  const f = ctx.files[fd]!;
  const filePages = Number((f.size + P - 1n) / P);
  if (!filePages) return null;
  const pages = 1 + p.int(Math.min(8, filePages));
  const pgoff = p.int(filePages - pages + 1);
  const s = a.range(p).page;
  let q = a.range(p).page;
  if (s + pages > a.arenaPages) return null;
  if (q + pages > a.arenaPages || (q < s + pages && s < q + pages)) q = s + pages;
  if (q + pages > a.arenaPages) return null;
  const offset = BigInt(pgoff) * P;
  const sharedProt = f.readOnly ? PROT.PROT_READ : PROT.PROT_READ | PROT.PROT_WRITE;
  const out: Call[] = [
    { op: 'mmap', addr: { page: q, off: 0 }, len: BigInt(pages) * P, prot: PROT.PROT_READ | PROT.PROT_WRITE, flags: MAP.MAP_PRIVATE | MAP.MAP_FIXED, fd, offset },
  ];
  const k = () => p.int(pages);
  const steps = 2 + p.int(4);
  for (let i = 0; i < steps; i++) {
    const x = k();
    switch (p.int(8)) {
      case 0: out.push({ op: 'touch', addr: { page: s + x, off: 0 }, access: 'write' }, probe(q + x)); break;
      case 1: out.push({ op: 'touch', addr: { page: q + x, off: 0 }, access: 'write' }, probe(s + x)); break;
      case 2: out.push(probe(q + x), probe(s + x)); break;
      case 3: out.push({ op: 'madvise', addr: { page: q, off: 0 }, len: BigInt(pages) * P, advice: MADV.MADV_DONTNEED }, probe(q + x)); break;
      case 4: out.push({ op: 'madvise', addr: { page: (p.chance(50) ? q : s) + x, off: 0 }, len: P, advice: MADV.MADV_GUARD_INSTALL }, probe(q + x), probe(s + x)); break;
      case 5: out.push({ op: 'madvise', addr: { page: (p.chance(50) ? q : s) + x, off: 0 }, len: P, advice: MADV.MADV_GUARD_REMOVE }, probe(q + x)); break;
      case 6: out.push({ op: 'ftruncate', file: fd, len: BigInt(pgoff + x) * P + BigInt(p.chance(30) ? p.int(PAGE_SIZE) : 0) }, probe(q + x), probe(s + x)); break;
      default: out.push({ op: 'madvise', addr: { page: s, off: 0 }, len: BigInt(pages) * P, advice: p.chance(50) ? MADV.MADV_POPULATE_READ : MADV.MADV_WILLNEED }, probe(s + x, p.int(PAGE_SIZE))); break;
    }
  }
  ctx.pending.push(...out);
  return { op: 'mmap', addr: { page: s, off: 0 }, len: BigInt(pages) * P, prot: sharedProt, flags: MAP.MAP_SHARED | MAP.MAP_FIXED, fd, offset };
}
