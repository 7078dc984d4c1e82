// mremap(2) after 7.3's mm/mremap.c (do_mremap -> check_mremap_params -> check_prep_vma ->
// mremap_to / mremap_at / remap_move) and mm/vma.c:copy_vma. A move copies the VMA to its
// destination (merging there under the copy rules: an unfaulted VMA's page offset is reset to the
// destination, a faulted one keeps its own and the source's fork-child state), moves the page
// tables and unmaps the source; MREMAP_DONTUNMAP keeps the emptied source.

import { dropPriv, moveContent } from './content.js';
import { MREMAP } from '../seq/consts.js';
import type { Addr } from '../seq/values.js';
import { UFFD_FEATURE } from '../seq/consts.js';
import { VM_DONTEXPAND, VM_LOCKED, VM_LOCKED_MASK, VM_MAYSHARE, VM_SEALED, VM_SHARED, VM_UFFD_FLAGS } from './flags.js';
import { alignHugetlb, declineLeakingMove, type HugeRemap } from './hugetlb-mremap.js';
import { mmPopulate, populateUntracked, vmaIsAnonymous } from './fault.js';
import { movedSourceTables } from './mremap-pgtables.js';
import { vmaMergeNewRange, splitVma } from './merge.js';
import { getUnmappedArea, thpAlignApplies, type Placement } from './placement.js';
import { declineThpPlacement } from './realfs.js';
import { HPAGE_PAGES, Mm, PTE_NONE, type Vma } from './state.js';
import { EAGAIN, EINVAL, ENOMEM, EPERM, sysMunmap, type PlacementJudge, Unsupported } from './syscalls.js';
import { uffdCtxOf } from './uffd.js';
import { hasCloseHook, isShm } from './vm-ops.js';

export const EFAULT = 14;
const TASK_SIZE = (1n << 47n) - 4096n;
const U64 = 1n << 64n;

export type MremapResult = { err: number } | { placement: Placement };

interface Vrm extends HugeRemap {
  addr: number;
  oldLen: number; // pages
  newLen: number;
  flags: number;
  newAddr: number | null; // page; null = NULL
  vma: Vma | null;
  populateExpand: boolean;
  /** a moved VMA keeps a registration with UFFD_FEATURE_EVENT_REMAP: remap event on success */
  remapEvent: boolean;
  /** uffd unmap events of the MREMAP_FIXED destination (uf_unmap_early), recorded first */
  early: number;
  judge?: PlacementJudge;
}

const pageAlign = (v: bigint) => ((v + 4095n) & ~4095n) % U64;

