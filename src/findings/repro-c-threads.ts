// `vmafuzz repro` for a concurrent sequence: a standalone C program (cc -static -pthread) that
// runs the threads the way the harness does (harness-c/repro/threads.c, the fixed part) in a
// fresh child per run and loops until a run shows the recorded bad outcome (the racing calls'
// results and the arena's maps exactly as the failing kernel run had them) or a time limit.
// Declared files and file mappings are not supported here; reads by maps readers are not checked
// (a finding about a read is looked for through the results and end state of its run).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RaceOutcome } from '../linearize/index.js';
import { projectRoot } from '../runner/harness-build.js';
import { MAP } from '../seq/consts.js';
import { callToString } from '../seq/render.js';
import type { Call } from '../seq/schema.js';
import { racingCalls } from '../seq/threads.js';
import { UsageError } from '../util/errors.js';
import { cString } from './repro-c.js';

const OPS: Record<string, string> = {
  mmap: 'OP_MMAP', munmap: 'OP_MUNMAP', mprotect: 'OP_MPROTECT', madvise: 'OP_MADVISE', mremap: 'OP_MREMAP',
  mlock: 'OP_MLOCK', mlock2: 'OP_MLOCK2', munlock: 'OP_MUNLOCK', mseal: 'OP_MSEAL', anon_name: 'OP_ANON_NAME',
};

const u = (v: bigint | number) => `0x${v.toString(16)}ULL`;

function rop(c: Call, thread: number, syncs: number): string {
  const f: Record<string, string> = { thread: String(thread), syncs_before: String(syncs), text: cString(callToString(c)) };
  const addr = (a: { page: number; off: number } | null, p: string, o: string, nul: string) => {
    if (a === null) f[nul] = '1';
    else {
      f[p] = String(a.page);
      f[o] = String(a.off);
    }
  };
  switch (c.op) {
    case 'touch':
      f.op = c.access === 'write' ? 'OP_TOUCH_W' : 'OP_TOUCH_R';
      addr(c.addr, 'page', 'off', 'null1');
      break;
    case 'mmap':
      if (c.fd !== undefined && !(c.flags & MAP.MAP_ANONYMOUS)) throw new UsageError('the concurrent C reproducer does not map files yet');
      f.op = 'OP_MMAP';
      addr(c.addr, 'page', 'off', 'null1');
      Object.assign(f, { len: u(c.len), a: u(c.prot), b: u(c.flags), addr_ret: '1' });
      break;
    case 'mremap':
      f.op = 'OP_MREMAP';
      addr(c.addr, 'page', 'off', 'null1');
      addr(c.newAddr ?? null, 'page2', 'off2', 'null2');
      Object.assign(f, { len: u(c.oldLen), a: u(c.newLen), b: u(c.flags), addr_ret: '1' });
      break;
    case 'anon_name':
      f.op = 'OP_ANON_NAME';
      addr(c.addr, 'page', 'off', 'null1');
      Object.assign(f, { len: u(c.len), name: c.name === null ? '0' : cString(c.name) });
      break;
    default: {
      const op = OPS[c.op];
      if (!op || !('addr' in c) || !('len' in c)) throw new UsageError(`the concurrent C reproducer cannot run ${c.op}`);
      f.op = op;
      addr(c.addr as { page: number; off: number }, 'page', 'off', 'null1');
      f.len = u(c.len as bigint);
      const extra = c.op === 'mprotect' ? c.prot : c.op === 'madvise' ? c.advice >>> 0 : c.op === 'mlock2' || c.op === 'mseal' ? c.flags : 0;
      f.a = u(extra);
    }
  }
  return `{ ${Object.entries(f).map(([k, v]) => `.${k} = ${v}`).join(', ')} }`;
}

/** The C program for the failing run `o` of a concurrent sequence. */
export function renderRaceReproC(o: RaceOutcome, source?: string): string {
  const seq = o.seq;
  if (seq.files?.length) throw new UsageError('the concurrent C reproducer does not create files yet');
  if (racingCalls(seq).some((r) => r.call.op === 'fork')) throw new UsageError(`the concurrent C reproducer does not run racing forks yet${racingCalls(seq).some((r) => r.call.failNth !== undefined) ? ' (a failing racing fork: vmafuzz replay FILE --fail-sweep CALL on a kernel with fault injection)' : ''}`);
  const racing = racingCalls(seq);
  const nsync = seq.threads![0]!.calls.filter((c) => c.op === 'sync').length;
  const k = o.kernel;
  const bad = racing.map((r) => {
    const c = k.calls[r.index]!;
    const inArena = c.errno === 0 && c.ret.kind === 'addr';
    return `{ ${inArena ? 1 : 0}, ${inArena && c.ret.kind === 'addr' ? c.ret.page : 0}, ${c.errno}, ${c.signal} }`;
  });
  const maps = (k.snapshots.at(-1)?.maps ?? []).map((e) => cString(`A+${e.start}p-A+${e.end}p ${e.perms} ${e.name}`));
  const desc = [
    `vmafuzz concurrent reproducer${source ? ` of ${source}` : ''}`,
    `${racing.length} racing calls in ${seq.threads!.length} threads after ${seq.calls.length} setup calls`,
    o.divergence ? `finding: ${o.divergence.layer} ${o.divergence.kind}` : '',
    seq.readers ? 'note: the finding\'s maps readers are not run here; the bad outcome is the run\'s results and end state' : '',
  ].filter(Boolean);
  const tables = [
    `#define ARENA_PAGES ${seq.arenaPages}UL`,
    `#define NTHREADS ${seq.threads!.length}`,
    `#define NSETUP ${seq.calls.length}`,
    `#define NRACING ${racing.length}`,
    `#define NSYNC ${nsync}`,
    `#define DESCRIPTION ${cString(desc.join('\n'))}`,
    `static const struct rop SETUP[${Math.max(1, seq.calls.length)}] = {\n  ${seq.calls.map((c) => rop(c, -1, 0)).join(',\n  ') || '{ 0 }'}\n};`,
    `static const struct rop RACING[${Math.max(1, racing.length)}] = {\n  ${racing.map((r) => rop(r.call, r.thread, r.syncsBefore)).join(',\n  ')}\n};`,
    `// the bad run: per racing call (in the arena, page or value, errno, signal), then its arena maps`,
    `static const struct rres BAD[${Math.max(1, racing.length)}] = { ${bad.join(', ')} };`,
    `#define NBAD_MAPS ${maps.length}`,
    `static const char *const BAD_MAPS[${Math.max(1, maps.length)}] = { ${maps.join(', ') || '0'} };`,
  ].join('\n');
  const runtime = readFileSync(join(projectRoot(), 'harness-c', 'repro', 'threads.c'), 'utf8');
  const [head, tail] = runtime.split('// @@TABLES@@\n');
  if (tail === undefined) throw new Error('harness-c/repro/threads.c lacks its // @@TABLES@@ line');
  return `// ${desc.join('\n// ')}\n${head}${tables}\n${tail}`;
}
