// Coverage-guided generation. The campaign keeps, per model rule, the earliest case that made the
// rule fire (the "pool") and how often every rule fired so far. A guided case is either a fresh
// generated case or a mutant of a pool sequence (extend, splice, tweak, insert, delete), with the
// pool entry chosen by rarity of its rule, so the search dwells near the states where rare rules
// fire — coverage feedback from the model, on any kernel, without KCOV (AFL's queue, in spirit).
//
// Deterministic: the case is a function of (seed, index, cfg, pool) only. The campaign gives every
// case of an epoch the same pool snapshot (src/campaign/guidance.ts), whatever the scheduling.

import { MAP, PAGE_SIZE, PROT } from '../seq/consts.js';
import type { Call, Sequence } from '../seq/schema.js';
import { FORMAT_VERSION, OPS, arenaProblem, sequenceSchema } from '../seq/schema.js';
import { sequenceToInput } from '../seq/io.js';
import { ArenaAllocator, Picks } from './alloc.js';
import { filesCtx } from './ops-files.js';
import { RECIPES } from './recipes.js';
import type { RuleId } from '../model/rules.js';
import { noLeakingHugetlbMoves } from './hugetlb-resv.js';
import { caseSeed, generate, genCall, GENERATOR_VERSION, noteCall, pickProt, type GenConfig, type Weights } from './generate.js';

/** origin.generator of a mutant: it is regenerated from the campaign directory, not from (seed, index) alone */
export const GUIDED_GENERATOR = `${GENERATOR_VERSION}+guided`;

export interface PoolEntry {
  /** the rule this entry is the first hit of */
  rule: string;
  /** case index that first hit it */
  index: number;
  /** call at which it fired */
  call: number;
  seq: Sequence;
  /** how often the rule fired so far (calls); rarer rules are picked more often */
  count: number;
}

export interface GuidePool {
  entries: readonly PoolEntry[];
  /** percentage of cases that are mutants (the rest are fresh cases) */
  mutantPercent: number;
  /** rules with a recipe (src/gen/recipes.ts) that no case of the pool's epochs fired: recipe cases
   *  aim at them (before any mutant or fresh case is considered) */
  targets?: readonly string[];
  /** percentage of cases that are recipe cases while there are targets */
  recipePercent?: number;
}

export const EMPTY_POOL: GuidePool = { entries: [], mutantPercent: 0 };

/** origin.generator of a recipe case: a function of (seed, index) and the pool's targets */
export const RECIPE_GENERATOR = `${GENERATOR_VERSION}+recipe`;

/** Pick an entry, weight ∝ 1/(count+1): a rule seen 3 times is picked 1000× more than one seen 3000 times. */
function pickEntry(r: Picks, entries: readonly PoolEntry[]): PoolEntry {
  const w = entries.map((e) => 1 / (e.count + 1));
  const total = w.reduce((a, b) => a + b, 0);
  // Picks.int draws 16 bits at a time: combine two for a fine-grained uniform number in [0, 1).
  const u = (r.int(0x10000) * 0x10000 + r.int(0x10000)) / 2 ** 32;
  let acc = 0;
  for (let i = 0; i < entries.length; i++) {
    acc += w[i]!;
    if (u * total < acc) return entries[i]!;
  }
  return entries[entries.length - 1]!;
}

function weightsOf(cfg: GenConfig): Weights {
  return Object.fromEntries(OPS.map((o) => [o, cfg.weights[o] ?? 0])) as Weights;
}

/** An allocator that prefers the ranges the given calls used. */
function allocatorAfter(arenaPages: number, calls: readonly Call[]): ArenaAllocator {
  const a = new ArenaAllocator(arenaPages);
  for (const c of calls) noteCall(a, c);
  return a;
}

/** Interesting page counts: THP size and its neighbours, tiny ranges. */
const INTERESTING_PAGES = [1, 2, 3, 511, 512, 513, 1024];
/** Interesting byte lengths: zero, unaligned, and lengths that wrap or exceed TASK_SIZE. */
const INTERESTING_LENS = [0n, 1n, BigInt(PAGE_SIZE - 1), BigInt(PAGE_SIZE + 1), (1n << 64n) - 1n, (1n << 64n) - BigInt(PAGE_SIZE), (1n << 64n) - BigInt(PAGE_SIZE) + 1n, 1n << 63n, 1n << 47n];
/** mmap flag bits worth flipping (beyond what the generator picks): include/uapi/asm-generic/mman*.h, arch/x86 */
const MMAP_BITS = [MAP.MAP_FIXED, MAP.MAP_ANONYMOUS, MAP.MAP_NORESERVE, MAP.MAP_GROWSDOWN, MAP.MAP_POPULATE, MAP.MAP_LOCKED, MAP.MAP_STACK, MAP.MAP_32BIT, MAP.MAP_FIXED_NOREPLACE, MAP.MAP_NONBLOCK, MAP.MAP_SYNC, MAP.MAP_UNINITIALIZED];
/** map types (flags & 0x0f): shared, private, shared_validate, MAP_DROPPABLE (0x08) */
const MAP_TYPES = [MAP.MAP_SHARED, MAP.MAP_PRIVATE, MAP.MAP_SHARED_VALIDATE, 0x08];
const PROT_BITS = [PROT.PROT_READ, PROT.PROT_WRITE, PROT.PROT_EXEC, PROT.PROT_SEM, PROT.PROT_GROWSDOWN, PROT.PROT_GROWSUP, 0x10];

