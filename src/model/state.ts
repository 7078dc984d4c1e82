// The model's address-space state: a sorted array of small VMA objects for one arena, bracketed by
// the two fences the harness maps (docs/harness-protocol.md), plus the few process-wide facts that
// decide outcomes (map_count, anon_vma identities, PMD page-table occupancy).

import { VM_MAYREAD, VM_MAYSHARE, VM_MAYWRITE, VM_MAYEXEC, VM_SHARED } from './flags.js';
import type { Profile } from './profile.js';
import type { RuleId } from './rules.js';
import { Sys } from './sys.js';
import type { PageData } from './content.js';

/** PMD_SIZE in pages: 2 MiB / 4 KiB. The arena base is 2 MiB aligned, so arena-relative page
 *  numbers have the same alignment as absolute ones. */
export const HPAGE_PAGES = 512;

export interface Vma {
  /** arena-relative page numbers, [start, end) */
  start: number;
  end: number;
  flags: number;
  /** private anon: virtual page index at creation, arena-relative (mm/mmap.c:do_mmap "pgoff = addr >>
   *  PAGE_SHIFT"); shmem: page offset in the shmem file */
  pgoff: number;
  /** 0 = no file (private anonymous); >0 shmem file identity (shared anonymous); <0 a fence */
  file: number;
  /** 0 = none; otherwise anon_vma identity */
  anonVma: number;
  /** the anon_vma_chain is not singular (mm/vma.c:vma_is_fork_child): a fork child's inherited anon_vma */
  forkChild?: boolean;
  /** userfaultfd context identity (vm_userfaultfd_ctx.ctx), 0/absent = none (src/model/uffd.ts) */
  uffd?: number;
  /** file VMAs: 7.3's vm_anon_pgoff minus vm_pgoff (mm/vma.c:needs_adjacent_anon_pgoff). Splits and
   *  merges move both offsets together, so the difference is a per-VMA constant: addr - pgoff at
   *  mmap, kept by a faulted VMA's mremap, reset by an unfaulted one's. Absent = 0 (anonymous). */
  anonDelta?: number;
  /** anon_vma_name (PR_SET_VMA_ANON_NAME), compared by content; absent = none (src/model/anon-name.ts) */
  anonName?: string;
}

// Page-table entries of one arena page, for the pagemap layer (Snapshot.pagemap).
export const PTE_NONE = 0;
/** the shared zero page (read fault on private memory) */
export const PTE_ZERO = 1;
/** an anonymous page (private memory written, CoW copy of a file page) */
export const PTE_ANON = 2;
/** a page-cache page of the VMA's file (shmem) */
export const PTE_FILE = 3;
/** either none or present: the kernel chooses (THP allocation that may fall back to 4 KiB) */
export const PTE_MAYBE = 4;
/** a guard-region marker (PM_GUARD_REGION) */
export const PTE_GUARD = 5;
/** another non-present entry (swap, uffd-wp marker) */
export const PTE_MARKER = 6;
const PTE_CHARS = '-PPP?GS';
export function pteChar(v: number): string {
  return PTE_CHARS[v] ?? '?';
}
export function ptePresent(v: number): boolean {
  return v === PTE_ZERO || v === PTE_ANON || v === PTE_FILE;
}

export function vmaPages(v: Vma): number {
  return v.end - v.start;
}

/** Upper fence length: "from the arena's end up to the next mapping above" - effectively unbounded. */
const FENCE_TOP = Number.MAX_SAFE_INTEGER;

export class Mm {
  /** sorted, non-overlapping; vmas[0] is the lower fence, vmas[vmas.length-1] the upper fence */
  vmas: Vma[];
  /** per 2 MiB arena block: 0 = pmd_none, 1 = a page table or huge PMD is installed */
  pmd: Uint8Array;
  /** VMAs created outside the arena (non-fixed mmaps that found no room inside it) */
  outside = 0;
  /** rule ids fired by the current call */
  hits: RuleId[] = [];
  /** per arena page: PTE_* (what /proc/self/pagemap shows) */
  pte: Uint8Array;
  /** what the processes of one sequence share: files, userfaultfds, fork chain (src/model/sys.ts) */
  sys: Sys;
  /** 0 = the sequence's first process, n = the n-th fork child */
  proc = 0;
  /** the process that forked this one (it waits for it) */
  parent: Mm | null = null;
  /** a fork {until: exit} child that has run its exit call */
  exited = false;
  /** private page contents by arena page (src/model/content.ts); valid where pte is anonymous */
  priv = new Map<number, PageData>();

  constructor(
    readonly arenaPages: number,
    readonly profile: Profile,
    sys?: Sys,
  ) {
    this.sys = sys ?? new Sys();
    this.pte = new Uint8Array(arenaPages);
    const fenceFlags = VM_SHARED | VM_MAYSHARE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC;
    this.vmas = [
      { start: -1, end: 0, flags: fenceFlags, pgoff: 0, file: -1, anonVma: 0 },
      { start: arenaPages, end: FENCE_TOP, flags: fenceFlags, pgoff: 0, file: -2, anonVma: 0 },
    ];
    this.pmd = new Uint8Array(Math.ceil(arenaPages / HPAGE_PAGES));
  }

  hit(id: RuleId): void {
    if (!this.hits.includes(id)) this.hits.push(id);
  }

  /** mm->map_count: VMAs outside the arena (fences included) + arena VMAs */
  get mapCount(): number {
    return this.profile.baseMapCount + this.vmas.length - 2 + this.outside;
  }

  isFence(v: Vma): boolean {
    return v.file < 0;
  }

  /** Index of the first VMA with end > page (mm/mmap.c:find_vma); the upper fence bounds it. */
  findIndex(page: number): number {
    const a = this.vmas;
    let lo = 0;
    let hi = a.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (a[mid]!.end > page) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  indexOf(v: Vma): number {
    const i = this.findIndex(v.start);
    if (this.vmas[i] !== v) throw new Error('model bug: VMA not in tree');
    return i;
  }

  prevOf(v: Vma): Vma | null {
    const i = this.indexOf(v);
    return i > 0 ? this.vmas[i - 1]! : null;
  }

  nextOf(v: Vma): Vma | null {
    const i = this.indexOf(v);
    return i + 1 < this.vmas.length ? this.vmas[i + 1]! : null;
  }

  /** The VMA containing page, or null (mm/mmap.c:vma_lookup). */
  lookup(page: number): Vma | null {
    const v = this.vmas[this.findIndex(page)]!;
    return v.start <= page ? v : null;
  }

  /** First VMA intersecting [start, end) (mm/mmap.c:find_vma_intersection), or null. */
  intersect(start: number, end: number): Vma | null {
    const v = this.vmas[this.findIndex(start)]!;
    return v.start < end ? v : null;
  }

  insert(v: Vma): void {
    this.vmas.splice(this.findIndex(v.start), 0, v);
  }

  remove(v: Vma): void {
    this.vmas.splice(this.indexOf(v), 1);
  }

  newAnonVma(): number {
    return this.sys.newAnonVma();
  }

  /** Arena VMAs only (what /proc/self/maps shows inside the arena). */
  arenaVmas(): Vma[] {
    return this.vmas.slice(1, -1);
  }

  /** Pages of VM_LOCKED arena VMAs (mm->locked_vm as far as the model can see). */
  lockedPages(lockedBit: number): number {
    let n = 0;
    for (const v of this.vmas) if (!this.isFence(v) && v.flags & lockedBit) n += vmaPages(v);
    return n;
  }
}
