// Call builders for madvise, mlock/mlock2/munlock, mseal, anon_name and exec probes (see helpers.ts
// for the diagram conventions). `pm(w)` is the model's pagemap layer, one character per page.

import { MADV } from '../../src/seq/consts.js';
import type { Call } from '../../src/seq/schema.js';
import { pagemapLayer, vmFlagsLayer } from '../../src/model/index.js';
import { PAGE, type World } from './helpers.js';

const len = (l: number | bigint): bigint => (typeof l === 'bigint' ? l : BigInt(l) * PAGE);

export type Advice = keyof typeof MADV;

export function madvise(page: number, pages: number | bigint, advice: Advice | number, off = 0): Call {
  return { op: 'madvise', addr: { page, off }, len: len(pages), advice: typeof advice === 'number' ? advice : MADV[advice] };
}

export function mlock(page: number, pages: number | bigint, off = 0): Call {
  return { op: 'mlock', addr: { page, off }, len: len(pages) };
}

export function mlock2(page: number, pages: number | bigint, flags: number): Call {
  return { op: 'mlock2', addr: { page, off: 0 }, len: len(pages), flags };
}

export function munlock(page: number, pages: number | bigint): Call {
  return { op: 'munlock', addr: { page, off: 0 }, len: len(pages) };
}

export function mseal(page: number, pages: number | bigint, flags = 0, off = 0): Call {
  return { op: 'mseal', addr: { page, off }, len: len(pages), flags };
}

export function anonName(page: number, pages: number | bigint, name: string | null, off = 0): Call {
  return { op: 'anon_name', addr: { page, off }, len: len(pages), name };
}

export function exec(page: number): Call {
  return { op: 'touch', addr: { page, off: 0 }, access: 'exec' };
}

/** The pagemap layer of the arena ('-', 'P', 'G', 'S', '?'). */
export function pm(w: World): string {
  return pagemapLayer(w.mm);
}

/** The VmFlags layer, one string per arena VMA. */
export function vmflags(w: World): string[] {
  return vmFlagsLayer(w.mm);
}
