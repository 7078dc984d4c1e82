// Test helpers in the style of the kernel's tools/testing/vma: build an arena with calls, then
// compare the VMA layout against an ASCII diagram, one character per page:
//
//        0123456789
//        PPPPPPPP..NN      same letter = same VMA, a change of letter = a VMA boundary,
//                          '.' or ' ' = nothing mapped (trailing pages default to '.')
//
// Letters only name VMAs inside one diagram; attributes per letter are checked with a small spec:
// "rw-p ac !nr" = perms rw-p, VmFlags contain "ac" and not "nr".

import { expect } from 'vitest';
import { MAP, PROT } from '../../src/seq/consts.js';
import type { CallObs } from '../../src/seq/observation.js';
import type { Call } from '../../src/seq/schema.js';
import { applyCall, hostProfile, Mm, permsOf, vmFlagsToString, type Profile, type RuleId, type Vma } from '../../src/model/index.js';

export const PAGE = 4096n;

export function protOf(s: string): number {
  if (s === 'none' || s === '-') return PROT.PROT_NONE;
  let p = 0;
  for (const ch of s) {
    if (ch === 'r') p |= PROT.PROT_READ;
    else if (ch === 'w') p |= PROT.PROT_WRITE;
    else if (ch === 'x') p |= PROT.PROT_EXEC;
    else throw new Error(`bad prot ${s}`);
  }
  return p;
}

const FLAG_WORDS: Record<string, number> = {
  fixed: MAP.MAP_FIXED,
  noreplace: MAP.MAP_FIXED_NOREPLACE,
  noreserve: MAP.MAP_NORESERVE,
  stack: MAP.MAP_STACK,
  growsdown: MAP.MAP_GROWSDOWN,
  locked: MAP.MAP_LOCKED,
  populate: MAP.MAP_POPULATE,
  nonblock: MAP.MAP_NONBLOCK,
  sync: MAP.MAP_SYNC,
  '32bit': MAP.MAP_32BIT,
};

const len = (l: number | bigint): bigint => (typeof l === 'bigint' ? l : BigInt(l) * PAGE);

/**
 * mmap(page|null, pages, prot, ...words). The map type defaults to MAP_PRIVATE|MAP_ANONYMOUS;
 * words: shared, droppable, noanon (drop MAP_ANONYMOUS), type=<hex>, flags=<hex> (raw, replaces
 * everything), off=<hex> (address byte offset), offset=<hex> (file offset), and the FLAG_WORDS.
 */
export function mmap(page: number | null, pages: number | bigint, prot: string | number, ...words: string[]): Call {
  let type: number = MAP.MAP_PRIVATE;
  let flags = 0;
  let anon = true;
  let raw: number | null = null;
  let off = 0;
  let offset = 0n;
  for (const w of words) {
    if (w === 'shared') type = MAP.MAP_SHARED;
    else if (w === 'droppable') type = 0x08;
    else if (w === 'noanon') anon = false;
    else if (w.startsWith('type=')) type = parseInt(w.slice(5), 16);
    else if (w.startsWith('flags=')) raw = parseInt(w.slice(6), 16);
    else if (w.startsWith('off=')) off = parseInt(w.slice(4), 16);
    else if (w.startsWith('offset=')) offset = BigInt('0x' + w.slice(7));
    else if (w in FLAG_WORDS) flags |= FLAG_WORDS[w]!;
    else throw new Error(`unknown mmap word ${w}`);
  }
  const f = raw ?? (type | flags | (anon ? MAP.MAP_ANONYMOUS : 0));
  return {
    op: 'mmap',
    addr: page === null ? null : { page, off },
    len: len(pages),
    prot: typeof prot === 'number' ? prot : protOf(prot),
    flags: f >>> 0,
    offset,
  };
}

export function munmap(page: number, pages: number | bigint, off = 0): Call {
  return { op: 'munmap', addr: { page, off }, len: len(pages) };
}

export function mprotect(page: number, pages: number | bigint, prot: string | number, off = 0): Call {
  return { op: 'mprotect', addr: { page, off }, len: len(pages), prot: typeof prot === 'number' ? prot : protOf(prot) };
}

export function touch(page: number, access: 'r' | 'w'): Call {
  return { op: 'touch', addr: { page, off: 0 }, access: access === 'w' ? 'write' : 'read' };
}

