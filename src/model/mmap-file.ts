// mmap of a declared file (memfd or a tmpfs file: both shmem), after 7.3's x86-64 sys_mmap ->
// ksys_mmap_pgoff -> do_mmap -> mmap_region. One struct file per declared file (the harness opens
// each once), so every mapping of a file has the same vm_file and may merge with its neighbours
// when pgoff lines up; the page cache and i_size live in the FileObj (src/model/sys.ts).

import { realFsMmapChecks } from './realfs.js';
import { isRealFs } from './sys.js';
import { MAP, PROT } from '../seq/consts.js';
import {
  VM_EXEC,
  VM_GROWSDOWN,
  VM_LOCKED,
  VM_MAYEXEC,
  VM_MAYSHARE,
  VM_MAYWRITE,
  VM_NORESERVE,
  VM_SHARED,
} from './flags.js';
import { mmPopulate, populateUntracked } from './fault.js';
import { getUnmappedArea, type Placement } from './placement.js';
import type { Mm } from './state.js';
import { checkSealsMmap } from './seals.js';
import {
  acceptPlacement,
  mmapVmFlags,
  checkInArena,
  classifyLen,
  EAGAIN,
  EACCES,
  EEXIST,
  EINVAL,
  ENOMEM,
  EPERM,
  mmapRegion,
  type MmapArgs,
  type MmapResult,
  type PlacementJudge,
  Unsupported,
} from './syscalls.js';
import { sysMmapHugetlb } from './hugetlb.js';

export const EOVERFLOW = 75;
export const EOPNOTSUPP = 95;

const MAP_TYPE = 0x0f;
/** include/linux/mman.h LEGACY_MAP_MASK (x86-64: MAP_32BIT, MAP_ABOVE4G and the MAP_HUGE_2MB/1GB
 *  size encodings included) */
const LEGACY_MAP_MASK =
  (MAP.MAP_SHARED | MAP.MAP_PRIVATE | MAP.MAP_FIXED | MAP.MAP_ANONYMOUS | MAP.MAP_DENYWRITE | MAP.MAP_EXECUTABLE |
    MAP.MAP_UNINITIALIZED | MAP.MAP_GROWSDOWN | MAP.MAP_LOCKED | MAP.MAP_NORESERVE | MAP.MAP_POPULATE |
    MAP.MAP_NONBLOCK | MAP.MAP_STACK | MAP.MAP_HUGETLB | MAP.MAP_32BIT | 0x80 | (21 << 26) | (30 << 26)) >>>
  0;
/** include/linux/fs.h MAX_LFS_FILESIZE */
const MAX_LFS_FILESIZE = (1n << 63n) - 1n;

