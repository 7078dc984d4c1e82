// userfaultfd: uffd_create (userfaultfd + UFFDIO_API), UFFDIO_REGISTER and UFFDIO_UNREGISTER
// (7.3 mm/userfaultfd.c), and the events other calls raise for a context: unmap
// (UFFD_FEATURE_EVENT_UNMAP), remap (EVENT_REMAP, src/model/mremap.ts), fork (EVENT_FORK,
// src/model/fork.ts). Fault events (missing, minor) are raised by the fault path
// (src/model/filefault.ts). A handle names the context of the process that created it, even in a
// fork child: registering through it changes that process's VMAs (ctx->mm).

import { realFile, realFsCanUserfault } from './realfs.js';
import { UFFD_FEATURE, UFFDIO_REGISTER_MODE } from '../seq/consts.js';
import type { Addr } from '../seq/values.js';
import { VM_DROPPABLE, VM_MAYWRITE, VM_UFFD_FLAGS, VM_UFFD_MINOR, VM_UFFD_MISSING, VM_UFFD_WP } from './flags.js';
import { vmaModifyFlags } from './merge.js';
import { isShm } from './vm-ops.js';
import type { Mm, Vma } from './state.js';
import type { UffdCtx } from './sys.js';
import { EBADF, EINVAL, EPERM, Unsupported } from './syscalls.js';

export const EBUSY = 16;

/** The context a handle names, or null when its uffd_create failed (descriptor -1). */
function ctxOfHandle(mm: Mm, handle: number): UffdCtx | null {
  const id = mm.sys.handles[handle] ?? 0;
  if (id && !handleVisible(mm, handle)) {
    mm.hit('errno.uffd.handle_of_child');
    return null;
  }
  return id ? mm.sys.uffds[id]! : null;
}

/** kernel/fork.c:copy_files: a process has the descriptors of the process that created them if that
 *  is itself or an ancestor (an ancestor never runs while its child lives, so everything it created
 *  predates the fork); a descriptor of an exited fork {until: exit} child is not in its parent's table. */
function handleVisible(mm: Mm, handle: number): boolean {
  const owner = mm.sys.handleOwner[handle];
  for (let p: Mm | null = mm; p; p = p.parent) if (p === owner) return true;
  return owner === undefined;
}

/** The context a VMA is registered with. */
export function uffdCtxOf(mm: Mm, v: Vma): UffdCtx | null {
  return v.uffd ? mm.sys.uffds[v.uffd]! : null;
}

/** uffd_create: userfaultfd(O_CLOEXEC|O_NONBLOCK) + UFFDIO_API. Returns the handle or -errno. */
export function sysUffdCreate(mm: Mm, features: number): number {
  const p = mm.profile;
  const sys = mm.sys;
  const handle = sys.handles.length;
  sys.handles.push(0);
  sys.handleOwner[handle] = mm;
  if (p.uffdFeatures === null) {
    mm.hit('errno.uffd.unavailable');
    return -p.uffdErrno;
  }
  // fs/userfaultfd.c:userfaultfd_api: EVENT_FORK needs capable(CAP_SYS_PTRACE)
  if (features & UFFD_FEATURE.UFFD_FEATURE_EVENT_FORK && !p.capSysPtrace) {
    mm.hit('errno.uffd.event_fork_perm');
    return -EPERM;
  }
  let f = features >>> 0;
  // "WP_ASYNC relies on WP_UNPOPULATED, choose it unconditionally"
  if (f & UFFD_FEATURE.UFFD_FEATURE_WP_ASYNC) f |= UFFD_FEATURE.UFFD_FEATURE_WP_UNPOPULATED;
  if ((f & ~p.uffdFeatures) >>> 0) {
    mm.hit('errno.uffd.features');
    return -EINVAL;
  }
  const id = sys.uffds.length;
  sys.uffds.push({ id, features: f, mm });
  sys.handles[handle] = id;
  mm.hit('uffd.create');
  return handle;
}

/** mm/userfaultfd.c:validate_range (arena addresses: start < TASK_SIZE always). */
function validateRange(addr: Addr, len: bigint): { start: number; end: number } | null {
  if (addr.off) return null;
  if (len & 0xfffn || len === 0n) return null;
  // len > task_size - start, start + len <= start: any length beyond the arena's reach
  if (len >= 1n << 47n) return null;
  const start = addr.page;
  return { start, end: start + Number(len >> 12n) };
}

/** vma_uffd_ops(vma)->can_userfault: anonymous (no MINOR) or shmem (every declared file and shared
 *  anonymous memory); VM_DROPPABLE never (mm/userfaultfd.c:vma_can_userfault). */
