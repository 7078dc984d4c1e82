// Encoding and decoding of the harness line protocol (docs/harness-protocol.md), shared by every
// runner (native, docker, qemu). The decoder is a streaming parser: results can be read while the
// next batch is still being written.

import { PAGE_SIZE } from '../seq/consts.js';
import { racingObservation, racingWire } from './protocol-threads.js';
import { parseMapsLine } from '../seq/maps.js';
import type { CallObs, MapsEntry, Ret, RunStatus, SeqObservation, Snapshot } from '../seq/observation.js';
import { blockEnd, type Call, type FileDecl, type Sequence } from '../seq/schema.js';

export const PROTOCOL_VERSION = '1';
const FD_NONE = 'ffffffffffffffff'; // fd -1 as u64
const hex = (v: bigint | number) => v.toString(16);

/**
 * A sequence as the harness sees it: op lines plus, per call, whether its return value is an
 * address (mmap, mremap), and the `file` lines of the files it declares. Corpus sequences become
 * this via toWire(); tests may add protocol-only ops (`sleep <ms>`, `crash`) that the corpus
 * schema deliberately does not know.
 */
export interface WireSequence {
  arenaPages: number;
  lines: string[];
  returnsAddr: boolean[];
  /** `file <kind> <size> <ro> [<fill>]` lines, created in order before the first call */
  files?: string[];
  /** `shm <size>` lines: SysV segments the harness creates before the sequence and removes after */
  shm?: string[];
  /** concurrent sequences: `lines` holds every call in global order; on the wire the first
   *  `setup` of them go as they are, then `body` (thread / sync / readers lines and the calls) */
  racing?: { setup: number; body: string[] };
}

type A = { page: number; off: number } | null;
const addr = (a: A) => (a === null ? '- 0' : `${hex(a.page)} ${hex(a.off)}`);
/** An anon_vma name travels as hex of its UTF-8 bytes (`x` + hex; `-` = NULL), so any text is safe. */
const nameArg = (n: string | null) => (n === null ? '-' : 'x' + Buffer.from(n, 'utf8').toString('hex'));

export function encodeCall(c: Call): string {
  switch (c.op) {
    case 'mmap': // fd: F<file index>, or -1 as u64 for anonymous mappings
      return `mmap ${addr(c.addr)} ${hex(c.len)} ${hex(c.prot)} ${hex(c.flags)} ${c.fd === undefined ? FD_NONE : 'F' + hex(c.fd)} ${hex(c.offset ?? 0n)}`;
    case 'munmap':
    case 'mlock':
    case 'munlock':
      return `${c.op} ${addr(c.addr)} ${hex(c.len)}`;
    case 'mprotect':
      return `mprotect ${addr(c.addr)} ${hex(c.len)} ${hex(c.prot)}`;
    case 'touch':
      return `touch ${addr(c.addr)} ${c.access === 'write' ? 'w' : c.access === 'exec' ? 'x' : 'r'}`;
    case 'madvise': // the kernel takes an int: negative advice goes as its 32-bit pattern
      return `madvise ${addr(c.addr)} ${hex(c.len)} ${hex(c.advice >>> 0)}`;
    case 'mremap':
      return `mremap ${addr(c.addr)} ${hex(c.oldLen)} ${hex(c.newLen)} ${hex(c.flags)} ${addr(c.newAddr ?? null)}`;
    case 'mlock2':
    case 'mseal':
      return `${c.op} ${addr(c.addr)} ${hex(c.len)} ${hex(c.flags)}`;
    case 'anon_name':
      return `anon_name ${addr(c.addr)} ${hex(c.len)} ${nameArg(c.name)}`;
    case 'ftruncate':
      return `ftruncate ${hex(c.file)} ${hex(c.len)}`;
    case 'uffd_create':
      return `uffd_create ${hex(c.features)}`;
    case 'uffd_register':
      return `uffd_register ${hex(c.uffd)} ${addr(c.addr)} ${hex(c.len)} ${hex(c.mode)}`;
    case 'uffd_unregister':
      return `uffd_unregister ${hex(c.uffd)} ${addr(c.addr)} ${hex(c.len)}`;
    case 'fork': // a closed {until: exit} block is `fork_block <exit index>` (toWire); open: plain
      return 'fork';
    case 'exit':
      return 'exit';
    case 'add_seals':
      return `add_seals ${hex(c.file)} ${hex(c.seals >>> 0)}`;
    case 'probe':
      return `probe ${addr(c.addr)}`;
    case 'shmat': // segment index (the harness substitutes its shmid), address (NULL: "- 0"), flags
      return `shmat ${hex(c.shm)} ${addr(c.addr)} ${hex(c.flags)}`;
    case 'shmdt':
      return `shmdt ${addr(c.addr)}`;
    default:
      throw new Error(`the harness protocol has no encoding for ${(c as { op: string }).op}`);
  }
}

