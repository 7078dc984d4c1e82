// Call builders for file mappings, ftruncate, fork, mremap and userfaultfd (see helpers.ts for the
// diagram conventions). Lengths and offsets are in pages unless a bigint (bytes) is given.

import { MAP, MREMAP, UFFD_FEATURE, UFFDIO_REGISTER_MODE } from '../../src/seq/consts.js';
import type { Call, FileDecl } from '../../src/seq/schema.js';
import { pagemapLayer } from '../../src/model/index.js';
import { mmap, PAGE, type World } from './helpers.js';

const len = (l: number | bigint): bigint => (typeof l === 'bigint' ? l : BigInt(l) * PAGE);

export const memfd = (size: number | bigint, readOnly = false): FileDecl => ({ kind: 'memfd', size: len(size), ...(readOnly ? { readOnly } : {}) });
export const tmpfs = (size: number | bigint, readOnly = false): FileDecl => ({ kind: 'tmpfs', size: len(size), ...(readOnly ? { readOnly } : {}) });

/** Declare the files of the sequence (the harness creates them before the first call). */
export function withFiles<W extends World>(w: W, ...decls: FileDecl[]): W {
  w.mm.sys.declareFiles(decls);
  return w;
}

/** mmap of declared file `fd` at file page `pgoff`: words as for mmap(); MAP_PRIVATE unless 'shared'. */
export function fmmap(page: number | null, pages: number, prot: string, fd: number, pgoff: number, ...words: string[]): Call {
  const c = mmap(page, pages, prot, 'noanon', `offset=${(pgoff * 4096).toString(16)}`, ...words);
  return { ...c, fd } as Call;
}

export function ftruncate(file: number, size: number | bigint): Call {
  return { op: 'ftruncate', file, len: len(size) };
}

export const fork = (): Call => ({ op: 'fork' });

const FEATURES: Record<string, number> = {
  fork: UFFD_FEATURE.UFFD_FEATURE_EVENT_FORK,
  remap: UFFD_FEATURE.UFFD_FEATURE_EVENT_REMAP,
  remove: UFFD_FEATURE.UFFD_FEATURE_EVENT_REMOVE,
  unmap: UFFD_FEATURE.UFFD_FEATURE_EVENT_UNMAP,
  sigbus: UFFD_FEATURE.UFFD_FEATURE_SIGBUS,
};

/** uffd_create with event features by name: 'fork', 'remap', 'remove', 'unmap', 'sigbus'. */
export function uffdCreate(...features: string[]): Call {
  return { op: 'uffd_create', features: features.reduce((f, w) => f | (FEATURES[w] ?? Number(w)), 0) >>> 0 };
}

/** mode letters: m = MISSING, w = WP, i = MINOR */
export function uffdRegister(uffd: number, page: number, pages: number | bigint, mode: string): Call {
  let m = 0;
  for (const ch of mode) m |= ch === 'm' ? UFFDIO_REGISTER_MODE.UFFDIO_REGISTER_MODE_MISSING : ch === 'w' ? UFFDIO_REGISTER_MODE.UFFDIO_REGISTER_MODE_WP : ch === 'i' ? UFFDIO_REGISTER_MODE.UFFDIO_REGISTER_MODE_MINOR : 0;
  return { op: 'uffd_register', uffd, addr: { page, off: 0 }, len: len(pages), mode: m };
}

export function uffdUnregister(uffd: number, page: number, pages: number | bigint): Call {
  return { op: 'uffd_unregister', uffd, addr: { page, off: 0 }, len: len(pages) };
}

/** mremap(page, old, new, flags 'maymove'|'fixed'|'dontunmap', newPage) */
export function mremap(page: number, oldPages: number | bigint, newPages: number | bigint, flags: string[] = [], newPage?: number): Call {
  let f = 0;
  for (const w of flags) f |= w === 'maymove' ? MREMAP.MREMAP_MAYMOVE : w === 'fixed' ? MREMAP.MREMAP_FIXED : w === 'dontunmap' ? MREMAP.MREMAP_DONTUNMAP : Number(w);
  const c: Call = { op: 'mremap', addr: { page, off: 0 }, oldLen: len(oldPages), newLen: len(newPages), flags: f };
  if (newPage !== undefined) c.newAddr = { page: newPage, off: 0 };
  return c;
}

/** The current process's pagemap layer, trailing '-' trimmed. */
export function pm(w: World): string {
  return pagemapLayer(w.cur).replace(/-+$/, '');
}

export const SHARED = MAP.MAP_SHARED;

/** A memfd created with memfd_create flags by name: 'seal' MFD_ALLOW_SEALING, 'noexec' MFD_NOEXEC_SEAL, 'exec' MFD_EXEC. */
export function sealable(size: number | bigint, ...words: string[]): FileDecl {
  const F: Record<string, number> = { seal: 0x2, noexec: 0x8, exec: 0x10 };
  return { kind: 'memfd', size: len(size), flags: words.reduce((f, w) => f | (F[w] ?? Number(w)), 0) };
}

/** fcntl(F_ADD_SEALS) with seals by name: seal, shrink, grow, write, future, exec. */
export function addSeals(file: number, ...words: string[]): Call {
  const S: Record<string, number> = { seal: 0x1, shrink: 0x2, grow: 0x4, write: 0x8, future: 0x10, exec: 0x20 };
  return { op: 'add_seals', file, seals: words.reduce((f, w) => f | (S[w] ?? Number(w)), 0) >>> 0 };
}

export const forkBlock = (): Call => ({ op: 'fork', until: 'exit' });
export const exit = (): Call => ({ op: 'exit' });