function vmaCanUserfault(mm: Mm, v: Vma, uffdFlags: number, features: number): boolean {
  if (v.flags & VM_DROPPABLE) return false;
  if (realFile(mm, v)) return realFsCanUserfault(mm, v, uffdFlags, features);
  // a SysV attach: shm_vm_ops has no uffd_ops (7.3 vma_uffd_ops; 6.12: not vma_is_shmem), so only
  // WP-only with UFFD_FEATURE_WP_ASYNC ("allow any memory type") would register: not modelled
  if (isShm(mm, v)) {
    if (uffdFlags === VM_UFFD_WP && features & UFFD_FEATURE.UFFD_FEATURE_WP_ASYNC) throw new Unsupported('asynchronous uffd-wp of a SysV attach is not modelled');
    mm.hit('errno.uffd.shm');
    return false;
  }
  if (v.file === 0 && uffdFlags & VM_UFFD_MINOR) return false;
  return true;
}

/** VMAs intersecting [start, end), in order. */
function vmasIn(mm: Mm, start: number, end: number): Vma[] {
  const out: Vma[] = [];
  for (let i = mm.findIndex(start); i < mm.vmas.length; i++) {
    const v = mm.vmas[i]!;
    if (v.start >= end) break;
    if (!mm.isFence(v)) out.push(v);
  }
  return out;
}

/** UFFDIO_REGISTER. Returns 0 or a positive errno. */
export function sysUffdRegister(cur: Mm, handle: number, addr: Addr, len: bigint, mode: number): number {
  return onCtxMm(cur, handle, (mm, ctx) => register(cur, mm, ctx, addr, len, mode));
}

/** Run op on the handle's context and its mm (ctx->mm), recording rule hits on the calling process. */
/**
 * The range is looked up in the context's mm, which after a fork without EVENT_FORK is the parent's
 * (fs/userfaultfd.c:userfaultfd_register/unregister use ctx->mm): a SysV attach or hugetlb VMA there
 * is declined like one of the caller's (src/model/shm.ts declineOnHugeShm sees only the caller's).
 */
function declineSpecial(mm: Mm, vmas: readonly Vma[]): void {
  for (const v of vmas) {
    const k = v.file > 0 ? mm.sys.file(v.file).kind : null;
    if (k === 'hugetlb') throw new Unsupported("userfaultfd on a hugetlb VMA of the context's mm is not modelled");
  }
}

function onCtxMm(cur: Mm, handle: number, op: (mm: Mm, ctx: UffdCtx) => number): number {
  const ctx = ctxOfHandle(cur, handle);
  if (!ctx) {
    cur.hit('errno.uffd.bad_handle');
    return EBADF;
  }
  const mm = ctx.mm;
  const saved = mm.hits;
  mm.hits = cur.hits;
  try {
    return op(mm, ctx);
  } finally {
    mm.hits = saved;
    if (mm === cur) cur.hits = saved;
  }
}

function register(cur: Mm, mm: Mm, ctx: UffdCtx, addr: Addr, len: bigint, mode: number): number {
  const fail = (e: number, id: Parameters<Mm['hit']>[0]) => {
    cur.hit(id);
    return e;
  };
  const M = UFFDIO_REGISTER_MODE;
  if (!mode || mode & ~(M.UFFDIO_REGISTER_MODE_MISSING | M.UFFDIO_REGISTER_MODE_WP | M.UFFDIO_REGISTER_MODE_MINOR)) {
    return fail(EINVAL, 'errno.uffd.mode');
  }
  let uffdFlags = 0;
  if (mode & M.UFFDIO_REGISTER_MODE_MISSING) uffdFlags |= VM_UFFD_MISSING;
  if (mode & M.UFFDIO_REGISTER_MODE_WP) uffdFlags |= VM_UFFD_WP;
  if (mode & M.UFFDIO_REGISTER_MODE_MINOR) uffdFlags |= VM_UFFD_MINOR;
  const r = validateRange(addr, len);
  if (!r) return fail(EINVAL, 'errno.uffd.range');
  const { start, end } = r;
  const vmas = vmasIn(mm, start, end);
  declineSpecial(mm, vmas);
  if (!vmas.length) return fail(EINVAL, 'errno.uffd.no_vma');
  // "Search for not compatible vmas" - every check precedes any change
  for (const v of vmas) {
    if (!vmaCanUserfault(cur, v, uffdFlags, ctx.features)) return fail(EINVAL, 'errno.uffd.cannot');
    if (!(v.flags & VM_MAYWRITE)) return fail(EPERM, 'errno.uffd.maywrite');
    if (v.uffd && v.uffd !== ctx.id) return fail(EBUSY, 'errno.uffd.busy');
    if (mm.profile.rows['uffd.register_drop_wp_ebusy'] && v.uffd === ctx.id && v.flags & VM_UFFD_WP & ~uffdFlags) {
      return fail(EBUSY, 'errno.uffd.drop_wp');
    }
  }
  // userfaultfd_register_range
  let prev: Vma = mm.prevOf(vmas[0]!)!;
  if (vmas[0]!.start < start) prev = vmas[0]!;
  let pos = start;
  let next: Vma | undefined = vmas[0];
  while (next && next.start < end) {
    let v = next;
    if (v.uffd === ctx.id && (v.flags & uffdFlags) === uffdFlags) {
      mm.hit('uffd.register.skip');
    } else {
      const s = Math.max(pos, v.start);
      const e = Math.min(end, v.end);
      const newFlags = (v.flags & ~VM_UFFD_FLAGS) | uffdFlags;
      const m = vmaModifyFlags(mm, prev, v, s, e, newFlags, ctx.id);
      if (typeof m === 'number') return -m;
      // userfaultfd_set_ctx: only the uffd bits and the context change
      m.flags = (m.flags & ~VM_UFFD_FLAGS) | uffdFlags;
      m.uffd = ctx.id;
      v = m;
      mm.hit('uffd.register');
    }
    prev = v;
    pos = v.end;
    next = vmasIn(mm, pos, end)[0];
  }
  return 0;
}

