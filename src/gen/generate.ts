// Sequence generator. fast-check produces a "recipe" (a list of small numbers); a deterministic
// interpreter turns it into calls with the biased arena allocator. Shrinking the recipe shrinks
// the sequence, and (seed, index) alone regenerates any case: the recipe of case i is sampled
// with a per-case seed derived from (seed, i).

import fc from 'fast-check';
import { MAP, PROT, PAGE_SIZE } from '../seq/consts.js';
import type { Call, FileDecl, Op, Sequence } from '../seq/schema.js';
import { OPS, FORMAT_VERSION, arenaProblem, hugeFixedProblem } from '../seq/schema.js';
import { ArenaAllocator, Picks } from './alloc.js';
import { genMemCall, pickAccess, type MemOp } from './ops-mem.js';
import { genProbe } from './ops-content.js';
import { filesCtx, genFileMmap, genFiles, genFilesCall, noteFilesCall, type FileOp } from './ops-files.js';
import { blockExit, genAddSeals } from './ops-seals.js';
import { noLeakingHugetlbMoves } from './hugetlb-resv.js';
import { genHugeFile, genHugeMremap, genHugeShmCall, genHugeShmSetup, genHugetlbMmap, hugeShmCtx, type HugeShmOp } from './ops-hugeshm.js';
import type { ShmSeg } from '../seq/schema-sysv.js';
import type { Addr } from '../seq/values.js';

// 2: caseSeed mixes seed and index separately (in 1 it depended on seed XOR index only, so
// campaigns with nearby seeds, e.g. dates, ran the same cases in another order).
// 4: the allocator also picks ranges across several earlier ranges; uffd scenarios with two
// contexts on neighbouring ranges, registrations across VMAs; recipe cases (src/gen/recipes.ts).
// 5: memfd_create flags of declared memfds, add_seals, fork {until: exit} blocks (src/gen/ops-seals.ts);
// declared files on ext4/xfs/btrfs and pre-filled (src/gen/ops-content.ts), probe calls and
// shared/private content scenarios; SysV segments and hugetlb mappings (src/gen/ops-hugeshm.ts),
// shmat/shmdt weights.
// 6: hugetlb and SysV follow-ups (mremap, mlock, mseal, anon_name, madvise on hugetlb mappings and
// attaches); MAP_NORESERVE on private hugetlb mappings of sequences with an mremap (hugetlb-resv.ts).
export const GENERATOR_VERSION = '6';

export type Weights = Record<Op, number>;
// Ops the model and harness do not support yet stay at weight 0 until they land.
export const DEFAULT_WEIGHTS: Weights = {
  mmap: 4, munmap: 1.5, mprotect: 3, touch: 2.5, madvise: 2, mremap: 1, mlock: 0.4, mlock2: 0.4, munlock: 0.4, mseal: 0.3,
  anon_name: 0.3, ftruncate: 0.4, uffd_create: 0.3, uffd_register: 0.5, uffd_unregister: 0.25, fork: 0.3,
  // exit only ever closes a fork block (src/gen/ops-seals.ts); add_seals needs declared files
  exit: 0, add_seals: 0.25,
  probe: 1,
  shmat: 0.4, shmdt: 0.2,
};

export interface GenConfig {
  weights: Weights;
  maxCalls: number;
  /** percentage of calls given a deliberately invalid argument */
  invalidPercent: number;
  /** percentage of cases with an injected allocation failure on one call (src/gen/fail-nth.ts) */
  failNthPercent?: number;
  /** k of those failures: 1..failNthMax */
  failNthMax?: number;
}

export const DEFAULT_CONFIG: GenConfig = { weights: DEFAULT_WEIGHTS, maxCalls: 24, invalidPercent: 6 };

export interface Recipe {
  ncalls: number;
  arena: number;
  picks: number[];
}

export function recipeArbitrary(cfg: GenConfig): fc.Arbitrary<Recipe> {
  return fc.record({
    ncalls: fc.integer({ min: 1, max: cfg.maxCalls }),
    arena: fc.nat({ max: 99 }),
    picks: fc.array(fc.nat({ max: 0xffff }), { minLength: 16, maxLength: 16 * cfg.maxCalls }),
  });
}

