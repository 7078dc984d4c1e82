// The versioned corpus format. A corpus file is untrusted input (people attach them to bug
// reports), so validation does more than check types: every range must stay inside the file's own
// arena, except for the "invalid" lengths that the kernel rejects before touching any VMA (0, or a
// length that wraps the address space). That way replaying a file can only ever affect the arena
// of the forked child that runs it.

import { z } from 'zod';
import { MADV, MAP, REFUSED_ADVICE, REFUSED_ADVICE_NAMES, MLOCK, MREMAP, PROT, PAGE_SIZE, UFFD_FEATURE, UFFDIO_REGISTER_MODE } from './consts.js';
import { addrField, nonNullAddrField } from './addr-fields.js';
import { type Addr, addrBytes, parseFlags, parseLen, U64_MAX } from './values.js';
import { F_SEAL, MFD } from './seals.js';
import { MAX_SHM, shmArenaProblem, shmatCall, shmdtCall, shmSegSchema } from './schema-sysv.js';
import { threadsProblems } from './threads.js';
import { failNthField } from './fail-nth.js';

export const FORMAT_VERSION = 1;
export const MAX_ARENA_PAGES = 4096;
export const MAX_CALLS = 4096;
/**
 * Bound on calls x arenaPages: every call is followed by a snapshot of the whole arena (maps lines,
 * VmFlags, one pagemap entry per page) in the kernel run and in the model, so the product bounds
 * memory and time. Measured (replay, 2 loaded CPUs): 512 calls on 512 pages 3.4 s / 220 MB RSS,
 * 4095 calls on 64 pages 8.3 s / 260 MB; 4096 calls on 4096 pages was 145 s / 2.9 GB and overflowed
 * the harness's 32 MiB of output.
 */
export const MAX_CALL_PAGES = 1 << 18;
export const MAX_FILES = 8;
export const MAX_UFFDS = 4;
/** concurrent sequences (src/seq/threads.ts): racing threads and maps readers */
export const MAX_THREADS = 4;
export const MAX_READERS = 2;

const nonNullAddr = nonNullAddrField('NULL is only allowed as the mmap hint and the mremap new address');
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
  fd: z.number().int().min(0).max(MAX_FILES - 1).optional().describe('index into "files"; absent = anonymous (fd -1)'),
  offset: lenField.optional().describe('file offset in bytes (anonymous mappings ignore it but it is still checked)'),
});
const rangeFields = { addr: nonNullAddr, len: lenField };
const munmapCall = z.strictObject({ op: z.literal('munmap'), ...rangeFields });
const mprotectCall = z.strictObject({ op: z.literal('mprotect'), ...rangeFields, prot: flagsField(PROT) });
const touchCall = z.strictObject({
  op: z.literal('touch'),
  addr: nonNullAddr,
  access: z.enum(['read', 'write', 'exec']).describe('one byte read, one byte write (0x5a? see harness), or a single-stepped instruction fetch'),
});
const adviceField = z.string().transform((s, ctx): number => {
  const r = parseAdvice(s);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});

