// `vmafuzz repro`: a standalone C program (libc only, `cc -static`) that replays a sequence in the
// same fenced arena as the harness, prints the calls and the arena maps, and compares every
// result and every maps snapshot with the model's expectation embedded in it. Exit status: 0 the
// kernel behaves as the model expects, 1 it differs, 125 the arena cannot be set up (git bisect's
// "skip"). `kselftest: true` wraps the same code in a kselftest_harness TEST() instead of main().

import { canonicalizeFiles } from '../compare/compare.js';
import type { Prediction, Profile } from '../model/index.js';
import { adviceName, ERRNO, flagsToString, MADV, MAP, MLOCK, MREMAP, PAGE_SIZE, PROT, type FlagTable } from '../seq/consts.js';
import type { CallObs, MapsEntry } from '../seq/observation.js';
import { callLine, callToString } from '../seq/render.js';
import type { Call, Sequence } from '../seq/schema.js';
import type { Addr } from '../seq/values.js';
import { UsageError } from '../util/errors.js';
import { CALL_C, COMPARE_C, RUNTIME_C, TOUCH_C } from './repro-c-runtime.js';

export interface ReproInput {
  seq: Sequence;
  /** the model's prediction with a snapshot after every call (e.g. check.ts predictAgainst(..., true)) */
  model: Prediction;
  profile: Profile;
  /** where the expectation was computed (for the header) */
  target?: { runner: string; release: string };
  /** the corpus file it came from */
  source?: string;
  /** what that run showed, for the header: "maps at call 3: kernel-split (signature ...)" */
  observed?: string;
  kselftest?: boolean;
}

/** Names <sys/mman.h> has always had; others get an #ifndef fallback so old headers still build. */
const ALWAYS_DEFINED = new Set(['PROT_NONE', 'PROT_READ', 'PROT_WRITE', 'PROT_EXEC', 'MAP_SHARED', 'MAP_PRIVATE', 'MAP_FIXED', 'MAP_ANONYMOUS']);
const SYSCALL_FALLBACK: Readonly<Record<string, number>> = { SYS_mseal: 462, SYS_mlock2: 325 }; // x86-64

const P = BigInt(PAGE_SIZE);

/** A C comment body: nothing in it may close the comment. */
const commentSafe = (s: string) => s.replace(/\*\//g, '* /');

/** A C string literal (octal escapes: never greedy like \x). */
export function cString(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(b);
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (b >= 0x20 && b < 0x7f && !(ch === '?' && out.endsWith('?'))) out += ch; // no trigraphs
    else out += '\\' + b.toString(8).padStart(3, '0');
  }
  return out + '"';
}

class Emitter {
  readonly defines = new Map<string, string>();

  /** A flag set as C: "PROT_READ | PROT_WRITE", with a fallback #define for the rarer names. */
  flags(v: number, table: FlagTable, zero = '0'): string {
    const text = flagsToString(v, table, zero);
    if (text === '0' || /^0x/.test(text)) return text;
    return text
      .split('|')
      .map((name) => {
        if (name.startsWith('0x')) return name;
        if (!ALWAYS_DEFINED.has(name) && table[name] !== undefined) this.defines.set(name, '0x' + table[name]!.toString(16));
        return name;
      })
      .join(' | ');
  }

  addr(a: Addr | null): string {
    return a === null ? '0' : `A(${a.page}, ${a.off ? '0x' + a.off.toString(16) : '0'})`;
  }

  len(v: bigint): string {
    if (v > 0n && v % P === 0n && v < 1n << 40n) return `PAGES(${v / P})`;
    return v < 10n ? v.toString() : `0x${v.toString(16)}ULL`;
  }

  syscall(name: string): string {
    if (SYSCALL_FALLBACK[name] !== undefined) this.defines.set(name, String(SYSCALL_FALLBACK[name]));
    return name;
  }

