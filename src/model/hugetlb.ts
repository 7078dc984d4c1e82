// MAP_HUGETLB mappings (2 MiB huge pages), after 7.3's mm/mmap.c:ksys_mmap_pgoff, do_mmap,
// fs/hugetlbfs/inode.c (hugetlb_get_unmapped_area, hugetlbfs_file_mmap) and mm/hugetlb.c
// (hugetlb_vm_ops: may_split, close, fault). Every MAP_HUGETLB|MAP_ANONYMOUS call creates its own
// hugetlbfs file (hugetlb_file_setup), so two hugetlb VMAs never share a vm_file; VM_DONTEXPAND
// (VM_SPECIAL) keeps them out of every merge anyway.
//
// What the model does not follow (declined as Unsupported): a pool too small for the sequence (the
// `hugepages_free` fact; with the pool sized by the harness, reservations and faults never run
// out; a fork whose copy-on-write could exceed it), 1 GiB pages, userfaultfd and MADV_COLLAPSE
// on hugetlb VMAs (src/model/shm.ts declineOnHugeShm), and a move of part of a
// reserved private hugetlb VMA (src/model/hugetlb-mremap.ts). mremap: hugetlb-mremap.ts; madvise:
// hugetlb-madvise.ts; mlock, mseal, anon names and fork take the ordinary paths.

import { MAP, PROT } from '../seq/consts.js';
import { VM_MAYWRITE, VM_PKEY_EXEC_ONLY, VM_LOCKED_MASK, VM_GROWSDOWN, VM_DONTEXPAND, VM_HUGETLB, VM_LOCKED, VM_NORESERVE, VM_SHARED, VM_MAYSHARE, VM_READ, VM_WRITE, VM_EXEC } from './flags.js';
import { unmappedAreaTopdown, hintFree, type Placement } from './placement.js';
import { HPAGE_PAGES, Mm, PTE_FILE, type Vma } from './state.js';
import type { FileObj } from './sys.js';
import { anonVmaPrepare } from './fault.js';

const SIGBUS = 7;
import { rowUnverified } from './profile-rows.js';
import { EACCES, EAGAIN, EPERM, EINVAL, ENOMEM, EEXIST, mmapRegion, mmapVmFlags, type MmapArgs, type MmapResult, Unsupported } from './syscalls.js';
import { EOPNOTSUPP } from './mmap-file.js';

const MAP_TYPE = 0x0f;
const MAP_HUGE_SHIFT = 26;
const MAP_HUGE_MASK = 0x3f;
const HUGE_BYTES = 2n << 20n;
/** include/linux/mman.h LEGACY_MAP_MASK (see src/model/mmap-file.ts) */
const LEGACY_MAP_MASK =
  (MAP.MAP_SHARED | MAP.MAP_PRIVATE | MAP.MAP_FIXED | MAP.MAP_ANONYMOUS | MAP.MAP_DENYWRITE | MAP.MAP_EXECUTABLE |
    MAP.MAP_UNINITIALIZED | MAP.MAP_GROWSDOWN | MAP.MAP_LOCKED | MAP.MAP_NORESERVE | MAP.MAP_POPULATE |
    MAP.MAP_NONBLOCK | MAP.MAP_STACK | MAP.MAP_HUGETLB | MAP.MAP_32BIT | 0x80 | (21 << 26) | (30 << 26)) >>>
  0;

/** Free huge pages the model counts on; below it hugetlb sequences are declined (the pool is shared
 *  by every harness running at once and each sequence reserves at most 8 pages of its 16 MiB arena). */
export const HUGETLB_MIN_FREE = 16;

/** mmap(MAP_ANONYMOUS|MAP_HUGETLB): ksys_mmap_pgoff, then do_mmap with the new hugetlbfs file; or
 *  mmap of a declared hugetlb file (`declared`: memfd MFD_HUGETLB, is_file_hugepages). */