/** madvise's advice is an int: a name (own keys only), a decimal in int range or its 32-bit hex pattern; never a refused one. */
export function parseAdvice(s: string): number | string {
  let v: number;
  if (Object.hasOwn(MADV, s)) v = MADV[s as keyof typeof MADV];
  else if (Object.hasOwn(REFUSED_ADVICE_NAMES, s)) v = REFUSED_ADVICE_NAMES[s]!;
  else if (/^0x[0-9a-f]{1,8}$/.test(s)) v = Number(s) | 0; // hex is the int's 32-bit pattern: 0xffffffff = -1
  else if (/^-?\d{1,10}$/.test(s)) {
    v = Number(s);
    if (v > 0x7fffffff || v < -0x80000000) return `advice ${s} is outside int range (madvise takes an int; no silent wrap at 32 bits)`;
  } else return `unknown advice ${JSON.stringify(s)} (an MADV_* name or an int)`;
  const refused = REFUSED_ADVICE.get(v);
  return refused ? `refused: ${refused}, outside the arena` : v;
}
const madviseCall = z.strictObject({ op: z.literal('madvise'), ...rangeFields, advice: adviceField });
const mremapCall = z.strictObject({
  op: z.literal('mremap'),
  addr: nonNullAddr,
  oldLen: lenField,
  newLen: lenField,
  flags: flagsField(MREMAP),
  newAddr: addrField.optional().describe('MREMAP_FIXED / MREMAP_DONTUNMAP destination; absent = NULL'),
});
const mlockCall = z.strictObject({ op: z.literal('mlock'), ...rangeFields });
const mlock2Call = z.strictObject({ op: z.literal('mlock2'), ...rangeFields, flags: flagsField(MLOCK) });
const munlockCall = z.strictObject({ op: z.literal('munlock'), ...rangeFields });
const msealCall = z.strictObject({ op: z.literal('mseal'), ...rangeFields, flags: flagsField({}) });
const anonNameCall = z.strictObject({
  op: z.literal('anon_name'),
  ...rangeFields,
  name: z.string().max(256).nullable().describe('prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME) name; null clears'),
});
const ftruncateCall = z.strictObject({ op: z.literal('ftruncate'), file: z.number().int().min(0).max(MAX_FILES - 1), len: lenField });
const uffdCreateCall = z.strictObject({
  op: z.literal('uffd_create'),
  features: flagsField(UFFD_FEATURE).describe('UFFDIO_API features; the handle is the index of this call among uffd_create calls'),
});
const uffdRegisterCall = z.strictObject({
  op: z.literal('uffd_register'),
  uffd: z.number().int().min(0).max(MAX_UFFDS - 1),
  ...rangeFields,
  mode: flagsField(UFFDIO_REGISTER_MODE),
});
const uffdUnregisterCall = z.strictObject({ op: z.literal('uffd_unregister'), uffd: z.number().int().min(0).max(MAX_UFFDS - 1), ...rangeFields });
const forkCall = z
  .strictObject({
    op: z.literal('fork'),
    until: z.literal('exit').optional().describe('"exit": the child runs the calls up to the matching exit call and _exits, then the parent goes on'),
  })
  .describe('without until: the child continues the sequence while the parent waits');
const exitCall = z.strictObject({ op: z.literal('exit') }).describe('ends the child of the open fork {until: "exit"}; its result is the child\'s wait status, recorded by the parent');
const addSealsCall = z.strictObject({
  op: z.literal('add_seals'),
  file: z.number().int().min(0).max(MAX_FILES - 1),
  seals: flagsField(F_SEAL).describe('fcntl(fd, F_ADD_SEALS, seals): F_SEAL_* names joined by "|", or hex'),
});
const probeCall = z.strictObject({
  op: z.literal('probe'),
  addr: nonNullAddr,
}).describe('read the byte at addr; the result is the byte (0-255), or the fault as the signal');

/** Fault injection (src/seq/fail-nth.ts): every system call may carry `failNth` (not the fork
 *  block's `exit`, nor `probe`, which are no system calls; `touch` is refused below). */