  /** The C statement for call i. */
  call(i: number, c: Call): string {
    const sys = (nr: string, ...args: string[]) => `call(${i}, ${this.syscall(nr)}, ${[...args, '0', '0', '0', '0', '0', '0'].slice(0, 6).join(', ')});`;
    const prot = (p: number) => this.flags(p, PROT, 'PROT_NONE');
    switch (c.op) {
      case 'mmap':
        if (c.fd !== undefined) break;
        return sys('SYS_mmap', this.addr(c.addr), this.len(c.len), prot(c.prot), this.flags(c.flags, MAP), '-1', this.len(c.offset ?? 0n));
      case 'munmap':
        return sys('SYS_munmap', this.addr(c.addr), this.len(c.len));
      case 'mprotect':
        return sys('SYS_mprotect', this.addr(c.addr), this.len(c.len), prot(c.prot));
      case 'touch':
        if (c.access === 'exec') break;
        return `touch(${i}, ${this.addr(c.addr)}, '${c.access === 'write' ? 'w' : 'r'}');`;
      case 'madvise': {
        const name = adviceName(c.advice);
        if (name in MADV) this.defines.set(name, String(c.advice));
        return sys('SYS_madvise', this.addr(c.addr), this.len(c.len), name in MADV ? name : String(c.advice));
      }
      case 'mremap':
        return sys('SYS_mremap', this.addr(c.addr), this.len(c.oldLen), this.len(c.newLen), this.flags(c.flags, MREMAP), this.addr(c.newAddr ?? null));
      case 'mlock':
      case 'munlock':
        return sys(`SYS_${c.op}`, this.addr(c.addr), this.len(c.len));
      case 'mlock2':
        return sys('SYS_mlock2', this.addr(c.addr), this.len(c.len), this.flags(c.flags, MLOCK));
      case 'mseal':
        return sys('SYS_mseal', this.addr(c.addr), this.len(c.len), this.flags(c.flags, {}));
      case 'anon_name':
        return sys('SYS_prctl', 'PR_SET_VMA', 'PR_SET_VMA_ANON_NAME', this.addr(c.addr), this.len(c.len), c.name === null ? '0' : `(uint64_t)${cString(c.name)}`);
      default:
        break;
    }
    throw new UsageError(`the C reproducer cannot express call ${i} (${callToString(c)}) yet`);
  }
}

const kindOf = (c: Call) => (c.op === 'mmap' || c.op === 'mremap' ? 'a' : c.op === 'touch' ? 't' : 'i');

function expectC(o: CallObs): string {
  const r = o.ret;
  const ret = r.kind === 'int' ? `RET_INT, ${r.value}, 0, 0` : r.kind === 'addr' ? `RET_ADDR, 0, ${r.page}, ${r.off}` : 'RET_OUTSIDE, 0, 0, 0';
  return `{ ${ret}, ${o.errno}, ${o.signal} }`;
}

function vmaC(e: MapsEntry): string {
  const file = e.dev === 'file' ? e.inode : 0;
  return `{ ${e.start}, ${e.end}, ${cString(e.perms)}, 0x${e.offset.toString(16)}, ${file}, ${cString(e.name)} }`;
}

