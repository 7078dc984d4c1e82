// SysV shared memory, after 7.3's ipc/shm.c: do_shmat maps a segment with do_mmap(MAP_SHARED
// [|MAP_FIXED]) through a struct file of its own (alloc_file_clone), so two attaches never share a
// vm_file and never merge; every shm VMA has shm_vm_ops, whose ->close limits merges even between
// the fragments of one attach (src/model/merge.ts). ksys_shmdt unmaps an attach by where it started,
// fragments included. Segments are created by the harness (shmget(IPC_PRIVATE), mode 0601) before
// the first call and removed after the last; the corpus names them by index.

import type { Call } from '../seq/schema.js';
import { SHM, type ShmSeg } from '../seq/schema-sysv.js';
import type { Addr } from '../seq/values.js';
import { PROT, MAP } from '../seq/consts.js';
import { VM_MAYWRITE, VM_SHARED, VM_MAYSHARE } from './flags.js';
import { getUnmappedArea, type Placement } from './placement.js';
import type { Mm } from './state.js';
import type { Sys } from './sys.js';
import { EINVAL, ENOMEM, mmapRegion, mmapVmFlags, sysMunmap, Unsupported } from './syscalls.js';
import { isHugetlb, isShm } from './vm-ops.js';
import { HUGETLB_ADVICE } from './hugetlb-madvise.js';
import { declineHugetlbFork } from './hugetlb.js';

/** The sequence's segments: one inode (and page cache) each, identity = the maps inode of its attaches. */
export function declareShm(sys: Sys, segs: readonly ShmSeg[]): void {
  segs.forEach((s, i) => {
    sys.shm.push(sys.newFile({ kind: 'sysv', index: i, size: s.size, cache: new Set(), readOnly: false, closeHook: true, seals: 1, execMode: false, data: new Map() }));
  });
}

export type ShmatResult = { err: number } | { placement: Placement };

/** ipc/shm.c:do_shmat(shmid, shmaddr, shmflg, SHMLBA = PAGE_SIZE). */
export function sysShmat(mm: Mm, segIndex: number, addr: Addr | null, shmflg: number): ShmatResult {
  const err = (e: number, id: Parameters<Mm['hit']>[0]): ShmatResult => {
    mm.hit(id);
    return { err: e };
  };
  if (mm.profile.sysvShm === false) throw new Unsupported('the target cannot create SysV segments (fact sysv_shm=0)');
  const seg = mm.sys.shm[segIndex];
  if (!seg) throw new Error(`model bug: no shm segment ${segIndex}`);
  let start: number | null = null;
  if (addr) {
    if (addr.off) {
      if (!(shmflg & SHM.SHM_RND)) return err(EINVAL, 'errno.shmat.unaligned');
      mm.hit('shmat.rnd'); // round down to SHMLBA; never 0 inside the arena
    }
    start = addr.page;
  } else if (shmflg & SHM.SHM_REMAP) return err(EINVAL, 'errno.shmat.remap_null');
  const rdonly = (shmflg & SHM.SHM_RDONLY) !== 0;
  let prot = rdonly ? PROT.PROT_READ : PROT.PROT_READ | PROT.PROT_WRITE;
  if (shmflg & SHM.SHM_EXEC) prot |= PROT.PROT_EXEC;
  // the harness's own segment, created by this user: ipcperms passes
  const pages = Number((seg.size + 4095n) / 4096n);
  if (start !== null && !(shmflg & SHM.SHM_REMAP) && mm.intersect(start, start + pages)) return err(EINVAL, 'errno.shmat.overlap');
  if (start !== null && shmflg & SHM.SHM_REMAP && mm.intersect(start, start + pages)) mm.hit('shmat.remap');
  // do_mmap(file, addr, size, prot, MAP_SHARED [| MAP_FIXED], 0)
  if (mm.mapCount > mm.profile.maxMapCount) return err(ENOMEM, 'errno.mmap.map_count');
  let vmFlags = mmapVmFlags(mm, prot, MAP.MAP_SHARED) | VM_SHARED | VM_MAYSHARE;
  if (rdonly) {
    // the clone is opened O_RDONLY: "if (!(file->f_mode & FMODE_WRITE)) vm_flags &= ~(VM_MAYWRITE | VM_SHARED)"
    vmFlags &= ~(VM_MAYWRITE | VM_SHARED);
    mm.hit('shmat.rdonly');
  }
  let placement: Placement;
  if (start !== null) placement = { kind: 'arena', page: start };
  else {
    // shm_get_unmapped_area -> shmem_get_unmapped_area (pgoff 0), as for a memfd
    if (mm.profile.shmemHugePages > 0) throw new Unsupported('shmem THP placement of a SysV attach is not modelled');
    placement = getUnmappedArea(mm, null, pages, true, false);
  }
  if (placement.kind === 'outside') {
    mm.outside++;
    return { placement };
  }
  // one inode: the attaches share its page cache and contents
  const file = mm.sys.newFile({ kind: 'sysv', index: segIndex, size: seg.size, cache: seg.cache, readOnly: rdonly, inode: seg.id, closeHook: true, seals: seg.seals, execMode: false, data: seg.data });
  const events = mm.sys.events.length;
  const r = mmapRegion(mm, placement.page, placement.page + pages, vmFlags, 0, file.id);
  noUnmapEvents(mm, events);
  if (r) return { err: r };
  mm.hit('shmat.attach');
  return { placement };
}