const FAIL_NTH_FIELD = { failNth: failNthField };
const CALLS_WITH_FAIL_NTH = [
  mmapCall.extend(FAIL_NTH_FIELD), munmapCall.extend(FAIL_NTH_FIELD), mprotectCall.extend(FAIL_NTH_FIELD), touchCall.extend(FAIL_NTH_FIELD),
  madviseCall.extend(FAIL_NTH_FIELD), mremapCall.extend(FAIL_NTH_FIELD), mlockCall.extend(FAIL_NTH_FIELD), mlock2Call.extend(FAIL_NTH_FIELD),
  munlockCall.extend(FAIL_NTH_FIELD), msealCall.extend(FAIL_NTH_FIELD), anonNameCall.extend(FAIL_NTH_FIELD), ftruncateCall.extend(FAIL_NTH_FIELD),
  uffdCreateCall.extend(FAIL_NTH_FIELD), uffdRegisterCall.extend(FAIL_NTH_FIELD), uffdUnregisterCall.extend(FAIL_NTH_FIELD), forkCall.extend(FAIL_NTH_FIELD),
  exitCall.extend(FAIL_NTH_FIELD), addSealsCall.extend(FAIL_NTH_FIELD), probeCall.extend(FAIL_NTH_FIELD), shmatCall.extend(FAIL_NTH_FIELD), shmdtCall.extend(FAIL_NTH_FIELD),
] as const;

// every call with the optional failNth (a new call goes into CALLS_WITH_FAIL_NTH the same way)
export const callSchema = z.discriminatedUnion('op', CALLS_WITH_FAIL_NTH);
export type Call = z.output<typeof callSchema>;
export type CallInput = z.input<typeof callSchema>;
export type Op = Call['op'];
export const OPS: readonly Op[] = [
  'mmap', 'munmap', 'mprotect', 'touch', 'madvise', 'mremap', 'mlock', 'mlock2', 'munlock', 'mseal',
  'anon_name', 'ftruncate', 'uffd_create', 'uffd_register', 'uffd_unregister', 'fork', 'exit', 'add_seals', 'probe',
  'shmat', 'shmdt',
];

/** A file the sequence declares; the harness creates it privately (never a host path). */
export const fileSchema = z
  .strictObject({
    kind: z
      .enum(['memfd', 'tmpfs', 'hugetlb', 'ext4', 'xfs', 'btrfs'])
      .describe('memfd_create, memfd_create(MFD_HUGETLB) (2 MiB pages), or a file in a private directory of the harness (unlinked after open) on tmpfs or on a real ext4/xfs/btrfs filesystem'),
    size: lenField.refine((v) => v <= BigInt(MAX_ARENA_PAGES * PAGE_SIZE), { message: `file size must be at most ${MAX_ARENA_PAGES} pages` }),
    flags: flagsField(MFD).optional().describe('memfd_create flags (memfd only): MFD_ALLOW_SEALING, MFD_NOEXEC_SEAL, MFD_EXEC; absent = 0'),
    readOnly: z.boolean().optional().describe('open O_RDONLY (after creating it with its size and contents)'),
    fill: z
      .literal('pattern')
      .optional()
      .describe('contents: every byte of page k of file i (up to the size) is 0x80 | ((16*i + k) & 0x7f) (harness-c/fill.h); absent = a hole (zeroes); not for hugetlb (hugetlbfs has no write)'),
  })
  // fs/hugetlbfs/inode.c:hugetlbfs_setattr refuses a size off the 2 MiB grid: the harness could not create it
  .refine((f) => f.kind !== 'hugetlb' || f.size % (2n << 20n) === 0n, { message: 'a hugetlb file size must be a multiple of 2 MiB (512p)', path: ['size'] })
  // hugetlbfs has no write_iter: the harness cannot pre-fill it (fs/hugetlbfs/inode.c:hugetlbfs_file_operations)
  .refine((f) => f.kind !== 'hugetlb' || f.fill === undefined, { message: 'a hugetlb file cannot be pre-filled (hugetlbfs has no write)', path: ['fill'] });
export type FileDecl = z.output<typeof fileSchema>;

/** Flag tables of the ops whose `flags` field a known bug's `requires` may name. */
const REQUIRE_FLAGS: Partial<Record<Op, Record<string, number>>> = { mmap: MAP, mremap: MREMAP, mlock2: MLOCK };

/**
 * One call a known bug needs: the op, and optionally flags that must all be set (`flags`, names
 * joined by "|", for mmap, mremap and mlock2) or the advice (`advice`, madvise).
 */