function testName(input: ReproInput): string {
  const base = input.seq.name ?? input.source?.replace(/^.*\//, '').replace(/\.json$/, '') ?? 'sequence';
  const id = base.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1').slice(0, 60);
  return `vmafuzz_${id || 'sequence'}`;
}

/** The reproducer's C source. Throws UsageError for calls it cannot express. */
export function renderReproC(input: ReproInput): string {
  const { seq, model, profile } = input;
  const em = new Emitter();
  const n = seq.calls.length;
  const nExpected = Math.min(model.calls.length, n);
  const statements = seq.calls.map((c, i) => em.call(i, c));
  const snaps = canonicalizeFiles(model.snapshots);
  const expectedMaps: MapsEntry[][] = [];
  for (let after = -1; after < nExpected; after++) {
    const s = snaps.find((x) => x.after === after);
    if (!s) throw new Error(`repro: the prediction has no maps snapshot after call ${after} (predict with snapshotEveryCall)`);
    expectedMaps.push(s.maps);
  }
  const maxVmas = Math.max(64, 2 * Math.max(0, ...expectedMaps.map((m) => m.length)) + 16);
  // Layers src/compare checks when both sides have them; this program reads maps only.
  const unchecked = [
    model.snapshots.some((x) => x.maps.some((e) => e.vmflags !== undefined)) ? 'smaps VmFlags' : '',
    model.snapshots.some((x) => x.pagemap !== undefined) ? 'pagemap' : '',
  ].filter(Boolean);
  const stopped = model.unsupported ? `the model cannot predict call ${model.unsupported.call}: ${model.unsupported.reason}` : '';
  const k = input.kselftest === true;

  const o: string[] = [];
  const w = (...l: string[]) => o.push(...l);
  w('// SPDX-License-Identifier: GPL-2.0', '/*');
  w(` * vmafuzz reproducer${input.source ? ` for ${commentSafe(input.source)}` : ''}${seq.name ? ` (${commentSafe(seq.name)})` : ''}`);
  if (seq.description) w(' *', ...wrap(commentSafe(seq.description), 95).map((l) => ` * ${l}`));
  w(' *');
  const where = input.target ? `${input.target.runner}, kernel ${input.target.release}` : `kernel ${profile.release}`;
  const intro =
    `Runs ${n} mm call${n === 1 ? '' : 's'} in a fresh ${seq.arenaPages}-page arena, fenced as the vmafuzz harness fences it, and compares ` +
    `every result and the arena's /proc/self/maps after every call with what the vmafuzz model of Linux VMA semantics expects ` +
    `for kernel ${profile.release} (THP ${profile.thp}${profile.softDirty ? ', soft-dirty' : ''}; computed on ${where}; where the kernel chose the ` +
    `address of a non-fixed mmap() legally, the model followed its choice). ` +
    (k ? 'The test fails at the first difference and prints it.' : 'Exit status: 0 the kernel behaves as expected, 1 it differs (the first difference is printed), 125 the arena cannot be set up.');
  w(...wrap(intro, 95).map((l) => ` * ${l}`));
  if (input.observed) w(' *', ...wrap(commentSafe(`On ${where}: ${input.observed}`), 95).map((l) => ` * ${l}`));
  if (unchecked.length) w(' *', ...wrap(`Not checked by this program (vmafuzz compares them too): ${unchecked.join(', ')}.`, 95).map((l) => ` * ${l}`));
  if (stopped) w(' *', ...wrap(commentSafe(`Not predicted: ${stopped}.`), 95).map((l) => ` * ${l}`));
  w(' *');
  if (k) w(' * Build: in tools/testing/selftests/mm, like the other kselftest_harness tests.');
  else w(' * Build: cc -static -O2 -Wall -o repro repro.c && ./repro');
  w(' *', ' * The calls (A = arena base, p = 4096-byte pages; "= x" is the result the model expects):');
  seq.calls.forEach((c, i) => w(` * ${String(i).padStart(4)}  ${commentSafe(i < nExpected ? callLine(c, model.calls[i]) : callToString(c) + ' (not predicted)')}`));
  w(' */', '');
  w('#define _GNU_SOURCE');
  if (k) w('#include "../kselftest_harness.h"');
  w('#include <errno.h>', '#include <fcntl.h>', '#include <setjmp.h>', '#include <signal.h>', '#include <stdarg.h>', '#include <stdint.h>', '#include <stdio.h>', '#include <stdlib.h>', '#include <string.h>');
  w('#include <sys/mman.h>', '#include <sys/prctl.h>', '#include <sys/syscall.h>', '#include <unistd.h>', '');
  w('#ifndef MAP_FIXED_NOREPLACE', '#define MAP_FIXED_NOREPLACE 0x100000', '#endif');
  w('#ifndef PR_SET_VMA', '#define PR_SET_VMA 0x53564d41', '#define PR_SET_VMA_ANON_NAME 0', '#endif');
  for (const [name, v] of em.defines) w(`#ifndef ${name}`, `#define ${name} ${v}`, '#endif');
  w('');
  w('#undef PAGE_SIZE', '#define PAGE_SIZE 4096UL', '#define PMD_SIZE (2UL << 20)', '#define WINDOW_BYTES (64UL << 20)\t/* the harness window */');
  w(`#define ARENA_PAGES ${seq.arenaPages}`, `#define NR_CALLS ${n}`, `#define NR_EXPECTED ${nExpected}\t/* calls the model predicts */`);
  w(`#define MAX_VMAS ${maxVmas}`, '#define NAME_LEN 320', '#define NOT_YET (-2)');
  w(`#define MODEL_STOPPED ${cString(stopped || 'model stopped')}`, `#define LINE_PREFIX ${k ? '"# "' : '""'}`, '');
  w(RUNTIME_C);
  if (seq.calls.some((c) => c.op !== 'touch')) w(CALL_C);
  if (seq.calls.some((c) => c.op === 'touch')) w(TOUCH_C);
  w('/* ------------------------------------------------------------------ the sequence and what the model expects */', '');
  w('static const char *const call_text[NR_CALLS + 1] = {', ...seq.calls.map((c) => `\t${cString(callToString(c))},`), '};', '');
  w(`/* 'a': returns an address, 't': touch, 'i': returns an int */`);
  w(`static const char call_kind[NR_CALLS + 1] = ${cString(seq.calls.map(kindOf).join(''))};`, '');
  w('static const struct { int err; const char *name; } errno_names[] = {');
  for (const [name, v] of Object.entries(ERRNO)) w(`\t{ ${v}, "${name}" },`);
  w('\t{ 0, NULL },', '};', '');
  w('static const struct expect expected[NR_EXPECTED + 1] = {');
  for (let i = 0; i < nExpected; i++) w(`\t${expectC(model.calls[i]!)},\t/* ${i} */`);
  w('};', '');
  expectedMaps.forEach((m, j) => {
    if (m.length) w(`static const struct expect_vma maps_after_${j === 0 ? 'start' : j - 1}[] = {`, ...m.map((e) => `\t${vmaC(e)},`), '};');
  });
  w('', '/* expected_maps[i + 1]: the arena after call i; expected_maps[0]: before the first call */');
  w('static const struct expect_maps expected_maps[NR_EXPECTED + 1] = {');
  expectedMaps.forEach((m, j) => w(`\t{ ${m.length}, ${m.length ? `maps_after_${j === 0 ? 'start' : j - 1}` : 'NULL'} },`));
  w('};');
  w(COMPARE_C);
  w('/* ------------------------------------------------------------------ the calls */', '');
  w('static void run_sequence(void)', '{', '\tobserve(-1);\t/* the arena before the first call */');
  seq.calls.forEach((c, i) => w(`\t/* ${i}: ${commentSafe(callToString(c))} */`, `\t${statements[i]}`));
  w('}', '');
  if (k) {
    w(`TEST(${testName(input)})`, '{');
    w('\tif (setup_faults() || setup_arena())', '\t\tSKIP(return, "cannot set up the arena: %s", strerror(errno));');
    w('\trun_sequence();', '\t/* report() prints the calls and maps and returns the first divergent call, or NOT_YET */', '\tASSERT_EQ(NOT_YET, report());', '}', '', 'TEST_HARNESS_MAIN');
  } else {
    w('int main(void)', '{', '\tstatic char outbuf[1 << 16];', '');
    w('\t/* no stdio buffer may be malloc()ed (and land in the arena) while the calls run */');
    w('\tsetvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));');
    w('\tif (setup_faults() || setup_arena()) {', '\t\tfprintf(stderr, "cannot set up the arena: %s\\n", strerror(errno));', '\t\treturn 125;', '\t}');
    w('\trun_sequence();', '\treturn report() == NOT_YET ? 0 : 1;', '}');
  }
  return o.join('\n') + '\n';
}

function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      out.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) out.push(line);
  return out;
}