/** murmur3's 32-bit finalizer: a bijection that scatters neighbouring inputs. */
function fmix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** 32-bit mix of (seed, index): neighbouring indices get unrelated recipes, distinct indices of a
 *  seed distinct case seeds, and two seeds share no structure (version 1 depended on seed ^ index
 *  only, so nearby seeds ran the same cases in another order). */
export function caseSeed(seed: number, index: number): number {
  return fmix32((fmix32((seed ^ 0x9e3779b9) >>> 0) ^ fmix32((index + 0x7f4a7c15) >>> 0)) >>> 0) | 0;
}

// The arbitrary depends only on maxCalls; building it once per value saves a few µs per case.
const arbitraries = new Map<number, fc.Arbitrary<Recipe>>();

export function recipeFor(seed: number, index: number, cfg: GenConfig): Recipe {
  let arb = arbitraries.get(cfg.maxCalls);
  if (!arb) arbitraries.set(cfg.maxCalls, (arb = recipeArbitrary(cfg)));
  return fc.sample(arb, { seed: caseSeed(seed, index), numRuns: 1 })[0]!;
}

const PROTS = [
  PROT.PROT_READ | PROT.PROT_WRITE,
  PROT.PROT_READ,
  PROT.PROT_NONE,
  PROT.PROT_READ | PROT.PROT_WRITE,
  PROT.PROT_READ | PROT.PROT_EXEC,
  PROT.PROT_WRITE,
  PROT.PROT_READ | PROT.PROT_WRITE | PROT.PROT_EXEC,
  PROT.PROT_EXEC,
];

export function pickProt(p: Picks, invalid: boolean): number {
  if (invalid) return [0x10, PROT.PROT_GROWSDOWN | PROT.PROT_READ, PROT.PROT_GROWSUP, PROT.PROT_SEM | PROT.PROT_READ, 0x80000000][p.int(5)]!;
  return PROTS[p.int(PROTS.length)]!;
}

const WRAP_LEN = (1n << 64n) - BigInt(PAGE_SIZE);

function genMmap(p: Picks, a: ArenaAllocator, invalid: boolean): Call {
  const r = a.range(p);
  let flags = (p.chance(22) ? MAP.MAP_SHARED : MAP.MAP_PRIVATE) | MAP.MAP_ANONYMOUS;
  const placement = p.int(100);
  let addr: Addr | null = { page: r.page, off: 0 };
  if (placement < 62) flags |= MAP.MAP_FIXED;
  else if (placement < 72) flags |= MAP.MAP_FIXED_NOREPLACE;
  else if (placement >= 86) addr = null; // 72..85: plain hint
  if (p.chance(10)) flags |= MAP.MAP_NORESERVE;
  if (p.chance(5)) flags |= MAP.MAP_STACK;
  if (p.chance(5)) flags |= MAP.MAP_POPULATE;
  if (p.chance(2)) flags |= MAP.MAP_LOCKED;
  if (p.chance(2)) flags |= MAP.MAP_GROWSDOWN;
  let len = BigInt(r.pages * PAGE_SIZE);
  let prot = pickProt(p, false);
  if (invalid) {
    switch (p.int(8)) {
      case 0: len = 0n; break;
      case 1: len = WRAP_LEN; break;
      case 2: len = len - 1n - BigInt(p.int(PAGE_SIZE - 1)); break; // unaligned: rounds up
      case 3: if (addr) addr = { page: addr.page, off: 1 + p.int(PAGE_SIZE - 1) }; break;
      case 4: flags &= ~(MAP.MAP_SHARED | MAP.MAP_PRIVATE); break;
      case 5: flags = (flags & ~(MAP.MAP_SHARED | MAP.MAP_PRIVATE)) | MAP.MAP_SHARED_VALIDATE | [0x80000000, MAP.MAP_32BIT << 20, 0x200][p.int(3)]!; break;
      case 6: prot = pickProt(p, true); break;
      default: flags |= MAP.MAP_HUGETLB; break;
    }
    flags >>>= 0;
  }
  return { op: 'mmap', addr, len, prot, flags, offset: undefined };
}