export function encodeFile(f: FileDecl): string {
  const tail = f.flags !== undefined ? ` ${f.fill ? 1 : 0} ${hex(f.flags >>> 0)}` : f.fill ? ' 1' : '';
  return `file ${f.kind} ${hex(f.size)} ${f.readOnly ? 1 : 0}${tail}`;
}

/** A call line with its fault injection, if any: `<call> nth <k>` (harness-c/failnth.c). */
export function encodeCallLine(c: Call): string {
  return encodeCall(c) + (c.failNth !== undefined ? ` nth ${hex(c.failNth)}` : '');
}

export function toWire(seq: Sequence): WireSequence {
  const w: WireSequence = {
    arenaPages: seq.arenaPages,
    lines: seq.calls.map((c, i) => {
      const end = blockEnd(seq.calls, i);
      return end >= 0 ? `fork_block ${hex(end)}${c.failNth !== undefined ? ` nth ${hex(c.failNth)}` : ''}` : encodeCallLine(c);
    }),
    returnsAddr: seq.calls.map((c) => c.op === 'mmap' || c.op === 'mremap' || c.op === 'shmat'),
  };
  if (seq.shm?.length) w.shm = seq.shm.map((s) => `shm ${hex(s.size)}`);
  if (seq.files?.length) w.files = seq.files.map(encodeFile);
  if (seq.threads) return racingWire(seq, w);
  return w;
}

/** Observation layers beyond /proc/self/maps (docs/harness-protocol.md, `seq` opts bits 1 and 2). */
export interface Layers {
  /** smaps `VmFlags:` of every arena VMA (MapsEntry.vmflags) */
  vmflags?: boolean;
  /** /proc/self/pagemap of every arena page (Snapshot.pagemap) */
  pagemap?: boolean;
}

export interface WireOptions {
  snapshotEveryCall: boolean;
  deadlineMs?: number;
  layers?: Layers;
  /** concurrent sequences: a `pin` line binds each racing thread to a CPU */
  pinThreads?: boolean;
}

/** The `seq` line's opts: bit 0 snapshot after every call, bit 1 VmFlags, bit 2 pagemap. */
export function wireOpts(opts: WireOptions): number {
  return (opts.snapshotEveryCall ? 1 : 0) | (opts.layers?.vmflags ? 2 : 0) | (opts.layers?.pagemap ? 4 : 0);
}

/** The protocol text for one sequence, ending with a newline. */
export function encodeWire(id: string, w: WireSequence, opts: WireOptions): string {
  const deadline = opts.deadlineMs !== undefined ? ` ${hex(Math.max(1, Math.ceil(opts.deadlineMs)))}` : '';
  const head = `seq ${id} ${hex(w.arenaPages)} ${hex(wireOpts(opts))}${deadline}\n`;
  const racing = w.racing ? [...w.racing.body, ...(opts.pinThreads ? ['pin'] : [])] : [];
  const body = [...(w.files ?? []), ...(w.shm ?? []), ...(w.racing ? [...w.lines.slice(0, w.racing.setup), ...racing] : w.lines)];
  return head + (body.length ? body.join('\n') + '\n' : '') + 'end\n';
}

export interface Hello {
  version: string;
  release: string;
  /** every key=value fact of the hello line (release, page, thp, max_map_count, ...) */
  facts: Record<string, string>;
}