export const requireSchema = z
  .strictObject({
    op: z.enum(OPS as [Op, ...Op[]]),
    flags: z.string().optional().describe('flag names joined by "|", all of which the call must set'),
    advice: z.string().optional().describe('an MADV_* name (madvise)'),
  })
  .transform((r, ctx) => {
    // `input` is kept so the tool writes the file back as written
    const out: { op: Op; flags?: number; advice?: number; text: string; input: typeof r } = { op: r.op, text: r.op + (r.flags ? `(${r.flags})` : '') + (r.advice ? `(${r.advice})` : ''), input: r };
    if (r.flags !== undefined) {
      const table = REQUIRE_FLAGS[r.op];
      const v = table ? parseFlags(r.flags, table) : `${r.op} has no flags a known bug can require`;
      if (typeof v === 'string') ctx.addIssue({ code: 'custom', path: ['flags'], message: v });
      else out.flags = v;
    }
    if (r.advice !== undefined) {
      if (r.op !== 'madvise' || !(Object.hasOwn(MADV, r.advice))) ctx.addIssue({ code: 'custom', path: ['advice'], message: `advice needs op madvise and an MADV_* name, got ${JSON.stringify(r.advice)}` });
      else out.advice = MADV[r.advice as keyof typeof MADV];
    }
    return out;
  });
export type Require = z.output<typeof requireSchema>;

/** Whether `c` is a call `r` asks for. */
export function callMeets(c: Call, r: Require): boolean {
  if (c.op !== r.op) return false;
  if (r.flags !== undefined && (!('flags' in c) || (c.flags & r.flags) !== r.flags)) return false;
  return r.advice === undefined || (c.op === 'madvise' && c.advice === r.advice);
}

/** Whether `calls` hold a call for each requirement. */
export function requiresMet(reqs: readonly Require[], calls: readonly Call[]): boolean {
  return reqs.every((r) => calls.some((c) => callMeets(c, r)));
}

/**
 * A regression file that pins a known kernel bug: replaying it still diverges (and is reported) on
 * the kernels that have the bug; the label only says what it is. A bug is never a model profile row.
 * A finding is labelled with it only when its (minimized) sequence has every `requires` call up to
 * its divergent call AND its signature is one of `signatures` or its signature text matches one of
 * `patterns` (src/findings/known.ts): a divergence of the same shape with another cause is not it.
 */
export const knownSchema = z.strictObject({
  kind: z.literal('kernel-bug'),
  summary: z.string().max(400),
  reference: z.string().max(400).describe('kernel source function, commit or report that explains it'),
  seenIn: z.array(z.string().regex(/^\d+\.\d+(\.\d+)?$/)).min(1).describe('kernel versions where it was observed; replaying there must diverge'),
  fixedIn: z.string().regex(/^\d+\.\d+(\.\d+)?$/).optional().describe('a release whose source has the fix, when known'),
  requires: z
    .array(requireSchema)
    .min(1)
    .max(8)
    .describe('calls (op, flags, advice) without which a sequence cannot exhibit the bug; the file itself must have them all'),
  signatures: z
    .array(z.string().regex(/^[0-9a-f]{16}$/))
    .max(16)
    .optional()
    .describe('divergence signatures replaying it gives (src/compare/signature.ts); campaign findings with one of them (and the required calls) are labelled with this bug'),
  patterns: z
    .array(z.string().regex(/^[a-z]+\|[a-z_0-9]+\|[^|]+\|[a-z0-9_.]+(,[a-z0-9_.]+)*$/, 'layer|op|kind|rule,rule,... (a signature text whose rules, at least one, must all be present)'))
    .max(8)
    .optional()
    .describe('signature texts (layer|op|kind|decisive rules) that mean this bug whatever other rules come along (with the required calls); its own replay must match one'),
});
export type Known = z.output<typeof knownSchema>;

