// Reading and writing corpus files. Writes are atomic (temp file + rename) so a campaign killed at
// any moment never leaves a half-written finding behind.

import { readFileSync } from 'node:fs';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { MAP, PROT } from './consts.js';
import { FORMAT_VERSION, type Call, type CallInput, type Sequence, type SequenceInput, sequenceSchema } from './schema.js';
import { addrToString, lenToString } from './values.js';
import { flagsToString } from './consts.js';

export function jsonPathOf(path: readonly PropertyKey[]): string {
  return '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** Validate already-parsed JSON; `file` is only used in the error message. */
export function parseSequence(json: unknown, file: string): Sequence {
  if (json && typeof json === 'object' && 'vmafuzz' in json && (json as { vmafuzz: unknown }).vmafuzz !== FORMAT_VERSION) {
    throw new InputError(file, '$.vmafuzz', `unsupported corpus format version ${JSON.stringify((json as { vmafuzz: unknown }).vmafuzz)} (this vmafuzz reads version ${FORMAT_VERSION})`);
  }
  const r = sequenceSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError(file, jsonPathOf(issue.path), issue.message);
  }
  return r.data;
}

export function loadSequenceFile(file: string): Sequence {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(file, '', `cannot read: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new InputError(file, '', `not valid JSON: ${(e as Error).message}`);
  }
  return parseSequence(json, file);
}

export function callToInput(c: Call): CallInput {
  switch (c.op) {
    case 'mmap': {
      const o: CallInput = { op: 'mmap', addr: addrToString(c.addr), len: lenToString(c.len), prot: flagsToString(c.prot, PROT, 'PROT_NONE'), flags: flagsToString(c.flags, MAP) };
      if (c.offset !== undefined) o.offset = lenToString(c.offset);
      return o;
    }
    case 'munmap':
      return { op: 'munmap', addr: addrToString(c.addr), len: lenToString(c.len) };
    case 'mprotect':
      return { op: 'mprotect', addr: addrToString(c.addr), len: lenToString(c.len), prot: flagsToString(c.prot, PROT, 'PROT_NONE') };
    case 'touch':
      return { op: 'touch', addr: addrToString(c.addr), access: c.access };
  }
}

export function sequenceToInput(s: Sequence): SequenceInput {
  // Key order is fixed so that files written by the tool diff cleanly.
  const o: SequenceInput = { vmafuzz: FORMAT_VERSION, arenaPages: s.arenaPages, calls: [] };
  if (s.name !== undefined) o.name = s.name;
  if (s.description !== undefined) o.description = s.description;
  if (s.origin !== undefined) o.origin = s.origin;
  const { vmafuzz, name, description, arenaPages, origin } = o;
  return { vmafuzz, name, description, arenaPages, origin, calls: s.calls.map(callToInput) };
}

export function sequenceToJson(s: Sequence): string {
  return JSON.stringify(sequenceToInput(s), null, 2) + '\n';
}

export function writeSequenceFile(file: string, s: Sequence): void {
  writeFileAtomic(file, sequenceToJson(s));
}
