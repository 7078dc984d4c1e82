// The versioned corpus format. A corpus file is untrusted input (people attach them to bug
// reports), so validation does more than check types: every range must stay inside the file's own
// arena, except for the "invalid" lengths that the kernel rejects before touching any VMA (0, or a
// length that wraps the address space). That way replaying a file can only ever affect the arena
// of the forked child that runs it.

import { z } from 'zod';
import { MAP, PROT, PAGE_SIZE } from './consts.js';
import { type Addr, addrBytes, parseAddr, parseFlags, parseLen, U64_MAX } from './values.js';

export const FORMAT_VERSION = 1;
export const MAX_ARENA_PAGES = 4096;
export const MAX_CALLS = 4096;

const addrField = z.string().transform((s, ctx): Addr | null => {
  const r = parseAddr(s);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});
const nonNullAddr = addrField.refine((a) => a !== null, { message: 'NULL is only allowed as an mmap hint' }) as unknown as z.ZodType<Addr, string>;
const lenField = z.string().transform((s, ctx): bigint => {
  const r = parseLen(s);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});
const flagsField = (table: Record<string, number>) =>
  z.string().transform((s, ctx): number => {
    const r = parseFlags(s, table);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    return r;
  });

const mmapCall = z.strictObject({
  op: z.literal('mmap'),
  addr: addrField.describe('hint or fixed address: "NULL" or "A+<n>p"'),
  len: lenField,
  prot: flagsField(PROT),
  flags: flagsField(MAP),
  offset: lenField.optional().describe('file offset in bytes (anonymous mappings ignore it but it is still checked)'),
});
const munmapCall = z.strictObject({ op: z.literal('munmap'), addr: nonNullAddr, len: lenField });
const mprotectCall = z.strictObject({ op: z.literal('mprotect'), addr: nonNullAddr, len: lenField, prot: flagsField(PROT) });
const touchCall = z.strictObject({
  op: z.literal('touch'),
  addr: nonNullAddr,
  access: z.enum(['read', 'write']),
});

export const callSchema = z.discriminatedUnion('op', [mmapCall, munmapCall, mprotectCall, touchCall]);
export type Call = z.output<typeof callSchema>;
export type CallInput = z.input<typeof callSchema>;
export type Op = Call['op'];
export const OPS: readonly Op[] = ['mmap', 'munmap', 'mprotect', 'touch'];

export const sequenceSchema = z
  .strictObject({
    vmafuzz: z.literal(FORMAT_VERSION).describe('corpus format version'),
    name: z.string().max(200).optional(),
    description: z.string().max(4000).optional(),
    arenaPages: z.number().int().min(1).max(MAX_ARENA_PAGES),
    origin: z
      .strictObject({ seed: z.number().int(), index: z.number().int().min(0), generator: z.string() })
      .optional()
      .describe('how the generator made it: replayable from (seed, index) alone'),
    calls: z.array(callSchema).max(MAX_CALLS),
  })
  .superRefine((seq, ctx) => {
    seq.calls.forEach((c, i) => {
      const problem = arenaProblem(c, seq.arenaPages);
      if (problem) ctx.addIssue({ code: 'custom', path: ['calls', i], message: problem });
    });
  });
export type Sequence = z.output<typeof sequenceSchema>;
export type SequenceInput = z.input<typeof sequenceSchema>;

const WRAP = 1n << 64n;

/** Why a call could reach outside its arena, or null when it cannot. */
export function arenaProblem(c: Call, arenaPages: number): string | null {
  const arenaBytes = BigInt(arenaPages) * BigInt(PAGE_SIZE);
  const inside = (a: Addr) => addrBytes(a) < arenaBytes || (a.page === arenaPages && a.off === 0);
  if (c.addr && !inside(c.addr)) return `address A+${c.addr.page}p lies outside the ${arenaPages}-page arena`;
  if (c.op === 'touch') {
    return c.addr.page < arenaPages ? null : `touch address outside the ${arenaPages}-page arena`;
  }
  const len = c.len;
  if (len === 0n) return null;
  const start = c.addr ? addrBytes(c.addr) : 0n;
  // Lengths the kernel rejects before looking at any VMA: they wrap the 64-bit address space once
  // the arena base is added (the base is always above 2 MiB), or, for mmap, exceed every TASK_SIZE.
  if (len >= WRAP - (1n << 21n)) return null;
  if (c.op === 'mmap' && len >= 1n << 63n) return null;
  if (c.op === 'mmap' && c.addr === null) {
    return len <= arenaBytes ? null : `mmap length ${len} exceeds the arena; use a length of at least 2^63 to test ENOMEM`;
  }
  const end = ((start + len + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE)) * BigInt(PAGE_SIZE);
  if (end > arenaBytes) return `range [A+${start}, +${len}) ends outside the ${arenaPages}-page arena`;
  if (len > U64_MAX) return 'length exceeds u64';
  return null;
}

/** JSON Schema for editors (written to schema/sequence.schema.json by `npm run build`). */
export function sequenceJsonSchema(): unknown {
  return z.toJSONSchema(sequenceSchema, { io: 'input', unrepresentable: 'any' });
}