/** A concurrent sequence's barrier: every racing thread waits at its k-th sync for all the others (src/seq/threads.ts). */
const syncCall = z.strictObject({ op: z.literal('sync') });
export const threadCallSchema = z.union([syncCall, callSchema]);
export type ThreadCall = z.output<typeof threadCallSchema>;
const threadSchema = z.strictObject({ calls: z.array(threadCallSchema).min(1) });

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
    known: knownSchema.optional(),
    files: z.array(fileSchema).max(MAX_FILES).optional(),
    shm: z.array(shmSegSchema).max(MAX_SHM).optional().describe('SysV segments the harness creates privately (shmget IPC_PRIVATE) and removes after the sequence'),
    calls: z.array(callSchema).max(MAX_CALLS),
    threads: z
      .array(threadSchema)
      .min(2)
      .max(MAX_THREADS)
      .optional()
      .describe('a concurrent sequence: after `calls` (the serial setup), these lists run in racing threads started together (src/seq/threads.ts)'),
    readers: z.number().int().min(0).max(MAX_READERS).optional().describe('threads reading /proc/self/maps (the second one /proc/self/smaps) over and over while the racing threads run'),
  })
  .superRefine((seq, ctx) => {
    threadsProblems(seq, (path, message) => ctx.addIssue({ code: 'custom', path, message }));
    const nfiles = seq.files?.length ?? 0;
    let uffds = 0;
    seq.calls.forEach((c, i) => {
      const problem = c.op === 'shmat' || c.op === 'shmdt' ? shmArenaProblem(c, seq.arenaPages, seq.shm) : arenaProblem(c, seq.arenaPages);
      if (problem) ctx.addIssue({ code: 'custom', path: ['calls', i], message: problem });
      const file = c.op === 'mmap' ? c.fd : c.op === 'ftruncate' || c.op === 'add_seals' ? c.file : undefined;
      if (file !== undefined && file >= nfiles) ctx.addIssue({ code: 'custom', path: ['calls', i, c.op === 'mmap' ? 'fd' : 'file'], message: `file ${file} is not declared (the sequence declares ${nfiles} file(s))` });
      // a mapping of a hugetlb file (without MAP_ANONYMOUS) is rounded up to 2 MiB as well
      if (c.op === 'mmap' && c.fd !== undefined && !(c.flags & MAP.MAP_ANONYMOUS) && seq.files?.[c.fd]?.kind === 'hugetlb') {
        const huge = hugeFixedProblem(c, seq.arenaPages);
        if (huge) ctx.addIssue({ code: 'custom', path: ['calls', i], message: huge });
      }
      if (c.op === 'uffd_create') uffds++;
      if ((c.op === 'uffd_register' || c.op === 'uffd_unregister') && c.uffd >= uffds) ctx.addIssue({ code: 'custom', path: ['calls', i, 'uffd'], message: `userfaultfd ${c.uffd} has not been created by an earlier uffd_create` });
      if (c.op === 'uffd_create' && uffds > MAX_UFFDS) ctx.addIssue({ code: 'custom', path: ['calls', i], message: `at most ${MAX_UFFDS} userfaultfds per sequence` });
    });
    if (seq.known && !requiresMet(seq.known.requires, seq.calls)) {
      const miss = seq.known.requires.filter((r) => !seq.calls.some((c) => callMeets(c, r))).map((r) => r.text);
      ctx.addIssue({ code: 'custom', path: ['known', 'requires'], message: `the file's own calls lack ${miss.join(', ')}` });
    }
    if (seq.calls.length * seq.arenaPages > MAX_CALL_PAGES) {
      ctx.addIssue({ code: 'custom', path: ['calls'], message: `${seq.calls.length} calls on a ${seq.arenaPages}-page arena: calls x arenaPages = ${seq.calls.length * seq.arenaPages} is over the limit of ${MAX_CALL_PAGES} (every call snapshots the whole arena; split the sequence or use a smaller arena)` });
    }
    if (seq.calls.filter((c) => c.op === 'fork').length > 4) ctx.addIssue({ code: 'custom', path: ['calls'], message: 'at most 4 fork calls per sequence' });
    forkBlockProblems(seq.calls).forEach(([i, message]) => ctx.addIssue({ code: 'custom', path: ['calls', i], message }));
    seq.files?.forEach((f, i) => {
      if (f.flags !== undefined && f.kind !== 'memfd') ctx.addIssue({ code: 'custom', path: ['files', i, 'flags'], message: 'memfd_create flags need kind memfd' });
    });
    seq.calls.forEach((c, i) => {
      if ((c.op === 'exit' || c.op === 'probe') && c.failNth !== undefined) ctx.addIssue({ code: 'custom', path: ['calls', i, 'failNth'], message: `failNth needs a system call; ${c.op} is none` });
      if (c.op === 'touch' && c.failNth !== undefined) ctx.addIssue({ code: 'custom', path: ['calls', i, 'failNth'], message: 'failNth needs a system call; a failed allocation in a page fault is the OOM path, not an error return' });
    });
  });