export function parseHello(line: string): Hello | null {
  const parts = line.trim().split(/\s+/);
  if (parts[0] !== 'hello' || parts[1] !== 'vmafuzz-harness' || !parts[2]) return null;
  const facts: Record<string, string> = {};
  for (const p of parts.slice(3)) {
    const eq = p.indexOf('=');
    if (eq > 0) facts[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return { version: parts[2], release: facts['release'] ?? 'unknown', facts };
}

/** What the harness printed for one sequence, before interpretation against its WireSequence. */
export interface RawResult {
  id: string;
  base: bigint | null;
  pages: number;
  /** event: the userfaultfd events the call raised, comma separated */
  calls: { ret: bigint; errno: number; signal: number; event?: string }[];
  /** `f <i> <0|1|2>` records: call index -> fault injection outcome (not fired, fired, no fail-nth) */
  injected?: Map<number, number>;
  /** proc: the `p=` of the `m` line (sequences with fork); vmflags: the `v` lines; pagemap: the `g` line */
  snapshots: { after: number; lines: string[]; proc?: number; vmflags?: string[]; pagemap?: string }[];
  /** "ok" | "timeout" | "crash" | "error" followed by detail words */
  done: string[];
  /** concurrent sequences: `t` records' start/end (ns) by call index; `R` reads */
  timing?: ([number, number] | undefined)[];
  reads?: { reader: number; start: number; end: number; lines: string[] }[];
  /** `F` records: a racing fork's child's arena lines, by call index */
  forks?: (string[] | undefined)[];
}

/**
 * Streaming decoder: push() text as it arrives; onResult fires once per `done` line, in order.
 * Lines that belong to no sequence (`err ...`, unexpected text) go to onStray.
 */
export class OutputParser {
  private rest = '';
  private cur: RawResult | null = null;
  private mapsLeft = 0;
  /** the lines of an `R` record go here instead of the last snapshot */
  private readLines: string[] | null = null;

  constructor(
    private readonly handlers: {
      onHello?: (h: Hello, line: string) => void;
      onResult: (r: RawResult) => void;
      onStray?: (line: string) => void;
    },
  ) {}

  push(chunk: string): void {
    const text = this.rest + chunk;
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.line(text.slice(start, nl));
      start = nl + 1;
    }
    this.rest = text.slice(start);
  }

  private line(line: string): void {
    const cur = this.cur;
    if (cur && this.mapsLeft > 0) {
      (this.readLines ?? cur.snapshots[cur.snapshots.length - 1]!.lines).push(line);
      this.mapsLeft--;
      return;
    }
    const sp = line.indexOf(' ');
    const tag = sp === -1 ? line : line.slice(0, sp);
    // The layer lines (one `v` per VMA, one long `g`) are taken whole: no need to cut them into words.
    if (tag === 'v' && cur && cur.snapshots.length) {
      (cur.snapshots[cur.snapshots.length - 1]!.vmflags ??= []).push(line.slice(2));
      return;
    }
    if (tag === 'g' && cur && cur.snapshots.length) {
      cur.snapshots[cur.snapshots.length - 1]!.pagemap = line.slice(2);
      return;
    }
    const f = line.split(' ');
    if (tag === 'r' && cur && (f.length === 5 || f.length === 6)) {
      const call: RawResult['calls'][number] = { ret: BigInt('0x' + f[2]), errno: parseInt(f[3]!, 16), signal: parseInt(f[4]!, 16) };
      if (f[5]) call.event = f[5];
      cur.calls.push(call);
    } else if (tag === 't' && cur && f.length === 7) {
      // a racing call (threads.c): result, then start and end after the release
      cur.calls[parseInt(f[1]!, 16)] = { ret: BigInt('0x' + f[2]), errno: parseInt(f[3]!, 16), signal: parseInt(f[4]!, 16) };
      (cur.timing ??= [])[parseInt(f[1]!, 16)] = [parseInt(f[5]!, 16), parseInt(f[6]!, 16)];
    } else if (tag === 'R' && cur && f.length === 5) {
      const read = { reader: parseInt(f[1]!, 16), start: parseInt(f[2]!, 16), end: parseInt(f[3]!, 16), lines: [] as string[] };
      (cur.reads ??= []).push(read);
      this.readLines = read.lines;
      this.mapsLeft = parseInt(f[4]!, 16);
    } else if (tag === 'F' && cur && f.length === 3) {
      const lines: string[] = [];
      (cur.forks ??= [])[parseInt(f[1]!, 16)] = lines;
      this.readLines = lines;
      this.mapsLeft = parseInt(f[2]!, 16);
    } else if (tag === 'f' && cur && f.length === 3) {
      (cur.injected ??= new Map()).set(parseInt(f[1]!, 16), parseInt(f[2]!, 16));
    } else if (tag === 'm' && cur && f.length >= 3) {
      this.readLines = null;
      const snap: RawResult['snapshots'][number] = { after: f[1] === '-1' ? -1 : parseInt(f[1]!, 16), lines: [] };
      for (const kv of f.slice(3)) if (kv.startsWith('p=')) snap.proc = parseInt(kv.slice(2), 16);
      cur.snapshots.push(snap);
      this.mapsLeft = parseInt(f[2]!, 16);
    } else if (tag === 'seq' && f.length >= 2) {
      const kv = Object.fromEntries(f.slice(2).map((p) => p.split('=') as [string, string]));
      const base = kv['base'] && /^[0-9a-f]+$/.test(kv['base']) ? BigInt('0x' + kv['base']) : null;
      this.cur = { id: f[1]!, base, pages: parseInt(kv['pages'] ?? '0', 16), calls: [], snapshots: [], done: [] };
    } else if (tag === 'done' && f.length >= 3) {
      const r = cur && cur.id === f[1] ? cur : { id: f[1]!, base: null, pages: 0, calls: [], snapshots: [], done: [] };
      r.done = f.slice(2);
      this.cur = null;
      this.handlers.onResult(r);
    } else if (tag === 'hello') {
      const h = parseHello(line);
      if (h) this.handlers.onHello?.(h, line);
      else this.handlers.onStray?.(line);
    } else if (line !== '') {
      this.handlers.onStray?.(line);
    }
  }
}

const SIGNAL_NAMES: Record<number, string> = { 6: 'SIGABRT', 7: 'SIGBUS', 9: 'SIGKILL', 11: 'SIGSEGV' };

/** Interpret a RawResult for the sequence it answers: arena-relative addresses and maps. */
export function toObservation(raw: RawResult, w: WireSequence): SeqObservation {
  const base = raw.base ?? 0n;
  const arenaBytes = BigInt(w.arenaPages) * BigInt(PAGE_SIZE);
  const calls: CallObs[] = raw.calls.map((c, i): CallObs => {
    let ret: Ret;
    if (c.errno !== 0) ret = { kind: 'int', value: -1 };
    else if (w.returnsAddr[i]) {
      const rel = c.ret - base;
      ret = raw.base !== null && rel >= 0n && rel <= arenaBytes
        ? { kind: 'addr', page: Number(rel / BigInt(PAGE_SIZE)), off: Number(rel % BigInt(PAGE_SIZE)) }
        : { kind: 'outside', hex: '0x' + c.ret.toString(16) };
    } else ret = { kind: 'int', value: Number(BigInt.asIntN(64, c.ret)) };
    const o: CallObs = { ret, errno: c.errno, signal: c.signal };
    if (c.event !== undefined) o.event = c.event;
    const inj = raw.injected?.get(i);
    if (inj !== undefined) o.injected = inj === 1 ? 'fired' : inj === 0 ? 'not-fired' : 'unavailable';
    return o;
  });
  let status: RunStatus;
  let detail: string | undefined;
  const [word, ...rest] = raw.done;
  if (word === 'ok') status = 'ok';
  else if (word === 'timeout') {
    status = 'timeout';
    detail = rest.length ? rest.join(' ') : undefined;
  } else if (word === 'crash') {
    status = 'crash';
    const sig = parseInt(rest[0] ?? '', 16);
    detail = Number.isNaN(sig) ? rest.join(' ') : `signal ${sig}${SIGNAL_NAMES[sig] ? ` (${SIGNAL_NAMES[sig]})` : ''}`;
  } else {
    status = 'infra';
    detail = `harness: ${raw.done.join(' ') || 'no status'}`;
  }
  const snapshots: Snapshot[] = [];
  const infra = (why: string) => {
    status = 'infra';
    detail = `harness: ${why}`;
  };
  for (const s of raw.snapshots) {
    const maps: MapsEntry[] = [];
    if (s.vmflags && s.vmflags.length !== s.lines.length) infra(`${s.vmflags.length} VmFlags lines for ${s.lines.length} maps lines`);
    s.lines.forEach((l, i) => {
      const e = parseMapsLine(base, l);
      if (!e) return infra(`unparsable maps line ${JSON.stringify(l)}`);
      const flags = s.vmflags?.[i];
      if (flags !== undefined) e.vmflags = flags;
      maps.push(e);
    });
    const snap: Snapshot = { after: s.after, maps };
    if (s.proc !== undefined) snap.proc = s.proc;
    if (s.pagemap !== undefined) {
      if (s.pagemap.length !== w.arenaPages) infra(`pagemap of ${s.pagemap.length} pages for a ${w.arenaPages}-page arena`);
      snap.pagemap = s.pagemap;
    }
    snapshots.push(snap);
  }
  if (status === 'ok' && raw.calls.length !== w.lines.length) {
    status = 'infra';
    detail = `harness: ${raw.calls.length} results for ${w.lines.length} calls`;
  }
  const obs: SeqObservation = { calls, snapshots, status };
  if (detail !== undefined) obs.detail = detail;
  if (raw.base !== null) obs.base = '0x' + raw.base.toString(16);
  obs.rawMaps = raw.snapshots.map((s) => s.lines);
  if (w.racing) racingObservation(raw, obs, base);
  return obs;
}
