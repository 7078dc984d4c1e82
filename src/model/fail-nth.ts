// The model of an injected allocation failure (a call with `failNth`, src/seq/fail-nth.ts). Whether
// the k-th allocation of a call exists and whether the kernel surfaces its failure or absorbs it
// (retry, fallback, __GFP_NOFAIL) is the kernel's choice, like a non-fixed mmap's placement: the
// harness reports it (`injected`). The model then checks that choice was legal:
//   - not fired, or fired and the call succeeded: the call's ordinary semantics apply;
//   - fired and the call failed: the errno is one the call's manual page documents for a lack of
//     memory (ENOMEM; EAGAIN where documented), and the mm is exactly as before the call (maps,
//     VmFlags, pagemap); for fork, the parent is unchanged and no child exists. The model
//     predicts exactly that: the call as a no-op with that errno, and compares as usual.
// Calls whose failure part-way is documented to leave part of the work done are not predicted
// (Prediction.unsupported, no verdict): a call walking several VMAs (mprotect_fixup per VMA in
// mm/mprotect.c:do_mprotect_pkey, madvise_walk_vmas, apply_vma_lock_flags, mseal_apply, ...)
// keeps the VMAs it already changed; a range split at both ends may keep the first split
// (mm/vma.c:vma_modify, vms_gather_munmap_vmas); a MAP_FIXED mmap over existing VMAs may leave a hole
// (mm/vma.c:vms_abort_munmap_vmas, "we have already cleared PTEs"); an MREMAP_FIXED destination
// is unmapped before the move (mm/mremap.c:mremap_to).

import type { CallObs, SeqObservation } from '../seq/observation.js';
import type { Call, Sequence } from '../seq/schema.js';
import { ERRNO, MAP, MREMAP, PAGE_SIZE } from '../seq/consts.js';
import type { Prediction, PredictOptions } from './predict.js';
import type { Profile } from './profile.js';
import { absorbedStop, failedAfterWork } from './fail-nth-absorbed.js';

const { ENOMEM, EAGAIN } = ERRNO as { ENOMEM: number; EAGAIN: number };

/** The errnos an allocation failure may surface as, per call (the first is the one predicted otherwise). */
export const INJECTED_ERRNOS: Readonly<Record<Call['op'], readonly number[]>> = {
  mmap: [ENOMEM],
  munmap: [ENOMEM],
  mprotect: [ENOMEM],
  madvise: [ENOMEM, EAGAIN], // madvise(2): EAGAIN "a kernel resource was temporarily unavailable"
  mremap: [ENOMEM],
  mlock: [ENOMEM, EAGAIN], // mlock(2): EAGAIN "some or all of the range could not be locked"
  mlock2: [ENOMEM, EAGAIN],
  munlock: [ENOMEM, EAGAIN],
  mseal: [ENOMEM],
  // mm/madvise.c: anon_vma_name_alloc's failure is -ENOMEM; a failed split or merge under
  // madvise_vma_behavior (__MADV_SET_ANON_VMA_NAME) becomes -EAGAIN ("kernel resources, such as
  // slab, are temporarily unavailable")
  anon_name: [ENOMEM, EAGAIN],
  ftruncate: [ENOMEM],
  uffd_create: [ENOMEM],
  uffd_register: [ENOMEM],
  uffd_unregister: [ENOMEM],
  fork: [ENOMEM, EAGAIN], // fork(2): EAGAIN "failed to allocate the necessary kernel structures"
  touch: [],
  // no system call of their own: failNth is refused on them (src/seq/schema.ts)
  exit: [],
  probe: [],
  add_seals: [ENOMEM],
  shmat: [ENOMEM], // shmat(2): ENOMEM "could not allocate memory for the descriptor or for the page tables"
  shmdt: [ENOMEM], // its munmap of a split attach
};

/** Calls that undo or never start their work when an allocation fails. */
const ALL_OR_NOTHING = new Set<Call['op']>(['munmap', 'mremap', 'fork', 'uffd_create', 'mmap']);

/** The arena pages [start, end) a call acts on, or null when it names no range. */
function rangeOf(c: Call): [number, number] | null {
  const r = (a: { page: number; off: number } | null, len: bigint): [number, number] | null => {
    if (!a || len === 0n || len >= 1n << 40n) return null;
    const s = a.page * PAGE_SIZE + a.off;
    return [Math.floor(s / PAGE_SIZE), Math.ceil((s + Number(len)) / PAGE_SIZE)];
  };
  switch (c.op) {
    case 'fork':
    case 'uffd_create':
    case 'ftruncate':
    case 'touch':
    case 'probe':
    case 'exit':
    case 'add_seals':
    case 'shmat': // the segment's size is not in the call
    case 'shmdt':
      return null;
    case 'mremap':
      return r(c.addr, c.oldLen);
    default:
      return r(c.addr, c.len);
  }
}