/** do_shmat calls do_mmap with uf = NULL and ksys_shmdt do_vmi_align_munmap with uf = NULL, so
 *  what they unmap raises no userfaultfd unmap event (mm/vma.c:vms_gather_munmap_vmas "if
 *  (vms->uf)" around userfaultfd_unmap_prep): drop the ones the shared unmap path recorded. */
function noUnmapEvents(mm: Mm, from: number): void {
  if (mm.sys.events.length === from) return;
  mm.sys.events.length = from;
  mm.hits = mm.hits.filter((h) => h !== 'uffd.event.unmap');
  mm.hit('shm.no_unmap_event');
}

/** ipc/shm.c:ksys_shmdt. Returns 0 or a positive errno. */
export function sysShmdt(mm: Mm, addr: Addr): number {
  if (addr.off) {
    mm.hit('errno.shmdt.unaligned');
    return EINVAL;
  }
  const a = addr.page;
  // "for_each_vma(vmi, vma)" from addr: the first shm VMA with (vm_start - addr) / PAGE_SIZE ==
  // vm_pgoff (unsigned: a VMA starting below addr never matches)
  let i = mm.findIndex(a);
  let file = 0;
  let size = 0;
  for (; i < mm.vmas.length; i++) {
    const v = mm.vmas[i]!;
    if (mm.isFence(v)) continue;
    if (isShm(mm, v) && v.start >= a && v.start - a === v.pgoff) {
      file = v.file;
      size = Number((mm.sys.file(v.file).size + 4095n) / 4096n);
      mm.hit('shmdt.detach');
      const ev = mm.sys.events.length;
      sysMunmap(mm, { page: v.start, off: 0 }, BigInt(v.end - v.start) * 4096n);
      noUnmapEvents(mm, ev);
      break;
    }
  }
  if (!file) {
    mm.hit('errno.shmdt.none');
    return EINVAL;
  }
  // "while (vma && (loff_t)(vma->vm_end - addr) <= size)": later fragments of the same attach
  for (i = mm.findIndex(a); i < mm.vmas.length; i++) {
    const v = mm.vmas[i]!;
    if (v.end - a > size) break;
    if (v.file === file && v.start >= a && v.start - a === v.pgoff) {
      mm.hit('shmdt.fragment');
      const ev = mm.sys.events.length;
      // "Errors from do_munmap are ignored" (a sealed fragment stays): then on to vma_next
      if (sysMunmap(mm, { page: v.start, off: 0 }, BigInt(v.end - v.start) * 4096n) === 0) i--;
      noUnmapEvents(mm, ev);
    }
  }
  return 0;
}

/** Calls the model does not follow on hugetlb or SysV shm VMAs (declined as Unsupported). On
 *  hugetlb only mmap, munmap, mprotect, touch, mremap and some madvise are modelled; on shm also
 *  mlock/munlock, mseal, anon names, fork, madvise and mremap (shmem behaviour with shm_vm_ops),
 *  not userfaultfd (vma_can_userfault tests vma_is_shmem(), which is false for shm_vm_ops). */
export function declineOnHugeShm(mm: Mm, c: Call): void {
  let s = 0;
  let e = mm.arenaPages;
  switch (c.op) {
    case 'madvise':
    case 'mremap':
    case 'mlock':
    case 'mlock2':
    case 'munlock':
    case 'mseal':
    case 'anon_name':
    case 'uffd_register':
    case 'uffd_unregister': {
      const len = c.op === 'mremap' ? c.oldLen : c.len;
      s = c.addr.page;
      if (len < 1n << 40n) e = Math.min(mm.arenaPages, s + Math.max(1, Number((len + BigInt(c.addr.off) + 4095n) / 4096n)));
      break;
    }
    case 'fork':
      // fork of hugetlb VMAs is modelled (src/model/fork.ts) when the pool is big enough
      declineHugetlbFork(mm);
      break;
    case 'ftruncate':
      // hugetlbfs_setattr -> hugetlb_vmtruncate: not modelled
      if (mm.sys.declared(c.file).kind === 'hugetlb') throw new Unsupported('ftruncate of a hugetlb file is not modelled');
      return;
    default:
      return;
  }
  // madvise, mremap and userfaultfd on shm VMAs are modelled (the shmem paths with the attach's own
  // struct file: MADV_REMOVE punches the segment's inode, a multi-VMA mremap refuses them,
  // src/model/mremap.ts; userfaultfd (un)registration is EINVAL, src/model/uffd.ts)
  // madvise on hugetlb: the advice of src/model/hugetlb-madvise.ts is modelled; mremap:
  // src/model/hugetlb-mremap.ts; mlock (vma_supports_mlock skips it), mseal (a split off the grid
  // is EINVAL) and anon names (EBADF: a file VMA) need nothing of their own
  const hugeOk = ['mremap', 'mlock', 'mlock2', 'munlock', 'mseal', 'anon_name', 'fork'].includes(c.op);
  const hugeToo = !(c.op === 'madvise' && HUGETLB_ADVICE.has(c.advice)) && !hugeOk;
  for (const v of mm.arenaVmas()) {
    if (v.start < e && v.end > s && hugeToo && isHugetlb(v)) throw new Unsupported(`${c.op} on a hugetlb VMA is not modelled`);
  }
}