/** A model arena plus a record of what the last call did. */
export class World {
  readonly mm: Mm;
  hits: RuleId[] = [];
  constructor(arenaPages: number, profile: Profile) {
    this.mm = new Mm(arenaPages, profile);
    this.mm.sys.procs.push(this.mm);
    this.mm.sys.current = this.mm;
  }
  /** Run calls; returns the observation of the last one. Calls run in the current process (a
   *  fork moves on to the child, as the harness does); `events` are the last call's uffd events. */
  run(...calls: Call[]): CallObs {
    let o: CallObs | undefined;
    for (const c of calls) {
      const mm = this.cur;
      mm.hits = [];
      mm.sys.events = [];
      o = applyCall(mm, c);
      this.hits = mm.hits;
      this.events = [...mm.sys.events];
    }
    return o!;
  }
  events: string[] = [];
  /** the process that runs the next call (the newest fork child) */
  get cur(): Mm {
    return this.mm.sys.current ?? this.mm;
  }
  /** Run a call that must succeed (errno 0, no signal). */
  ok(...calls: Call[]): this {
    for (const c of calls) {
      const o = this.run(c);
      if (o.errno || o.signal) throw new Error(`${c.op} failed: errno ${o.errno} signal ${o.signal}\n${render(this.mm)}`);
    }
    return this;
  }
  /** errno of a single call */
  errno(c: Call): number {
    return this.run(c).errno;
  }
  vma(page: number): Vma {
    const v = this.cur.lookup(page);
    if (!v) throw new Error(`nothing mapped at ${page}\n${render(this.cur)}`);
    return v;
  }
  anon(page: number): number {
    return this.vma(page).anonVma;
  }
}

export function world(arenaPages: number, profile: Partial<Profile> | Profile = {}): World {
  const p = 'rows' in profile && 'release' in profile ? (profile as Profile) : hostProfile(profile);
  return new World(arenaPages, p);
}

/** The model layout as a diagram: VMAs get letters A, B, C... in address order. */
export function diagram(mm: Mm): string {
  let s = '';
  let letter = 0;
  for (const v of mm.arenaVmas()) {
    s = s.padEnd(v.start, '.');
    s += String.fromCharCode(65 + (letter++ % 26)).repeat(v.end - v.start);
  }
  return s.padEnd(mm.arenaPages, '.');
}

export function render(mm: Mm): string {
  const lines = [`      ${diagram(mm)}`];
  for (const v of mm.arenaVmas()) {
    lines.push(`  [${v.start},${v.end}) ${permsOf(v.flags)} ${vmFlagsToString(v.flags)} anon=${v.anonVma} pgoff=${v.pgoff}${v.file > 0 ? ` shmem#${v.file}` : ''}`);
  }
  return lines.join('\n');
}

/** Parse a diagram into VMA runs: [start, end, letter]. */
export function parseDiagram(d: string): Array<[number, number, string]> {
  const runs: Array<[number, number, string]> = [];
  for (let i = 0; i < d.length; ) {
    const ch = d[i]!;
    let j = i;
    while (j < d.length && d[j] === ch) j++;
    if (ch !== '.' && ch !== ' ') runs.push([i, j, ch]);
    i = j;
  }
  return runs;
}

/**
 * Assert the arena holds exactly the VMAs of the diagram, and optionally per-letter attributes:
 * "rw-p ac !nr" (perms, required VmFlags mnemonics, forbidden ones).
 */
export function expectLayout(w: World | Mm, d: string, attrs: Record<string, string> = {}): void {
  const mm = w instanceof World ? w.cur : w;
  const want = parseDiagram(d);
  const got = mm.arenaVmas().map((v) => [v.start, v.end] as const);
  const ctx = `expected\n      ${d}\nmodel\n${render(mm)}`;
  expect(got.map(([s, e]) => `${s}-${e}`), ctx).toEqual(want.map(([s, e]) => `${s}-${e}`));
  for (const [s, , letter] of want) {
    const spec = attrs[letter];
    if (!spec) continue;
    const v = mm.lookup(s)!;
    const flags = vmFlagsToString(v.flags).split(' ');
    for (const tok of spec.split(/\s+/).filter(Boolean)) {
      if (/^[r-][w-][x-][ps]$/.test(tok)) expect(permsOf(v.flags), `${letter} perms\n${ctx}`).toBe(tok);
      else if (tok.startsWith('!')) expect(flags, `${letter} must not have ${tok.slice(1)}\n${ctx}`).not.toContain(tok.slice(1));
      else expect(flags, `${letter} must have ${tok}\n${ctx}`).toContain(tok);
    }
  }
}
