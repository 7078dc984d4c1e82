// Generated sequences never move part of a private hugetlb mapping that holds a reservation: such a
// move leaks the reservation of the part left behind on the whole machine (mm/hugetlb.c:
// clear_vma_resv_huge_pages via mm/mremap.c:copy_vma_and_data -> fixup_hugetlb_reservations;
// HugePages_Rsvd stays raised after the process exits, see src/model/hugetlb-mremap.ts
// declineLeakingMove), and the pool is shared by every harness on the host. The model declines such
// a move, but the kernel runs the sequence anyway, so the generator keeps it from arising: in a
// sequence with an mremap, every MAP_PRIVATE hugetlb mapping gets MAP_NORESERVE (no resv_map, no
// leak: hugetlb_reserve_pages returns early). Sequences without mremap keep reserved mappings.

import { MAP } from '../seq/consts.js';
import type { Call, Sequence, ThreadCall } from '../seq/schema.js';

const MAP_TYPE = 0x0f;

/** Does this mmap map hugetlb memory privately (MAP_HUGETLB, or a declared hugetlb file)? */
export function privateHugetlbMmap(c: Call, files: Sequence['files']): boolean {
  if (c.op !== 'mmap' || (c.flags & MAP_TYPE) !== MAP.MAP_PRIVATE) return false;
  if (c.flags & MAP.MAP_HUGETLB) return true;
  return !(c.flags & MAP.MAP_ANONYMOUS) && c.fd !== undefined && files?.[c.fd]?.kind === 'hugetlb';
}

/** MAP_NORESERVE on every private hugetlb mmap of a sequence with an mremap; in a concurrent
 *  sequence (src/gen/threads.ts) the setup and every racing thread count alike. */
export function noLeakingHugetlbMoves<S extends Pick<Sequence, 'calls' | 'files' | 'threads'>>(seq: S): S {
  const racing = (seq.threads ?? []).flatMap((t) => t.calls);
  if (![...seq.calls, ...racing].some((c) => c.op === 'mremap')) return seq;
  let changed = false;
  const fix = <C extends Call | ThreadCall>(c: C): C => {
    if (c.op !== 'mmap' || !privateHugetlbMmap(c, seq.files) || c.flags & MAP.MAP_NORESERVE) return c;
    changed = true;
    return { ...c, flags: (c.flags | MAP.MAP_NORESERVE) >>> 0 };
  };
  const calls = seq.calls.map(fix);
  const threads = seq.threads?.map((t) => ({ ...t, calls: t.calls.map(fix) }));
  return changed ? { ...seq, calls, ...(threads ? { threads } : {}) } : seq;
}
