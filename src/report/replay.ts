// Replay commands as reports show them: runnable from any directory. A recorded command names its
// sequence file relative to the directory vmafuzz ran in, which a reader of a report (or of a
// campaign copied elsewhere) does not know; reports show the file as an absolute path instead.

import { existsSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';

/** A path quoted for a POSIX shell when it needs to be. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const SHAPE = /^(vmafuzz \w+ )('(?:[^']|'\\'')*'|\S+?\.json|\S+)(.*)$/s;

/** The file argument of `vmafuzz <command> FILE <options>`, unquoted, and the options after it. */
export function splitReplay(cmd: string): { prefix: string; file: string; rest: string } | null {
  const m = SHAPE.exec(cmd);
  if (!m) return null;
  const q = m[2]!;
  const file = q.startsWith("'") ? q.slice(1, -1).replace(/'\\''/g, "'") : q;
  return { prefix: m[1]!, file, rest: m[3]! };
}

/**
 * The command with its file made absolute: against `cwd` (the directory the command was made in),
 * or, for a recorded finding, the sample of the same name in `findingDir` (campaigns move).
 * Returns null when no absolute form is known (the caller then explains the relative one).
 */
export function absoluteReplay(cmd: string, opts: { cwd?: string; findingDir?: string }): string | null {
  const s = splitReplay(cmd);
  if (!s) return null;
  let abs: string | null = null;
  if (opts.findingDir && existsSync(join(opts.findingDir, basename(s.file)))) abs = join(opts.findingDir, basename(s.file));
  else if (isAbsolute(s.file)) abs = s.file;
  else if (opts.cwd) abs = resolve(opts.cwd, s.file);
  return abs === null ? null : `${s.prefix}${shellQuote(abs)}${s.rest}`;
}
