// predict(): run a sequence through the model and produce what a runner would observe.

import type { CallObs, MapsEntry, Ret, SeqObservation, Snapshot } from '../seq/observation.js';
import type { Call, Sequence } from '../seq/schema.js';
import { permsOf, VM_GROWSDOWN } from './flags.js';
import { touch } from './fault.js';
import { HPAGE_PAGES, Mm } from './state.js';
import type { Placement } from './placement.js';
import type { Profile } from './profile.js';
import type { RuleHits } from './rules.js';
import { checkInArena, sysMmap, sysMprotect, sysMunmap, Unsupported } from './syscalls.js';

export interface PredictOptions {
  snapshotEveryCall: boolean;
  /** the kernel's return value for call i (non-fixed mmap placement); used only if legal */
  kernelPlacement?: (callIndex: number) => Ret | undefined;
}

export interface Prediction extends SeqObservation {
  /** which modelled rules fired, per executed call */
  rules: RuleHits;
  /** set when the model cannot predict call `call` (and stopped there) */
  unsupported?: { call: number; reason: string };
}

/** The shmem device of "/dev/zero (deleted)" mappings (the internal shm mount), as on the host. */
export const SHMEM_DEV = '00:01';

/** /proc/self/maps lines of the arena (fs/proc/task_mmu.c:show_map_vma). Shared anonymous VMAs
 *  are shmem files: offset = pgoff, inode = the model's shmem file identity (1, 2, ...). */
export function renderMaps(mm: Mm): MapsEntry[] {
  const out: MapsEntry[] = [];
  const a = mm.vmas;
  for (let i = 1; i < a.length - 1; i++) {
    const v = a[i]!;
    const file = v.file > 0;
    out.push({
      start: v.start,
      end: v.end,
      perms: permsOf(v.flags),
      offset: file ? v.pgoff * 4096 : 0,
      dev: file ? SHMEM_DEV : '00:00',
      inode: file ? v.file : 0,
      name: file ? '/dev/zero (deleted)' : '',
    });
  }
  return out;
}

const OK: CallObs = { ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 };
const failed = (errno: number): CallObs => ({ ret: { kind: 'int', value: -1 }, errno, signal: 0 });

/** Apply one call to the model state. Throws Unsupported for inputs the model cannot predict. */
export function applyCall(mm: Mm, c: Call, kernel?: Ret): CallObs {
  switch (c.op) {
    case 'mmap': {
      if (c.fd !== undefined) throw new Unsupported('file mappings are not modelled yet');
      const legal = kernel ? (p: Placement, len: number, hint: number | null, thp: boolean) => legalPlacement(mm, kernel, p, len, hint, thp) : undefined;
      const r = sysMmap(mm, { addr: c.addr, len: c.len, prot: c.prot, flags: c.flags, offset: c.offset ?? 0n }, legal);
      if ('err' in r) return failed(r.err);
      if (r.placement.kind === 'outside') {
        return { ret: { kind: 'outside', hex: kernel?.kind === 'outside' ? kernel.hex : '' }, errno: 0, signal: 0 };
      }
      return { ret: { kind: 'addr', page: r.placement.page, off: 0 }, errno: 0, signal: 0 };
    }
    case 'munmap': {
      const e = sysMunmap(mm, c.addr, c.len);
      return e ? failed(e) : OK;
    }
    case 'mprotect': {
      const e = sysMprotect(mm, c.addr, c.len, c.prot);
      return e ? failed(e) : OK;
    }
    case 'touch':
      if (c.access === 'exec') throw new Unsupported('exec probes are not modelled yet');
      checkInArena(mm, c.addr.page, c.addr.page + 1);
      return { ret: { kind: 'int', value: 0 }, errno: 0, signal: touch(mm, c.addr.page, c.access === 'write') };
    default:
      throw new Unsupported(`${c.op} is not modelled yet`);
  }
}

/**
 * Is the kernel's placement of a non-fixed mmap one the rules allow? Checked independently of the
 * model's own search: outside only if the model also found no room; inside: page aligned, free,
 * 2 MiB-aligned when the THP rule applies, the hint if the hint was free, else ending at the
 * (aligned) top of its gap with no higher gap that fits. A legal answer replaces the model's own.
 */
export function legalPlacement(mm: Mm, kernel: Ret, own: Placement, len: number, hint: number | null, thp: boolean): Placement | null {
  if (kernel.kind === 'outside') return own.kind === 'outside' ? own : null;
  if (kernel.kind !== 'addr' || kernel.off !== 0) return null;
  const p = kernel.page;
  if (p < 0 || p + len > mm.arenaPages) return null;
  const guardEnd = (i: number) => {
    const v = mm.vmas[i]!;
    return v.flags & VM_GROWSDOWN ? v.start - mm.profile.stackGuardGapPages : v.start;
  };
  const i = mm.findIndex(p);
  if (mm.vmas[i]!.start < p + len || p + len > guardEnd(i)) return null;
  if (hint !== null) {
    const j = mm.findIndex(hint);
    if (mm.vmas[j]!.start >= hint + len && hint + len <= guardEnd(j)) return p === hint ? { kind: 'arena', page: p } : null;
  }
  const need = thp ? len + HPAGE_PAGES : len;
  const top = (k: number) => Math.min(guardEnd(k), mm.arenaPages);
  // no higher gap fits
  for (let k = i + 1; k < mm.vmas.length; k++) if (top(k) - mm.vmas[k - 1]!.end >= need) return null;
  if (top(i) - mm.vmas[i - 1]!.end < need) return null;
  const expect = thp ? Math.floor((top(i) - len) / HPAGE_PAGES) * HPAGE_PAGES : top(i) - len;
  return p === expect ? { kind: 'arena', page: p } : null;
}

/** Predict the observation of a sequence on a kernel described by `profile`. Pure and deterministic. */
export function predict(seq: Sequence, profile: Profile, opts: PredictOptions): Prediction {
  const mm = new Mm(seq.arenaPages, profile);
  const calls: CallObs[] = [];
  const rules: RuleHits = [];
  const snapshots: Snapshot[] = [{ after: -1, maps: [] }];
  const pred: Prediction = { calls, snapshots, status: 'ok', rules };
  const n = seq.calls.length;
  for (let i = 0; i < n; i++) {
    mm.hits = [];
    let obs: CallObs;
    try {
      obs = applyCall(mm, seq.calls[i]!, opts.kernelPlacement?.(i));
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      pred.unsupported = { call: i, reason: e.message };
      pred.detail = `model: call ${i} unsupported: ${e.message}`;
      if (i > 0 && !opts.snapshotEveryCall) snapshots.push({ after: i - 1, maps: renderMaps(mm) });
      break;
    }
    calls.push(obs);
    rules.push(mm.hits);
    if (opts.snapshotEveryCall || i === n - 1) snapshots.push({ after: i, maps: renderMaps(mm) });
  }
  return pred;
}
