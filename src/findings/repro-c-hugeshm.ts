// C reproducers of sequences with SysV segments or MAP_HUGETLB: the shared C lives in
// harness-c/repro/ (sysv-shm.c: the segments as the harness makes them; hugetlb-pool.c: the pool),
// this file says when it is needed and emits its tables.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAP } from '../seq/consts.js';
import type { Sequence } from '../seq/schema.js';
import { projectRoot } from '../runner/harness-build.js';

const sharedC = (name: string) => readFileSync(join(projectRoot(), 'harness-c', 'repro', name), 'utf8');

export interface HugeShmFeatures {
  shm: boolean;
  hugetlb: boolean;
}

export function hugeShmFeatures(seq: Sequence): HugeShmFeatures {
  return {
    shm: (seq.shm?.length ?? 0) > 0,
    hugetlb: seq.calls.some((c) => c.op === 'mmap' && (c.flags & MAP.MAP_HUGETLB) !== 0) || (seq.files ?? []).some((f) => f.kind === 'hugetlb'),
  };
}

export function hugeShmIncludes(f: HugeShmFeatures): string[] {
  return f.shm ? ['#include <sys/ipc.h>', '#include <sys/shm.h>'] : [];
}

/** #defines and tables the shared C needs. */
export function hugeShmDefines(seq: Sequence, f: HugeShmFeatures): string[] {
  const o: string[] = [];
  // the pool the model counts on (src/model/hugetlb.ts HUGETLB_MIN_FREE would do; the arena's
  // 2 MiB blocks are what one sequence can reserve at once)
  const filePages = (seq.files ?? []).filter((x) => x.kind === 'hugetlb').reduce((n, x) => n + Number(x.size / (2n << 20n)), 0);
  if (f.hugetlb) o.push(`#define HUGETLB_NEED ${Math.max(1, Math.ceil(seq.arenaPages / 512) + filePages)}\t/* free 2 MiB pages needed */`);
  if (f.shm) o.push(`#define NR_SHM ${seq.shm!.length}`, `static const uint64_t shm_size[NR_SHM] = { ${seq.shm!.map((s) => `0x${s.size.toString(16)}`).join(', ')} };`);
  return o;
}

export function hugeShmC(f: HugeShmFeatures): string {
  return (f.shm ? sharedC('sysv-shm.c') : '') + (f.hugetlb ? sharedC('hugetlb-pool.c') : '');
}

/** setup() steps and cleanup statements. */
export function hugeShmSetup(f: HugeShmFeatures): { steps: string[]; cleanup: string[] } {
  return { steps: [f.hugetlb ? 'hugetlb_pool()' : '', f.shm ? 'shm_create()' : ''].filter(Boolean), cleanup: f.shm ? ['\tshm_remove();'] : [] };
}
