// Candidate generation for the minimizer: smaller sequences (fewer calls) and simpler arguments
// (fewer pages, fewer flags, lower page offsets, a smaller arena). Every candidate is a valid corpus
// file and strictly cheaper by `cost`, so the minimizer terminates whatever the predicate says.
// Numeric shrink steps come from fast-check's integer shrinker (halving towards the target, then
// the values just below the current one); flag sets shrink by fast-check's subarray shrinker.

import fc from 'fast-check';
import { MAP, PAGE_SIZE } from '../seq/consts.js';
import { privateHugetlbMmap } from '../gen/hugetlb-resv.js';
import { sequenceToInput } from '../seq/io.js';
import type { Ret, SeqObservation } from '../seq/observation.js';
import { type Call, type Sequence, sequenceSchema } from '../seq/schema.js';
import type { Addr } from '../seq/values.js';

const P = BigInt(PAGE_SIZE);
/** Lengths below this many bytes that are whole pages are "page counts" we may shrink. */
const SHRINKABLE_LEN = 1n << 40n;
/** Fields holding flag bit sets (names as in src/seq/schema.ts). */
const FLAG_FIELDS = new Set(['prot', 'flags', 'mode', 'features']);
/** Length-like fields and the value they shrink towards (in pages). */
const LEN_FIELDS: Readonly<Record<string, number>> = { len: 1, oldLen: 1, newLen: 1, offset: 0 };
/** Flag bits we never drop on their own: without them the call is a different call (EBADF/EINVAL). */
const KEEP_BITS: Readonly<Record<string, number>> = { flags: 0x03 | 0x20 }; // map type, MAP_ANONYMOUS (mmap)

/** Take at most `n` shrink steps of fast-check's integer shrinker from `v` towards `min`. */
function intSteps(v: number, min: number, n = 6): number[] {
  if (!(v > min)) return [];
  const out: number[] = [];
  for (const s of fc.integer({ min, max: v }).shrink(v, undefined)) {
    out.push(s.value);
    if (out.length >= n) break;
  }
  return out;
}

/** Flag sets with some bits removed (fast-check's subarray shrinker over the set bits). */
function flagSteps(v: number, keep: number, n = 8): number[] {
  const bits: number[] = [];
  for (let b = 0; b < 32; b++) if ((v >>> b) & 1 && !((keep >>> b) & 1)) bits.push((1 << b) >>> 0);
  if (bits.length === 0) return [];
  const fixed = (v & keep) >>> 0;
  const out: number[] = [];
  for (const s of fc.subarray(bits).shrink(bits, undefined)) {
    out.push((s.value.reduce((a, b) => a | b, 0) | fixed) >>> 0);
    if (out.length >= n) break;
  }
  return out;
}

const popcount = (v: number) => {
  let c = 0;
  for (let x = v >>> 0; x; x &= x - 1) c++;
  return c;
};
const isAddr = (v: unknown): v is Addr => typeof v === 'object' && v !== null && 'page' in v && 'off' in v;
const pagesOf = (v: bigint): number | null => (v > 0n && v < SHRINKABLE_LEN && v % P === 0n ? Number(v / P) : null);

/** Call fields that name a declared file by index (mmap `fd`, ftruncate/add_seals `file`). */
const FILE_FIELDS = ['fd', 'file'] as const;

/** How complicated a sequence is: calls first, then declared files, arena, addresses, page counts, flags. */
export function cost(s: Sequence): number {
  let c = s.calls.length * 1e9 + (s.files?.length ?? 0) * 1e6 + s.arenaPages;
  for (const call of s.calls) {
    for (const [k, v] of Object.entries(call)) {
      if (isAddr(v)) c += v.page + (v.off ? 1 : 0);
      else if (typeof v === 'bigint') c += pagesOf(v) ?? 0;
      else if (typeof v === 'number' && FLAG_FIELDS.has(k)) c += popcount(v);
      else if (k === 'access' && v !== 'read') c += 1;
    }
  }
  return c;
}

/** Does it parse as a corpus file (arena bounds, declared files, uffd handles, ...)? */
export function isValid(s: Sequence): boolean {
  return sequenceSchema.safeParse(sequenceToInput(s)).success;
}

/** The sequence without the calls at the given indices. It no longer claims a generator origin. */
export function withoutCalls(s: Sequence, drop: ReadonlySet<number>): Sequence {
  const { origin: _origin, ...rest } = s;
  return { ...rest, calls: s.calls.filter((_, i) => !drop.has(i)) };
}

export function truncateAfter(s: Sequence, call: number): Sequence {
  const drop = new Set<number>();
  for (let i = call + 1; i < s.calls.length; i++) drop.add(i);
  return withoutCalls(s, drop);
}

function replaceCall(s: Sequence, i: number, c: Call): Sequence {
  const calls = s.calls.slice();
  calls[i] = c;
  const { origin: _origin, ...rest } = s;
  return { ...rest, calls };
}

function shiftAddr(v: unknown, by: number): unknown {
  return isAddr(v) ? { page: v.page - by, off: v.off } : v;
}

/** Simpler variants of one call, field by field. */
function callVariants(c: Call, keepMore = 0): Call[] {
  const out: Call[] = [];
  const set = (k: string, v: unknown) => out.push({ ...c, [k]: v } as Call);
  for (const [k, v] of Object.entries(c)) {
    if (isAddr(v)) {
      for (const p of intSteps(v.page, 0)) set(k, { page: p, off: v.off });
      if (v.off) set(k, { page: v.page, off: 0 });
    } else if (typeof v === 'bigint' && k in LEN_FIELDS) {
      const pages = pagesOf(v);
      if (pages !== null) for (const p of intSteps(pages, LEN_FIELDS[k]!)) set(k, BigInt(p) * P);
    } else if (typeof v === 'number' && FLAG_FIELDS.has(k)) {
      for (const f of flagSteps(v, c.op === 'mmap' ? (KEEP_BITS[k] ?? 0) | (k === 'flags' ? keepMore : 0) : 0)) set(k, f);
    } else if (k === 'access' && v !== 'read') set(k, 'read');
  }
  return out;
}