/** mremap(addr, old_len, new_len, flags, new_addr). */
export function sysMremap(mm: Mm, addr: Addr, oldLenArg: bigint, newLenArg: bigint, flags: number, newAddr: Addr | null, judge?: PlacementJudge): MremapResult {
  const fail = (e: number, id: Parameters<Mm['hit']>[0]): MremapResult => {
    mm.hit(id);
    return { err: e };
  };
  const R = MREMAP;
  const oldLen = pageAlign(oldLenArg);
  const newLen = pageAlign(newLenArg);
  // check_mremap_params
  if (flags & ~(R.MREMAP_FIXED | R.MREMAP_MAYMOVE | R.MREMAP_DONTUNMAP)) return fail(EINVAL, 'errno.mremap.flags');
  if (addr.off) return fail(EINVAL, 'errno.mremap.unaligned');
  if (newLen === 0n) return fail(EINVAL, 'errno.mremap.new_len_zero');
  const impliesNewAddr = (flags & (R.MREMAP_FIXED | R.MREMAP_DONTUNMAP)) !== 0;
  const checksFirst = mm.profile.rows['mremap.check_params_first'];
  if (!checksFirst) {
    // 6.12 SYSCALL_DEFINE5(mremap): the flag checks, then the VMA, then mremap_to's new_addr checks
    if (impliesNewAddr && !(flags & R.MREMAP_MAYMOVE)) return fail(EINVAL, 'errno.mremap.flags');
    if (flags & R.MREMAP_DONTUNMAP && oldLen !== newLen) return fail(EINVAL, 'errno.mremap.flags');
  }
  if (newLen > TASK_SIZE && (checksFirst || impliesNewAddr)) {
    if (!checksFirst) {
      const e = lookupOld(mm, addr.page);
      if (e) return { err: e };
    }
    return fail(EINVAL, 'errno.mremap.task_size');
  }
  if (impliesNewAddr && !checksFirst && mm.profile.rows['mremap.new_addr_checked_first']) {
    // 6.15 check_mremap_params: new_addr alignment and the map_count slack before the lookup
    if (newAddr && newAddr.off) return fail(EINVAL, 'errno.mremap.unaligned');
    if (mm.mapCount + 2 >= mm.profile.maxMapCount - 3) return mapCountErr(mm);
  }
  if (impliesNewAddr && !checksFirst) {
    const e = lookupOld(mm, addr.page);
    if (e) return { err: e };
  }
  if (impliesNewAddr) {
    // new_addr > TASK_SIZE - new_len cannot hold for arena addresses, nor for NULL
    if (newAddr && newAddr.off) return fail(EINVAL, 'errno.mremap.unaligned');
    if (!(flags & R.MREMAP_MAYMOVE)) return fail(EINVAL, 'errno.mremap.flags');
    if (flags & R.MREMAP_DONTUNMAP && oldLen !== newLen) return fail(EINVAL, 'errno.mremap.flags');
    if (newAddr && overlaps(addr.page, oldLen, newAddr.page, newLen)) return fail(EINVAL, 'errno.mremap.overlap');
  }
  // check_map_count_against_split_early (7.3): headroom for two unmap splits and the move
  if (mm.profile.rows['mremap.map_count_exact'] && mm.mapCount + 4 + (flags & R.MREMAP_DONTUNMAP ? 1 : 0) > mm.profile.maxMapCount) {
    return fail(ENOMEM, 'errno.mremap.map_count');
  }
  const vrm: Vrm = {
    addr: addr.page,
    oldLen: oldLen > BigInt(mm.arenaPages) * 4096n ? -1 : Number(oldLen >> 12n),
    oldBytes: oldLen,
    newLen: Number(newLen >> 12n),
    flags,
    newAddr: newAddr ? newAddr.page : null,
    newAddrOff: newAddr ? newAddr.off : 0,
    vma: null,
    populateExpand: false,
    remapEvent: false,
    early: 0,
    judge,
  };
  if (newAddr && vrm.newAddr! + vrm.newLen > mm.arenaPages) throw new Unsupported('mremap destination leaves the arena');
  let res: MremapResult;
  const sys = mm.sys;
  const before = sys.events.length;
  if (flags & R.MREMAP_FIXED && oldLen === newLen && mm.profile.rows['mremap.multi_vma']) {
    res = remapMove(mm, vrm);
  } else if (!checksFirst && impliesNewAddr) {
    // 6.12: the hugetlb block follows the lookup and seal check, before mremap_to (src/model/hugetlb-mremap.ts)
    vrm.vma = mm.lookup(vrm.addr);
    const e = vrm.vma ? alignHugetlb(mm, vrm.vma, vrm) : 0;
    res = e ? { err: e } : mremapToOld(mm, vrm);
  } else if (!checksFirst && newLen > TASK_SIZE) {
    // 6.12 never compares new_len with TASK_SIZE here: the same size returns addr, a shrink fails in
    // do_vmi_munmap (start beyond TASK_SIZE); growth past vma_to_resize would need
    // get_unmapped_area of a length beyond TASK_SIZE (not modelled)
    vrm.vma = mm.lookup(vrm.addr);
    const e = lookupOld(mm, vrm.addr);
    if (!e && vrm.vma && alignHugetlb(mm, vrm.vma, vrm)) res = { err: EINVAL };
    else if (!e && vrm.vma && vrm.hugeAligned) throw new Unsupported('mremap of a hugetlb VMA to a length beyond TASK_SIZE on a kernel before 6.17');
    else if (!e && oldLen === newLen) {
      mm.hit('mremap.noop');
      res = { placement: { kind: 'arena', page: vrm.addr } };
    } else {
      const e2 = e || (oldLen > newLen ? EINVAL : checkPrepVma(mm, vrm));
      if (!e2) throw new Unsupported('mremap growth beyond TASK_SIZE on a kernel before 6.17');
      res = { err: e2 };
    }
  } else {
    vrm.vma = mm.lookup(vrm.addr);
    const e = checkPrepVma(mm, vrm);
    res = e ? { err: e } : impliesNewAddr ? mremapTo(mm, vrm) : mremapAt(mm, vrm);
  }
  const failed = 'err' in res;
  // VMA mlock'd + was expanded: populate the expansion
  if (!('err' in res) && vrm.populateExpand && res.placement.kind === 'arena') {
    mmPopulate(mm, res.placement.page + vrm.oldLen, res.placement.page + vrm.newLen);
  }
  // notify_uffd: early unmaps, then the remap event, then the source's unmaps. The unmap events
  // were recorded as they happened; put the remap event after the destination's ones.
  if (!failed && vrm.remapEvent) {
    sys.events.splice(before + vrm.early, 0, 'remap');
    mm.hit('mremap.uffd_event');
  }
  return res;
}