/** Why the model cannot predict an injected failure of `c` given the arena before it, or null. */
export function partialFailure(c: Call, before: { maps: readonly { start: number; end: number }[] }): string | null {
  const vmasIn = (range: [number, number] | null) => (range ? before.maps.filter((m) => m.start < range[1] && m.end > range[0]).length : 0);
  if (c.op === 'mmap') {
    if (!(c.flags & (MAP.MAP_FIXED | MAP.MAP_FIXED_NOREPLACE))) return null;
    const n = vmasIn(rangeOf(c));
    return n ? `an injected failure of a MAP_FIXED mmap over ${n} existing VMA(s) may leave a hole (mm/vma.c:vms_abort_munmap_vmas)` : null;
  }
  if (c.op === 'mremap' && c.flags & MREMAP.MREMAP_FIXED && c.newAddr) {
    const n = vmasIn(rangeOf({ ...c, op: 'munmap', addr: c.newAddr, len: c.newLen } as Call));
    return n ? `an injected failure of an MREMAP_FIXED mremap unmaps the ${n} VMA(s) at its destination first (mm/mremap.c:mremap_to)` : null;
  }
  // an mremap that shrinks unmaps its tail (mm/mremap.c: do_vmi_munmap of old + new_len .. old + old_len)
  const range = c.op === 'mremap' && c.newLen < c.oldLen && !(c.flags & MREMAP.MREMAP_FIXED) ? rangeOf({ ...c, op: 'munmap', addr: { page: c.addr.page, off: c.addr.off + Number(c.newLen) }, len: c.oldLen - c.newLen } as Call) : rangeOf(c);
  // mm/vma.c:vma_modify splits at the start, then at the end; vms_gather_munmap_vmas the same:
  // when the second split fails, the first is not undone (the VMA stays cut in two, equal halves)
  if (range && before.maps.some((m) => m.start < range[0] && m.end > range[0]) && before.maps.some((m) => m.start < range[1] && m.end > range[1])) {
    return `an injected failure of ${c.op} splitting VMAs at both ends may keep the split at the start (mm/vma.c:vma_modify, vms_gather_munmap_vmas)`;
  }
  if (ALL_OR_NOTHING.has(c.op)) return null;
  if (!range) return `an injected failure of ${c.op} is not modelled`;
  const n = vmasIn(range);
  return n > 1 ? `an injected failure part-way through ${c.op} over ${n} VMAs keeps the VMAs already changed` : null;
}

type PredictFn = (seq: Sequence, profile: Profile, opts: PredictOptions) => Prediction;

/** A call the model runs as a no-op: munmap of length 0 is EINVAL before any VMA is looked at. */
const NOOP: Call = { op: 'munmap', addr: { page: 0, off: 0 }, len: 0n } as Call;
/** A failed uffd_create still takes its handle (the harness numbers every uffd_create call,
 *  harness-c/ops.c): one the model refuses (unknown feature bits: EINVAL, or EVENT_FORK without
 *  CAP_SYS_PTRACE: EPERM) creates no context but numbers the next create as the kernel run does. */
const NOOP_UFFD_CREATE: Call = { op: 'uffd_create', features: 0xffffffff } as Call;

/**
 * Predict a sequence whose calls may carry failNth, given what the kernel reported of each
 * injection (`kernel.calls[i].injected`). Sequences without a surfaced injected failure are
 * predicted as usual.
 */
export function predictWithInjection(predict: PredictFn, seq: Sequence, profile: Profile, opts: PredictOptions, kernel: SeqObservation): Prediction {
  const p = predictSurfaced(predict, seq, profile, opts, kernel);
  // an absorbed failure that may have cut work short (src/model/fail-nth-absorbed.ts)
  const stop = absorbedStop(seq, p.rules, kernel);
  return stop ? truncated(p, stop) : p;
}

