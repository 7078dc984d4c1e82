// Generated sequences never move part of a private hugetlb mapping that holds a reservation: such a
// move leaks the reservation of the part left behind on the whole machine (mm/hugetlb.c:
// clear_vma_resv_huge_pages via mm/mremap.c:copy_vma_and_data -> fixup_hugetlb_reservations;
// HugePages_Rsvd stays raised after the process exits, see src/model/hugetlb-mremap.ts
// declineLeakingMove), and the pool is shared by every harness on the host. The model declines such
// a move, but the kernel runs the sequence anyway, so the generator keeps it from arising: in a
// sequence with an mremap, every MAP_PRIVATE hugetlb mapping gets MAP_NORESERVE (no resv_map, no
// leak: hugetlb_reserve_pages returns early). Sequences without mremap keep reserved mappings.

import { MAP } from '../seq/consts.js';
import type { Call, Sequence } from '../seq/schema.js';

const MAP_TYPE = 0x0f;

/** Does this mmap map hugetlb memory privately (MAP_HUGETLB, or a declared hugetlb file)? */
export function privateHugetlbMmap(c: Call, files: Sequence['files']): boolean {
  if (c.op !== 'mmap' || (c.flags & MAP_TYPE) !== MAP.MAP_PRIVATE) return false;
  if (c.flags & MAP.MAP_HUGETLB) return true;
  return !(c.flags & MAP.MAP_ANONYMOUS) && c.fd !== undefined && files?.[c.fd]?.kind === 'hugetlb';
}

export function noLeakingHugetlbMoves<S extends Pick<Sequence, 'calls' | 'files'>>(seq: S): S {
  if (!seq.calls.some((c) => c.op === 'mremap')) return seq;
  let changed = false;
  const calls = seq.calls.map((c) => {
    if (!privateHugetlbMmap(c, seq.files) || c.op !== 'mmap' || c.flags & MAP.MAP_NORESERVE) return c;
    changed = true;
    return { ...c, flags: (c.flags | MAP.MAP_NORESERVE) >>> 0 };
  });
  return changed ? { ...seq, calls } : seq;
}

/** The same for a concurrent sequence: an mremap in its setup or any racing thread counts, and the
 *  hugetlb mappings of both get MAP_NORESERVE (src/gen/threads.ts). */
export function noLeakingHugetlbMovesConcurrent(seq: Sequence): Sequence {
  const racing = (seq.threads ?? []).flatMap((t) => t.calls.filter((c): c is Call => c.op !== 'sync'));
  if (!seq.threads || ![...seq.calls, ...racing].some((c) => c.op === 'mremap')) return seq;
  const fix = <C extends { op: string }>(c: C): C => {
    const call = c as unknown as Call;
    if (c.op === 'sync' || !privateHugetlbMmap(call, seq.files) || call.op !== 'mmap' || call.flags & MAP.MAP_NORESERVE) return c;
    return { ...call, flags: (call.flags | MAP.MAP_NORESERVE) >>> 0 } as unknown as C;
  };
  return { ...seq, calls: seq.calls.map(fix), threads: seq.threads.map((t) => ({ ...t, calls: t.calls.map(fix) })) };
}
