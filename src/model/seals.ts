// memfd file seals (mm/memfd.c, after 7.3): the seals a declared file starts with (memfd_create
// flags and vm.memfd_noexec), fcntl(F_ADD_SEALS) and the checks other calls make against them
// (mmap: memfd_check_seals_mmap; ftruncate: mm/shmem.c:shmem_setattr; MADV_REMOVE:
// mm/shmem.c:shmem_fallocate). Seals live in the inode (FileObj.seals), so every process of the
// sequence sees the same ones.

import { F_SEAL, MFD } from '../seq/seals.js';
import type { FileDecl } from '../seq/schema.js';
import { VM_MAYWRITE, VM_SHARED, VM_WRITE } from './flags.js';
import type { Profile } from './profile.js';
import type { Mm } from './state.js';
import { isRealFs, type FileObj, type Sys } from './sys.js';
import { EINVAL, EPERM, sysMunmap, Unsupported } from './syscalls.js';

export const EBUSY = 16;
const WRITE_SEALS = F_SEAL.F_SEAL_WRITE | F_SEAL.F_SEAL_FUTURE_WRITE;

/** mm/memfd.c F_ALL_SEALS (F_SEAL_EXEC from 6.3: profile row memfd.seal_exec) */
function allSeals(p: Profile): number {
  const all = F_SEAL.F_SEAL_SEAL | F_SEAL.F_SEAL_SHRINK | F_SEAL.F_SEAL_GROW | F_SEAL.F_SEAL_WRITE | F_SEAL.F_SEAL_FUTURE_WRITE;
  return p.rows['memfd.seal_exec'] ? all | F_SEAL.F_SEAL_EXEC : all;
}

/**
 * The seals and exec mode a declared file is created with. tmpfs files are shmem inodes too:
 * mm/shmem.c:__shmem_get_inode starts every inode with F_SEAL_SEAL (sealing refused); the
 * harness creates them 0600. memfds (mm/memfd.c:memfd_create, sanitize_flags,
 * check_sysctl_memfd_noexec, alloc_file): mode 0777 from shmem_file_setup; without MFD_EXEC or
 * MFD_NOEXEC_SEAL the pid namespace's vm.memfd_noexec (fact memfd_noexec) picks one; MFD_NOEXEC_SEAL
 * clears the exec bits and allows sealing with F_SEAL_EXEC set; MFD_ALLOW_SEALING clears F_SEAL_SEAL.
 */
export function initSeals(sys: Sys, decls: readonly FileDecl[], p: Profile): void {
  decls.forEach((d, i) => {
    const f = sys.declared(i);
    f.seals = F_SEAL.F_SEAL_SEAL;
    f.execMode = false;
    if (d.kind !== 'memfd') return;
    let flags = d.flags ?? 0;
    if (!p.rows['memfd.seal_exec']) {
      // 6.1 mm/memfd.c MFD_ALL_FLAGS has neither: memfd_create fails and the harness cannot run
      if (flags & (MFD.MFD_EXEC | MFD.MFD_NOEXEC_SEAL)) throw new Unsupported('MFD_EXEC / MFD_NOEXEC_SEAL need Linux 6.3 (memfd_create EINVAL)');
    } else {
      if (flags & MFD.MFD_EXEC && flags & MFD.MFD_NOEXEC_SEAL) throw new Unsupported('MFD_EXEC|MFD_NOEXEC_SEAL: memfd_create EINVAL, the file cannot be created');
      if (!(flags & (MFD.MFD_EXEC | MFD.MFD_NOEXEC_SEAL))) flags |= p.memfdNoexec >= 1 ? MFD.MFD_NOEXEC_SEAL : MFD.MFD_EXEC;
      if (!(flags & MFD.MFD_NOEXEC_SEAL) && p.memfdNoexec >= 2) throw new Unsupported('vm.memfd_noexec=2 refuses memfd_create without MFD_NOEXEC_SEAL (EACCES)');
    }
    f.execMode = !(flags & MFD.MFD_NOEXEC_SEAL);
    if (flags & MFD.MFD_NOEXEC_SEAL) f.seals = F_SEAL.F_SEAL_EXEC;
    else if (flags & MFD.MFD_ALLOW_SEALING) f.seals = 0;
  });
}

/**
 * include/linux/fs.h:mapping_writably_mapped (i_mmap_writable > 0): VMAs of every live process of
 * the sequence that are VM_SHARED and VM_MAYWRITE (mm/vma.c vma_link_file, kernel/fork.c dup_mmap:
 * vma_is_shared_maywrite), plus such mappings placed outside the arena.
 */
export function writablyMapped(mm: Mm, f: FileObj): boolean {
  // outside the arena: the creator's mapping (its fork children's copies live no longer than it)
  if (f.outsideWritable?.some((p) => !p.exited)) return true;
  for (const proc of mm.sys.procs.length ? mm.sys.procs : [mm]) {
    if (proc.exited) continue;
    for (const v of proc.arenaVmas()) if (v.file === f.id && (v.flags & (VM_SHARED | VM_MAYWRITE)) === (VM_SHARED | VM_MAYWRITE)) return true;
  }
  return false;
}