/** 6.12 SYSCALL_DEFINE5(mremap): vma_lookup (EFAULT) and the seal check come before mremap_to's
 *  new_addr checks (profile row mremap.check_params_first). Returns 0 or an errno. */
function lookupOld(mm: Mm, page: number): number {
  const vma = mm.lookup(page);
  if (!vma) {
    mm.hit('errno.mremap.no_vma');
    return EFAULT;
  }
  if (mm.isFence(vma)) throw new Unsupported('mremap of a harness fence');
  if (vma.flags & VM_SEALED) {
    mm.hit('errno.mremap.sealed');
    return EPERM;
  }
  return 0;
}

/** mm/mremap.c:mremap_to - MREMAP_FIXED unmaps the destination first (do_munmap); the uffd UNMAP
 *  events it raises are counted in vrm.early (uf_unmap_early: posted before the remap event). Returns 0 or the errno. */
function unmapDestination(mm: Mm, vrm: Vrm): number {
  // a hugetlb new_len rounded up to 2 MiB may reach past an arena that is not a multiple of it
  if (vrm.newAddr! + vrm.newLen > mm.arenaPages) throw new Unsupported('an mremap destination leaving the arena once rounded up to 2 MiB');
  const before = mm.sys.events.length;
  const e = unmapRange(mm, vrm.newAddr!, vrm.newLen);
  vrm.early = mm.sys.events.length - before;
  if (!e) mm.hit('mremap.fixed_unmap');
  return e;
}

/** 6.12 mm/mremap.c:mremap_to (before 6.17): the map_count slack check, then MREMAP_FIXED unmaps the
 *  destination and a shrink unmaps the source's tail, and only then vma_to_resize checks the source
 *  range - a move refused there (EFAULT: the range leaves the VMA) has already unmapped both. */
function mremapToOld(mm: Mm, vrm: Vrm): MremapResult {
  const p = mm.profile;
  // "Check whether current map count plus 2 still leads us to 4 maps below the threshold"
  // (6.15+: in check_mremap_params, see sysMremap)
  if (!p.rows['mremap.new_addr_checked_first'] && mm.mapCount + 2 >= p.maxMapCount - 3) return mapCountErr(mm);
  let unmapped = false;
  if (vrm.flags & MREMAP.MREMAP_FIXED) {
    const e = unmapDestination(mm, vrm);
    if (e) return { err: e };
    unmapped = true;
  }
  if (vrm.oldLen < 0 || vrm.newLen < vrm.oldLen) {
    const tail = vrm.oldLen < 0 ? (1n << 64n) - 4096n : BigInt(vrm.oldLen - vrm.newLen) * 4096n;
    const e = unmapRange(mm, vrm.addr + vrm.newLen, tail);
    if (e) return { err: e };
    vrm.oldLen = vrm.newLen;
    unmapped = true;
  }
  // vma_to_resize
  vrm.vma = mm.lookup(vrm.addr);
  if (vrm.vma && mm.isFence(vrm.vma)) throw new Unsupported('mremap of a harness fence');
  const e = checkPrepVma(mm, vrm);
  if (e) {
    if (unmapped) mm.hit('mremap.to_unmapped_then_failed');
    return { err: e };
  }
  return setNewAddrAndMove(mm, vrm);
}

