// Reading untrusted input files (corpus files, a campaign's JSON records). A name on the command
// line may be anything: a symlink to /dev/zero (never ends), a FIFO (blocks forever), a directory,
// a huge file, or someone else's secret. So: open without blocking, accept only a regular file,
// read at most a fixed size, and never quote the content back in an error message.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { z } from 'zod';
import { InputError } from './errors.js';

/** Largest input file read (4 MiB; a corpus file of MAX_CALLS calls is far below 1 MiB). */
export const MAX_INPUT_BYTES = 4 << 20;
/** Largest record of a campaign directory read back (detail.json holds whole observations). */
export const MAX_RECORD_BYTES = 64 << 20;

function kindOf(st: import('node:fs').Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** The text of a regular file of at most `max` bytes, else an InputError naming the file. */
export function readInputFile(file: string, max = MAX_INPUT_BYTES): string {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO without a writer must not hang (it is refused below anyway).
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new InputError(file, '', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new InputError(file, '', `${kindOf(st)}, not a regular file: refused`);
    if (st.size > max) throw new InputError(file, '', `${st.size} bytes: larger than the ${max}-byte limit for input files`);
    const buf = Buffer.alloc(Math.min(st.size, max) + 1);
    let n = 0;
    for (;;) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
      if (n > max) throw new InputError(file, '', `larger than the ${max}-byte limit for input files`);
      if (n === buf.length) break; // grew while reading: the next round sees n > max or EOF
    }
    return buf.subarray(0, n).toString('utf8');
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(file, '', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  } finally {
    closeSync(fd);
  }
}

/** JSON.parse with an error that gives the position only: V8's message quotes the text. */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /^(.*) in JSON at position (\d+)/.exec(msg);
    if (text.trim() === '') throw new InputError(file, '', 'not valid JSON: the file is empty');
    if (!m) {
      const first = text.trimStart()[0];
      if (first !== '{' && first !== '[') throw new InputError(file, '', 'not valid JSON: it does not start with "{"');
      throw new InputError(file, '', 'not valid JSON: it ends early or holds an unexpected token');
    }
    const pos = Number(m[2]);
    const what = m[1]!.includes('"') || m[1]!.includes("'") ? '' : `: ${m[1]}`; // a quoting message quotes the file
    const before = text.slice(0, pos);
    const line = before.split('\n').length;
    const col = pos - before.lastIndexOf('\n');
    throw new InputError(file, '', `not valid JSON at line ${line}, column ${col}${what}`);
  }
}

/** The JSON path of a zod issue, as `$.calls[3].len`. */
export function jsonPathOf(path: readonly PropertyKey[]): string {
  return '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** Read, parse and validate a JSON file; every failure is an InputError naming the file. */
export function readJsonFile<T extends z.ZodType>(file: string, schema: T): z.output<T> {
  const json = parseJsonText(readInputFile(file), file);
  const r = schema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    throw new InputError(file, jsonPathOf(issue.path), issue.message);
  }
  return r.data;
}