/**
 * A fork {until: "exit"} opens a block that the next exit call closes (the child runs the calls in
 * between); blocks do not nest and hold no fork at all. A block left open runs to the end of the
 * sequence, like a plain fork. Returns [call index, problem] pairs.
 */
export function forkBlockProblems(calls: readonly Call[]): [number, string][] {
  const out: [number, string][] = [];
  let open = -1;
  calls.forEach((c, i) => {
    if (c.op === 'fork' && open >= 0) out.push([i, `fork inside the child block of the fork at call ${open} (blocks do not nest)`]);
    else if (c.op === 'fork' && c.until === 'exit') open = i;
    else if (c.op === 'exit') {
      if (open < 0) out.push([i, 'exit without an open fork {until: "exit"} before it']);
      open = -1;
    }
  });
  return out;
}

/** The index of the exit call that closes the block of the fork at `i`, or -1 (open to the end). */
export function blockEnd(calls: readonly Call[], i: number): number {
  const c = calls[i];
  if (!c || c.op !== 'fork' || c.until !== 'exit') return -1;
  for (let j = i + 1; j < calls.length; j++) if (calls[j]!.op === 'exit') return j;
  return -1;
}
export type Sequence = z.output<typeof sequenceSchema>;
export type SequenceInput = z.input<typeof sequenceSchema>;

const WRAP_MIN = (1n << 64n) - (1n << 21n);

/** Why a call could reach outside its arena, or null when it cannot. */
export function arenaProblem(c: Call, arenaPages: number): string | null {
  const arenaBytes = BigInt(arenaPages) * BigInt(PAGE_SIZE);
  const inside = (a: Addr) => addrBytes(a) < arenaBytes || (a.page === arenaPages && a.off === 0);
  switch (c.op) {
    case 'fork':
    case 'exit':
    case 'add_seals':
    case 'uffd_create':
    case 'ftruncate':
      return null;
    case 'shmat':
      return null; // needs the segment sizes: shmArenaProblem (src/seq/schema-sysv.ts)
    case 'shmdt':
      return shmArenaProblem(c, arenaPages, undefined);
    case 'touch':
    case 'probe':
      return c.addr.page < arenaPages ? null : `${c.op} address outside the ${arenaPages}-page arena`;
    case 'mremap': {
      const src = rangeProblem(c.addr, c.oldLen, arenaBytes, arenaPages, false, inside);
      if (src) return src;
      if (!c.newAddr) {
        if (c.flags & (MREMAP.MREMAP_FIXED | MREMAP.MREMAP_DONTUNMAP) && c.flags & MREMAP.MREMAP_FIXED) return 'MREMAP_FIXED needs a newAddr inside the arena';
        // The kernel picks the destination (top-down from the arena top, or in place).
        return c.newLen <= arenaBytes || c.newLen >= 1n << 63n ? null : `mremap new length ${c.newLen} exceeds the arena`;
      }
      return rangeProblem(c.newAddr, c.newLen, arenaBytes, arenaPages, true, inside);
    }
    default:
      if (c.op === 'mmap' && c.addr === null && c.flags & (MAP.MAP_FIXED | MAP.MAP_FIXED_NOREPLACE)) {
        return 'MAP_FIXED or MAP_FIXED_NOREPLACE at NULL would map page 0, outside the arena';
      }
      if (c.op === 'mmap' && c.flags & MAP.MAP_HUGETLB) {
        const huge = hugeFixedProblem(c, arenaPages);
        if (huge) return huge;
      }
      if (c.addr === null) {
        if (c.len === 0n || c.len >= 1n << 63n) return null;
        return c.len <= arenaBytes ? null : `mmap length ${c.len} exceeds the arena; use a length of at least 2^63 to test ENOMEM`;
      }
      return rangeProblem(c.addr, c.len, arenaBytes, arenaPages, c.op === 'mmap', inside);
  }
}

