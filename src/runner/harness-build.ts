// Finds or builds the static C harness on first use. A prebuilt binary can be named with
// VMAFUZZ_HARNESS; otherwise harness-c/*.c is compiled with $CC (or cc/gcc/clang) into
// harness-c/build/harness, again whenever any source (*.c, *.h) is newer. Builds go to a temporary name and
// are renamed into place, so two processes building at once never expose a half-written binary.

import { accessSync, constants, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { CannotTestError } from '../util/errors.js';

// -pthread: concurrent sequences (threads.c); glibc before 2.34 keeps pthreads in a library of its own
export const HARNESS_CFLAGS = ['-static', '-O2', '-Wall', '-Wextra', '-pthread'];

/** The directory holding harness-c/ (works from src/ under vitest and from dist/). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'harness-c', 'harness.c'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new CannotTestError('cannot find harness-c/harness.c above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function findInPath(cmd: string, env: NodeJS.ProcessEnv): string | null {
  if (cmd.includes('/')) return isExecutable(cmd) ? cmd : null;
  for (const d of (env['PATH'] ?? '').split(delimiter)) {
    if (d && isExecutable(join(d, cmd))) return join(d, cmd);
  }
  return null;
}

/** The compiler command line ($CC may carry arguments, e.g. "ccache gcc"), or null. */
export function findCompiler(env: NodeJS.ProcessEnv = process.env): string[] | null {
  const cc = env['CC']?.trim();
  if (cc) {
    const words = cc.split(/\s+/);
    return findInPath(words[0]!, env) ? words : null;
  }
  for (const c of ['cc', 'gcc', 'clang']) if (findInPath(c, env)) return [c];
  return null;
}

function mtime(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return -1;
  }
}

let building: Promise<string> | null = null;

/** The harness sources: every .c file of harness-c/ (compiled together) and the headers. */
export function harnessSources(dir: string = join(projectRoot(), 'harness-c')): { c: string[]; all: string[] } {
  const names = readdirSync(dir).sort();
  const c = names.filter((n) => n.endsWith('.c')).map((n) => join(dir, n));
  return { c, all: [...c, ...names.filter((n) => n.endsWith('.h')).map((n) => join(dir, n))] };
}

/** Path to a harness binary that is up to date with its sources; builds it when needed. */
export function ensureHarness(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const prebuilt = env['VMAFUZZ_HARNESS'];
  if (prebuilt) {
    if (!isExecutable(prebuilt)) return Promise.reject(new CannotTestError(`VMAFUZZ_HARNESS=${prebuilt} is not an executable file`));
    return Promise.resolve(prebuilt);
  }
  if (env === process.env) return (building ??= build(env).finally(() => (building = null)));
  return build(env);
}

async function build(env: NodeJS.ProcessEnv): Promise<string> {
  const dir = join(projectRoot(), 'harness-c');
  const src = harnessSources(dir);
  const newest = Math.max(...src.all.map(mtime));
  let out = join(dir, 'build', 'harness');
  const fresh = (p: string) => mtime(p) >= newest && isExecutable(p);
  if (fresh(out)) return out;
  try {
    mkdirSync(dirname(out), { recursive: true });
    accessSync(dirname(out), constants.W_OK);
  } catch {
    // installed read-only: build into a per-user temporary directory instead
    out = join(tmpdir(), `vmafuzz-harness-${process.getuid?.() ?? 'u'}`, 'harness');
    mkdirSync(dirname(out), { recursive: true });
    if (fresh(out)) return out;
  }
  const cc = findCompiler(env);
  if (!cc) {
    throw new CannotTestError(
      env['CC'] ? `the C compiler CC=${env['CC']} was not found` : 'no C compiler found (tried cc, gcc, clang; set CC, or VMAFUZZ_HARNESS to a prebuilt harness)',
    );
  }
  const tmp = join(dirname(out), `.harness.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const r = await execa(cc[0]!, [...cc.slice(1), ...HARNESS_CFLAGS, '-o', tmp, ...src.c], { env, reject: false, all: true });
  if (r.failed || !isExecutable(tmp)) {
    rmSync(tmp, { force: true });
    const why = r.all?.trim() || r.message;
    throw new CannotTestError(
      `building the harness failed (${cc.join(' ')} ${HARNESS_CFLAGS.join(' ')}); a static C library is needed ` +
        `(glibc: libc6-dev or glibc-static):\n${why}`,
    );
  }
  renameSync(tmp, out);
  return out;
}
