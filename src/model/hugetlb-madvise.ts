// madvise on a hugetlb VMA (7.3 mm/madvise.c:madvise_vma_behavior for VM_HUGETLB), for the advice
// whose hugetlb path is modelled; any other advice on hugetlb is declined (src/model/shm.ts
// declineOnHugeShm keeps it from getting here).

import { MADV } from '../seq/consts.js';
import { HPAGE_PAGES, Mm, PTE_NONE, type Vma } from './state.js';
import { VM_MAYWRITE, VM_SHARED } from './flags.js';
import { punchHoleSealed } from './seals.js';
import { Unsupported } from './syscalls.js';
import { rowUnverified } from './profile-rows.js';

const EINVAL = 22;
const EACCES = 13;
const EPERM = 1;
const M = MADV;

/** Advice that takes the ordinary path on hugetlb too (src/model/madvise.ts): the flag advice
 *  through madvise_update_vma - whose split off the 2 MiB grid is EINVAL (hugetlb_vm_op_split; only
 *  -ENOMEM becomes EAGAIN) - with WIPEONFORK refused for a file VMA, DODUMP allowed despite
 *  VM_SPECIAL ("!is_vm_hugetlb_page(vma) && VM_SPECIAL"), MERGEABLE ignored (ksm_compatible refuses
 *  VM_HUGETLB), HUGEPAGE setting "hg" (hugepage_madvise has no hugetlb test); WILLNEED, which goes
 *  to vfs_fadvise of the hugetlbfs file and maps nothing; MADV_POPULATE_*, which faults whole huge
 *  pages. DOFORK: 7.0+ refuses VM_SPECIAL (EINVAL), 6.19 and older only VM_IO (row madvise.dofork_special). */
const GENERIC_ON_HUGETLB: ReadonlySet<number> = new Set([
  M.MADV_NORMAL, M.MADV_SEQUENTIAL, M.MADV_RANDOM, M.MADV_DONTFORK, M.MADV_DOFORK, M.MADV_WIPEONFORK, M.MADV_KEEPONFORK,
  M.MADV_DONTDUMP, M.MADV_DODUMP, M.MADV_MERGEABLE, M.MADV_UNMERGEABLE, M.MADV_HUGEPAGE, M.MADV_NOHUGEPAGE,
  M.MADV_WILLNEED, M.MADV_POPULATE_READ, M.MADV_POPULATE_WRITE,
]);

/** Advice modelled on hugetlb VMAs. */
export const HUGETLB_ADVICE: ReadonlySet<number> = new Set([
  M.MADV_DONTNEED, M.MADV_DONTNEED_LOCKED, M.MADV_FREE, M.MADV_GUARD_INSTALL, M.MADV_GUARD_REMOVE, M.MADV_COLD, M.MADV_PAGEOUT,
  M.MADV_REMOVE, ...GENERIC_ON_HUGETLB,
]);

