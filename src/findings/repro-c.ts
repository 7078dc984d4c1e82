// `vmafuzz repro`: a standalone C program (libc only, `cc -static`) that replays a sequence exactly
// as the harness does (the same fenced arena, files, userfaultfd resolver, fork with per-process
// snapshots, exec probe), prints the calls and the arena, and compares every layer the prediction
// carries (results with signals and userfaultfd events, maps, smaps VmFlags, pagemap) with the
// model's expectation embedded in it. Exit status: 0 the kernel behaves as the model expects, 1 it
// differs, 125 the arena cannot be set up (git bisect's "skip"). `kselftest: true` wraps the same
// code in a kselftest_harness TEST() instead of main().
//
// This file: the per-sequence part (calls, expectation tables) and the assembly of the program;
// the fixed C text is in repro-c-runtime.ts, repro-c-ops.ts, repro-c-uffd.ts, repro-c-report.ts.

import { diskKinds, FILE_DECL_C, fileDeclRow } from './repro-c-files.js';
import { printableLine } from '../util/text.js';
import { canonicalizeFiles } from '../compare/compare.js';
import type { Prediction, Profile } from '../model/index.js';
import { adviceName, ERRNO, flagsToString, MADV, MAP, MLOCK, MREMAP, PAGE_SIZE, PROT, UFFD_FEATURE, UFFDIO_REGISTER_MODE, type FlagTable } from '../seq/consts.js';
import type { CallObs, MapsEntry, Snapshot } from '../seq/observation.js';
import { callLine, callToString } from '../seq/render.js';
import { blockEnd, type Call, type Sequence } from '../seq/schema.js';
import { F_ADD_SEALS } from '../seq/seals.js';
import type { Addr } from '../seq/values.js';
import { UsageError } from '../util/errors.js';
import { failNthC, failNthStatements } from './repro-c-failnth.js';
import { opsC } from './repro-c-ops.js';
import { reportC } from './repro-c-report.js';
import { runtimeC, TYPES_C, type Features } from './repro-c-runtime.js';
import { hugeShmC, hugeShmDefines, hugeShmFeatures, hugeShmIncludes, hugeShmSetup } from './repro-c-hugeshm.js';
import { SHM } from '../seq/schema-sysv.js';

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
const SYSCALL_FALLBACK: Readonly<Record<string, number>> = { SYS_mseal: 462, SYS_mlock2: 325, SYS_memfd_create: 319, SYS_userfaultfd: 323 }; // x86-64

const P = BigInt(PAGE_SIZE);