/** vrm_overlaps, in arena-relative bytes; a wrapping old_len ends just below its start. */
function overlaps(oldPage: number, oldLen: bigint, newPage: number, newLen: bigint): boolean {
  const s0 = BigInt(oldPage) * 4096n;
  const e0 = oldLen >= 1n << 63n ? s0 + oldLen - U64 : s0 + oldLen;
  const s1 = BigInt(newPage) * 4096n;
  const e1 = s1 + newLen;
  return e0 > s1 && e1 > s0;
}

/** mm/mremap.c:check_prep_vma. Returns 0 or a positive errno. */
function checkPrepVma(mm: Mm, vrm: Vrm): number {
  const vma = vrm.vma;
  const fail = (e: number, id: Parameters<Mm['hit']>[0]) => {
    mm.hit(id);
    return e;
  };
  if (!vma) return fail(EFAULT, 'errno.mremap.no_vma');
  if (mm.isFence(vma)) throw new Unsupported('mremap of a harness fence');
  if (vma.flags & VM_SEALED) return fail(EPERM, 'errno.mremap.sealed');
  // "Align to hugetlb page size, if required" (src/model/hugetlb-mremap.ts)
  const h = alignHugetlb(mm, vma, vrm);
  if (h) return h;
  const implies = (vrm.flags & (MREMAP.MREMAP_FIXED | MREMAP.MREMAP_DONTUNMAP)) !== 0;
  if (!implies) vrm.newAddr = vrm.addr;
  const expand = vrm.oldLen >= 0 && vrm.newLen > vrm.oldLen;
  if (!expand && !implies) return 0;
  let oldLen = vrm.oldLen;
  if (oldLen === 0 && !(vma.flags & (VM_SHARED | VM_MAYSHARE))) return fail(EINVAL, 'errno.mremap.old_len_zero');
  if (oldLen === 0) throw new Unsupported('mremap of a shared mapping with old_len 0 (duplication)');
  // "(vrm->flags & MREMAP_DONTUNMAP) && vma_test_any(vma, VMA_DONTEXPAND_BIT, VMA_PFNMAP_BIT)"
  // (6.12 vma_to_resize: the same test, after mremap_to's unmaps). VM_DONTEXPAND is hugetlb's here;
  // its growth, refused by the same flag further down (EFAULT), never gets this far (align_hugetlb).
  if (vrm.flags & MREMAP.MREMAP_DONTUNMAP && vma.flags & VM_DONTEXPAND) return fail(EINVAL, 'errno.mremap.dontunmap_special');
  const shrink = oldLen < 0 || vrm.newLen < oldLen;
  if (shrink) oldLen = vrm.newLen;
  if (oldLen > vma.end - vrm.addr) return fail(EFAULT, 'errno.mremap.span');
  if (vrm.newLen === oldLen) return 0;
  if (vma.flags & VM_LOCKED) vrm.populateExpand = true;
  // mlock_future_ok for the growth (RLIMIT_AS / RLIMIT_DATA assumed unlimited: may_expand_vm)
  const p = mm.profile;
  if (p.memlockPages !== null && vma.flags & VM_LOCKED && mm.lockedPages(VM_LOCKED) + (vrm.newLen - oldLen) > p.memlockPages) {
    mm.hit('errno.mmap.mlock_limit');
    return EAGAIN;
  }
  return 0;
}

