// Append-only NDJSON files of a campaign directory. A record is one line, written with a single
// write() and made durable with fsync before the campaign acts on it, so a `kill -9` leaves at
// worst a torn last line. Readers drop such a line (and the writer truncates it away on reopen);
// a record is therefore either entirely present or entirely absent.

import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

export const PROGRESS_FILE = 'progress.ndjson';
export const RECORDED_FILE = 'recorded.ndjson';
export const STATS_FILE = 'stats.ndjson';

/** A completed chunk (counts are for its cases; arrays follow campaign.json `ops` and `rules`). */
export const chunkLineSchema = z.strictObject({
  g: z.number().int().min(0),
  lo: z.number().int().min(0),
  hi: z.number().int().min(0),
  n: z.number().int().min(0),
  calls: z.number().int().min(0),
  div: z.number().int().min(0),
  flaky: z.number().int().min(0),
  timeout: z.number().int().min(0),
  crash: z.number().int().min(0),
  infra: z.number().int().min(0),
  /** judged only up to a call the model cannot predict (absent in ledgers of older versions) */
  partial: z.number().int().min(0).optional(),
  ops: z.array(z.number().int().min(0)),
  rules: z.array(z.number().int().min(0)),
  /** rules this chunk hit that the pool of its epoch did not have: the earliest case for each */
  first: z.array(z.strictObject({ r: z.number().int().min(0), i: z.number().int().min(0), k: z.number().int().min(0), seq: z.unknown() })),
  /** merged directories: index of the source campaign (campaign.json `sources`) */
  src: z.number().int().min(0).optional(),
});
export type ChunkLine = z.infer<typeof chunkLineSchema>;

/** The scalar counts of chunks summed over a campaign: the campaign's totals and the report's. */
export interface CountTotals {
  sequences: number;
  calls: number;
  divergences: number;
  flaky: number;
  timeout: number;
  crash: number;
  infra: number;
  /** judged only up to a call the model cannot predict */
  partial: number;
}

export const zeroCounts = (): CountTotals => ({ sequences: 0, calls: 0, divergences: 0, flaky: 0, timeout: 0, crash: 0, infra: 0, partial: 0 });

/** Add one chunk's counts (a ledger line or a worker's result; `partial` is absent in older ledgers). */
export function addCounts(t: CountTotals, l: Pick<ChunkLine, 'n' | 'calls' | 'div' | 'flaky' | 'timeout' | 'crash' | 'infra' | 'partial'>): void {
  t.sequences += l.n;
  t.calls += l.calls;
  t.divergences += l.div;
  t.flaky += l.flaky;
  t.timeout += l.timeout;
  t.crash += l.crash;
  t.infra += l.infra;
  t.partial += l.partial ?? 0;
}

/** A divergence recorded in the findings store (written after the store update). */
export const recordedLineSchema = z.strictObject({ i: z.number().int().min(0), sig: z.string(), kind: z.enum(['divergence', 'flaky']), src: z.number().int().min(0).optional() });
export type RecordedLine = z.infer<typeof recordedLineSchema>;

export interface NdjsonRead<T> {
  lines: T[];
  /** length of the valid prefix */
  goodBytes: number;
  /** what was wrong with the first line that was dropped */
  bad: string | null;
  /** the dropped part is more than a torn last line: the file is damaged in the middle */
  damaged: boolean;
}

/** Read the complete, valid lines of an NDJSON file; a torn or invalid line ends the reading. */
export function readNdjson<T>(file: string, schema: z.ZodType<T>): NdjsonRead<T> {
  if (!existsSync(file)) return { lines: [], goodBytes: 0, bad: null, damaged: false };
  const buf = readFileSync(file);
  const lines: T[] = [];
  let pos = 0;
  const stop = (why: string): NdjsonRead<T> => {
    const nl = buf.indexOf(0x0a, pos);
    return { lines, goodBytes: pos, bad: why, damaged: nl >= 0 && nl + 1 < buf.length };
  };
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    if (nl < 0) return stop('torn last line (no newline)');
    let parsed: unknown;
    try {
      parsed = JSON.parse(buf.subarray(pos, nl).toString('utf8'));
    } catch {
      return stop(`line ${lines.length + 1}: not JSON`);
    }
    const r = schema.safeParse(parsed);
    if (!r.success) return stop(`line ${lines.length + 1}: ${r.error.issues[0]?.message}`);
    lines.push(r.data);
    pos = nl + 1;
  }
  return { lines, goodBytes: pos, bad: null, damaged: false };
}

/** An append-only NDJSON file: whole lines, fsync on demand. Opening drops a torn tail. */
export class NdjsonAppender {
  private fd: number;
  private pending = '';
  constructor(
    readonly file: string,
    goodBytes?: number,
  ) {
    mkdirSync(dirname(file), { recursive: true });
    // r+ (not append mode) so that a torn tail can be cut; writes go to the tracked end offset.
    this.fd = openSync(file, existsSync(file) ? 'r+' : 'w+');
    this.offset = goodBytes ?? readFileSync(file).length;
    ftruncateSync(this.fd, this.offset);
  }
  private offset: number;

  /** Queue a line; it reaches the file on flush(). */
  add(value: unknown): void {
    this.pending += JSON.stringify(value) + '\n';
  }

  /** Write the queued lines with one write() and optionally fsync. */
  flush(sync: boolean): void {
    if (this.pending) {
      const b = Buffer.from(this.pending);
      this.pending = '';
      let done = 0;
      while (done < b.length) done += writeSync(this.fd, b, done, b.length - done, this.offset + done);
      this.offset += b.length;
    }
    if (sync) fsyncSync(this.fd);
  }

  close(): void {
    this.flush(true);
    closeSync(this.fd);
  }
}

/**
 * Case index ranges judged, per key (a chunk of one source, or a chunk of one kind of campaign):
 * progress lines are pieces of chunks, and a case must be counted once however they were cut.
 */
export class JudgedRanges {
  private readonly by = new Map<string, Array<[number, number]>>();

  /** Record [lo, hi) under key; false (and nothing recorded) when it overlaps a range already there. */
  add(key: string, lo: number, hi: number): boolean {
    const rs = this.by.get(key) ?? [];
    if (rs.some(([a, b]) => a < hi && lo < b)) return false;
    rs.push([lo, hi]);
    this.by.set(key, rs);
    return true;
  }

  /** Cases of [lo, hi) already recorded under key. */
  covered(key: string, lo: number, hi: number): number {
    return (this.by.get(key) ?? []).reduce((n, [a, b]) => n + Math.max(0, Math.min(b, hi) - Math.max(a, lo)), 0);
  }

  get keys(): number {
    return this.by.size;
  }
}
