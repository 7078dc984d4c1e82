// prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, addr, len, name) after 7.3's mm/madvise.c
// (set_anon_vma_name -> madvise_set_anon_name -> madvise_walk_vmas with __MADV_SET_ANON_VMA_NAME).
// Names show as "[anon:NAME]" / "[anon_shmem:NAME]" in maps; VMAs merge only with equal names
// (src/model/merge.ts). Returns 0 or a positive errno.

import type { Addr } from '../seq/values.js';
import { VM_IGNORE_MERGE } from './flags.js';
import { madviseWalkVmas } from './madvise.js';
import { vmaModifyFlags } from './merge.js';
import { Mm, type Vma } from './state.js';
import { classifyLen, EAGAIN, EINVAL, Unsupported } from './syscalls.js';

export const EBADF = 9;
/** mm/madvise.c ANON_VMA_NAME_MAX_LEN (strndup_user limit, NUL included) */
const MAX_LEN = 80;
const INVALID = '\\`$[]';

/** The name as the kernel copies it: the UTF-8 bytes up to the first NUL (strndup_user). */
function kernelName(name: string): { text: string; ok: boolean } {
  const bytes = Buffer.from(name, 'utf8');
  const nul = bytes.indexOf(0);
  const b = nul >= 0 ? bytes.subarray(0, nul) : bytes;
  if (b.length >= MAX_LEN) return { text: '', ok: false };
  // is_valid_name_char: printable ASCII without \`$[]
  for (const c of b) if (c < 0x20 || c > 0x7e || INVALID.includes(String.fromCharCode(c))) return { text: '', ok: false };
  return { text: b.toString('latin1'), ok: true };
}

/** mm/madvise.c:set_anon_vma_name */
export function sysAnonName(mm: Mm, addr: Addr, lenArg: bigint, name: string | null): number {
  const fail = (e: number, id: Parameters<Mm['hit']>[0]): number => {
    mm.hit(id);
    return e;
  };
  if (!mm.profile.anonVmaName) return fail(EINVAL, 'errno.anon_name.unsupported');
  let anonName: string | null = null;
  if (name !== null) {
    const k = kernelName(name);
    if (!k.ok) return fail(EINVAL, 'errno.anon_name.bad_name');
    anonName = k.text;
  }
  // madvise_set_anon_name
  if (addr.off) return fail(EINVAL, 'errno.anon_name.unaligned');
  const len = classifyLen(lenArg);
  if (len.kind === 'unknown' || (len.kind === 'beyond_task' && !len.wraps)) throw new Unsupported('anon_name length reaching beyond the arena');
  if (len.kind === 'beyond_task') return fail(EINVAL, 'errno.anon_name.wrap');
  if (len.pages === 0) {
    mm.hit('anon_name.len_zero');
    return 0;
  }
  const start = addr.page;
  return madviseWalkVmas(mm, start, start + len.pages, (vma, prev, s, e) => setName(mm, vma, prev, s, e, anonName), 'errno.anon_name.hole');
}

/**
 * mm/shmem.c:vma_is_anon_shmem: the VMA's vm_ops are shmem_anon_vm_ops, which shmem_mmap_prepare
 * (6.12: shmem_mmap) gives every mapping, private or shared, of a shmem inode that has no link at
 * the time of mmap ("This is anonymous shared memory if it is unlinked at the time of mmap"), and
 * shmem_zero_setup every MAP_SHARED|MAP_ANONYMOUS mapping. A memfd is never linked
 * (mm/shmem.c:__shmem_file_setup clear_nlink); the harness unlinks its tmpfs files as soon as
 * they are open, before any mmap (harness-c/child.c:create_files). Both since d09e8ca6cb93 "mm:
 * anonymous shared memory naming" (6.2; its v3 added the i_nlink test for memfds). Not hugetlbfs
 * files (hugetlbfs_file_mmap) nor SysV attaches (ipc/shm.c:shm_mmap replaces vm_ops with shm_vm_ops).
 */
function isAnonShmem(mm: Mm, vma: Vma): boolean {
  if (vma.file <= 0) return false;
  const kind = mm.sys.file(vma.file).kind;
  return kind === 'anon' || kind === 'memfd' || kind === 'tmpfs';
}

/** madvise_vma_behavior(__MADV_SET_ANON_VMA_NAME) + madvise_update_vma for one VMA. */
function setName(mm: Mm, vma: Vma, prev: Vma, start: number, end: number, name: string | null): number | Vma {
  // "Only anonymous mappings can be named": anonymous shmem too since 6.2
  if (vma.file !== 0 && !(isAnonShmem(mm, vma) && mm.profile.rows['anon_name.shmem'])) {
    mm.hit('errno.anon_name.file');
    return EBADF;
  }
  if ((vma.anonName ?? null) === name) {
    mm.hit('anon_name.unchanged');
    return vma;
  }
  const flags = vma.flags;
  const r = vmaModifyFlags(mm, prev, vma, start, end, flags, undefined, name);
  if (typeof r === 'number') {
    mm.hit('errno.anon_name.split');
    return EAGAIN;
  }
  mm.hit('anon_name.set');
  // madvise_update_vma writes back the middle VMA's flags; the merged VMA's sticky flags are kept
  // (7.3 loses them here because vma_modify_name does not report them - not modelled, see docs)
  r.flags = flags | (r.flags & VM_IGNORE_MERGE);
  if (name === null) delete r.anonName;
  else r.anonName = name;
  return r;
}
