// Page contents, for the `probe` call (read one byte) and the byte `touch w` writes (0x5a): the
// file's data (its page cache, FileObj.data, shared by every mapping and process) and each
// process's private copies (Mm.priv: anonymous pages and CoW copies of file pages). Which one an
// access sees follows the page-table entry: a present file page is the page cache
// (mm/filemap.c:filemap_fault, filemap_map_pages), the zero page reads 0, an anonymous page is the
// process's own copy - zero-filled (mm/memory.c:do_anonymous_page) or copied from the file page at
// CoW time (do_cow_fault, wp_page_copy -> __wp_page_copy_user).

import { VM_HUGETLB, VM_MAYSHARE } from './flags.js';
import { filePages, type FileObj } from './sys.js';
import { PTE_ANON, PTE_FILE, PTE_MAYBE, PTE_NONE, PTE_ZERO, type Mm, type Vma } from './state.js';
import { checkInArena, Unsupported } from './syscalls.js';
import { touch } from './fault.js';
import type { CallObs } from '../seq/observation.js';

/** `touch w` writes this byte (harness-c/ops.c:exec_touch). */
export const TOUCH_BYTE = 0x5a;
/** A byte the model cannot know (see where it is set). */
export const UNKNOWN = -1;

/** One page: bytes below `limit` are `base`, the rest 0; `over` holds single bytes written since. */
export interface PageData {
  readonly base: number;
  readonly limit: number;
  readonly over?: ReadonlyMap<number, number>;
}

export function byteAt(d: PageData | undefined, off: number): number {
  if (!d) return 0;
  const o = d.over?.get(off);
  if (o !== undefined) return o;
  return off < d.limit ? d.base : 0;
}

export function withByte(d: PageData | undefined, off: number, b: number): PageData {
  const over = new Map(d?.over ?? []);
  over.set(off, b);
  return { base: d?.base ?? 0, limit: d?.limit ?? 0, over };
}

/** harness-c/fill.h fill_byte: page k of declared file i. */
export function fillByte(file: number, page: number): number {
  return 0x80 | ((file * 16 + page) & 0x7f);
}

/** `fill pattern`: [0, size) written page by page; the written pages are in the page cache. */
export function fillFile(f: FileObj): void {
  const size = Number(f.size);
  for (let k = 0; k < filePages(f); k++) {
    f.data.set(k, { base: fillByte(f.index, k), limit: Math.min(4096, size - k * 4096) });
    f.cache.add(k);
  }
}

/**
 * The file's data after its size became `size` (truncate_pagecache / shmem_setattr, both via
 * truncate_inode_pages_range): whole pages beyond go, the tail of the new EOF page is zeroed
 * (truncate_inode_partial_folio -> folio_zero_range). Growing keeps everything (holes read 0).
 */
export function truncateData(f: FileObj, oldSize: bigint, size: bigint): void {
  if (size >= oldSize) return;
  const keep = filePages(f);
  for (const k of [...f.data.keys()]) if (k >= keep) f.data.delete(k);
  const tail = Number(size % 4096n);
  if (!tail) return;
  const k = keep - 1;
  const d = f.data.get(k);
  if (!d) return;
  const over = new Map([...(d.over ?? [])].filter(([o]) => o < tail));
  f.data.set(k, { base: d.base, limit: Math.min(d.limit, tail), ...(over.size ? { over } : {}) });
}

/** The file page index of arena page `page` in vma. */
const idxOf = (vma: Vma, page: number) => vma.pgoff + (page - vma.start);

/**
 * A write of TOUCH_BYTE at (page, off) after a successful write access: through a shared mapping
 * into the page cache, else into the process's private page. A byte past EOF inside the EOF page
 * is kept by shmem but zeroed by a disk filesystem's writeback at a time of its choosing
 * (fs/buffer.c:block_write_full_folio, iomap_writepage_handle_eof): the model does not know it.
 */
export function writeByte(mm: Mm, vma: Vma, page: number, off: number): void {
  if (vma.flags & VM_MAYSHARE && vma.file > 0) {
    const f = mm.sys.file(vma.file);
    const idx = idxOf(vma, page);
    const past = BigInt(idx) * 4096n + BigInt(off) >= f.size;
    f.data.set(idx, withByte(f.data.get(idx), off, past ? UNKNOWN : TOUCH_BYTE));
    return;
  }
  mm.priv.set(page, withByte(mm.priv.get(page), off, TOUCH_BYTE));
}

