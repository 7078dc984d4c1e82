// fork(2): the child's address space (7.3 mm/mmap.c:dup_mmap). The child continues the sequence
// (Sys.current); the parent waits and is observed once more at the end. Every inherited VMA with
// an anon_vma gets its own new anon_vma chained to the parent's (mm/rmap.c:anon_vma_fork), so the
// child's VMAs are fork children (vma_is_fork_child): they refuse merges with unfaulted neighbours
// and with each other, and their anon_vmas are never reused by a neighbour's fault. No merge is
// attempted in the child, so clearing VM_LOCKED or a userfaultfd registration can leave identical
// neighbours apart.

import { UFFD_FEATURE } from '../seq/consts.js';
import { VM_DONTCOPY, VM_HUGETLB, VM_LOCKED_MASK, VM_MAYBE_GUARD, VM_UFFD_FLAGS, VM_UFFD_WP, VM_WIPEONFORK } from './flags.js';
import { Mm, PTE_GUARD, PTE_MARKER, PTE_NONE, type Vma, HPAGE_PAGES } from './state.js';

/** kernel/fork.c:copy_process -> dup_mm -> dup_mmap. Returns the child (now Sys.current). */
export function sysFork(mm: Mm): Mm {
  const sys = mm.sys;
  const child = new Mm(mm.arenaPages, mm.profile, sys);
  child.priv = new Map(mm.priv); // CoW-shared private pages: the same contents (content.ts)
  child.proc = sys.procs.length;
  child.parent = mm;
  child.outside = mm.outside;
  const fences = [mm.vmas[0]!, mm.vmas[mm.vmas.length - 1]!];
  const vmas: Vma[] = [{ ...fences[0]! }];
  /** dup_userfaultfd: one new context per parent context with UFFD_FEATURE_EVENT_FORK */
  const forked = new Map<number, number>();
  for (const v of mm.arenaVmas()) {
    if (v.flags & VM_DONTCOPY) {
      mm.hit('fork.dontcopy');
      continue;
    }
    const c: Vma = { ...v };
    // hugetlb: copy_hugetlb_page_range under the same vma_needs_copy test as any VMA (below)
    if (v.flags & VM_HUGETLB) mm.hit('fork.hugetlb');
    if (v.uffd) {
      const octx = sys.uffds[v.uffd]!;
      if (!(octx.features & UFFD_FEATURE.UFFD_FEATURE_EVENT_FORK)) {
        // userfaultfd_reset_ctx: flags and context cleared, no merge
        c.uffd = 0;
        c.flags &= ~VM_UFFD_FLAGS;
        mm.hit('fork.uffd_reset');
      } else {
        let n = forked.get(octx.id);
        if (n === undefined) {
          n = sys.uffds.length;
          sys.uffds.push({ id: n, features: octx.features, mm: child });
          forked.set(octx.id, n);
        }
        c.uffd = n;
        mm.hit('fork.uffd_event');
      }
    }
    const wipe = (v.flags & VM_WIPEONFORK) !== 0;
    if (wipe) {
      // "VMA_WIPEONFORK_BIT gets a clean slate in the child": no anon_vma, no page tables
      c.anonVma = 0;
      c.forkChild = false;
      mm.hit('fork.wipeonfork');
    } else if (v.anonVma) {
      c.anonVma = sys.newAnonVma();
      c.forkChild = true;
      mm.hit('fork.anon_vma');
    }
    if (c.flags & VM_LOCKED_MASK) {
      c.flags &= ~VM_LOCKED_MASK;
      mm.hit('fork.unlock');
    }
    // mm/memory.c:copy_page_range -> vma_needs_copy(dst, src): VM_COPY_ON_FORK on the child VMA
    // (uffd-wp only if kept, VM_MAYBE_GUARD) or an anon_vma in the parent's
    if (!wipe && (v.anonVma || c.flags & (VM_UFFD_WP | VM_MAYBE_GUARD))) {
      let any = false;
      for (let p = v.start; p < v.end; p++) {
        let e = mm.pte[p]!;
        // copy_pte_marker: a uffd-wp marker survives only where the child keeps uffd-wp
        if (e === PTE_MARKER && !(c.flags & VM_UFFD_WP)) e = PTE_NONE;
        child.pte[p] = e;
        if (e !== PTE_NONE) any = true;
      }
      // copy_pmd_range allocates the child's tables wherever the parent has them
      for (let b = Math.floor(v.start / HPAGE_PAGES); b * HPAGE_PAGES < v.end; b++) if (mm.pmd[b]) child.pmd[b] = 1;
      if (any) mm.hit('fork.copy_ptes');
    } else if (!wipe) {
      let any = false;
      for (let p = v.start; p < v.end; p++) if (mm.pte[p] !== PTE_NONE && mm.pte[p] !== PTE_GUARD) any = true;
      if (any) mm.hit('fork.no_ptes');
    }
    vmas.push(c);
  }
  vmas.push({ ...fences[1]! });
  child.vmas = vmas;
  // dup_userfaultfd_complete: the parent's context reads one UFFD_EVENT_FORK per forked context
  for (let k = 0; k < forked.size; k++) sys.event('fork');
  sys.procs.push(child);
  sys.current = child;
  return child;
}

/**
 * The exit call of a fork {until: "exit"} block: the child _exits (kernel/exit.c:do_exit ->
 * exit_mm -> mmput -> exit_mmap) and the parent, which waited in wait4, runs the next call. The
 * parent's own address space is untouched: the private pages it shared with the child stay mapped
 * in it (CoW only ever copies into the writer), its anon_vmas lose a child (mm/rmap.c:
 * unlink_anon_vmas), and the child's VMAs stop pinning their files (i_mmap_writable, seen by
 * F_ADD_SEALS) and stop being zapped by ftruncate. The child's userfaultfd contexts (EVENT_FORK
 * copies) die with its mm without an event to the parent's.
 */
export function sysExit(mm: Mm): Mm {
  const parent = mm.parent;
  if (!parent) throw new Error('model bug: exit outside a fork block (the schema refuses it)');
  mm.exited = true;
  mm.hit('exit.mappings_gone');
  mm.sys.current = parent;
  return parent;
}
