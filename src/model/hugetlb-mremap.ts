// mremap of a hugetlb VMA: the lengths are rounded up to the 2 MiB huge page and checked before
// anything is done (7.3 mm/mremap.c:check_prep_vma -> align_hugetlb; 6.1/6.12
// SYSCALL_DEFINE5(mremap), the is_vm_hugetlb_page block after vma_lookup and the seal check - the
// same tests, in the same place relative to the lookup). Everything else is the ordinary mremap
// path with the rounded lengths: a shrink unmaps whole huge pages, a same-size call is a no-op,
// MREMAP_FIXED moves the huge page tables (mm/mremap.c:move_page_tables ->
// move_hugetlb_page_tables) and the private reservation goes with the copy
// (mm/hugetlb.c:fixup_hugetlb_reservations). Growth is always refused, so a hugetlb VMA never moves
// to a kernel-chosen address; MREMAP_DONTUNMAP is refused by VM_DONTEXPAND (mremap.ts).

import { VM_MAYSHARE, VM_NORESERVE } from './flags.js';
import { HPAGE_PAGES, type Mm, type Vma } from './state.js';
import { isHugetlb } from './vm-ops.js';
import { Unsupported } from './syscalls.js';

const EINVAL = 22;
const U64 = 1n << 64n;
const HUGE_BYTES = BigInt(HPAGE_PAGES) * 4096n;

/** The fields of mm/mremap.c's vma_remap_struct that align_hugetlb reads and rewrites. */
export interface HugeRemap {
  addr: number;
  /** pages; -1 = beyond the arena */
  oldLen: number;
  /** PAGE_ALIGN(old_len) in bytes (needed for the 2 MiB rounding, which may wrap to 0) */
  oldBytes: bigint;
  newLen: number;
  /** the new_addr argument as given (page, byte offset): checked even without MREMAP_FIXED */
  newAddr: number | null;
  newAddrOff: number;
  /** align_hugetlb already ran for this call (6.12 path: before mremap_to, not again in vma_to_resize) */
  hugeAligned?: boolean;
}

/**
 * align_hugetlb(vrm): old_len and new_len rounded up to huge_page_size (ALIGN: an old_len near
 * 2^64 wraps to 0); addr and the new_addr argument must be on the 2 MiB grid ("addrs must be huge
 * page aligned" - new_addr even when no flag asks for a move: mremap(addr, 4K, 4K, 0, addr + 4K)
 * is EINVAL); no growth ("the underlying hugetlb reservation is not yet capable to handle split
 * reservation"). Returns 0 (lengths rewritten) or EINVAL. Not a hugetlb VMA: 0, nothing changed.
 */
export function alignHugetlb(mm: Mm, vma: Vma, r: HugeRemap): number {
  if (!isHugetlb(vma) || r.hugeAligned) return 0;
  r.hugeAligned = true;
  const align = (b: bigint) => ((b + HUGE_BYTES - 1n) % U64) & ~(HUGE_BYTES - 1n);
  const oldB = align(r.oldBytes);
  const newB = align(BigInt(r.newLen) * 4096n);
  const arenaBytes = BigInt(mm.arenaPages) * 4096n;
  if (oldB !== r.oldBytes || newB !== BigInt(r.newLen) * 4096n) mm.hit('mremap.hugetlb.len_rounded');
  r.oldBytes = oldB;
  r.oldLen = oldB > arenaBytes ? -1 : Number(oldB / 4096n);
  r.newLen = Number(newB / 4096n);
  if (r.addr % HPAGE_PAGES || (r.newAddr !== null && (r.newAddrOff || r.newAddr % HPAGE_PAGES))) {
    mm.hit('errno.mremap.hugetlb_unaligned');
    return EINVAL;
  }
  if (newB > oldB) {
    mm.hit('errno.mremap.hugetlb_grow');
    return EINVAL;
  }
  return 0;
}

/**
 * A move of part of a private hugetlb VMA that holds a reservation (MAP_PRIVATE without
 * MAP_NORESERVE: hugetlb_reserve_pages gave it its own resv_map, HPAGE_RESV_OWNER) is declined:
 * copy_vma_and_data -> fixup_hugetlb_reservations -> clear_vma_resv_huge_pages drops the resv_map
 * of the *whole* source VMA, the copy keeps it only for its own range (hugetlb_vm_op_close returns
 * "(end - start) - region_count(...)" of the closing VMA's range), so the reservations of the parts
 * that stay behind are never returned: HugePages_Rsvd leaks on the machine (6.18.44 host: +3 per
 * move of 1 of 4 huge pages, still there after the process exits; 7.3.4 source: same code). After
 * it, faults in those parts take unreserved pages, which depends on a pool state the model does not
 * follow. (The generator gives private hugetlb mappings MAP_NORESERVE in sequences with mremap.)
 */
export function declineLeakingMove(vma: Vma, start: number, end: number): void {
  if (!isHugetlb(vma) || vma.flags & (VM_MAYSHARE | VM_NORESERVE)) return;
  if (start === vma.start && end === vma.end) return;
  throw new Unsupported('a move of part of a private hugetlb VMA with a reservation (the rest loses its reservation, which leaks: mm/hugetlb.c:clear_vma_resv_huge_pages)');
}