export function genRange(p: Picks, a: ArenaAllocator, invalid: boolean): { addr: { page: number; off: number }; len: bigint } {
  const r = a.range(p);
  let addr = { page: r.page, off: 0 };
  let len = BigInt(r.pages * PAGE_SIZE);
  if (invalid) {
    switch (p.int(4)) {
      case 0: len = 0n; break;
      case 1: len = WRAP_LEN - BigInt(p.int(3) * PAGE_SIZE); break;
      case 2: len = len - 1n - BigInt(p.int(PAGE_SIZE - 1)); break;
      default: addr = { page: r.page, off: 1 + p.int(PAGE_SIZE - 1) }; break;
    }
  }
  return { addr, len };
}

/** One generated call. `first` forces mmap (when allowed) so that a sequence starts with a mapping.
 *  The call is noted in the allocator, so later calls prefer its range and edges. */
export function genCall(p: Picks, a: ArenaAllocator, weights: Weights, invalidPercent: number, first: boolean): Call {
  // the rest of a multi-call scenario started earlier (src/gen/ops-files.ts)
  const queued = filesCtx(a).pending.shift() ?? hugeShmPending(a, weights) ?? blockExit(a);
  if (queued) {
    noteCall(a, queued);
    return queued;
  }
  const op = first && weights.mmap > 0 ? 'mmap' : p.weighted(weights);
  const invalid = p.int(100) < invalidPercent;
  let c: Call;
  switch (op as Op) {
    case 'mmap':
      // a sequence with declared files maps them a third of the time (src/gen/ops-files.ts)
      c = filesCtx(a).files.length && p.chance(35) ? genFileMmap(p, a, invalid) : hugeShmCtx(a).huge && p.chance(40) ? genHugetlbMmap(p, a, invalid) : genMmap(p, a, invalid);
      break;
    case 'munmap':
      c = { op: 'munmap', ...genRange(p, a, invalid) };
      break;
    case 'mprotect': {
      const r = genRange(p, a, false);
      c = { op: 'mprotect', ...r, prot: pickProt(p, invalid) };
      if (invalid && p.chance(50)) c = { op: 'mprotect', ...genRange(p, a, true), prot: c.prot };
      break;
    }
    case 'touch':
      c = { op: 'touch', addr: { page: a.page(p), off: 0 }, access: pickAccess(p) };
      break;
    case 'madvise':
    case 'mlock':
    case 'mlock2':
    case 'munlock':
    case 'mseal':
    case 'anon_name':
      c = genMemCall(p, a, op as MemOp, invalid); // src/gen/ops-mem.ts
      break;
    case 'mremap':
      // half the mremap calls of a hugetlb sequence take one of its hugetlb mappings (src/gen/ops-hugeshm.ts)
      c = (hugeShmCtx(a).maps?.length && p.chance(50) ? genHugeMremap(p, a) : null) ?? genFilesCall(p, a, 'mremap', invalid);
      break;
    case 'ftruncate':
    case 'fork':
    case 'uffd_create':
    case 'uffd_register':
    case 'uffd_unregister':
      c = genFilesCall(p, a, op as FileOp, invalid); // src/gen/ops-files.ts
      break;
    case 'add_seals':
      c = genAddSeals(p, a, invalid); // src/gen/ops-seals.ts
      break;
    case 'exit': // never alone: a block is generated whole (a forced weight gets a fork block)
      c = genFilesCall(p, a, 'fork', false);
      break;
    case 'probe':
      c = genProbe(p, a); // src/gen/ops-content.ts
      break;
    case 'shmat':
    case 'shmdt':
      c = genHugeShmCall(p, a, op as HugeShmOp, invalid); // src/gen/ops-hugeshm.ts
      break;
    default:
      throw new Error(`the generator has no rule for ${op} yet`);
  }
  // A misaligned start can push the rounded-up end past the arena: keep such calls in bounds.
  if (arenaProblem(c, a.arenaPages) && 'addr' in c && c.addr) c = { ...c, addr: { page: c.addr.page, off: 0 } } as Call;
  // a fixed hugetlb mapping (genMmap's invalid MAP_HUGETLB, a file mapping continuing one of the
  // hugetlb file) that leaves the arena once rounded up to 2 MiB: not fixed
  const hugeFile = hugeShmCtx(a).hugeFile;
  const huge = c.op === 'mmap' && (c.flags & MAP.MAP_HUGETLB || (hugeFile && c.fd === hugeFile.index && !(c.flags & MAP.MAP_ANONYMOUS)));
  if (c.op === 'mmap' && huge && hugeFixedProblem(c, a.arenaPages)) c = { ...c, flags: (c.flags & ~(MAP.MAP_FIXED | MAP.MAP_FIXED_NOREPLACE)) >>> 0 };
  noteCall(a, c);
  return c;
}

