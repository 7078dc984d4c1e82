// predict(): run a sequence through the model and produce what a runner would observe.

import { probeCall, writeByte } from './content.js';
import { isRealFs } from './sys.js';
import type { CallObs, MapsEntry, Ret, SeqObservation, Snapshot } from '../seq/observation.js';
import type { Call, Sequence } from '../seq/schema.js';
import { permsOf, VM_GROWSDOWN } from './flags.js';
import { touch } from './fault.js';
import { HPAGE_PAGES, Mm } from './state.js';
import type { Placement } from './placement.js';
import type { Profile } from './profile.js';
import type { RuleHits } from './rules.js';
import { checkInArena, sysMmap, sysMprotect, sysMunmap, Unsupported } from './syscalls.js';
import { MAP } from '../seq/consts.js';
import { sysMmapFile } from './mmap-file.js';
import { sysFtruncate } from './ftruncate.js';
import { sysExit, sysFork } from './fork.js';
import { initSeals, sysAddSeals } from './seals.js';
import { sysUffdCreate, sysUffdRegister, sysUffdUnregister } from './uffd.js';
import { sysMremap } from './mremap.js';
import type { FileObj } from './sys.js';
import { TMPFS_DIR } from '../seq/maps.js';
import { sysMadvise } from './madvise.js';
import { sysMlock } from './mlock.js';
import { sysMseal } from './mseal.js';
import { sysAnonName } from './anon-name.js';
import { pagemapLayer, vmFlagsLayer } from './layers.js';
import { declareShm, declineOnHugeShm, sysShmat, sysShmdt } from './shm.js';

export interface PredictOptions {
  snapshotEveryCall: boolean;
  /** predict these layers in every snapshot too (smaps VmFlags per VMA, pagemap per page) */
  layers?: { vmflags?: boolean; pagemap?: boolean };
  /** the kernel's return value for call i (non-fixed mmap placement); used only if legal */
  kernelPlacement?: (callIndex: number) => Ret | undefined;
  /** tag snapshots with the process (the harness does in sequences with fork); default: the calls have a fork */
  forkTags?: boolean;
}

export interface Prediction extends SeqObservation {
  /** which modelled rules fired, per executed call */
  rules: RuleHits;
  /** set when the model cannot predict call `call` (and stopped there) */
  unsupported?: { call: number; reason: string };
}

/** The shmem device of "/dev/zero (deleted)" mappings (the internal shm mount), as on the host. */
export const SHMEM_DEV = '00:01';

/** The device of the harness's tmpfs directory is the host's; compare canonicalises (dev, inode). */
export const TMPFS_DEV = 'tmpfs';

/** d_path of the files' dentries, all unlinked (docs/harness-protocol.md "Files"); the tmpfs
 *  directory is the harness's choice, so compare canonicalises it to `<tmpfs>`. */
function filePath(f: FileObj): string {
  if (f.kind === 'anon') return '/dev/zero (deleted)';
  if (f.kind === 'memfd' || (f.kind === 'hugetlb' && f.index >= 0)) return `/memfd:f${f.index} (deleted)`;
  if (isRealFs(f)) return `<${f.kind}>/f${f.index} (deleted)`;
  // mm/hugetlb.c:hugetlb_file_setup(HUGETLB_ANON_FILE); ipc/shm.c:newseg "SYSV%08x" with IPC_PRIVATE's key 0
  if (f.kind === 'hugetlb') return '/anon_hugepage (deleted)';
  if (f.kind === 'sysv') return '/SYSV00000000 (deleted)';
  return `${TMPFS_DIR}/f${f.index} (deleted)`;
}

/** /proc/self/maps lines of the arena (fs/proc/task_mmu.c:show_map_vma). Shared anonymous VMAs
 *  are shmem files: offset = pgoff, inode = the model's shmem file identity (1, 2, ...). */
export function renderMaps(mm: Mm): MapsEntry[] {
  const out: MapsEntry[] = [];
  const a = mm.vmas;
  for (let i = 1; i < a.length - 1; i++) {
    const v = a[i]!;
    const file = v.file > 0;
    const f = file ? mm.sys.file(v.file) : null;
    out.push({
      start: v.start,
      end: v.end,
      perms: permsOf(v.flags),
      offset: file ? v.pgoff * 4096 : 0,
      dev: f?.kind === 'tmpfs' || (f && isRealFs(f)) ? TMPFS_DEV : file ? SHMEM_DEV : '00:00',
      inode: file ? f!.inode ?? v.file : 0,
      // fs/proc/task_mmu.c:get_vma_name - a PR_SET_VMA_ANON_NAME name beats the file path of anon shmem
      name: v.anonName !== undefined ? (file ? `[anon_shmem:${v.anonName}]` : `[anon:${v.anonName}]`) : f ? filePath(f) : '',
    });
  }
  return out;
}