/** fcntl(fd, F_ADD_SEALS, seals) of a declared file: mm/memfd.c:memfd_add_seals. 0 or an errno. */
export function sysAddSeals(mm: Mm, index: number, sealsArg: number): number {
  const f = mm.sys.declared(index);
  const fail = (e: number, id: Parameters<Mm['hit']>[0]) => {
    mm.hit(id);
    return e;
  };
  // fs/fcntl.c:do_fcntl passes arg as unsigned int; memfd_add_seals checks FMODE_WRITE first
  if (f.readOnly) return fail(EPERM, 'errno.add_seals.rdonly');
  let seals = sealsArg >>> 0;
  if (seals & ~allSeals(mm.profile)) return fail(EINVAL, 'errno.add_seals.unknown');
  if (isRealFs(f)) return fail(EINVAL, 'errno.add_seals.not_shmem');
  if (f.seals & F_SEAL.F_SEAL_SEAL) return fail(EPERM, 'errno.add_seals.sealed');
  // "SEAL_EXEC implies SEAL_WRITE, making W^X from the start" (only while exec bits are set)
  if (seals & F_SEAL.F_SEAL_EXEC && f.execMode && mm.profile.rows['memfd.exec_seal_implies_write']) {
    seals |= F_SEAL.F_SEAL_SHRINK | F_SEAL.F_SEAL_GROW | F_SEAL.F_SEAL_WRITE | F_SEAL.F_SEAL_FUTURE_WRITE;
    mm.hit('add_seals.exec_implies_write');
  }
  if (seals & F_SEAL.F_SEAL_WRITE && !(f.seals & F_SEAL.F_SEAL_WRITE)) {
    // mapping_deny_writable: -EBUSY while i_mmap_writable > 0; memfd_wait_for_pins: the harness
    // pins no pages, so it never waits
    if (writablyMapped(mm, f)) return fail(EBUSY, 'errno.add_seals.busy');
    mm.hit('add_seals.deny_writable');
  }
  f.seals |= seals;
  mm.hit('add_seals.ok');
  return 0;
}

/**
 * mm/mmap.c:do_mmap -> mm/memfd.c:memfd_check_seals_mmap, check_write_seal for a declared file's
 * mapping after the MAP_TYPE switch: a write-sealed file refuses a shared writable mapping
 * (EPERM) and a shared read-only one loses VM_MAYWRITE, so mprotect(PROT_WRITE) is EACCES later.
 * Returns the new vm_flags or a negative errno.
 */
export function checkSealsMmap(mm: Mm, f: FileObj, vmFlags: number, fixedRange?: [number, number]): number {
  if (!(f.seals & WRITE_SEALS) || !(vmFlags & VM_SHARED)) return vmFlags;
  if (vmFlags & VM_WRITE) {
    // row memfd.seal_check_in_do_mmap off: F_SEAL_WRITE fails in mmap_region (mapping_map_writable,
    // nothing unmapped yet), F_SEAL_FUTURE_WRITE only in shmem_mmap after the range was unmapped
    if (!mm.profile.rows['memfd.seal_check_in_do_mmap'] && !(f.seals & F_SEAL.F_SEAL_WRITE) && fixedRange && mm.intersect(fixedRange[0], fixedRange[1])) {
      const e = sysMunmap(mm, { page: fixedRange[0], off: 0 }, BigInt(fixedRange[1] - fixedRange[0]) * 4096n);
      if (e) return -e;
      mm.hit('mmap.file.sealed_after_unmap');
    }
    mm.hit('errno.mmap.write_sealed');
    return -EPERM;
  }
  mm.hit('mmap.file.sealed_no_maywrite');
  return vmFlags & ~VM_MAYWRITE;
}

/** mm/shmem.c:shmem_setattr: F_SEAL_SHRINK / F_SEAL_GROW refuse a size change (EPERM), or 0. */
export function checkSealsTruncate(mm: Mm, f: FileObj, len: bigint): number {
  if ((len < f.size && f.seals & F_SEAL.F_SEAL_SHRINK) || (len > f.size && f.seals & F_SEAL.F_SEAL_GROW)) {
    mm.hit('errno.ftruncate.sealed');
    return EPERM;
  }
  return 0;
}

/** mm/shmem.c:shmem_fallocate(FALLOC_FL_PUNCH_HOLE): a write-sealed file refuses (EPERM). */
export function punchHoleSealed(mm: Mm, fileId: number): boolean {
  const f = mm.sys.file(fileId);
  if (!(f.seals & WRITE_SEALS)) return false;
  mm.hit('errno.madvise.remove_sealed');
  return true;
}
