// Generation of madvise, mlock/mlock2/munlock, mseal, anon_name calls and the access kind of
// touch (read, write, exec probe). Ranges come from the biased arena allocator, so advice lands on
// and next to earlier ranges: guarded ranges that later get split, locked next to unlocked,
// sealed VMAs that later calls try to change, faulted next to unfaulted.

import { MADV, MLOCK, PAGE_SIZE } from '../seq/consts.js';
import type { Call } from '../seq/schema.js';
import type { ArenaAllocator, Picks } from './alloc.js';
import { genRange } from './generate.js';

/** The op families of this file, for `--ops` (src/gen/families.ts). */
export const MEM_OPS = ['madvise', 'mlock', 'mlock2', 'munlock', 'mseal', 'anon_name'] as const;
export type MemOp = (typeof MEM_OPS)[number];

// Advice by kind, each kind drawn with its weight (flag changes dominate: they merge and split).
const FLAG_ADVICE = [
  MADV.MADV_HUGEPAGE, MADV.MADV_NOHUGEPAGE, MADV.MADV_DONTFORK, MADV.MADV_DOFORK, MADV.MADV_WIPEONFORK,
  MADV.MADV_KEEPONFORK, MADV.MADV_DONTDUMP, MADV.MADV_DODUMP, MADV.MADV_RANDOM, MADV.MADV_SEQUENTIAL,
  MADV.MADV_NORMAL, MADV.MADV_MERGEABLE, MADV.MADV_UNMERGEABLE,
];
const DISCARD_ADVICE = [MADV.MADV_DONTNEED, MADV.MADV_DONTNEED, MADV.MADV_DONTNEED_LOCKED, MADV.MADV_FREE];
const GUARD_ADVICE = [MADV.MADV_GUARD_INSTALL, MADV.MADV_GUARD_INSTALL, MADV.MADV_GUARD_REMOVE];
const POPULATE_ADVICE = [MADV.MADV_POPULATE_READ, MADV.MADV_POPULATE_WRITE];
const OTHER_ADVICE = [MADV.MADV_COLD, MADV.MADV_PAGEOUT, MADV.MADV_WILLNEED, MADV.MADV_REMOVE, MADV.MADV_COLLAPSE];
/** Unknown advice. Never 100/101 (MADV_HWPOISON, MADV_SOFT_OFFLINE): they poison real memory. */
// (negative advice does not survive the corpus text form: src/seq/io.ts writes it signed)
const BAD_ADVICE = [5, 6, 7, 26, 99, 104, 0x7fffffff];

function pick<T>(p: Picks, xs: readonly T[]): T {
  return xs[p.int(xs.length)]!;
}

function pickAdvice(p: Picks, invalid: boolean): number {
  if (invalid && p.chance(50)) return pick(p, BAD_ADVICE);
  const roll = p.int(100);
  if (roll < 42) return pick(p, FLAG_ADVICE);
  if (roll < 60) return pick(p, DISCARD_ADVICE);
  if (roll < 76) return pick(p, GUARD_ADVICE);
  if (roll < 88) return pick(p, POPULATE_ADVICE);
  return pick(p, OTHER_ADVICE);
}

/** Names: a few shared ones so that neighbours can merge, and invalid ones (too long, bad bytes). */
const NAMES = ['a', 'a', 'b', 'heap 2', 'x.y-z_0'];
const BAD_NAMES = ['x'.repeat(80), 'a$b', 'tab\there', '[x]', 'é'];

/** In arenas of 2 MiB blocks, sometimes exactly one block or the whole arena: THP faults, PTE-table
 *  reclaim after MADV_DONTNEED, khugepaged candidates and MADV_COLLAPSE need aligned blocks. */
function blockRange(p: Picks, a: ArenaAllocator): { addr: { page: number; off: number }; len: bigint } | null {
  const blocks = Math.floor(a.arenaPages / 512);
  if (blocks === 0 || !p.chance(12)) return null;
  const whole = p.chance(30);
  const page = whole ? 0 : 512 * p.int(blocks);
  const pages = whole ? a.arenaPages : 512;
  a.note({ page, pages });
  return { addr: { page, off: 0 }, len: BigInt(pages * PAGE_SIZE) };
}

export function genMemCall(p: Picks, a: ArenaAllocator, op: MemOp, invalid: boolean): Call {
  switch (op) {
    case 'madvise': {
      const advice = pickAdvice(p, invalid);
      const r = blockRange(p, a) ?? genRange(p, a, invalid && p.chance(50));
      return { op, ...r, advice };
    }
    case 'mlock':
    case 'munlock': {
      const r = genRange(p, a, invalid);
      // mlock/munlock round an unaligned start down (and grow the length): a valid call
      if (!invalid && p.chance(8)) r.addr = { page: r.addr.page, off: 1 + p.int(PAGE_SIZE - 1) };
      return { op, ...r };
    }
    case 'mlock2': {
      const r = genRange(p, a, invalid && p.chance(50));
      let flags = p.chance(50) ? MLOCK.MLOCK_ONFAULT : 0;
      if (invalid && p.chance(50)) flags = pick(p, [2, 3, 0x80000000]);
      return { op, ...r, flags };
    }
    case 'mseal': {
      const r = genRange(p, a, invalid && p.chance(50));
      return { op, ...r, flags: invalid && p.chance(50) ? 1 : 0 };
    }
    case 'anon_name': {
      const r = genRange(p, a, invalid && p.chance(50));
      const name = invalid && p.chance(50) ? pick(p, BAD_NAMES) : p.chance(15) ? null : pick(p, NAMES);
      return { op, ...r, name };
    }
  }
}

/** touch access: mostly writes and reads, a few instruction fetches (the exec probe). */
export function pickAccess(p: Picks): 'read' | 'write' | 'exec' {
  const roll = p.int(100);
  return roll < 52 ? 'write' : roll < 94 ? 'read' : 'exec';
}
