// Reading and writing corpus files. Writes are atomic (temp file + rename) so a campaign killed at
// any moment never leaves a half-written finding behind.

import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { jsonPathOf, parseJsonText, readInputFile } from '../util/input.js';
import { adviceName, MAP, MLOCK, MREMAP, PROT, UFFD_FEATURE, UFFDIO_REGISTER_MODE, type FlagTable } from './consts.js';
import { FORMAT_VERSION, MAX_CALLS, type Call, type CallInput, type Sequence, type SequenceInput, sequenceSchema } from './schema.js';
import { addrToString, lenToString, type Addr } from './values.js';
import { flagsToString } from './consts.js';
import { F_SEAL, MFD } from './seals.js';
import { SHM } from './schema-sysv.js';

export { jsonPathOf };

/** Validate already-parsed JSON; `file` is only used in the error message. */
export function parseSequence(json: unknown, file: string): Sequence {
  if (json && typeof json === 'object' && 'vmafuzz' in json && (json as { vmafuzz: unknown }).vmafuzz !== FORMAT_VERSION) {
    throw new InputError(file, '$.vmafuzz', `unsupported corpus format version ${JSON.stringify((json as { vmafuzz: unknown }).vmafuzz)} (this vmafuzz reads version ${FORMAT_VERSION})`);
  }
  // Before zod walks (and reports on) every element of a huge array.
  const calls = json && typeof json === 'object' ? (json as { calls?: unknown }).calls : undefined;
  if (Array.isArray(calls) && calls.length > MAX_CALLS) throw new InputError(file, '$.calls', `${calls.length} calls: at most ${MAX_CALLS} per sequence`);
  const r = sequenceSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError(file, jsonPathOf(issue.path), issue.message);
  }
  return r.data;
}

/** A corpus file: a regular file of at most MAX_INPUT_BYTES (src/util/input.ts), valid JSON, valid sequence. */
export function loadSequenceFile(file: string): Sequence {
  return parseSequence(parseJsonText(readInputFile(file), file), file);
}

/** Load several corpus files; every bad one is an entry of `bad` (none stops the others). */
export function loadSequenceFiles(files: readonly string[]): { good: { file: string; seq: Sequence }[]; bad: InputError[] } {
  const good: { file: string; seq: Sequence }[] = [];
  const bad: InputError[] = [];
  for (const file of files) {
    try {
      good.push({ file, seq: loadSequenceFile(file) });
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      bad.push(e);
    }
  }
  return { good, bad };
}

/** How each numeric flag field is written in corpus files. */
export const FLAG_FIELDS: Readonly<Record<string, { table: FlagTable; zero: string }>> = {
  prot: { table: PROT, zero: 'PROT_NONE' },
  mode: { table: UFFDIO_REGISTER_MODE, zero: '0' },
  features: { table: UFFD_FEATURE, zero: '0' },
  seals: { table: F_SEAL, zero: '0' },
};
const OP_FLAGS: Readonly<Partial<Record<Call['op'], FlagTable>>> = { mmap: MAP, mremap: MREMAP, mlock2: MLOCK, mseal: {}, shmat: SHM };

export function callToInput(c: Call): CallInput {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) {
    if (v === undefined) continue;
    if (k === 'addr' || k === 'newAddr') o[k] = addrToString(v as Addr | null);
    else if (typeof v === 'bigint') o[k] = lenToString(v);
    else if (k === 'advice') o[k] = adviceName(v as number);
    else if (k === 'flags') o[k] = flagsToString(v as number, OP_FLAGS[c.op] ?? {});
    else if (k in FLAG_FIELDS) o[k] = flagsToString(v as number, FLAG_FIELDS[k]!.table, FLAG_FIELDS[k]!.zero);
    else o[k] = v;
  }
  return o as CallInput;
}

export function sequenceToInput(s: Sequence): SequenceInput {
  // Key order is fixed so that files written by the tool diff cleanly.
  const o: SequenceInput = { vmafuzz: FORMAT_VERSION, arenaPages: s.arenaPages, calls: [] };
  if (s.name !== undefined) o.name = s.name;
  if (s.description !== undefined) o.description = s.description;
  if (s.origin !== undefined) o.origin = s.origin;
  const { vmafuzz, name, description, arenaPages, origin } = o;
  const known = s.known && { ...s.known, requires: s.known.requires.map((r) => r.input) };
  const files = s.files?.map((f) => ({
    kind: f.kind,
    size: lenToString(f.size),
    ...(f.readOnly !== undefined ? { readOnly: f.readOnly } : {}),
    ...(f.flags !== undefined ? { flags: flagsToString(f.flags, MFD) } : {}),
    ...(f.fill !== undefined ? { fill: f.fill } : {}),
  }));
  const shm = s.shm?.map((x) => ({ size: lenToString(x.size) }));
  const out: SequenceInput = { vmafuzz, name, description, arenaPages, origin, known, files, shm, calls: s.calls.map(callToInput) };
  // concurrent sequences (src/seq/threads.ts): a sync entry has nothing to convert
  if (s.threads) out.threads = s.threads.map((t) => ({ calls: t.calls.map((c) => (c.op === 'sync' ? c : callToInput(c))) }));
  if (s.readers !== undefined) out.readers = s.readers;
  return out;
}

export function sequenceToJson(s: Sequence): string {
  return JSON.stringify(sequenceToInput(s), null, 2) + '\n';
}

export function writeSequenceFile(file: string, s: Sequence): void {
  writeFileAtomic(file, sequenceToJson(s));
}