/** Every page address the sequence names (fixed addresses, hints, destinations). */
function addrs(s: Sequence): Addr[] {
  const out: Addr[] = [];
  for (const c of s.calls) for (const v of Object.values(c)) if (isAddr(v)) out.push(v);
  return out;
}

/**
 * All argument simplifications of `s` that are valid and cheaper: per call and field, plus two
 * whole-sequence ones: cut pages off the bottom of the arena (every address moves down with it,
 * so the layout, including where top-down placements land, stays the same) and off the top.
 */
export function argumentCandidates(s: Sequence): Sequence[] {
  const base = cost(s);
  const out: Sequence[] = [];
  const push = (c: Sequence) => {
    if (cost(c) < base && isValid(c)) out.push(c);
  };
  s.calls.forEach((c, i) => {
    // a private hugetlb mapping keeps MAP_NORESERVE: without it a later partial mremap move would
    // leak the host's huge page reservations (src/gen/hugetlb-resv.ts)
    for (const v of callVariants(c, privateHugetlbMmap(c, s.files) ? MAP.MAP_NORESERVE : 0)) push(replaceCall(s, i, v));
  });
  const { origin: _origin, ...rest } = s;
  const a = addrs(s);
  const low = a.length ? Math.min(...a.map((x) => x.page)) : 0;
  for (const keep of intSteps(low, 0)) {
    const by = low - keep;
    push({ ...rest, arenaPages: s.arenaPages - by, calls: s.calls.map((c) => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, shiftAddr(v, by)])) as Call) });
  }
  for (const pages of intSteps(s.arenaPages, 1)) push({ ...rest, arenaPages: pages });
  for (const c of withoutUnusedFiles(s)) push(c);
  return out;
}

/**
 * The sequence without one declared file that no call names (the harness still creates it, so a
 * reproducer would need its filesystem); later indices move down by one.
 */
function withoutUnusedFiles(s: Sequence): Sequence[] {
  const files = s.files ?? [];
  const used = new Set<number>();
  for (const c of s.calls) {
    for (const k of FILE_FIELDS) {
      const v = (c as Record<string, unknown>)[k];
      if (typeof v === 'number') used.add(v);
    }
  }
  const { origin: _origin, ...rest } = s;
  const out: Sequence[] = [];
  files.forEach((_, j) => {
    if (used.has(j)) return;
    const left = files.filter((_, i) => i !== j);
    const calls = s.calls.map((c) => {
      const o = { ...c } as Record<string, unknown>;
      for (const k of FILE_FIELDS) if (typeof o[k] === 'number' && (o[k] as number) > j) o[k] = (o[k] as number) - 1;
      return o as Call;
    });
    const { files: _f, ...noFiles } = rest;
    out.push(left.length ? { ...rest, files: left, calls } : { ...noFiles, calls });
  });
  return out;
}

/** The pages [lo, hi) a call works on, or null when it is not tied to a range (fork, ftruncate...). */
export function callRange(c: Call, ret: Ret | undefined): [number, number] | null {
  const span = (a: Addr, len: bigint): [number, number] => {
    const pages = len > 0n && len < SHRINKABLE_LEN ? Number((BigInt(a.off) + len + P - 1n) / P) : 1;
    return [a.page, a.page + pages];
  };
  switch (c.op) {
    case 'touch':
      return [c.addr.page, c.addr.page + 1];
    case 'mmap': {
      const at = c.addr ?? (ret?.kind === 'addr' ? { page: ret.page, off: 0 } : null);
      return at ? span(at, c.len) : null;
    }
    default: {
      const r = c as { addr?: Addr | null; len?: bigint; oldLen?: bigint; newLen?: bigint; newAddr?: Addr | null };
      if (!r.addr) return null;
      const src = span(r.addr, r.len ?? r.oldLen ?? P);
      const dst = r.newAddr ? span(r.newAddr, r.newLen ?? P) : ret?.kind === 'addr' && r.newLen !== undefined ? span({ page: ret.page, off: 0 }, r.newLen) : null;
      return dst ? [Math.min(src[0], dst[0]), Math.max(src[1], dst[1])] : src;
    }
  }
}

/**
 * Indices of the calls that can matter for call `d`: walking backwards, a call is kept when its
 * range touches (overlaps or is adjacent to: merges look at neighbours) the pages of a call kept
 * so far. Calls without a range, and non-fixed mmaps (their placement depends on every gap), are
 * kept. A heuristic: the minimizer tries the result as one candidate and falls back to ddmin.
 */
export function relatedCalls(s: Sequence, kernel: SeqObservation, d: number, adjacent: boolean): number[] {
  const ranges = s.calls.map((c, i) => callRange(c, kernel.calls[i]?.ret));
  const pad = adjacent ? 1 : 0;
  const want: Array<[number, number]> = [];
  const keep: number[] = [d];
  const floating = (c: Call | undefined) => c?.op === 'mmap' && c.addr === null;
  const r0 = floating(s.calls[d]) ? null : ranges[d];
  if (r0) want.push(r0);
  for (let i = d - 1; i >= 0; i--) {
    const r = ranges[i];
    if (!r || floating(s.calls[i]) || !r0 || want.some(([lo, hi]) => r[0] < hi + pad && lo - pad < r[1])) {
      keep.push(i);
      if (r) want.push(r);
    }
  }
  return keep.reverse();
}
