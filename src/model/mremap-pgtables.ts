// What move_page_tables leaves of the source's page tables when MREMAP_DONTUNMAP keeps the source
// VMA (without DONTUNMAP the source is unmapped and free_pgtables decides, src/model/syscalls.ts).
// mm/mremap.c:move_page_tables walks the range by PMD extents (get_extent: up to the next PMD
// boundary of the old AND the new address). An extent of a whole PMD moves the entry itself: a
// huge PMD (THP, huge zero page) by move_huge_pmd, a page table by move_normal_pmd (x86
// CONFIG_HAVE_MOVE_PMD; the destination PMD must be none: "free_pgtables() should have released
// it"; not for a uffd-wp VMA losing its registration: uffd_supports_page_table_move). The kept
// source then has no page table in that block, so its next fault takes the PMD-none path (a THP
// where allowed, with an anon_vma). Smaller extents move PTEs and leave the emptied table.

import { VM_UFFD_WP } from './flags.js';
import type { Placement } from './placement.js';
import { HPAGE_PAGES, type Mm, type Vma } from './state.js';
import { Unsupported } from './syscalls.js';

/** The source blocks whose PMD entry the move takes along (their pmd becomes none); call before the move. */
export function movedSourceTables(mm: Mm, vma: Vma, start: number, end: number, dest: Placement, keepsUffd: boolean): number[] {
  const first = Math.ceil(start / HPAGE_PAGES);
  const last = Math.floor(end / HPAGE_PAGES); // exclusive
  const candidates: number[] = [];
  for (let b = first; b < last; b++) if (mm.pmd[b]) candidates.push(b);
  // try_realign_addr: an unaligned start moves its first, partial block's table whole when both
  // addresses are equally misaligned and nothing is mapped below them in their PMD (can_align_down)
  const head = Math.floor(start / HPAGE_PAGES);
  const realign = start % HPAGE_PAGES !== 0 && end >= (head + 1) * HPAGE_PAGES && mm.pmd[head];
  if (!candidates.length && !realign) return [];
  // the destination's offset in its PMD: an arena page, or PMD-aligned below the arena (a THP
  // placement); other placements outside are not known to the model
  if (dest.kind === 'outside' && !dest.pmdAligned) {
    throw new Unsupported('MREMAP_DONTUNMAP of page tables to a destination outside the arena: whether whole PMD entries move (mm/mremap.c:move_page_tables, get_extent) is not modelled');
  }
  const delta = dest.kind === 'arena' ? dest.page - start : -start;
  if (((delta % HPAGE_PAGES) + HPAGE_PAGES) % HPAGE_PAGES !== 0) return []; // every extent stops at the new address's PMD boundary: PTEs only
  if (realign) throw new Unsupported('MREMAP_DONTUNMAP whose first PMD may be realigned (mm/mremap.c:try_realign_addr, can_align_down) is not modelled');
  if (!keepsUffd && vma.flags & VM_UFFD_WP) throw new Unsupported('MREMAP_DONTUNMAP of a uffd-wp VMA losing its registration: page tables are walked (mm/mremap.c:uffd_supports_page_table_move), not modelled');
  // a destination block with a table already: move_normal_pmd refuses (WARN_ON_ONCE) and PTEs
  // move; below the arena the new area is fresh (its PMDs none)
  const moved = dest.kind === 'outside' ? candidates : candidates.filter((b) => !mm.pmd[b + delta / HPAGE_PAGES]);
  if (moved.length) mm.hit('mremap.dontunmap.pmd_moved');
  return moved;
}