export function sysMmapHugetlb(mm: Mm, a: MmapArgs, declared?: FileObj): MmapResult {
  const err = (e: number, id: Parameters<Mm['hit']>[0]): MmapResult => {
    mm.hit(id);
    return { err: e };
  };
  // arch/x86/kernel/sys_x86_64.c:sys_mmap
  if (a.offset & 0xfffn) return err(EINVAL, 'errno.mmap.offset_unaligned');
  // ksys_mmap_pgoff: hstate_sizelog - 0 is the default hstate (2 MiB on x86-64), 21 the 2 MiB one;
  // 30 (1 GiB) exists only where the CPU has gbpages and its pool is another fact: declined. A
  // hugetlbfs file has its own hstate ("if (is_file_hugepages(file)) len = ALIGN(len, ...)").
  const log = (a.flags >>> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;
  if (!declared && log === 30) throw new Unsupported('MAP_HUGE_1GB depends on the 1 GiB hstate and pool of the target');
  if (!declared && log !== 0 && log !== 21) return err(EINVAL, 'errno.mmap.hugetlb_size');
  if (declared && a.offset >= 1n << 40n) throw new Unsupported('a hugetlb file offset beyond the arena sizes');
  if (a.len >= 1n << 40n) throw new Unsupported('a MAP_HUGETLB length beyond the arena (hugetlb_file_setup of a huge file)');
  if ((mm.profile.hugepagesFree ?? 0) < HUGETLB_MIN_FREE) {
    throw new Unsupported(`the hugetlb pool (hugepages_free=${mm.profile.hugepagesFree ?? 'unknown'}) is below ${HUGETLB_MIN_FREE} pages: reservations may fail`);
  }
  const hlen = ((a.len + HUGE_BYTES - 1n) / HUGE_BYTES) * HUGE_BYTES;
  if (hlen !== a.len) mm.hit('mmap.hugetlb.len_rounded');
  // do_mmap
  if (hlen === 0n) return err(EINVAL, 'errno.mmap.len_zero');
  let flags = a.flags;
  if (flags & MAP.MAP_FIXED_NOREPLACE) flags |= MAP.MAP_FIXED;
  const fixed = (flags & MAP.MAP_FIXED) !== 0;
  if (a.addr === null && fixed) throw new Unsupported('MAP_FIXED at address 0 depends on CAP_SYS_RAWIO and the LSM');
  if (mm.mapCount > mm.profile.maxMapCount) return err(ENOMEM, 'errno.mmap.map_count');
  let vmFlags = mmapVmFlags(mm, a.prot, flags);
  const pages = Number(hlen / 4096n);
  // __get_unmapped_area -> hugetlb_get_unmapped_area
  let placement: Placement;
  if (fixed) {
    if (a.addr!.off || a.addr!.page % HPAGE_PAGES) return err(EINVAL, 'errno.mmap.hugetlb_fixed_unaligned');
    if (a.addr!.page + pages > mm.arenaPages) throw new Unsupported('a fixed hugetlb range leaving the arena');
    placement = { kind: 'arena', page: a.addr!.page };
  } else {
    if (flags & MAP.MAP_32BIT) throw new Unsupported('MAP_32BIT hugetlb placement');
    mm.hit('mmap.place.hugetlb');
    // addr0 = ALIGN(addr, huge_page_size); 6.1 (row mmap.hugetlb_hint_align_up off): addr &= huge_page_mask
    if (a.addr !== null && rowUnverified('mmap.hugetlb_hint_align_up', mm.profile.version)) throw new Unsupported('hugetlb hint rounding between 6.1 and 6.12 (not modelled)');
    const up = mm.profile.rows['mmap.hugetlb_hint_align_up'];
    if (a.addr !== null && !up) mm.hit('mmap.place.hugetlb_hint_down');
    // do_mmap's round_hint_to_min ("hint &= PAGE_MASK") comes first: the byte offset is dropped
    const hint = a.addr === null ? null : (up ? Math.ceil : Math.floor)(a.addr.page / HPAGE_PAGES) * HPAGE_PAGES;
    // (a hint rounded up past the arena meets the upper fence: not free)
    if (hint !== null && hintFree(mm, hint, pages)) placement = { kind: 'arena', page: hint };
    else placement = unmappedAreaTopdown(mm, pages, HPAGE_PAGES - 1);
  }
  const start = placement.kind === 'arena' ? placement.page : -1;
  const end = start + pages;
  if (fixed && flags & MAP.MAP_FIXED_NOREPLACE && mm.intersect(start, end)) return err(EEXIST, 'errno.mmap.fixed_noreplace');
  // MAP_LOCKED without CAP_IPC_LOCK: can_do_mlock / mlock_future_ok (as for any mmap)
  const p = mm.profile;
  if (p.memlockPages !== null && vmFlags & VM_LOCKED) {
    if (flags & MAP.MAP_LOCKED && p.memlockPages === 0) return err(EPERM, 'errno.mmap.mlock_perm');
    if (mm.lockedPages(VM_LOCKED) + pages > p.memlockPages) return err(EAGAIN, 'errno.mmap.mlock_limit');
  }
  // do_mmap with a file: the file's map types
  switch (flags & MAP_TYPE) {
    case MAP.MAP_SHARED:
      flags &= LEGACY_MAP_MASK;
    // fallthrough
    case MAP.MAP_SHARED_VALIDATE:
      if ((flags & ~LEGACY_MAP_MASK) >>> 0) return err(EOPNOTSUPP, 'errno.mmap.file_validate');
      if (a.prot & PROT.PROT_WRITE && declared?.readOnly) return err(EACCES, 'errno.mmap.file_shared_rdonly');
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      // an O_RDONLY file: "vm_flags &= ~(VM_MAYWRITE | VM_SHARED)"
      if (declared?.readOnly) vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
    // fallthrough
    case MAP.MAP_PRIVATE:
      // vma_flags_can_grow: a file mapping cannot grow down
      if (vmFlags & VM_GROWSDOWN) return err(EINVAL, 'errno.mmap.file_growsdown');
      break;
    default:
      return err(EINVAL, 'errno.mmap.file_bad_type');
  }
  // "hugetlb applies strict overcommit unless MAP_NORESERVE"
  if (flags & MAP.MAP_NORESERVE) {
    vmFlags |= VM_NORESERVE;
    mm.hit('mmap.hugetlb.noreserve');
  }
  const pgoff = Number(a.offset >> 12n);
  // hugetlbfs_file_mmap runs after the old range was unmapped; its EINVAL then leaves a hole
  if (pgoff % HPAGE_PAGES) {
    if (placement.kind === 'arena' && mm.intersect(start, end)) throw new Unsupported('a hugetlb MAP_FIXED with an unaligned offset over existing VMAs');
    return err(EINVAL, 'errno.mmap.hugetlb_pgoff');
  }
  // hugetlb_file_setup(HUGETLB_ANON_FILE, len): i_size = len; a declared file is the one fd's file
  const file = declared ?? mm.sys.newFile({ kind: 'hugetlb', index: -1, size: hlen, cache: new Set(), readOnly: false, closeHook: true, seals: 1, execMode: false, data: new Map() });
  // hugetlbfs_file_mmap, once the VMA exists (a refused MAP_FIXED unmap never gets there; a mapping
  // outside the arena grows the same file): "if (vma_test(vma, VMA_WRITE_BIT) && inode->i_size <
  // len) i_size_write(inode, len)"
  const grow = () => {
    const reach = BigInt(pgoff + pages) * 4096n;
    if (vmFlags & VM_WRITE && file.size < reach) {
      file.size = reach;
      mm.hit('mmap.hugetlb.isize_grown');
    }
  };
  if (placement.kind === 'outside') {
    mm.outside++;
    grow();
    return { placement };
  }
  // hugetlbfs_file_mmap sets VM_HUGETLB|VM_DONTEXPAND; the merge attempt before it cannot succeed
  // (a new file), so the flags go in at once
  const r = mmapRegion(mm, start, end, vmFlags | VM_HUGETLB | VM_DONTEXPAND, pgoff, file.id);
  if (r) return { err: r };
  grow();
  mm.hit('mmap.hugetlb');
  const populate = vmFlags & VM_LOCKED || (flags & (MAP.MAP_POPULATE | MAP.MAP_NONBLOCK)) === MAP.MAP_POPULATE;
  if (vmFlags & VM_LOCKED) {
    // mm/vma.c:__mmap_complete: !vma_supports_mlock(hugetlb) clears VMA_LOCKED_MASK (do_mmap has
    // already asked for the range to be populated)
    mm.lookup(start)!.flags &= ~VM_LOCKED_MASK;
    mm.hit('mmap.hugetlb.locked_dropped');
  }
  // mm/gup.c:populate_vma_page_range: PROT_NONE and the execute-only pkey are not populated
  if (populate && vmFlags & (VM_READ | VM_WRITE | VM_EXEC) && !(vmFlags & VM_PKEY_EXEC_ONLY)) {
    mm.hit('mmap.populate');
    // __get_user_pages stops at the first page that fails (SIGBUS beyond i_size)
    for (let q = start; q < end; q += HPAGE_PAGES) if (hugetlbFault(mm, mm.lookup(q)!, q, (vmFlags & (VM_WRITE | VM_SHARED)) === VM_WRITE)) break;
  }
  return { placement };
}

/** mm/hugetlb.c:hugetlb_fault -> hugetlb_no_page / hugetlb_wp: the 2 MiB page around `page` is
 *  mapped whole (the VMA is 2 MiB aligned, so the page lies inside it). */
export function hugetlbFault(mm: Mm, vma: Vma, page: number, write: boolean): number {
  // hugetlb_no_page: "size = i_size_read(mapping->host) >> huge_page_shift(h); if (idx >= size)" SIGBUS
  const idx = Math.floor((vma.pgoff + (page - vma.start)) / HPAGE_PAGES);
  if (idx >= Number(mm.sys.file(vma.file).size / (2n << 20n))) {
    mm.hit('fault.hugetlb.sigbus');
    return SIGBUS;
  }
  mm.hit('fault.hugetlb');
  const first = page - (page % HPAGE_PAGES);
  // a private write copies the page (hugetlb_wp) - present either way; pagemap shows presence only.
  // The anon_vma (what fork's vma_needs_copy looks at): hugetlb_no_page prepares it for a new page
  // of a private mapping ("if (!(vma->vm_flags & VM_MAYSHARE)) __vmf_anon_prepare"), hugetlb_wp for
  // the copy a private write makes; a private read of a page a shared mapping of the same file put
  // in the page cache maps that page as it is. Shared faults put their page in the page cache.
  const file = mm.sys.file(vma.file);
  if (vma.flags & VM_MAYSHARE) file.cache.add(idx);
  else if (write || !file.cache.has(idx)) {
    anonVmaPrepare(mm, vma);
    mm.hit('fault.hugetlb.anon_vma');
  }
  for (let p = first; p < first + HPAGE_PAGES; p++) mm.pte[p] = PTE_FILE;
  mm.pmd[Math.floor(first / HPAGE_PAGES)] = 1;
  return 0;
}

/** fork with hugetlb VMAs: the child's private hugetlb VMAs have no reservation
 *  (mm/hugetlb.c:hugetlb_dup_vma_private "Faults generated by the children are not guaranteed to
 *  succeed"), and every copy-on-write after it, in the child or the parent, takes a page outside
 *  any reservation. Declined when those could exceed the free pool the hello line vouched for: up
 *  to three pages per private huge page (the parent's, the child's copy, the parent's copy), one
 *  per shared one. */
export function declineHugetlbFork(mm: Mm): void {
  let priv = 0;
  let shared = 0;
  for (const v of mm.arenaVmas()) {
    if (!(v.flags & VM_HUGETLB)) continue;
    if (v.flags & VM_MAYSHARE) shared += (v.end - v.start) / HPAGE_PAGES;
    else priv += (v.end - v.start) / HPAGE_PAGES;
  }
  const free = mm.profile.hugepagesFree ?? 0;
  if (3 * priv + shared > free) throw new Unsupported(`fork with ${priv} private and ${shared} shared huge pages could need more than the ${free} free ones (unreserved copy-on-write)`);
}

/** The errno of __mmap_region when unmapping what MAP_FIXED replaces failed: 7.3 mm/vma.c:__mmap_setup
 *  returns vms_gather_munmap_vmas' error; 6.1 mm/mmap.c:mmap_region "if (do_mas_munmap(...))
 *  return -ENOMEM" (row mmap.fixed_unmap_error_kept). ENOMEM stays ENOMEM. */
export function mmapUnmapErrno(mm: Mm, e: number): number {
  if (e === ENOMEM) return e;
  if (rowUnverified('mmap.fixed_unmap_error_kept', mm.profile.version)) throw new Unsupported('the errno of a failed MAP_FIXED unmap between 6.1 and 6.12 (not modelled)');
  if (mm.profile.rows['mmap.fixed_unmap_error_kept']) return e;
  mm.hit('errno.mmap.fixed_unmap_enomem');
  return ENOMEM;
}
