// Which part of the arena a call may read or change, for the search's cheap independence test:
// its page range widened to the VMAs around it (a merge or a fault's anon_vma reuse reaches the
// neighbours), or the whole arena for calls that search for room (non-fixed mmap, moving mremap) or
// act on a file (ftruncate: every mapping of it). Disjoint footprints are only a hint; the search
// then checks on the model that the two calls commute.

import type { Mm } from '../model/state.js';
import { MAP, MREMAP, PAGE_SIZE } from '../seq/consts.js';
import type { Call } from '../seq/schema.js';
import type { Addr } from '../seq/values.js';

export type Footprint = [number, number] | 'all';

const pages = (len: bigint) => Number((len + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE));
const range = (a: Addr, len: bigint): [number, number] | 'all' => (len >= 1n << 40n ? 'all' : [a.page, a.page + Math.max(1, pages(len + BigInt(a.off)))]);

function rawRange(c: Call): Footprint {
  switch (c.op) {
    case 'touch':
      return [c.addr.page, c.addr.page + 1];
    case 'mmap':
      if (c.addr === null || !(c.flags & (MAP.MAP_FIXED | MAP.MAP_FIXED_NOREPLACE)) || c.fd !== undefined) return 'all';
      return range(c.addr, c.len);
    case 'mremap': {
      if (!(c.flags & MREMAP.MREMAP_FIXED) || !c.newAddr) return 'all';
      const a = range(c.addr, c.oldLen);
      const b = range(c.newAddr, c.newLen);
      return a === 'all' || b === 'all' ? 'all' : [Math.min(a[0], b[0]), Math.max(a[1], b[1])];
    }
    case 'munmap':
    case 'mprotect':
    case 'madvise':
    case 'mlock':
    case 'mlock2':
    case 'munlock':
    case 'mseal':
    case 'anon_name':
      return range(c.addr, c.len);
    default:
      return 'all';
  }
}

/** The call's footprint in state `mm`: its range plus every VMA touching [lo - 1, hi + 1). */
export function footprint(mm: Mm, c: Call): Footprint {
  const r = rawRange(c);
  if (r === 'all') return r;
  let [lo, hi] = r;
  for (const v of mm.arenaVmas()) {
    if (v.end >= r[0] && v.start <= r[1]) {
      lo = Math.min(lo, v.start);
      hi = Math.max(hi, v.end);
    }
  }
  return [lo - 1, hi + 1];
}

export function overlaps(a: Footprint, b: Footprint): boolean {
  if (a === 'all' || b === 'all') return true;
  return a[0] < b[1] && b[0] < a[1];
}