/** Change one field of one call a little: move it, resize it, flip a flag or protection bit. */
function tweak(r: Picks, c: Call, arenaPages: number): Call {
  const m = r.int(5);
  if (c.op === 'touch') return m < 2 ? { ...c, access: c.access === 'read' ? 'write' : 'read' } : { ...c, addr: { page: clamp(c.addr.page + delta(r), arenaPages - 1), off: 0 } };
  // a probe reads elsewhere: another page, or another byte of the page (the EOF page's tail)
  if (c.op === 'probe') return { ...c, addr: m < 2 ? { page: c.addr.page, off: r.int(PAGE_SIZE) } : { page: clamp(c.addr.page + delta(r), arenaPages - 1), off: 0 } };
  if (!('addr' in c) || !('len' in c)) return c;
  if (m === 0 && c.addr) return { ...c, addr: { page: clamp(c.addr.page + delta(r), arenaPages - 1), off: r.chance(10) ? 1 + r.int(PAGE_SIZE - 1) : c.addr.off } } as Call;
  if (m === 1) {
    if (r.chance(15)) return { ...c, len: INTERESTING_LENS[r.int(INTERESTING_LENS.length)]! } as Call;
    if (c.len === 0n || c.len >= 1n << 40n) return c;
    const pages = r.chance(30) ? INTERESTING_PAGES[r.int(INTERESTING_PAGES.length)]! : Math.max(1, Number(c.len / BigInt(PAGE_SIZE)) + delta(r));
    return { ...c, len: BigInt(pages * PAGE_SIZE) } as Call;
  }
  if (m === 2 && 'prot' in c) return { ...c, prot: r.chance(50) ? pickProt(r, false) : (c.prot ^ PROT_BITS[r.int(PROT_BITS.length)]!) >>> 0 } as Call;
  if (c.op === 'mmap') {
    const k = r.int(10);
    if (k === 0) return { ...c, flags: ((c.flags & ~0x0f) | MAP_TYPES[r.int(MAP_TYPES.length)]!) >>> 0 };
    if (k === 1) return { ...c, offset: r.chance(50) ? BigInt(r.int(4) * PAGE_SIZE) : BigInt(1 + r.int(PAGE_SIZE - 1)) };
    if (k === 2 && c.addr) return { ...c, addr: null, flags: (c.flags & ~(MAP.MAP_FIXED | MAP.MAP_FIXED_NOREPLACE)) >>> 0 };
    const bit = MMAP_BITS[r.int(MMAP_BITS.length)]!;
    // MAP_FIXED at NULL would be address 0: never.
    if (c.addr === null && (bit === MAP.MAP_FIXED || bit === MAP.MAP_FIXED_NOREPLACE)) return c;
    return { ...c, flags: (c.flags ^ bit) >>> 0 };
  }
  return c;
}

const delta = (r: Picks) => (r.chance(50) ? 1 : -1) * (1 + r.int(r.chance(70) ? 2 : 8));
const clamp = (v: number, max: number) => Math.max(0, Math.min(v, max));

/** Keep a mutant a valid corpus file: calls that would leave the arena are dropped. */
function legalize(seq: Sequence): Sequence | null {
  const calls = seq.calls.filter((c) => !arenaProblem(c, seq.arenaPages));
  if (calls.length === 0) return null;
  const out = { ...seq, calls };
  // Ops that refer to files, userfaultfds or forks have cross-call constraints: let the schema judge.
  if (calls.some((c) => c.op === 'ftruncate' || c.op.startsWith('uffd') || c.op === 'fork' || c.op === 'exit' || c.op === 'add_seals' || c.op.startsWith('shm') || (c.op === 'mmap' && c.fd !== undefined))) {
    if (!sequenceSchema.safeParse(sequenceToInput(out)).success) return null;
  }
  return out;
}

