// Address selection for non-fixed mmap (mm/mmap.c:__get_unmapped_area and what it calls), restricted
// to the arena: the harness fences the arena so that a top-down search starts at its top, and any
// search that finds no room inside continues below the lower fence, "outside".

import { VM_GROWSDOWN } from './flags.js';
import { HPAGE_PAGES, Mm, type Vma } from './state.js';

/** `outside`: below the arena, where the model does not place; `pmdAligned` when the kernel's
 *  getter aligns it to a PMD there (__thp_get_unmapped_area: the padded search succeeds below). */
export type Placement = { kind: 'arena'; page: number } | { kind: 'outside'; pmdAligned?: boolean };

const OUTSIDE: Placement = { kind: 'outside' };

/** include/linux/mm.h:vm_start_gap - a VM_GROWSDOWN VMA keeps stack_guard_gap free below it. */
function vmStartGap(mm: Mm, v: Vma): number {
  return v.flags & VM_GROWSDOWN ? v.start - mm.profile.stackGuardGapPages : v.start;
}

/**
 * mm/vma.c:unmapped_area_topdown for `len` pages with alignment mask `alignMask` (pages - 1, 0 =
 * none) and offset 0: the highest gap fitting len + alignMask below high_limit; if the VMA above the
 * gap grows down and its guard gap reaches into the gap, retry below vm_start_gap. The result is
 * gap_end - len, aligned down.
 */
export function unmappedAreaTopdown(mm: Mm, len: number, alignMask: number): Placement {
  const length = len + alignMask;
  let high = mm.arenaPages;
  const a = mm.vmas;
  for (;;) {
    let found = -1;
    let gapEnd = 0;
    // vma_iter_area_highest: walk gaps from the top; gap i is [a[i-1].end, a[i].start)
    for (let i = a.length - 1; i >= 1; i--) {
      const gs = a[i - 1]!.end;
      if (gs >= high) continue;
      const ge = Math.min(a[i]!.start, high);
      if (ge - gs >= length) {
        found = i;
        gapEnd = ge;
        break;
      }
    }
    if (found < 0) {
      mm.hit('mmap.place.outside');
      return OUTSIDE;
    }
    let gap = gapEnd - len;
    gap -= gap & alignMask;
    // tmp = vma_next(): the VMA right above the found area
    const tmp = a[found]!;
    if (tmp.flags & VM_GROWSDOWN && vmStartGap(mm, tmp) < gapEnd) {
      mm.hit('mmap.place.stack_guard_gap');
      high = vmStartGap(mm, tmp);
      continue;
    }
    return { kind: 'arena', page: gap };
  }
}

/** arch/x86/kernel/sys_x86_64.c:arch_get_unmapped_area_topdown: a hint is used iff find_vma(addr)
 *  starts (minus its guard gap) at or above hint + len. */
export function hintFree(mm: Mm, hint: number, len: number): boolean {
  const v = mm.vmas[mm.findIndex(hint)]!;
  return hint + len <= vmStartGap(mm, v);
}

/**
 * mm/mmap.c:__get_unmapped_area for an anonymous non-fixed mapping of `len` pages.
 * hint: arena page or null (NULL). shared: MAP_SHARED (shmem_get_unmapped_area).
 */
export function getUnmappedArea(mm: Mm, hint: number | null, len: number, shared: boolean, map32bit: boolean): Placement {
  if (map32bit) {
    // x86: MAP_32BIT searches bottom-up in [1 GiB, 2 GiB), far below any arena.
    mm.hit('mmap.place.map_32bit');
    return OUTSIDE;
  }
  if (shared) return shmemGetUnmappedArea(mm, hint, len);
  if (thpAlignApplies(mm, hint, len, shared, map32bit)) return thpGetUnmappedArea(mm, len);
  return mmGetUnmappedArea(mm, hint, len);
}

/** mm/mmap.c:__get_unmapped_area: "Ensures that larger anonymous mappings are THP aligned" - no
 *  file, not MAP_SHARED (shmem has its own getter), no hint, len a multiple of PMD_SIZE. */
export function thpAlignApplies(mm: Mm, hint: number | null, len: number, shared: boolean, map32bit: boolean): boolean {
  return (
    !shared &&
    !map32bit &&
    hint === null &&
    mm.profile.thp !== 'none' &&
    mm.profile.rows['mmap.thp_align_anon'] &&
    len % HPAGE_PAGES === 0
  );
}

/** mm_get_unmapped_area -> arch_get_unmapped_area_topdown (hint, then top-down search). */
function mmGetUnmappedArea(mm: Mm, hint: number | null, len: number): Placement {
  if (hint !== null) {
    if (hintFree(mm, hint, len)) {
      mm.hit('mmap.place.hint');
      return { kind: 'arena', page: hint };
    }
    mm.hit('mmap.place.hint_taken');
  }
  const p = unmappedAreaTopdown(mm, len, 0);
  if (p.kind === 'arena') mm.hit('mmap.place.topdown');
  return p;
}

/** mm/huge_memory.c:thp_get_unmapped_area_vmaflags -> __thp_get_unmapped_area with off = 0: search
 *  len + 2 MiB, then align (top-down: ret + size when already aligned, else ret rounded up). If the
 *  padded search fails the unpadded one is used - but "fails" means nowhere in the address space,
 *  and below the arena there is room, so a padded miss in the arena lands outside. */
function thpGetUnmappedArea(mm: Mm, len: number): Placement {
  const ret = unmappedAreaTopdown(mm, len + HPAGE_PAGES, 0);
  if (ret.kind === 'outside') {
    mm.hit('mmap.place.thp_outside');
    return { kind: 'outside', pmdAligned: true };
  }
  const offSub = -ret.page & (HPAGE_PAGES - 1);
  mm.hit('mmap.place.thp_aligned');
  return { kind: 'arena', page: offSub === 0 ? ret.page + HPAGE_PAGES : ret.page + offSub };
}

/** mm/shmem.c:shmem_get_unmapped_area for MAP_SHARED|MAP_ANONYMOUS (pgoff 0): the ordinary result,
 *  re-placed at a huge-page boundary only when shmem THP is enabled and the hint was not honoured. */
function shmemGetUnmappedArea(mm: Mm, hint: number | null, len: number): Placement {
  const addr = mmGetUnmappedArea(mm, hint, len);
  const hp = mm.profile.shmemHugePages;
  if (addr.kind === 'outside' || hp === 0) return addr;
  if (hint !== null && hint === addr.page) return addr;
  if (len < hp || addr.page % hp === 0) return addr;
  const inflated = mmGetUnmappedArea(mm, hint, len + hp - 1);
  if (inflated.kind === 'outside') return inflated;
  mm.hit('mmap.place.shmem_aligned');
  const off = inflated.page % hp;
  return { kind: 'arena', page: off === 0 ? inflated.page : inflated.page - off + hp };
}