/** mm/mmap.c:ksys_mmap_pgoff rounds the length of a MAP_HUGETLB mapping, or of any mapping of a
 *  hugetlbfs file, up to the huge page size (2 MiB; the model declines other sizes): a fixed one
 *  must stay inside the arena with it. */
export function hugeFixedProblem(c: Call, arenaPages: number): string | null {
  if (c.op !== 'mmap' || !(c.flags & (MAP.MAP_FIXED | MAP.MAP_FIXED_NOREPLACE)) || c.addr === null || c.len === 0n || c.len >= 1n << 40n) return null;
  const HUGE = 2n << 20n;
  const hlen = ((c.len + HUGE - 1n) / HUGE) * HUGE;
  if (addrBytes(c.addr) + hlen <= BigInt(arenaPages) * BigInt(PAGE_SIZE)) return null;
  return `hugetlb MAP_FIXED range at A+${c.addr.page}p, rounded up to 2 MiB, ends outside the ${arenaPages}-page arena`;
}

function rangeProblem(a: Addr, len: bigint, arenaBytes: bigint, arenaPages: number, hugeOk: boolean, inside: (a: Addr) => boolean): string | null {
  if (!inside(a)) return `address A+${a.page}p lies outside the ${arenaPages}-page arena`;
  if (len === 0n) return null;
  // Lengths the kernel rejects before looking at any VMA: they wrap the 64-bit address space once
  // the arena base (always above 2 MiB) is added, so start + len < start (mm/mprotect.c
  // do_mprotect_pkey "end <= start", mm/madvise.c "end < start", mm/mlock.c apply_vma_lock_flags,
  // mm/mseal.c do_mseal), or, for mmap and mremap destinations, exceed every TASK_SIZE. The
  // boundary is the model's (src/model/syscalls.ts classifyLen: wraps = len > 2^64 - 2^21).
  if (len > U64_MAX) return 'length exceeds u64';
  if (len > WRAP_MIN) return null;
  if (hugeOk && len >= 1n << 63n) return null;
  const start = addrBytes(a);
  const end = ((start + len + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE)) * BigInt(PAGE_SIZE);
  if (end > arenaBytes) {
    if (len >= 1n << 40n) return `length 0x${len.toString(16)} reaches outside the ${arenaPages}-page arena without wrapping the address space from every arena base (only lengths above 0x${WRAP_MIN.toString(16)} do${hugeOk ? ', or at least 2^63 for a mapping' : ''})`;
    return `range [A+${start}, +${len}) ends outside the ${arenaPages}-page arena`;
  }
  return null;
}

/** JSON Schema for editors (written to schema/sequence.schema.json by `npm run build`). */
export function sequenceJsonSchema(): unknown {
  return z.toJSONSchema(sequenceSchema, { io: 'input', unrepresentable: 'any' });
}