/** UFFDIO_UNREGISTER. Returns 0 or a positive errno. */
export function sysUffdUnregister(cur: Mm, handle: number, addr: Addr, len: bigint): number {
  return onCtxMm(cur, handle, (mm, ctx) => unregister(cur, mm, ctx, addr, len));
}

function unregister(cur: Mm, mm: Mm, ctx: UffdCtx, addr: Addr, len: bigint): number {
  const r = validateRange(addr, len);
  if (!r) {
    cur.hit('errno.uffd.range');
    return EINVAL;
  }
  const { start, end } = r;
  const vmas = vmasIn(mm, start, end);
  declineSpecial(mm, vmas);
  if (!vmas.length) {
    cur.hit('errno.uffd.no_vma');
    return EINVAL;
  }
  for (const v of vmas) {
    // 6.17+ ("Prevent unregistering through a different userfaultfd"); before, any context of the
    // mm clears the registration (profile row uffd.unregister_same_ctx)
    if (v.uffd && v.uffd !== ctx.id) {
      if (mm.profile.rows['uffd.unregister_same_ctx']) {
        cur.hit('errno.uffd.unregister_other');
        return EINVAL;
      }
      cur.hit('uffd.unregister.other_ctx');
    }
    if (!vmaCanUserfault(cur, v, v.flags & VM_UFFD_FLAGS, ctx.features)) {
      cur.hit('errno.uffd.cannot');
      return EINVAL;
    }
  }
  let prev: Vma = mm.prevOf(vmas[0]!)!;
  if (vmas[0]!.start < start) prev = vmas[0]!;
  let pos = start;
  let next: Vma | undefined = vmas[0];
  while (next && next.start < end) {
    let v = next;
    if (v.uffd) {
      // userfaultfd_clear_vma -> vma_modify_flags_uffd(NULL_VM_UFFD_CTX)
      const s = Math.max(pos, v.start);
      const e = Math.min(end, v.end);
      const m = vmaModifyFlags(mm, prev, v, s, e, v.flags & ~VM_UFFD_FLAGS, 0);
      if (typeof m === 'number') return -m;
      m.flags &= ~VM_UFFD_FLAGS;
      m.uffd = 0;
      v = m;
      mm.hit('uffd.unregister');
    }
    prev = v;
    pos = v.end;
    next = vmasIn(mm, pos, end)[0];
  }
  return 0;
}

/**
 * mm/userfaultfd.c:userfaultfd_unmap_prep for an unmap of [start, end) (munmap, MAP_FIXED, mremap):
 * one unmap event per context with UFFD_FEATURE_EVENT_UNMAP among the VMAs in the range (sent by
 * userfaultfd_unmap_complete after the call). Call with the VMAs still in place.
 */
export function unmapEvents(mm: Mm, start: number, end: number): void {
  const seen = new Set<number>();
  for (const v of vmasIn(mm, start, end)) {
    const ctx = uffdCtxOf(mm, v);
    if (!ctx || !(ctx.features & UFFD_FEATURE.UFFD_FEATURE_EVENT_UNMAP) || seen.has(ctx.id)) continue;
    seen.add(ctx.id);
    mm.sys.event('unmap');
    mm.hit('uffd.event.unmap');
  }
}

/**
 * mm/userfaultfd.c:userfaultfd_remove - MADV_DONTNEED(_LOCKED), MADV_FREE and MADV_REMOVE of a VMA
 * registered with a context that has UFFD_FEATURE_EVENT_REMOVE read a remove event (one per VMA,
 * before the pages go; madvise_dontneed_free, madvise_remove). For src/model/madvise.ts.
 */
export function removeEvent(mm: Mm, v: Vma): void {
  const ctx = uffdCtxOf(mm, v);
  if (!ctx || !(ctx.features & UFFD_FEATURE.UFFD_FEATURE_EVENT_REMOVE)) return;
  mm.sys.event('remove');
  mm.hit('uffd.event.remove');
}