/** A C comment body: nothing in it may close the comment. */
// Terminal escapes and newlines shown escaped (src/util/text.ts); never an end of comment.
const commentSafe = (s: string) => printableLine(s).replace(/\*\//g, '* /');

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
  private uffds = 0;

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

  /** The C statement for call i: every argument as the harness passes it (src/runner/protocol.ts:encodeCall). */
  call(i: number, c: Call): string {
    const sys = (nr: string, ...args: string[]) => `call(${i}, ${this.syscall(nr)}, ${[...args, '0', '0', '0', '0', '0', '0'].slice(0, 6).join(', ')});`;
    const prot = (p: number) => this.flags(p, PROT, 'PROT_NONE');
    switch (c.op) {
      case 'mmap': // with MAP_ANONYMOUS the file's descriptor still goes to the kernel, as in the harness
        return sys('SYS_mmap', this.addr(c.addr), this.len(c.len), prot(c.prot), this.flags(c.flags, MAP), c.fd === undefined ? '-1' : `file_fd[${c.fd}]`, this.len(c.offset ?? 0n));
      case 'munmap':
        return sys('SYS_munmap', this.addr(c.addr), this.len(c.len));
      case 'mprotect':
        return sys('SYS_mprotect', this.addr(c.addr), this.len(c.len), prot(c.prot));
      case 'touch':
        return `touch(${i}, ${this.addr(c.addr)}, '${c.access === 'write' ? 'w' : c.access === 'exec' ? 'x' : 'r'}');`;
      case 'probe': // src/findings/repro-c-files.ts
        return `probe(${i}, ${this.addr(c.addr)});`;
      case 'madvise': {
        // the kernel takes an int: an unnamed advice travels as its 32-bit pattern
        const name = adviceName(c.advice);
        if (name in MADV) this.defines.set(name, String(c.advice));
        return sys('SYS_madvise', this.addr(c.addr), this.len(c.len), name in MADV ? name : `0x${(c.advice >>> 0).toString(16)}`);
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
      case 'ftruncate':
        return sys('SYS_ftruncate', `file_fd[${c.file}]`, this.len(c.len));
      case 'uffd_create':
        this.syscall('SYS_userfaultfd');
        return `uffd_create(${i}, ${this.uffds++}, ${this.flags(c.features, UFFD_FEATURE)});`;
      case 'uffd_register':
        return `uffd_register(${i}, ${c.uffd}, ${this.addr(c.addr)}, ${this.len(c.len)}, ${this.flags(c.mode, UFFDIO_REGISTER_MODE)});`;
      case 'uffd_unregister':
        return `uffd_unregister(${i}, ${c.uffd}, ${this.addr(c.addr)}, ${this.len(c.len)});`;
      case 'fork': // a closed {until: exit} block is written by renderReproC (fork_block)
        return `do_fork(${i});`;
      case 'exit':
        return `block_exit(${i});`;
      case 'add_seals': // fs/fcntl.c: the seals travel as unsigned int
        this.defines.set('F_ADD_SEALS', String(F_ADD_SEALS));
        return sys('SYS_fcntl', `file_fd[${c.file}]`, 'F_ADD_SEALS', `0x${(c.seals >>> 0).toString(16)}`);
      case 'shmat': // the segment index becomes its id (src/findings/repro-c-hugeshm.ts)
        this.syscall('SYS_shmat');
        return sys('SYS_shmat', `SHMID(${c.shm})`, this.addr(c.addr), this.flags(c.flags, SHM));
      case 'shmdt':
        return sys('SYS_shmdt', this.addr(c.addr));
    }
    throw new UsageError(`the C reproducer cannot express call ${i} (${callToString(c as Call)})`);
  }
}

/** 'a': returns an address, 't': touch, 'i': returns an int (src/runner/protocol.ts:toWire). */
const kindOf = (c: Call) => (c.op === 'mmap' || c.op === 'mremap' || c.op === 'shmat' ? 'a' : c.op === 'touch' ? 't' : 'i');

/** A call's comment: what it is, what the model expects, and what fork and uffd_create do besides. */
function callComment(i: number, c: Call, o: CallObs | undefined, handle: number): string {
  const text = commentSafe(o ? callLine(c, o) + (o.event ? ` [uffd: ${o.event}]` : '') : `${callToString(c)} (not predicted)`);
  if (c.op === 'fork' && c.until === 'exit') return `/* ${i}: ${text}; the child runs the block and exits, this process waits for it and goes on */`;
  if (c.op === 'fork') return `/* ${i}: ${text}; the child goes on with the next call, this process waits for it */`;
  if (c.op === 'uffd_create') return `/* ${i}: ${text}; handle ${handle} */`;
  return `/* ${i}: ${text} */`;
}

function expectC(o: CallObs): string {
  const r = o.ret;
  const ret = r.kind === 'int' ? `RET_INT, ${r.value}, 0, 0` : r.kind === 'addr' ? `RET_ADDR, 0, ${r.page}, ${r.off}` : 'RET_OUTSIDE, 0, 0, 0';
  return `{ ${ret}, ${o.errno}, ${o.signal}, ${cString(o.event ?? '')} }`;
}

const normFlags = (f: string) => f.trim().split(/\s+/).sort().join(' ');

function vmaC(e: MapsEntry): string {
  const file = e.dev === 'file' ? e.inode : 0;
  const flags = e.vmflags === undefined ? 'NULL' : cString(normFlags(e.vmflags));
  return `{ ${e.start}, ${e.end}, ${cString(e.perms)}, 0x${e.offset.toString(16)}, ${file}, ${cString(e.name)}, ${flags} }`;
}

function testName(input: ReproInput): string {
  const base = input.seq.name ?? input.source?.replace(/^.*\//, '').replace(/\.json$/, '') ?? 'sequence';
  const id = base.replace(/[^A-Za-z0-9_]/g, '_').replace(/^(\d)/, '_$1').slice(0, 60);
  return `vmafuzz_${id || 'sequence'}`;
}

const NAME_LEN = 320;
const FLAGS_LEN = 128;

/**
 * Array sizes of the C program. The shared state holds three snapshots and every call's result;
 * it must stay below 2 MiB (its placement would otherwise be THP-aligned), which bounds MAX_VMAS.
 */
function sizes(nCalls: number, arenaPages: number, snaps: readonly Snapshot[], calls: readonly CallObs[]) {
  const maxVmas = Math.max(0, ...snaps.map((s) => s.maps.length));
  const maxEvents = Math.max(0, ...calls.map((c) => (c.event ?? '').length));
  const eventsLen = Math.ceil(Math.max(64, 2 * maxEvents + 16) / 8) * 8;
  const vmaBytes = 64 + NAME_LEN + FLAGS_LEN;
  const budget = (2 << 20) - 64 * 1024 - (nCalls + 1) * (24 + eventsLen) - 3 * (arenaPages + 16) - 256 * 16 - 4096;
  const fit = Math.floor(budget / 3 / vmaBytes);
  const maxVmasC = Math.min(fit, Math.max(64, 2 * maxVmas + 16));
  if (maxVmasC < maxVmas + 1) throw new UsageError(`the C reproducer holds at most ${Math.max(0, fit - 1)} arena VMAs per snapshot with ${nCalls} calls; the model expects ${maxVmas}`);
  return { maxVmas: maxVmasC, eventsLen };
}

/** The reproducer's C source. Throws UsageError for a sequence it cannot hold. */
export function renderReproC(input: ReproInput): string {
  const { seq, model, profile } = input;
  const em = new Emitter();
  const n = seq.calls.length;
  const nExpected = Math.min(model.calls.length, n);
  const statements = seq.calls.map((c, i) => em.call(i, c));
  const snaps = canonicalizeFiles(model.snapshots).filter((s) => s.after < nExpected);
  for (let after = -1; after < nExpected; after++) {
    if (!snaps.some((x) => x.after === after)) throw new Error(`repro: the prediction has no maps snapshot after call ${after} (predict with snapshotEveryCall)`);
  }
  for (const s of snaps) if (s.pagemap !== undefined && s.pagemap.length !== seq.arenaPages) throw new Error(`repro: a pagemap of ${s.pagemap.length} pages for a ${seq.arenaPages}-page arena`);
  const ops = new Set(seq.calls.map((c) => c.op));
  const f: Features = {
    syscalls: seq.calls.some((c) => !['touch', 'probe', 'fork', 'exit', 'uffd_create', 'uffd_register', 'uffd_unregister'].includes(c.op)),
    touch: ops.has('touch') || ops.has('probe'), // probe uses touch's fault recovery
    exec: seq.calls.some((c) => c.op === 'touch' && c.access === 'exec'),
    fork: ops.has('fork'),
    plainFork: seq.calls.some((c, i) => c.op === 'fork' && blockEnd(seq.calls, i) < 0),
    uffd: ops.has('uffd_create'),
    files: (seq.files?.length ?? 0) > 0,
    tmpfs: (seq.files ?? []).some((x) => x.kind === 'tmpfs'),
    disk: diskKinds(seq.files),
    fill: (seq.files ?? []).some((x) => x.fill !== undefined),
    ops,
  };
  const hs = hugeShmFeatures(seq);
  const vmflags = snaps.some((x) => x.maps.some((e) => e.vmflags !== undefined));
  const pagemap = snaps.some((x) => x.pagemap !== undefined);
  const { maxVmas, eventsLen } = sizes(n, seq.arenaPages, snaps, model.calls.slice(0, nExpected));
  const stopped = model.unsupported ? `the model cannot predict call ${model.unsupported.call}: ${model.unsupported.reason}` : '';
  const k = input.kselftest === true;

  const o: string[] = [];
  const w = (...l: string[]) => o.push(...l);
  w('// SPDX-License-Identifier: GPL-2.0', '/*');
  w(` * vmafuzz reproducer${input.source ? ` for ${commentSafe(input.source)}` : ''}${seq.name ? ` (${commentSafe(seq.name)})` : ''}`);
  if (seq.description) w(' *', ...wrap(commentSafe(seq.description), 95).map((l) => ` * ${l}`));
  w(' *');
  const where = input.target ? `${input.target.runner}, kernel ${input.target.release}` : `kernel ${profile.release}`;
  const layers = ['its result (return value, errno, signal' + (f.uffd ? ', userfaultfd events' : '') + ')', "the arena's /proc/self/maps", vmflags ? 'the smaps VmFlags of every arena VMA' : '', pagemap ? "the pagemap of every arena page ('?': the kernel may choose)" : ''].filter(Boolean);
  const listed = layers.length > 1 ? `${layers.slice(0, -1).join(', ')} and ${layers[layers.length - 1]}` : layers[0]!;
  const intro =
    `Runs ${n} mm call${n === 1 ? '' : 's'} in a fresh ${seq.arenaPages}-page arena, set up as the vmafuzz harness sets it up` +
    `${f.files ? ' (with the same files)' : ''}${f.uffd ? ' (with its userfaultfd resolver process)' : ''}${f.fork ? ' (fork: the child goes on with the sequence while its parent waits, and each process compares its own snapshots)' : ''}, ` +
    `in a child process, and compares after every call ${listed} with what the vmafuzz model of Linux VMA semantics expects ` +
    `for kernel ${profile.release} (THP ${profile.thp}${profile.softDirty ? ', soft-dirty' : ''}; computed on ${where}; where the kernel chose the ` +
    `address of a non-fixed mmap() legally, the model followed its choice). ` +
    (k ? 'The test fails at the first difference and prints it.' : 'Exit status: 0 the kernel behaves as expected, 1 it differs (the first difference is printed), 125 the arena cannot be set up.');
  w(...wrap(intro, 95).map((l) => ` * ${l}`));
  if (input.observed) w(' *', ...wrap(commentSafe(`On ${where}: ${input.observed}`), 95).map((l) => ` * ${l}`));
  const unchecked = [vmflags ? '' : 'smaps VmFlags', pagemap ? '' : 'pagemap'].filter(Boolean);
  if (unchecked.length) w(' *', ...wrap(`Not checked (the prediction does not carry them): ${unchecked.join(', ')}.`, 95).map((l) => ` * ${l}`));
  if (stopped) w(' *', ...wrap(commentSafe(`Not predicted: ${stopped}.`), 95).map((l) => ` * ${l}`));
  w(' *');
  if (k) w(' * Build: in tools/testing/selftests/mm, like the other kselftest_harness tests.');
  else w(' * Build: cc -static -O2 -Wall -o repro repro.c && ./repro');
  w(' *', ' * The calls (A = arena base, p = 4096-byte pages; "= x" is the result the model expects):');
  seq.calls.forEach((c, i) => {
    const ev = i < nExpected && model.calls[i]!.event ? ` [uffd: ${model.calls[i]!.event}]` : '';
    w(` * ${String(i).padStart(4)}  ${commentSafe(i < nExpected ? callLine(c, model.calls[i]) + ev : callToString(c) + ' (not predicted)')}`);
  });
  w(' */', '');
  w('#define _GNU_SOURCE');
  if (k) w('#include "../kselftest_harness.h"');
  w('#include <errno.h>', '#include <fcntl.h>', '#include <setjmp.h>', '#include <signal.h>', '#include <stdarg.h>', '#include <stdint.h>', '#include <stdio.h>', '#include <stdlib.h>', '#include <string.h>');
  if (f.uffd) w('#include <poll.h>', '#include <time.h>');
  if (f.exec) w('#include <ucontext.h>');
  w('#include <unistd.h>');
  if (f.uffd) w('#include <linux/userfaultfd.h>', '#include <sys/ioctl.h>');
  w('#include <sys/mman.h>', '#include <sys/prctl.h>');
  if (f.uffd) w('#include <sys/socket.h>');
  if (f.disk.length) w('#include <sys/statfs.h>');
  w(...hugeShmIncludes(hs));
  w('#include <sys/syscall.h>', '#include <sys/wait.h>', '');
  w('#ifndef MAP_FIXED_NOREPLACE', '#define MAP_FIXED_NOREPLACE 0x100000', '#endif');
  if (ops.has('anon_name')) w('#ifndef PR_SET_VMA', '#define PR_SET_VMA 0x53564d41', '#define PR_SET_VMA_ANON_NAME 0', '#endif');
  if (f.uffd) w('#ifndef UFFD_USER_MODE_ONLY', '#define UFFD_USER_MODE_ONLY 1', '#endif');
  for (const [name, v] of em.defines) w(`#ifndef ${name}`, `#define ${name} ${v}`, '#endif');
  w('');
  w('#undef PAGE_SIZE', '#define PAGE_SIZE 4096UL', '#define PMD_SIZE (2UL << 20)', '#define WINDOW_BYTES (64UL << 20)\t/* the harness window */');
  w(`#define ARENA_PAGES ${seq.arenaPages}`, `#define NR_CALLS ${n}`, `#define NR_EXPECTED ${nExpected}\t/* calls the model predicts */`, `#define NR_SNAPS ${snaps.length}\t/* snapshots the model predicts */`);
  if (f.files) w(`#define NR_FILES ${seq.files!.length}`);
  w(...hugeShmDefines(seq, hs));
  if (f.uffd) w(`#define NR_UFFDS ${seq.calls.filter((c) => c.op === 'uffd_create').length}`, '#define EV_RING 4096');
  else w('#define EV_RING 1');
  w(`#define MAX_VMAS ${maxVmas}`, '#define MAX_FILE_IDS 256', `#define NAME_LEN ${NAME_LEN}`, `#define FLAGS_LEN ${FLAGS_LEN}`, `#define EVENTS_LEN ${eventsLen}`);
  w(`#define CHECK_VMFLAGS ${vmflags ? 1 : 0}\t/* compare the smaps VmFlags of every arena VMA */`, `#define CHECK_PAGEMAP ${pagemap ? 1 : 0}\t/* compare the pagemap of every arena page */`);
  w(`#define USES_FORK ${f.fork ? 1 : 0}`, '#define DEADLINE_S 10\t/* for the whole sequence (the harness allows 5 s) */');
  w(`#define PLAIN_FORK ${f.plainFork ? 1 : 0}\t/* a fork outside fork blocks: do_fork */`, `#define HAVE_FAIL_NTH ${seq.calls.some((c) => c.failNth !== undefined) ? 1 : 0}`);
  w('#define NOT_YET (-2)', '#define CANNOT_TEST (-3)', '#define STR_(x) #x', '#define STR(x) STR_(x)');
  w(`#define MODEL_STOPPED ${cString(stopped || 'model stopped')}`, `#define LINE_PREFIX ${k ? '"# "' : '""'}`, '');
  w('/* exit status of the sequence\'s processes (harness-c/harness.h) */', 'enum { EXIT_MAPS = 5, EXIT_FENCE = 6, EXIT_RESOLVER = 8, EXIT_FILES = 9, EXIT_FAIL_NTH = 11, EXIT_CRASHED = 0x80 };', '');
  w(TYPES_C);
  w('struct errno_name { int err; const char *name; };');
  if (f.files) w(FILE_DECL_C);
  w('', '/* the sequence and the expectation, at the end of the program */');
  w('static const char *const call_text[NR_CALLS + 1];', 'static const char call_kind[NR_CALLS + 1];', 'static const struct expect expected[NR_EXPECTED + 1];', 'static const struct expect_snap expected_snaps[NR_SNAPS + 1];');
  w(`static const struct errno_name errno_names[${Object.keys(ERRNO).length + 1}];`);
  if (f.files) w('static const struct file_decl file_decl[NR_FILES];');
  w('');
  w(runtimeC(f), opsC(f), hugeShmC(hs), reportC(f));
  if (seq.calls.some((c) => c.failNth !== undefined)) w(failNthC());
  w(...tablesC(seq, model, snaps, nExpected, f));
  w('/* ------------------------------------------------------------------ the calls */', '');
  w('static void run_sequence(void)', '{');
  let blockExit = -1; // inside a fork {until: exit} block: its calls run in the child only
  seq.calls.forEach((c, i) => {
    const handle = seq.calls.slice(0, i).filter((x) => x.op === 'uffd_create').length;
    const t = blockExit >= 0 ? '\t\t' : '\t';
    const end = blockEnd(seq.calls, i);
    const stmt = end >= 0 ? `if (fork_block(${i}, ${end}) == 0) {` : statements[i]!;
    const comment = `${t}${callComment(i, c, i < nExpected ? model.calls[i] : undefined, handle)}`;
    // a fork's failNth is armed around the fork syscall alone (fork.c:fork_syscall -> fail_nth_fork)
    if (c.op === 'fork' && c.failNth !== undefined) w(comment, `${t}next_fork_nth = ${c.failNth};\t/* failNth: fail_nth_fork arms it around the fork itself */`, `${t}${stmt}`);
    else if (c.failNth === undefined) w(comment, `${t}${stmt}`);
    else if (c.op === 'uffd_create') w(comment, ...[`\tuffd_defer = 1;`, ...failNthStatements(i, c.failNth, stmt), '\tuffd_handoff();'].map((l) => (t === '\t' ? l : '\t' + l)));
    else w(comment, ...failNthStatements(i, c.failNth, stmt).map((l) => (t === '\t' ? l : '\t' + l)));
    if (end >= 0) blockExit = end;
    if (i === blockExit) {
      w('\t}');
      blockExit = -1;
    }
  });
  w('}', '');
  const steps = ['setup_arena()', f.tmpfs ? 'make_tmpfs_dir()' : '', f.disk.length ? 'make_fs_dirs()' : '', f.uffd ? 'probe_uffd_mode()' : '', ...hugeShmSetup(hs).steps].filter(Boolean);
  w('/* In this process, before the sequence\'s process starts: what the harness sets up at start-up. */', 'static int setup(void)', '{', `\treturn ${steps.join(' || ')};`, '}', '');
  const cleanup = [...(f.tmpfs ? ['\tremove_tmpfs_dir();'] : []), ...(f.disk.length ? ['\tremove_fs_dirs();'] : []), ...hugeShmSetup(hs).cleanup];
  if (k) {
    w(`TEST(${testName(input)})`, '{', '\tint div;', '');
    w('\tif (setup() != 0)', '\t\tSKIP(return, "cannot set up the arena: %s", strerror(errno));', '\trun_sequence_process();', ...cleanup);
    w('\t/* report() prints the calls and maps and returns the first divergent call, or NOT_YET */', '\tdiv = report();', '\tif (div == CANNOT_TEST)', '\t\tSKIP(return, "cannot set up the sequence");', '\tASSERT_EQ(NOT_YET, div);', '}', '', 'TEST_HARNESS_MAIN');
  } else {
    w('int main(void)', '{', '\tstatic char outbuf[1 << 16];', '\tint div;', '');
    w('\t/* no stdio buffer is malloc()ed: this process maps nothing after the window */', '\tsetvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));');
    w('\tif (setup() != 0) {', '\t\tfprintf(stderr, "cannot set up the arena: %s\\n", strerror(errno));', '\t\treturn 125;', '\t}');
    w('\trun_sequence_process();', ...cleanup, '\tdiv = report();', '\treturn div == NOT_YET ? 0 : div == CANNOT_TEST ? 125 : 1;', '}');
  }
  return o.join('\n') + '\n';
}

/** The sequence and the model's expectation as C tables; identical VMA lists are written once. */
function tablesC(seq: Sequence, model: Prediction, snaps: readonly Snapshot[], nExpected: number, f: Features): string[] {
  const o: string[] = [];
  const w = (...l: string[]) => o.push(...l);
  w('/* ------------------------------------------------------------------ the sequence and what the model expects */', '');
  w('static const char *const call_text[NR_CALLS + 1] = {', ...seq.calls.map((c) => `\t${cString(callToString(c))},`), '\tNULL,', '};', '');
  w(`/* 'a': returns an address, 't': touch, 'i': returns an int */`);
  w(`static const char call_kind[NR_CALLS + 1] = ${cString(seq.calls.map(kindOf).join(''))};`, '');
  w(`static const struct errno_name errno_names[${Object.keys(ERRNO).length + 1}] = {`);
  for (const [name, v] of Object.entries(ERRNO)) w(`\t{ ${v}, "${name}" },`);
  w('\t{ 0, NULL },', '};', '');
  if (f.files) {
    w('static const struct file_decl file_decl[NR_FILES] = {');
    seq.files!.forEach((x, i) => w(fileDeclRow(x, i)));
    w('};', '');
  }
  w('/* per call: return value (RET_INT value, or RET_ADDR page and offset), errno, signal, userfaultfd events */');
  w('static const struct expect expected[NR_EXPECTED + 1] = {');
  for (let i = 0; i < nExpected; i++) w(`\t${expectC(model.calls[i]!)},\t/* ${i} */`);
  w('\t{ RET_INT, 0, 0, 0, 0, 0, "" },\t/* (end) */', '};', '');
  const forks = seq.calls.some((c) => c.op === 'fork');
  const label = (s: Snapshot) => `${s.after < 0 ? 'start' : s.after}${forks ? `_p${s.proc ?? 0}` : ''}`;
  const arrays = new Map<string, string>();
  const rows: string[] = [];
  for (const s of snaps) {
    let name = 'NULL';
    if (s.maps.length) {
      const body = s.maps.map((e) => `\t${vmaC(e)},`);
      const key = body.join('\n');
      name = arrays.get(key) ?? '';
      if (!name) {
        name = `vmas_after_${label(s)}`;
        arrays.set(key, name);
        w(`/* the arena after ${s.after < 0 ? 'the start' : `call ${s.after}`}${forks ? ` in process ${s.proc ?? 0}` : ''}: start, end (pages), perms, offset, file, name, VmFlags */`);
        w(`static const struct expect_vma ${name}[] = {`, ...body, '};');
      }
    }
    const pm = s.pagemap === undefined ? 'NULL' : cString(s.pagemap);
    rows.push(`\t{ ${s.after}, ${s.proc ?? 0}, ${s.maps.length}, ${name}, ${pm} },`);
  }
  w('', '/* after call, process, VMAs, pagemap; after -1: before the first call */');
  w('static const struct expect_snap expected_snaps[NR_SNAPS + 1] = {', ...rows, '\t{ -2, -1, 0, NULL, NULL },\t/* (end) */', '};', '');
  return o;
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