/** do_vmi_munmap of [start, start + pages) (shrinks and source unmaps). Returns 0 or an errno. */
function unmapRange(mm: Mm, start: number, pages: number | bigint): number {
  return sysMunmap(mm, { page: start, off: 0 }, typeof pages === 'bigint' ? pages : BigInt(pages) * 4096n);
}

/** mm/mremap.c:mremap_at - resize in place, moving only to grow. */
function mremapAt(mm: Mm, vrm: Vrm): MremapResult {
  if (vrm.oldLen === vrm.newLen) {
    mm.hit('mremap.noop');
    return { placement: { kind: 'arena', page: vrm.addr } };
  }
  if (vrm.oldLen < 0 || vrm.newLen < vrm.oldLen) {
    // shrink_vma: unmap the tail (may span several VMAs)
    const e = shrink(mm, vrm);
    return e ? { err: e } : { placement: { kind: 'arena', page: vrm.addr } };
  }
  return expandVma(mm, vrm);
}

function shrink(mm: Mm, vrm: Vrm): number {
  const tail = vrm.oldLen < 0 ? (1n << 64n) - 4096n : BigInt(vrm.oldLen - vrm.newLen) * 4096n;
  const e = unmapRange(mm, vrm.addr + vrm.newLen, tail);
  if (e) return e;
  mm.hit('mremap.shrink');
  vrm.vma = mm.lookup(vrm.addr);
  if (!vrm.vma || mm.isFence(vrm.vma)) return EFAULT;
  vrm.oldLen = vrm.newLen;
  return 0;
}

/** mm/mremap.c:expand_vma - in place when [end, end + delta) is free, else move (MREMAP_MAYMOVE). */
function expandVma(mm: Mm, vrm: Vrm): MremapResult {
  const vma = vrm.vma!;
  const delta = vrm.newLen - vrm.oldLen;
  // vrm_can_expand_in_place: the range ends at the VMA's end and the growth is free
  if (vma.end - vrm.addr === vrm.oldLen && !mm.intersect(vma.end, vma.end + delta)) {
    if (vma.end + delta > mm.arenaPages) throw new Unsupported('mremap growth beyond the arena');
    // vma_merge_extend: a new-range merge with the VMA itself as prev (may swallow next); 6.1
    // SYSCALL_DEFINE5(mremap) calls vma_merge(mm, vma, extension_start, ..., vma->anon_vma, ...)
    const merged = vmaMergeNewRange(mm, {
      viaVmaMerge: true,
      start: vma.end,
      end: vma.end + delta,
      flags: vma.flags,
      pgoff: vma.pgoff + (vma.end - vma.start),
      file: vma.file,
      anonDelta: vma.anonDelta ?? 0,
      anonVma: vma.anonVma,
      uffd: vma.uffd ?? 0,
      anonName: vma.anonName ?? null,
      prev: vma,
      next: mm.vmas[mm.findIndex(vma.end)]!,
      middle: null,
    });
    if (!merged && hasCloseHook(mm, vma) && !mm.profile.rows['merge.close_hook_remove_only']) {
      // 6.1 (stable): "vma_merge() can currently fail due to is_mergeable_vma() check for
      // vm_ops->close ... so perform a simple expand for such vma": vma_adjust, no merge (a SysV
      // attach; 7.3 gets the same layout: next could only be a fragment of the same attach, whose
      // close hook keeps it from being removed)
      vma.end += delta;
      mm.hit('mremap.expand_close_hook');
      return { placement: { kind: 'arena', page: vrm.addr } };
    }
    if (!merged) throw new Error('model bug: vma_merge_extend failed');
    mm.hit('mremap.expand');
    return { placement: { kind: 'arena', page: vrm.addr } };
  }
  if (!(vrm.flags & MREMAP.MREMAP_MAYMOVE)) {
    mm.hit('errno.mremap.nomove');
    return { err: ENOMEM };
  }
  return setNewAddrAndMove(mm, vrm);
}

