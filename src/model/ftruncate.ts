// ftruncate(2) of a declared file (fs/open.c:do_sys_ftruncate -> do_truncate -> mm/shmem.c:
// shmem_setattr). Shrinking unmaps every mapping of the cut-off pages in every process of the
// sequence - private CoW copies included (unmap_mapping_range with even_cows = 1) - and drops them
// from the page cache; later accesses there fault and get SIGBUS (src/model/pages.ts callers).

import { zapPtes } from './pages.js';
import { truncateData } from './content.js';
import { filePages } from './sys.js';
import type { Mm } from './state.js';
import { EINVAL } from './syscalls.js';
import { checkSealsTruncate } from './seals.js';

/** Returns 0 or a positive errno. `len` is the raw 64-bit argument. */
export function sysFtruncate(mm: Mm, index: number, len: bigint): number {
  // fs/open.c:do_sys_ftruncate: loff_t length < 0
  if (len >= 1n << 63n) {
    mm.hit('errno.ftruncate.negative');
    return EINVAL;
  }
  const f = mm.sys.declared(index);
  // fs/open.c:do_ftruncate: S_ISREG and FMODE_WRITE (64-bit: O_LARGEFILE, no MAX_NON_LFS limit);
  // inode_newsize_ok: RLIMIT_FSIZE assumed unlimited, s_maxbytes = MAX_LFS_FILESIZE >= any len here
  if (f.readOnly) {
    mm.hit('errno.ftruncate.rdonly');
    return EINVAL;
  }
  // do_truncate -> notify_change -> shmem_setattr: F_SEAL_SHRINK / F_SEAL_GROW
  const sealed = checkSealsTruncate(mm, f, len);
  if (sealed) return sealed;
  const old = f.size;
  f.size = len;
  truncateData(f, old, len);
  if (len >= old) {
    mm.hit('ftruncate.grow');
    return 0;
  }
  mm.hit('ftruncate.shrink');
  // shmem_setattr: holebegin = round_up(newsize, PAGE_SIZE); unmap_mapping_range(holebegin, 0, 1)
  const hole = filePages(f);
  for (const proc of mm.sys.procs.length ? mm.sys.procs : [mm]) {
    if (proc.exited) continue;
    for (const v of proc.arenaVmas()) {
      if (v.file !== f.id) continue;
      const from = Math.max(v.start, v.start + (hole - v.pgoff));
      if (from < v.end) zapPtes(proc, from, v.end, false, false);
    }
  }
  // shmem_truncate_range(newsize, -1): the partial page stays (its tail is zeroed)
  for (const idx of [...f.cache]) if (idx >= hole) f.cache.delete(idx);
  return 0;
}