/** do_cow_fault / wp_page_copy: the new anonymous page starts as a copy of the file page. */
export function cowCopy(mm: Mm, vma: Vma, page: number): void {
  const d = vma.file > 0 ? mm.sys.file(vma.file).data.get(idxOf(vma, page)) : undefined;
  mm.priv.set(page, d ?? { base: 0, limit: 0 });
}

/**
 * The byte a read at (page, off) returns after it faulted without a signal; `before` is the
 * page-table entry before the access.
 */
export function readByte(mm: Mm, vma: Vma, page: number, off: number, before: number): number {
  const fileByte = () => {
    const f = mm.sys.file(vma.file);
    const b = byteAt(f.data.get(idxOf(vma, page)), off);
    if (b === UNKNOWN) throw new Unsupported('probe of a byte written past EOF inside the last page: writeback may have zeroed it');
    return b;
  };
  const privByte = () => {
    const b = byteAt(mm.priv.get(page), off);
    if (b === UNKNOWN) throw new Unsupported('probe of a lazily freed page (MADV_FREE): reclaim decides whether it was dropped');
    return b;
  };
  if (vma.file > 0 && vma.flags & VM_MAYSHARE) {
    mm.hit('probe.page_cache');
    return fileByte();
  }
  if (before === PTE_MAYBE && vma.file > 0) {
    // a CoW copy or a page-cache page that reclaim or readahead may have put there
    if (mm.priv.has(page)) throw new Unsupported('probe of a page of a private file mapping that reclaim may have taken: its CoW copy or the page cache');
    mm.hit('probe.page_cache');
    return fileByte();
  }
  const e = before === PTE_ANON || before === PTE_MAYBE ? PTE_ANON : mm.pte[page];
  if (e === PTE_ANON) {
    mm.hit('probe.private');
    return privByte();
  }
  if (e === PTE_ZERO) {
    mm.hit('probe.zero');
    return 0;
  }
  if (e === PTE_FILE) {
    mm.hit('probe.page_cache');
    return fileByte();
  }
  throw new Error(`model bug: probe found pte ${e} after a successful read fault`);
}

/** MADV_FREE: a lazily freed page may be dropped (then reads 0) or kept: unknown unless all zero. */
export function lazyFree(mm: Mm, page: number): void {
  const d = mm.priv.get(page);
  if (d) mm.priv.set(page, { base: UNKNOWN, limit: 4096 });
}

/** move_page_tables: private contents travel with their entries (the source's range [from, +n)). */
export function moveContent(mm: Mm, from: number, to: number, n: number): void {
  if (!mm.priv.size) return;
  const moved: [number, PageData][] = [];
  for (let k = 0; k < n; k++) {
    const d = mm.priv.get(from + k);
    if (d) moved.push([to + k, d]);
    mm.priv.delete(from + k);
  }
  for (let k = 0; k < n; k++) mm.priv.delete(to + k);
  for (const [p, d] of moved) mm.priv.set(p, d);
}

/** A page whose entry became none: its private content is gone (the next fault starts afresh). */
export function dropPriv(mm: Mm, start: number, end: number): void {
  if (!mm.priv.size) return;
  for (let p = start; p < end; p++) if (mm.pte[p] === PTE_NONE) mm.priv.delete(p);
}

/** The `probe` call: a read access (src/model/fault.ts:touch), then the byte it sees. */
export function probeCall(mm: Mm, page: number, off: number): CallObs {
  checkInArena(mm, page, page + 1);
  // hugetlb faults (mm/hugetlb.c:hugetlb_fault, hugetlb_wp) do not go through the page contents
  // kept here: what a write left in a huge page is not known to the model (found by a campaign)
  const v = mm.lookup(page);
  if (v && v.flags & VM_HUGETLB) throw new Unsupported('the contents of hugetlb pages are not modelled (a probe of a hugetlb VMA)');
  const before = mm.pte[page]!;
  const sig = touch(mm, page, false);
  if (sig) {
    mm.hit('probe.segv');
    return { ret: { kind: 'int', value: 0 }, errno: 0, signal: sig };
  }
  const value = readByte(mm, mm.lookup(page)!, page, off, before);
  return { ret: { kind: 'int', value }, errno: 0, signal: 0 };
}