/** mm/mremap.c:mremap_to - MREMAP_FIXED and/or MREMAP_DONTUNMAP. */
function mremapTo(mm: Mm, vrm: Vrm): MremapResult {
  if (vrm.flags & MREMAP.MREMAP_FIXED) {
    const e = unmapDestination(mm, vrm);
    if (e) return { err: e };
    vrm.vma = mm.lookup(vrm.addr);
    if (!vrm.vma || mm.isFence(vrm.vma)) return { err: EFAULT };
  }
  if (vrm.oldLen < 0 || vrm.newLen < vrm.oldLen) {
    const e = shrink(mm, vrm);
    if (e) return { err: e };
  }
  return setNewAddrAndMove(mm, vrm);
}

/** vrm_set_new_addr + move_vma. */
function setNewAddrAndMove(mm: Mm, vrm: Vrm): MremapResult {
  const vma = vrm.vma!;
  let dest: Placement;
  if (vrm.flags & MREMAP.MREMAP_FIXED) {
    dest = { kind: 'arena', page: vrm.newAddr! };
  } else {
    // get_unmapped_area(vm_file, hint (DONTUNMAP) or 0, new_len, pgoff, MAP_SHARED if VM_MAYSHARE)
    const hint = vrm.flags & MREMAP.MREMAP_DONTUNMAP ? vrm.newAddr : null;
    const shared = (vma.flags & VM_MAYSHARE) !== 0 || vma.file > 0;
    if (vma.file > 0 && mm.profile.shmemHugePages > 0) throw new Unsupported('shmem THP placement of a moved file mapping');
    if (vma.file > 0) declineThpPlacement(mm.sys.file(vma.file), BigInt(vma.pgoff + (vrm.addr - vma.start)), vrm.newLen);
    dest = getUnmappedArea(mm, hint, vrm.newLen, shared, false);
    if (vrm.judge) {
      const thp = !shared && thpAlignApplies(mm, hint, vrm.newLen, false, false);
      const ok = vrm.judge(dest, vrm.newLen, hint, thp);
      if (ok) dest = ok;
    }
  }
  return moveVma(mm, vrm, dest);
}

/** mm/mremap.c:move_vma: prep (map_count, DONTUNMAP pre-split), copy_vma_and_data, then
 *  dontunmap_complete or unmap_source_vma. */