/** [start, end) inside the hugetlb VMA vma: 0 or a positive errno, or null: the ordinary path. */
export function madviseHugetlb(mm: Mm, advice: number, vma: Vma, start: number, end: number): number | null {
  void vma;
  if (GENERIC_ON_HUGETLB.has(advice)) {
    if (advice === M.MADV_DOFORK) {
      if (rowUnverified('madvise.dofork_special', mm.profile.version)) throw new Unsupported('MADV_DOFORK on hugetlb between 6.19.14 and 7.0 (not verified)');
      if (mm.profile.rows['madvise.dofork_special']) {
        // "if (new_flags & VM_SPECIAL) return -EINVAL" - VM_DONTEXPAND
        mm.hit('errno.madvise.hugetlb_dofork');
        return EINVAL;
      }
    }
    mm.hit('madvise.hugetlb.generic');
    return null;
  }
  switch (advice) {
    case M.MADV_REMOVE:
      return hugetlbRemove(mm, vma, start, end);
    case M.MADV_DONTNEED:
    case M.MADV_DONTNEED_LOCKED: {
      // madvise_dontneed_free_valid_vma: the start must be on the huge page grid; "Avoid unexpected
      // data loss by rounding down the number of huge pages freed": end = ALIGN_DOWN(end, 2 MiB)
      if (start % HPAGE_PAGES) {
        mm.hit('errno.madvise.hugetlb_unaligned');
        return EINVAL;
      }
      const e = end - (end % HPAGE_PAGES);
      mm.hit(e === start ? 'madvise.hugetlb.dontneed_nothing' : 'madvise.hugetlb.dontneed');
      // zap_vma_range -> __unmap_hugepage_range: the huge pages go (the reservation stays)
      for (let p = start; p < e; p++) mm.pte[p] = PTE_NONE;
      return 0;
    }
    case M.MADV_FREE:
      // madvise_dontneed_free_valid_vma: hugetlb takes only MADV_DONTNEED(_LOCKED)
      mm.hit('errno.madvise.hugetlb_advice');
      return EINVAL;
    case M.MADV_GUARD_INSTALL:
    case M.MADV_GUARD_REMOVE:
      // is_valid_guard_vma: "vm_flags_t disallowed = VM_SPECIAL | VM_HUGETLB"
      mm.hit('errno.madvise.hugetlb_advice');
      return EINVAL;
    case M.MADV_COLD:
    case M.MADV_PAGEOUT:
      // can_madv_lru_vma: !(vm_flags & (VM_LOCKED|VM_PFNMAP|VM_HUGETLB))
      mm.hit('errno.madvise.hugetlb_advice');
      return EINVAL;
    default:
      throw new Unsupported(`madvise ${advice} on a hugetlb VMA is not modelled`);
  }
}

/**
 * MADV_REMOVE of [start, end) of a hugetlb VMA: mm/madvise.c:madvise_remove (EACCES unless
 * VM_SHARED|VM_MAYWRITE) -> vfs_fallocate(PUNCH_HOLE|KEEP_SIZE) -> fs/hugetlbfs/inode.c:
 * hugetlbfs_punch_hole: the hole is the whole huge pages inside the range (round_up(offset),
 * round_down(offset + len)); partial huge pages at its ends are zeroed in place and stay mapped.
 * hugetlb_vmdelete_list zaps the hole in *every* mapping of the file (unmap_hugepage_range,
 * zap_flags 0: a private mapping's copy-on-write copies go too, unlike shmem's even_cows = 0;
 * 6.18.44 host), then remove_inode_hugepages drops the pages from the page cache.
 */
function hugetlbRemove(mm: Mm, vma: Vma, start: number, end: number): number {
  if ((vma.flags & (VM_SHARED | VM_MAYWRITE)) !== (VM_SHARED | VM_MAYWRITE)) {
    mm.hit('errno.madvise.remove_not_shared');
    return EACCES;
  }
  // hugetlbfs_punch_hole: "if (info->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) return -EPERM"
  if (punchHoleSealed(mm, vma.file)) return EPERM;
  const first = vma.pgoff + (start - vma.start);
  const holeStart = Math.ceil(first / HPAGE_PAGES);
  const holeEnd = Math.floor((first + (end - start)) / HPAGE_PAGES);
  mm.hit(holeEnd > holeStart ? 'madvise.hugetlb.remove' : 'madvise.hugetlb.remove_partial');
  if (holeEnd <= holeStart) return 0;
  const file = mm.sys.file(vma.file);
  for (const m of mm.sys.procs.length ? mm.sys.procs : [mm]) {
    for (const v of m.arenaVmas()) {
      if (v.file !== vma.file) continue;
      for (let p = v.start; p < v.end; p++) {
        const idx = Math.floor((v.pgoff + (p - v.start)) / HPAGE_PAGES);
        if (idx >= holeStart && idx < holeEnd) m.pte[p] = PTE_NONE;
      }
    }
  }
  for (let i = holeStart; i < holeEnd; i++) file.cache.delete(i);
  return 0;
}