/** The next queued hugetlb/SysV follow-up whose op the campaign generates (`--ops` may leave out
 *  mremap, madvise, mlock...: those are dropped). */
function hugeShmPending(a: ArenaAllocator, weights: Weights): Call | undefined {
  const q = hugeShmCtx(a).pending;
  let c = q.shift();
  while (c && !(weights[c.op] > 0)) c = q.shift();
  return c;
}

/** Remember the range of a call (with an in-arena length) as a preferred range for later calls. */
export function noteCall(a: ArenaAllocator, c: Call): void {
  if ('len' in c && 'addr' in c && c.addr && c.len > 0n && c.len < 1n << 40n) {
    a.note({ page: c.addr.page, pages: Number((c.len + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE)) });
  }
  noteFilesCall(a, c);
}

export function interpret(recipe: Recipe, cfg: GenConfig): { arenaPages: number; calls: Call[]; files?: FileDecl[]; shm?: ShmSeg[] } {
  const p = new Picks(recipe.picks);
  // Mostly small arenas (dense overlap); some big enough for 2 MiB-aligned THP behaviour.
  const arenaPages = recipe.arena < 70 ? 64 : recipe.arena < 90 ? 256 : 1024;
  const a = new ArenaAllocator(arenaPages);
  const calls: Call[] = [];
  const weights = Object.fromEntries(OPS.map((o) => [o, cfg.weights[o] ?? 0])) as Weights;
  // Half the sequences of a campaign with the files family declare files (ftruncate's weight
  // stands for the family: mmap of files, ftruncate).
  const files = weights.ftruncate > 0 && p.chance(50) ? genFiles(p) : undefined;
  if (files) filesCtx(a).files = files;
  // SysV segments and hugetlb use (shmat's weight stands for the family, src/gen/ops-hugeshm.ts)
  const shm = weights.shmat > 0 ? genHugeShmSetup(p, a) : undefined;
  // ... and a hugetlb file after the others (src/gen/ops-hugeshm.ts)
  const allFiles = weights.shmat > 0 ? genHugeFile(p, a, files) : files;
  for (let i = 0; i < recipe.ncalls; i++) calls.push(genCall(p, a, weights, cfg.invalidPercent, i === 0));
  const out: { arenaPages: number; calls: Call[]; files?: FileDecl[]; shm?: ShmSeg[] } = { arenaPages, calls };
  if (allFiles) out.files = allFiles;
  if (shm) out.shm = shm;
  return out;
}

export function generate(seed: number, index: number, cfg: GenConfig = DEFAULT_CONFIG): Sequence {
  const recipe = recipeFor(seed, index, cfg);
  const { arenaPages, calls, files, shm } = noLeakingHugetlbMoves(interpret(recipe, cfg)); // src/gen/hugetlb-resv.ts
  const seq: Sequence = { vmafuzz: FORMAT_VERSION, arenaPages, origin: { seed, index, generator: GENERATOR_VERSION }, calls };
  if (files) seq.files = files;
  if (shm) seq.shm = shm;
  return seq;
}

export function parseWeights(spec: string, base: Weights = DEFAULT_WEIGHTS): Weights {
  const w = { ...base };
  for (const part of spec.split(',').filter(Boolean)) {
    const m = /^([a-z_][a-z_0-9]*)=(\d+(?:\.\d+)?)$/.exec(part.trim());
    if (!m || !(OPS as readonly string[]).includes(m[1]!)) throw new Error(`bad weight ${JSON.stringify(part)} (expected op=number with op one of ${OPS.join(', ')})`);
    w[m[1] as Op] = Number(m[2]);
  }
  return w;
}