function moveVma(mm: Mm, vrm: Vrm, dest: Placement): MremapResult {
  const dontunmap = (vrm.flags & MREMAP.MREMAP_DONTUNMAP) !== 0;
  let vma = vrm.vma!;
  const p = mm.profile;
  // prep_move_vma -> check_map_count_against_split
  const preSplit = dontunmap && (vma.flags & VM_LOCKED) !== 0;
  if (p.rows['mremap.map_count_exact']) {
    if (mm.mapCount + 2 + (preSplit ? 1 : 0) > p.maxMapCount) return mapCountErr(mm);
  } else if (mm.mapCount >= p.maxMapCount - 3) return mapCountErr(mm);
  const start = vrm.addr;
  const end = vrm.addr + vrm.oldLen;
  declineLeakingMove(vma, start, end); // src/model/hugetlb-mremap.ts
  if (preSplit) {
    if (vma.start < start || vma.end > end) mm.hit('mremap.dontunmap.presplit');
    if (vma.start < start) {
      const e = splitVma(mm, vma, start, true);
      if (e) return { err: -e };
    }
    if (vma.end > end) {
      const e = splitVma(mm, vma, end, false);
      if (e) return { err: -e };
    }
  }
  const srcUffd = uffdCtxOf(mm, vma);
  const keepsUffd = !srcUffd || (srcUffd.features & UFFD_FEATURE.UFFD_FEATURE_EVENT_REMAP) !== 0;
  // the source blocks whose page tables (or huge PMDs) go with the move (src/model/mremap-pgtables.ts)
  const movedTables = dontunmap ? movedSourceTables(mm, vma, start, end, dest, keepsUffd) : [];
  if (dest.kind === 'outside') {
    // the copy lands below the arena: the model only counts it; the source goes as usual
    mm.outside++;
    if (srcUffd && keepsUffd) vrm.remapEvent = true;
    for (let p = start; p < end; p++) mm.pte[p] = PTE_NONE;
    for (const b of movedTables) mm.pmd[b] = 0;
    dropPriv(mm, start, end);
    // do_mremap: mm_populate(new_addr + old_len, delta) of an mlock'd, grown VMA still faults the
    // copy's file pages into the shared page cache (sysMremap only populates arena placements)
    if (vrm.populateExpand && vrm.newLen > vrm.oldLen) {
      populateUntracked(mm, vma, vma.pgoff + (start - vma.start) + vrm.oldLen, vrm.newLen - vrm.oldLen, 'mremap.populate_outside');
    }
    if (!dontunmap) unmapRange(mm, start, vrm.oldLen);
    else dontunmapComplete(mm, vma, start, end);
    mm.hit('mremap.move');
    return { placement: dest };
  }
  const to = dest.page;
  const len = vrm.newLen;
  // copy_vma
  const offset = start - vma.start;
  let pgoff = vma.pgoff + offset;
  let anonDelta = vma.anonDelta ?? 0;
  let canSelfMerge = false;
  if (!vma.anonVma) {
    // "If a vma has not yet been faulted, update its anonymous pgoff to match the new location"
    anonDelta = vma.file ? to - pgoff : 0;
    if (vmaIsAnonymous(vma)) {
      pgoff = to;
      canSelfMerge = true;
    }
    mm.hit('mremap.move.pgoff_reset');
  } else mm.hit('mremap.move.pgoff_kept');
  const i = mm.findIndex(to);
  let prev: Vma | null = mm.vmas[i - 1]!;
  let next: Vma | null = mm.vmas[i]!;
  if (canSelfMerge && dontunmap) {
    // "A merge violates this, so in this case disallow a self-merge" (mm/vma.c:copy_vma)
    if (prev === vma || next === vma) mm.hit('mremap.dontunmap.no_self_merge');
    if (prev === vma) prev = null;
    if (next === vma) next = null;
  }
  let newVma: Vma | null = null;
  // vma_merge_copied_range: no merge for a registered VMA without EVENT_REMAP
  if (keepsUffd) {
    newVma = vmaMergeNewRange(mm, {
      start: to,
      end: to + len,
      flags: vma.flags,
      pgoff,
      file: vma.file,
      anonDelta,
      anonVma: vma.anonVma,
      uffd: vma.uffd ?? 0,
      anonName: vma.anonName ?? null,
      copiedFrom: vma,
      prev,
      next,
      middle: null,
    });
  }
  if (newVma) {
    // self-merged and replaced: the source now lies inside the merged VMA
    if (newVma.start < vma.start && newVma.end > vma.start) vma = newVma;
  } else {
    newVma = { ...vma, start: to, end: to + len, pgoff, anonDelta };
    if (!vma.file && !anonDelta) delete newVma.anonDelta;
    mm.insert(newVma);
  }
  // move_page_tables: the source's entries move to the destination
  for (let k = 0; k < vrm.oldLen; k++) {
    mm.pte[to + k] = mm.pte[start + k]!;
    mm.pte[start + k] = PTE_NONE;
  }
  moveContent(mm, start, to, vrm.oldLen);
  // move_page_tables allocates destination tables where the source has them
  for (let b = Math.floor(start / HPAGE_PAGES); b * HPAGE_PAGES < end; b++) {
    if (!mm.pmd[b]) continue;
    const s0 = Math.max(b * HPAGE_PAGES, start) - start + to;
    const e0 = Math.min((b + 1) * HPAGE_PAGES, end) - start + to;
    for (let d = Math.floor(s0 / HPAGE_PAGES); d * HPAGE_PAGES < e0 && d < mm.pmd.length; d++) mm.pmd[d] = 1;
  }
  for (const b of movedTables) mm.pmd[b] = 0;
  // mremap_userfaultfd_prep(new_vma): without EVENT_REMAP the moved VMA loses its registration
  if (srcUffd) {
    if (keepsUffd) vrm.remapEvent = true;
    else {
      newVma.flags &= ~VM_UFFD_FLAGS;
      newVma.uffd = 0;
      mm.hit('mremap.uffd_reset');
    }
  }
  mm.hit('mremap.move');
  if (dontunmap) dontunmapComplete(mm, vma, start, end);
  else unmapRange(mm, start, vrm.oldLen);
  vrm.vma = newVma;
  return { placement: { kind: 'arena', page: to } };
}