function mutate(r: Picks, cfg: GenConfig, e: PoolEntry, pool: readonly PoolEntry[]): Sequence | null {
  const base = e.seq;
  const n = base.arenaPages;
  const w = weightsOf(cfg);
  const keep = Math.min(base.calls.length, e.call + 1 + r.int(base.calls.length - e.call));
  let calls = base.calls.slice();
  const rounds = 1 + (r.chance(35) ? 1 + r.int(3) : 0);
  for (let k = 0; k < rounds; k++) {
    const kind = r.int(100);
    if (kind < 35) {
      // extend: the prefix through the rule's call, then fresh calls in the state it left
      const prefix = calls.slice(0, Math.min(keep, calls.length));
      const a = allocatorAfter(n, prefix);
      const add = 1 + r.int(Math.max(1, Math.min(8, cfg.maxCalls - prefix.length)));
      for (let i = 0; i < add; i++) prefix.push(genCall(r, a, w, cfg.invalidPercent, false));
      calls = prefix;
    } else if (kind < 50) {
      // splice: our prefix, then the tail of another entry (same arena size, so pages mean the same)
      const others = pool.filter((o) => o.seq.arenaPages === n && o.seq !== base);
      if (!others.length) continue;
      const o = others[r.int(others.length)]!;
      const from = r.int(o.seq.calls.length);
      calls = calls.slice(0, Math.min(keep, calls.length)).concat(o.seq.calls.slice(from, from + 1 + r.int(8)));
    } else if (kind < 80) {
      const j = r.int(calls.length);
      calls[j] = tweak(r, calls[j]!, n);
    } else if (kind < 92) {
      // insert a fresh call before the rule's call: a different state when the rule fires
      const j = r.int(Math.min(calls.length, e.call + 1) + 1);
      const a = allocatorAfter(n, calls.slice(0, j));
      calls.splice(j, 0, genCall(r, a, w, cfg.invalidPercent, false));
    } else if (calls.length > 1) {
      calls.splice(r.int(calls.length), 1);
    }
  }
  return legalize({ ...base, calls: calls.slice(0, cfg.maxCalls) });
}

/**
 * Case `index` of a guided campaign: a mutant of a pool entry (mutantPercent of the cases, once the
 * pool has entries) or the ordinary generated case. Pure function of its arguments.
 */
export function generateGuided(seed: number, index: number, cfg: GenConfig, pool: GuidePool): Sequence {
  const targets = (pool.targets ?? []).filter((t) => RECIPES[t as RuleId] && recipeAllowed(t, cfg));
  if (targets.length && (pool.recipePercent ?? 0) > 0) {
    const q = Picks.seeded(caseSeed(seed ^ 0x3c6ef372, index));
    if (q.int(100) < pool.recipePercent!) {
      const s = recipeCase(q, cfg, targets[q.int(targets.length)]!);
      if (s) return { ...noLeakingHugetlbMoves(s), origin: { seed, index, generator: RECIPE_GENERATOR } };
    }
  }
  if (pool.entries.length === 0 || pool.mutantPercent <= 0) return generate(seed, index, cfg);
  const r = Picks.seeded(caseSeed(seed ^ 0x6a09e667, index));
  if (r.int(100) >= pool.mutantPercent) return generate(seed, index, cfg);
  const e = pickEntry(r, pool.entries);
  const m = mutate(r, cfg, e, pool.entries);
  if (!m) return generate(seed, index, cfg);
  const { name: _n, description: _d, ...rest } = noLeakingHugetlbMoves(m); // src/gen/hugetlb-resv.ts
  return { ...rest, vmafuzz: FORMAT_VERSION, origin: { seed, index, generator: GUIDED_GENERATOR } };
}

/**
 * A recipe case for `rule`: the recipe's setup (src/gen/recipes.ts), then 0-8 fresh generated calls
 * in the state it left (the allocator prefers the setup's ranges and edges). Null if the result is
 * not a valid corpus file (the caller falls back to an ordinary case).
 */
export function recipeCase(r: Picks, cfg: GenConfig, rule: string): Sequence | null {
  const setup = RECIPES[rule as RuleId]!(r);
  const calls = setup.calls.slice(0, cfg.maxCalls);
  const a = allocatorAfter(setup.arenaPages, []);
  if (setup.files) filesCtx(a).files = setup.files;
  for (const c of calls) noteCall(a, c);
  const w = weightsOf(cfg);
  const add = r.chance(25) ? 0 : 1 + r.int(Math.max(1, Math.min(8, cfg.maxCalls - calls.length)));
  for (let i = 0; i < add && calls.length < cfg.maxCalls; i++) calls.push(genCall(r, a, w, cfg.invalidPercent, false));
  const seq: Sequence = { vmafuzz: FORMAT_VERSION, arenaPages: setup.arenaPages, calls, ...(setup.files ? { files: setup.files } : {}) };
  return sequenceSchema.safeParse(sequenceToInput(seq)).success ? seq : null;
}

/** The ops (and whether files) a recipe's setups use, over a few draws: a recipe is only used when
 *  the campaign generates all of them (`--ops core` must not get madvise or uffd calls). */
const recipeNeeds = new Map<string, { ops: Set<string>; files: boolean }>();
function recipeAllowed(rule: string, cfg: GenConfig): boolean {
  let n = recipeNeeds.get(rule);
  if (!n) {
    n = { ops: new Set(), files: false };
    for (let i = 0; i < 16; i++) {
      const s = RECIPES[rule as RuleId]!(Picks.seeded(caseSeed(0x5eed, i)));
      for (const c of s.calls) n.ops.add(c.op);
      if (s.files) n.files = true;
    }
    recipeNeeds.set(rule, n);
  }
  for (const op of n.ops) if (!((cfg.weights as Record<string, number>)[op]! > 0)) return false;
  return !n.files || (cfg.weights.ftruncate ?? 0) > 0;
}