/** mmap(addr, len, prot, flags, <declared file `fd`>, offset) without MAP_ANONYMOUS. */
export function sysMmapFile(mm: Mm, a: MmapArgs & { fd: number }, judge?: PlacementJudge): MmapResult {
  const p = mm.profile;
  const err = (e: number, id: Parameters<Mm['hit']>[0]): MmapResult => {
    mm.hit(id);
    return { err: e };
  };
  const file = mm.sys.declared(a.fd);
  // a hugetlbfs file (memfd MFD_HUGETLB): src/model/hugetlb.ts
  if (file.kind === 'hugetlb') return sysMmapHugetlb(mm, a, file);
  // arch/x86/kernel/sys_x86_64.c:sys_mmap
  if (a.offset & 0xfffn) return err(EINVAL, 'errno.mmap.offset_unaligned');
  const pgoffBig = a.offset >> 12n;
  let flags = a.flags;
  // mm/mmap.c:ksys_mmap_pgoff: a shmem file is not hugetlbfs
  if (flags & MAP.MAP_HUGETLB) return err(EINVAL, 'errno.mmap.file_hugetlb');
  // mm/mmap.c:do_mmap
  if (a.len === 0n) return err(EINVAL, 'errno.mmap.len_zero');
  if (flags & MAP.MAP_FIXED_NOREPLACE) flags |= MAP.MAP_FIXED;
  const fixed = (flags & MAP.MAP_FIXED) !== 0;
  if (a.addr === null && fixed) throw new Unsupported('MAP_FIXED at address 0 depends on CAP_SYS_RAWIO and the LSM');
  if (a.len > (1n << 64n) - 4096n) return err(ENOMEM, 'errno.mmap.len_overflow');
  const len = classifyLen(a.len);
  if (len.kind === 'unknown') throw new Unsupported('length between the arena and TASK_SIZE');
  // "offset overflow?": pgoff + pages wraps (u64)
  if (len.kind === 'pages' && pgoffBig + BigInt(len.pages) >= 1n << 64n) return err(EOVERFLOW, 'errno.mmap.file_overflow');
  if (mm.mapCount > p.maxMapCount) return err(ENOMEM, 'errno.mmap.map_count');

  // disk files: availability on the target, MAP_SYNC, thp_get_unmapped_area (src/model/realfs.ts)
  realFsMmapChecks(mm, file, flags, fixed, pgoffBig, len.kind === 'pages' ? len.pages : 0);
  // computed before the MAP_SHARED flags are masked
  let vmFlags = mmapVmFlags(mm, a.prot, flags);

  // mm/mmap.c:__get_unmapped_area -> shmem_get_unmapped_area (f_op->get_unmapped_area)
  if (len.kind === 'beyond_task') return err(ENOMEM, 'errno.mmap.len_task_size');
  const pages = len.pages;
  let placement: Placement;
  if (fixed) {
    if (a.addr!.off) return err(EINVAL, 'errno.mmap.fixed_unaligned');
    checkInArena(mm, a.addr!.page, a.addr!.page + pages);
    placement = { kind: 'arena', page: a.addr!.page };
  } else {
    // shmem THP would align the placement by pgoff (mm/shmem.c:shmem_get_unmapped_area)
    if (p.shmemHugePages > 0) throw new Unsupported('shmem THP placement of file mappings is not modelled');
    const hint = a.addr === null ? null : a.addr.page;
    // shmemHugePages == 0: the shmem getter is the plain mm_get_unmapped_area (no anonymous THP alignment)
    placement = getUnmappedArea(mm, hint, pages, true, (flags & MAP.MAP_32BIT) !== 0);
    if (judge) placement = acceptPlacement(mm, placement, judge(placement, pages, hint, false));
  }
  const start = placement.kind === 'arena' ? placement.page : -1;
  const end = start + pages;
  if (fixed && flags & MAP.MAP_FIXED_NOREPLACE && mm.intersect(start, end)) return err(EEXIST, 'errno.mmap.fixed_noreplace');
  if (p.memlockPages !== null && vmFlags & VM_LOCKED) {
    if (flags & MAP.MAP_LOCKED && p.memlockPages === 0) return err(EPERM, 'errno.mmap.mlock_perm');
    if (mm.lockedPages(VM_LOCKED) + pages > p.memlockPages) return err(EAGAIN, 'errno.mmap.mlock_limit');
  }

  // file_mmap_ok: S_ISREG -> MAX_LFS_FILESIZE
  if (pgoffBig > (MAX_LFS_FILESIZE - BigInt(pages) * 4096n) >> 12n) return err(EOVERFLOW, 'errno.mmap.file_overflow');
  const writable = !file.readOnly; // FMODE_WRITE
  switch (flags & MAP_TYPE) {
    case MAP.MAP_SHARED:
      // "We silently ignore unsupported flags with MAP_SHARED to preserve backward compatibility."
      flags &= LEGACY_MAP_MASK;
    // fallthrough
    case MAP.MAP_SHARED_VALIDATE:
      // shmem has no FOP_MMAP_SYNC: flags_mask = LEGACY_MAP_MASK
      if ((flags & ~LEGACY_MAP_MASK) >>> 0) return err(EOPNOTSUPP, 'errno.mmap.file_validate');
      if (a.prot & PROT.PROT_WRITE && !writable) return err(EACCES, 'errno.mmap.file_shared_rdonly');
      vmFlags |= VM_SHARED | VM_MAYSHARE;
      if (!writable) {
        vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
        mm.hit('mmap.file.shared_rdonly');
      } else mm.hit('mmap.file.shared');
    // fallthrough
    case MAP.MAP_PRIVATE:
      // FMODE_READ always. path_noexec: a tmpfs file on a noexec mount (fact tmpfs_noexec) refuses
      // VM_EXEC and loses VM_MAYEXEC (so mprotect(PROT_EXEC) is EACCES later); memfds live on
      // shm_mnt, never noexec. Then vma_flags_can_grow.
      if ((file.kind === 'tmpfs' && p.tmpfsNoexec) || (isRealFs(file) && p.fsNoexec.includes(file.kind))) {
        if (vmFlags & VM_EXEC) return err(EPERM, 'errno.mmap.file_noexec');
        vmFlags &= ~VM_MAYEXEC;
        mm.hit('mmap.file.noexec');
      }
      if (vmFlags & VM_GROWSDOWN) return err(EINVAL, 'errno.mmap.file_growsdown');
      if (!(vmFlags & VM_MAYSHARE)) mm.hit('mmap.file.private');
      break;
    default:
      return err(EINVAL, 'errno.mmap.file_bad_type');
  }
  // memfd_check_seals_mmap: after the MAP_TYPE switch (src/model/seals.ts)
  const sealed = checkSealsMmap(mm, file, vmFlags, fixed && placement.kind === 'arena' ? [start, end] : undefined);
  if (sealed < 0) return { err: -sealed };
  vmFlags = sealed;
  if (flags & MAP.MAP_NORESERVE && !p.overcommitNever) vmFlags |= VM_NORESERVE;

  const populate = vmFlags & VM_LOCKED || (flags & (MAP.MAP_POPULATE | MAP.MAP_NONBLOCK)) === MAP.MAP_POPULATE;
  if (placement.kind === 'outside') {
    mm.outside++;
    if ((vmFlags & (VM_SHARED | VM_MAYWRITE)) === (VM_SHARED | VM_MAYWRITE)) (file.outsideWritable ??= []).push(mm);
    // vm_mmap_pgoff -> mm_populate still faults the file's pages into the shared page cache
    if (populate) populateUntracked(mm, { file: file.id, flags: vmFlags }, Number(pgoffBig), pages, 'mmap.populate_outside');
    return { placement };
  }
  const r = mmapRegion(mm, start, end, vmFlags, Number(pgoffBig), file.id);
  if (r) return { err: r };
  if (populate) {
    mm.hit('mmap.populate');
    mmPopulate(mm, start, end);
  }
  return { placement };
}