function mapCountErr(mm: Mm): MremapResult {
  mm.hit('errno.mremap.map_count');
  return { err: ENOMEM };
}

/** mm/mremap.c:dontunmap_complete - the kept source loses VM_LOCKED; a wholly moved VMA loses its
 *  anon_vma and gets the page offset of an unfaulted VMA again. */
function dontunmapComplete(mm: Mm, vma: Vma, start: number, end: number): void {
  vma.flags &= ~VM_LOCKED_MASK;
  mm.hit('mremap.dontunmap');
  if (start === vma.start && end === vma.end) {
    vma.anonVma = 0;
    vma.forkChild = false;
    // "The VMA is now unfaulted and it is an invariant that unfaulted anonymous VMAs have page
    // offset equal to vma->vm_start >> PAGE_SHIFT" (also in 6.12.107 stable, not on 6.18.44:
    // corpus/regression/mremap-dontunmap-pgoff.json)
    if (vma.file) vma.anonDelta = vma.start - vma.pgoff;
    else vma.pgoff = vma.start;
  }
}

/** mm/mremap.c:remap_move - MREMAP_FIXED, old_len == new_len: every VMA of the range moves on its
 *  own, keeping the gaps between them. Returns the first destination. */
function remapMove(mm: Mm, vrm: Vrm): MremapResult {
  const start = vrm.addr;
  const end = vrm.addr + vrm.oldLen;
  let target = vrm.newAddr!;
  let res: MremapResult = { err: EFAULT };
  let seen = false;
  let lastEnd = 0;
  let pos = start;
  for (;;) {
    const i = mm.findIndex(pos);
    const vma = mm.vmas[i]!;
    if (vma.start >= end || mm.isFence(vma)) break;
    const a = Math.max(vma.start, start);
    const len = Math.min(end, vma.end) - a;
    if (!seen && start < vma.start) {
      mm.hit('errno.mremap.multi_vma');
      return { err: EFAULT };
    }
    const offset = seen ? vma.start - lastEnd : 0;
    lastEnd = vma.end;
    const one: Vrm = { ...vrm, addr: a, newAddr: target + offset, newAddrOff: 0, oldLen: len, oldBytes: BigInt(len) * 4096n, newLen: len, hugeAligned: false, vma, remapEvent: false, early: 0 };
    // vma_multi_allowed: not uffd-armed, and no get_unmapped_area of the file's own but shmem's,
    // hugetlb's or thp_get_unmapped_area (disk files): a SysV attach (shm_get_unmapped_area,
    // vma_is_shmem() false for shm_vm_ops) may only move alone
    if (vma.flags & VM_UFFD_FLAGS || isShm(mm, vma)) {
      if (isShm(mm, vma) && (seen || vma.end < end)) mm.hit('errno.mremap.multi_shm');
      if (seen || vma.end < end) {
        mm.hit('errno.mremap.multi_vma');
        return { err: EFAULT };
      }
    }
    const e = checkPrepVma(mm, one);
    const r = e ? { err: e } : mremapTo(mm, one);
    if ('err' in r) return r;
    if (one.remapEvent) {
      vrm.remapEvent = true;
      vrm.early = one.early;
    }
    if (!seen) res = r;
    if (seen) mm.hit('mremap.multi');
    seen = true;
    // "target_addr = res_vma + vrm->new_len": a hugetlb VMA's length was rounded up to 2 MiB
    target = (r.placement.kind === 'arena' ? r.placement.page : target) + one.newLen;
    pos = a + len;
    if (pos >= end) break;
  }
  return res;
}
