// Validity of the maps reads a reader thread made while the racing calls ran. /proc/PID/maps is
// read in pieces (one seq_file buffer per read(2)), and since 6.16 under per-VMA locks rather than
// mmap_lock, so a read is not a snapshot of one moment. What it must be
// (Documentation/filesystems/proc.rst, "inherently racy ... we do provide the following
// guarantees"; fs/proc/task_mmu.c:proc_get_vma, mm/mmap_lock.c:lock_next_vma):
// - the position never goes backwards: each line ends after the previous one (so none is
//   repeated). A line may start before the previous one ended: after printing a VMA the reader
//   looks for the next one with vm_end > the last end, and if the printed VMA has meanwhile been
//   merged with its neighbour, that is the merged VMA, printed again from its start
//   (task_mmu.c:proc_get_vma "Track the end of the reported vma ... even if previous vma was
//   merged with the next vma"; tools/testing/selftests/proc/proc-maps-race.c accepts a VMA
//   "reported twice (first the original split one, then the same vma but extended after the
//   merge)"). The documentation's "no two regions will ever overlap" is stricter than the code;
// - every line is a VMA as it was at some moment of the read: here, a VMA of a model state that
//   the chosen linearization can have at some point of the read's interval;
// - whatever is mapped during the whole read has a line: a page mapped in every state the read can
//   overlap is covered, unless a call running during the read acts on it. Per-VMA-lock readers do
//   not wait for mmap_lock, so they can see a writer's intermediate states: MREMAP_FIXED unmaps
//   its destination before it moves the VMA in, and lock_next_vma (mm/mmap_lock.c) then reports
//   the VMA after the hole, which is still there when it checks again: a page mapped before and
//   after the call is missing from the read.
// File lines are compared without device and inode (the model's are symbolic).

import { renderMaps } from '../model/predict.js';
import type { Mm } from '../model/state.js';
import { canonicalFileName, mapsEntryToString } from '../seq/maps.js';
import type { CallTiming, MapsEntry, MapsRead } from '../seq/observation.js';
import type { Call } from '../seq/schema.js';
import { footprint, overlaps } from './footprint.js';

export interface ReadProblem {
  kind: string;
  detail: string;
}

export const lineKey = (e: MapsEntry) => `${e.start}-${e.end} ${e.perms} ${e.inode || e.dev !== '00:00' ? e.offset : 0} ${canonicalFileName(e.name)}`;

/**
 * `states[k]` is the model state after the first k calls of the order, `timing[k]` the observed
 * interval of the order's k-th call. State k can be current during [start, end] of a read when the
 * k-th call (which made it) may take effect before the read ends and the next one after it starts.
 * `idle[k]`: the order's k-th call changed nothing (a failed fork): it excuses no missing page.
 */
export function checkReads(reads: readonly MapsRead[], states: readonly Mm[], timing: readonly CallTiming[], calls: readonly Call[], idle: readonly boolean[] = []): ReadProblem | null {
  if (!reads.length) return null;
  const n = timing.length;
  const maps = states.map((s) => renderMaps(s));
  for (const r of reads) {
    const where = `reader ${r.reader} read [${r.start}, ${r.end}] ns`;
    for (let j = 1; j < r.maps.length; j++) {
      const a = r.maps[j - 1]!;
      const b = r.maps[j]!;
      if (b.end <= a.end) return { kind: 'read-backwards', detail: `${where}: ${mapsEntryToString(b)} does not end after ${mapsEntryToString(a)} (the reader's position must only move forwards)` };
    }
    const live: number[] = [];
    for (let k = 0; k <= n; k++) {
      const made = k === 0 || timing[k - 1]!.start <= r.end;
      const until = k === n || timing[k]!.end >= r.start;
      if (made && until) live.push(k);
    }
    const known = new Set<string>();
    for (const k of live) for (const e of maps[k]!) known.add(lineKey(e));
    for (const e of r.maps) {
      if (!known.has(lineKey(e))) return { kind: 'read-unknown-line', detail: `${where}: ${mapsEntryToString(e)} is a VMA of no state the order has during the read (states ${live.join(',')})` };
    }
    // pages mapped in every live state, and no call running during the read acts on them
    const busy = timing.flatMap((t, k) => (t.start <= r.end && t.end >= r.start && !idle[k] ? [footprint(states[k]!, calls[k]!)] : []));
    const covered = (p: number) => r.maps.some((e) => e.start <= p && p < e.end) || busy.some((f) => overlaps(f, [p, p + 1]));
    const first = maps[live[0]!]!;
    for (const e of first) {
      for (let p = e.start; p < e.end; p++) {
        if (live.every((k) => maps[k]!.some((x) => x.start <= p && p < x.end)) && !covered(p)) {
          return { kind: 'read-missing', detail: `${where}: page A+${p}p is mapped throughout the read but no line covers it` };
        }
      }
    }
  }
  return null;
}