const OK: CallObs = { ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 };
const failed = (errno: number): CallObs => ({ ret: { kind: 'int', value: -1 }, errno, signal: 0 });

/** Apply one call to the model state. Throws Unsupported for inputs the model cannot predict. */
export function applyCall(mm: Mm, c: Call, kernel?: Ret): CallObs {
  declineOnHugeShm(mm, c); // src/model/shm.ts
  switch (c.op) {
    case 'mmap': {
      const legal = kernel ? (p: Placement, len: number, hint: number | null, thp: boolean) => legalPlacement(mm, kernel, p, len, hint, thp) : undefined;
      // mm/mmap.c:ksys_mmap_pgoff: with MAP_ANONYMOUS the descriptor is ignored
      if (c.fd !== undefined && c.flags & MAP.MAP_ANONYMOUS) mm.hit('mmap.file.anon_ignores_fd');
      const r =
        c.fd !== undefined && !(c.flags & MAP.MAP_ANONYMOUS)
          ? sysMmapFile(mm, { addr: c.addr, len: c.len, prot: c.prot, flags: c.flags, offset: c.offset ?? 0n, fd: c.fd }, legal)
          : sysMmap(mm, { addr: c.addr, len: c.len, prot: c.prot, flags: c.flags, offset: c.offset ?? 0n }, legal);
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
    case 'touch': {
      checkInArena(mm, c.addr.page, c.addr.page + 1);
      const sig = touch(mm, c.addr.page, c.access === 'write', c.access === 'exec');
      // the byte written (src/model/content.ts), for later probes
      if (!sig && c.access === 'write') writeByte(mm, mm.lookup(c.addr.page)!, c.addr.page, c.addr.off);
      return { ret: { kind: 'int', value: 0 }, errno: 0, signal: sig };
    }
    case 'probe':
      return probeCall(mm, c.addr.page, c.addr.off);
    case 'madvise': {
      const e = sysMadvise(mm, c.addr, c.len, c.advice);
      return e ? failed(e) : OK;
    }
    case 'mlock':
    case 'munlock': {
      const e = sysMlock(mm, c.op, c.addr, c.len);
      return e ? failed(e) : OK;
    }
    case 'mlock2': {
      const e = sysMlock(mm, 'mlock2', c.addr, c.len, c.flags);
      return e ? failed(e) : OK;
    }
    case 'mseal': {
      const e = sysMseal(mm, c.addr, c.len, c.flags);
      return e ? failed(e) : OK;
    }
    case 'anon_name': {
      const e = sysAnonName(mm, c.addr, c.len, c.name);
      return e ? failed(e) : OK;
    }
    case 'ftruncate': {
      const e = sysFtruncate(mm, c.file, c.len);
      return e ? failed(e) : OK;
    }
    case 'fork':
      sysFork(mm);
      if (c.until === 'exit') mm.hit('fork.child_exits');
      return OK;
    case 'exit':
      sysExit(mm);
      return OK; // the child's wait status: exited with 0
    case 'add_seals': {
      const e = sysAddSeals(mm, c.file, c.seals);
      return e ? failed(e) : OK;
    }
    case 'uffd_create': {
      const h = sysUffdCreate(mm, c.features);
      return h < 0 ? failed(-h) : { ret: { kind: 'int', value: h }, errno: 0, signal: 0 };
    }
    case 'uffd_register': {
      const e = sysUffdRegister(mm, c.uffd, c.addr, c.len, c.mode);
      return e ? failed(e) : OK;
    }
    case 'uffd_unregister': {
      const e = sysUffdUnregister(mm, c.uffd, c.addr, c.len);
      return e ? failed(e) : OK;
    }
    case 'mremap': {
      const legal = kernel ? (p: Placement, len: number, hint: number | null, thp: boolean) => legalPlacement(mm, kernel, p, len, hint, thp) : undefined;
      const r = sysMremap(mm, c.addr, c.oldLen, c.newLen, c.flags, c.newAddr ?? null, legal);
      if ('err' in r) return failed(r.err);
      if (r.placement.kind === 'outside') {
        return { ret: { kind: 'outside', hex: kernel?.kind === 'outside' ? kernel.hex : '' }, errno: 0, signal: 0 };
      }
      return { ret: { kind: 'addr', page: r.placement.page, off: 0 }, errno: 0, signal: 0 };
    }
    case 'shmat': {
      const r = sysShmat(mm, c.shm, c.addr, c.flags);
      if ('err' in r) return failed(r.err);
      if (r.placement.kind === 'outside') return { ret: { kind: 'outside', hex: kernel?.kind === 'outside' ? kernel.hex : '' }, errno: 0, signal: 0 };
      return { ret: { kind: 'addr', page: r.placement.page, off: 0 }, errno: 0, signal: 0 };
    }
    case 'shmdt': {
      const e = sysShmdt(mm, c.addr);
      return e ? failed(e) : OK;
    }
    default:
      throw new Unsupported(`${(c as Call).op} is not modelled yet`);
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

/** A snapshot of the arena with the requested layers (src/model/layers.ts). `proc`: set in
 *  sequences with fork (the harness's `p=`). */
export function snapshotOf(mm: Mm, after: number, opts: PredictOptions, proc?: number): Snapshot {
  const snap: Snapshot = { after, maps: renderMaps(mm) };
  if (proc !== undefined) snap.proc = proc;
  if (opts.layers?.vmflags) {
    const f = vmFlagsLayer(mm);
    snap.maps.forEach((e, i) => (e.vmflags = f[i]!));
  }
  if (opts.layers?.pagemap) snap.pagemap = pagemapLayer(mm);
  return snap;
}

/**
 * The sequence's first process with what the harness creates before the first call: the declared
 * files (with their seals: src/model/seals.ts) and the SysV segments. Throws Unsupported when a
 * file cannot be created on that kernel. Every user of the model starts here (predict, the
 * concurrent oracle, test predictors).
 */
export function firstProcess(seq: Pick<Sequence, 'arenaPages' | 'files' | 'shm'>, profile: Profile): Mm {
  const first = new Mm(seq.arenaPages, profile);
  const sys = first.sys;
  sys.procs.push(first);
  sys.current = first;
  if (seq.files) {
    sys.declareFiles(seq.files);
    initSeals(sys, seq.files, profile);
  }
  if (seq.shm) declareShm(sys, seq.shm);
  return first;
}

/** Predict the observation of a sequence on a kernel described by `profile`. Pure and deterministic. */
export function predict(seq: Sequence, profile: Profile, opts: PredictOptions): Prediction {
  const pred0: Prediction = { calls: [], snapshots: [], status: 'ok', rules: [] };
  let first: Mm;
  try {
    first = firstProcess(seq, profile);
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    return { ...pred0, unsupported: { call: 0, reason: e.message }, detail: `model: files unsupported: ${e.message}` };
  }
  const sys = first.sys;
  const missing = seq.files?.find((f) => isRealFs({ kind: f.kind } as FileObj) && !profile.fsKinds.includes(f.kind));
  // the harness tags snapshots with the process only in sequences that fork
  const forks = opts.forkTags ?? seq.calls.some((c) => c.op === 'fork');
  const snap = (mm: Mm, after: number) => snapshotOf(mm, after, opts, forks ? mm.proc : undefined);
  const calls: CallObs[] = [];
  const rules: RuleHits = [];
  const snapshots: Snapshot[] = [snap(first, -1)];
  const pred: Prediction = { calls, snapshots, status: 'ok', rules };
  const n = seq.calls.length;
  // the harness cannot create the file: a fact of the target (hello `fs`), not a divergence
  if (missing && n) {
    pred.unsupported = { call: 0, reason: `the target has no ${missing.kind} directory (hello fact fs=${profile.fsKinds.join(',') || '-'})` };
    pred.detail = `model: call 0 unsupported: ${pred.unsupported.reason}`;
    return pred;
  }
  // blocks smaller than a page: a partly written EOF page stays !uptodate (fs/buffer.c:
  // block_commit_write) and fault-around skips it (mm/filemap.c:next_uptodate_folio); the page
  // cache model assumes one block per page (fact fs_small_block)
  const small = seq.files?.find((f) => profile.fsSmallBlock.includes(f.kind));
  if (small && n) {
    pred.unsupported = { call: 0, reason: `the target's ${small.kind} directory has blocks smaller than a page (hello fact fs_small_block)` };
    pred.detail = `model: call 0 unsupported: ${pred.unsupported.reason}`;
    return pred;
  }
  for (let i = 0; i < n; i++) {
    const mm = sys.current!;
    mm.hits = [];
    if (sys.events.length) sys.events = [];
    let obs: CallObs;
    // the child of a fork {until: exit} block shows its arena before it exits (the harness's exec_exit)
    if (seq.calls[i]!.op === 'exit' && mm.parent && !opts.snapshotEveryCall) snapshots.push(snap(mm, i - 1));
    try {
      obs = applyCall(mm, seq.calls[i]!, opts.kernelPlacement?.(i));
    } catch (e) {
      if (!(e instanceof Unsupported)) throw e;
      pred.unsupported = { call: i, reason: e.message };
      pred.detail = `model: call ${i} unsupported: ${e.message}`;
      if (i > 0 && !opts.snapshotEveryCall) snapshots.push(snap(mm, i - 1));
      break;
    }
    if (sys.events.length) obs = { ...obs, event: sys.events.join(',') };
    calls.push(obs);
    rules.push(mm.hits);
    if (opts.snapshotEveryCall || i === n - 1) snapshots.push(snap(sys.current!, i));
    // every waiting parent takes its final snapshot after its child ends, innermost first
    if (i === n - 1) for (let p = sys.current!.parent; p; p = p.parent) snapshots.push(snap(p, i));
  }
  return pred;
}