function predictSurfaced(predict: PredictFn, seq: Sequence, profile: Profile, opts: PredictOptions, kernel: SeqObservation): Prediction {
  const surfaced = seq.calls.flatMap((c, i) => (c.failNth !== undefined && kernel.calls[i]?.injected === 'fired' && kernel.calls[i]!.errno !== 0 ? [i] : []));
  // mm/mremap.c:move_vma: when unmapping the old range fails after the move ("OOM: unable to split
  // vma, just get accounts right") mremap still succeeds, with the old range left mapped
  const absorbedMove = seq.calls.findIndex((c, i) => c.op === 'mremap' && c.failNth !== undefined && kernel.calls[i]?.injected === 'fired' && kernel.calls[i]!.errno === 0);
  if (absorbedMove >= 0 && (!surfaced.length || absorbedMove < surfaced[0]!)) {
    return truncated(predict(seq, profile, opts), { call: absorbedMove, reason: 'an injected failure absorbed by mremap may leave the old range mapped (mm/mremap.c:move_vma, "OOM: unable to split vma")' });
  }
  if (!surfaced.length) return predict(seq, profile, opts);
  const eff = [...seq.calls];
  const patched = new Map<number, CallObs>();
  let stop: { call: number; reason: string } | null = null;
  // with VmFlags and pagemap: whether a call changed the mm (mlock's VM_LOCKED) shows in them too
  const prefix = (n: number) => predict({ ...seq, calls: eff.slice(0, n) }, profile, { snapshotEveryCall: false, layers: { vmflags: true, pagemap: true }, ...(opts.kernelPlacement ? { kernelPlacement: opts.kernelPlacement } : {}), forkTags: true });
  for (const i of surfaced) {
    const c = seq.calls[i]!;
    const kerr = kernel.calls[i]!.errno;
    // failed for the model's own reason (bad arguments checked before or after the allocation)
    const plain = prefix(i + 1);
    if (plain.unsupported) break; // the final prediction stops there too
    // the arena of the process that makes call i: after call i - 1, the innermost (highest) process
    // (a waiting parent's final snapshot comes after its child's in a prediction)
    const innermost = (snaps: Prediction['snapshots']) => snaps.reduce<(typeof snaps)[number] | undefined>((b, s) => (!b || (s.proc ?? 0) > (b.proc ?? 0) ? s : b), undefined);
    const before = innermost(prefix(i).snapshots.filter((s) => s.after === i - 1)) ?? { maps: [] };
    if (plain.calls[i]!.errno !== 0 && plain.calls[i]!.errno === kerr) {
      // the model's own failure, before any work: the kernel's may be either
      const own = innermost(plain.snapshots.filter((s) => s.after === i));
      if (!own || JSON.stringify([own.maps, own.pagemap]) === JSON.stringify([before.maps, 'pagemap' in before ? before.pagemap : undefined])) continue;
      // ...after some (anon_name names the mapped parts, then ENOMEM for the hole): the injected
      // failure may have come first (found by a campaign: prctl_set_vma's anon_vma_name_alloc)
      stop = { call: i, reason: `${c.op} fails for its own reason (errno ${kerr}) after changing VMAs; the injected failure may have come before any change` };
      break;
    }
    const after = failedAfterWork(c.op, plain.rules[i]);
    if (after) {
      stop = { call: i, reason: after };
      break;
    }
    const why = partialFailure(c, before);
    if (why) {
      stop = { call: i, reason: why };
      break;
    }
    if (c.op === 'fork' && c.until === 'exit') {
      // the block's calls then run in the parent, whose `exit` the harness refuses (EINVAL): the
      // model keeps no process for a block whose fork failed
      stop = { call: i, reason: 'a fork block whose fork failed runs its calls in the parent' };
      break;
    }
    const allowed = INJECTED_ERRNOS[c.op];
    eff[i] = c.op === 'uffd_create' ? NOOP_UFFD_CREATE : NOOP;
    patched.set(i, { ret: { kind: 'int', value: -1 }, errno: allowed.includes(kerr) ? kerr : allowed[0]!, signal: 0 });
  }
  const p = predict({ ...seq, calls: eff }, profile, { ...opts, forkTags: seq.calls.some((c) => c.op === 'fork') });
  for (const [i, obs] of patched) {
    if (i < p.calls.length) {
      p.calls[i] = obs;
      p.rules[i] = [];
    }
  }
  return stop ? truncated(p, stop) : p;
}

/** The prediction up to call `stop.call`, which the model does not predict. */
function truncated(p: Prediction, stop: { call: number; reason: string }): Prediction {
  if (p.unsupported && p.unsupported.call <= stop.call) return p;
  p.calls.splice(stop.call);
  p.rules.splice(stop.call);
  p.snapshots = p.snapshots.filter((s) => s.after < stop.call);
  p.unsupported = stop;
  p.detail = `model: call ${stop.call} unsupported: ${stop.reason}`;
  return p;
}

/**
 * The "no child exists" half of the fork oracle: after a fork whose injected failure surfaced,
 * the kernel run must hold no snapshot of a process the model does not have (compare.ts matches
 * snapshots by call and process and would skip it).
 */
export function strayChild(seq: Sequence, model: Prediction, kernel: SeqObservation): { call: number; layer: 'result'; kind: string; detail: string } | null {
  const failed = seq.calls.findIndex((c, i) => c.op === 'fork' && c.failNth !== undefined && kernel.calls[i]?.injected === 'fired' && kernel.calls[i]!.errno !== 0);
  if (failed < 0) return null;
  const procs = new Set(model.snapshots.map((s) => s.proc ?? 0));
  // up to the next fork: a later fork makes a child of its own, which a model that stopped
  // predicting (a failed fork block) does not have (found by a campaign: a plain fork after it)
  const next = seq.calls.findIndex((c, i) => i > failed && c.op === 'fork');
  const until = next < 0 ? Infinity : next;
  const stray = kernel.snapshots.find((s) => s.after >= failed && s.after < until && !procs.has(s.proc ?? 0));
  return stray ? { call: failed, layer: 'result', kind: 'fork-failed-child-ran', detail: `fork failed (injected, errno ${kernel.calls[failed]!.errno}) but process ${stray.proc} took a snapshot after call ${stray.after}` } : null;
}
