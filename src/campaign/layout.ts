// How a campaign's case indices are cut up. Case i is always generated from (seed, i) and, when
// guided, from the pool of its epoch, so the result of a case never depends on which worker or
// machine ran it:
//   chunk    `chunk` consecutive indices: the unit of the ledger's bookkeeping. A lane is handed a
//            piece of a chunk (a few seconds of work at its measured speed, campaign.ts) and every
//            piece is recorded in the progress ledger once judged (resume skips recorded pieces);
//   epoch    `epochChunks` chunks: every case of an epoch is guided by the same pool, built from the
//            epochs at least two before it (so workers never wait for the epoch just before);
//   segment  `segmentEpochs` epochs: guidance starts afresh in every segment, so segments are
//            independent and `--shard i/M` can hand out whole segments (i, i+M, i+2M, ...).

import { z } from 'zod';

export const layoutSchema = z.strictObject({
  chunk: z.number().int().min(1),
  epochChunks: z.number().int().min(1),
  segmentEpochs: z.number().int().min(1),
});
export type Layout = z.infer<typeof layoutSchema>;

/** 4096-case chunks, 8 chunks an epoch, 32 epochs (1 Mi cases) a segment. */
export const DEFAULT_LAYOUT: Layout = { chunk: 4096, epochChunks: 8, segmentEpochs: 32 };

export const shardSchema = z.strictObject({ index: z.number().int().min(0), count: z.number().int().min(1) }).refine((s) => s.index < s.count, { message: 'shard index must be below the shard count' });
export type Shard = z.infer<typeof shardSchema>;

export function parseShard(s: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`bad shard ${JSON.stringify(s)} (expected i/M with 0 <= i < M, e.g. 3/8)`);
  const shard = { index: Number(m[1]), count: Number(m[2]) };
  if (shard.count < 1 || shard.index >= shard.count) throw new Error(`bad shard ${JSON.stringify(s)}: need 0 <= i < M`);
  return shard;
}

export interface ChunkPos {
  /** global chunk number */
  g: number;
  lo: number;
  hi: number;
  segment: number;
  /** epoch within the segment */
  epoch: number;
}

export class Plan {
  readonly segmentChunks: number;
  constructor(
    readonly layout: Layout,
    readonly shard: Shard,
    /** one past the last index of the whole campaign (all shards); undefined = unbounded */
    readonly end: number | undefined,
  ) {
    this.segmentChunks = layout.epochChunks * layout.segmentEpochs;
  }

  pos(g: number): ChunkPos {
    const lo = g * this.layout.chunk;
    const hi = this.end === undefined ? lo + this.layout.chunk : Math.min(lo + this.layout.chunk, this.end);
    const segment = Math.floor(g / this.segmentChunks);
    return { g, lo, hi, segment, epoch: Math.floor((g % this.segmentChunks) / this.layout.epochChunks) };
  }

  owns(g: number): boolean {
    return Math.floor(g / this.segmentChunks) % this.shard.count === this.shard.index;
  }

  exists(g: number): boolean {
    return this.end === undefined || g * this.layout.chunk < this.end;
  }

  /** The next chunk of this shard at or after g (null when the campaign range is exhausted). */
  nextOwned(g: number): number | null {
    for (;;) {
      if (!this.exists(g)) return null;
      if (this.owns(g)) return g;
      // jump to the start of the next segment owned by this shard
      const seg = Math.floor(g / this.segmentChunks);
      const ahead = (this.shard.index - (seg % this.shard.count) + this.shard.count) % this.shard.count;
      g = (seg + (ahead === 0 ? this.shard.count : ahead)) * this.segmentChunks;
    }
  }

  /** Cases of an epoch that exist (the last epoch of a counted campaign may be short). */
  epochCases(segment: number, epoch: number): number {
    const first = segment * this.segmentChunks + epoch * this.layout.epochChunks;
    let n = 0;
    for (let g = first; g < first + this.layout.epochChunks && this.exists(g); g++) n += this.pos(g).hi - this.pos(g).lo;
    return n;
  }

  /** Count mode: every chunk of this shard is in `done`. */
  allDone(done: ReadonlySet<number>): boolean {
    if (this.end === undefined) return false;
    for (let g = this.nextOwned(0); g !== null; g = this.nextOwned(g + 1)) if (!done.has(g)) return false;
    return true;
  }

  /** Indices this shard runs in total (count mode), for progress display. */
  private owned: number | undefined;
  ownedCases(): number | undefined {
    if (this.end === undefined) return undefined;
    if (this.owned !== undefined) return this.owned;
    let n = 0;
    for (let g = this.nextOwned(0); g !== null; g = this.nextOwned(g + 1)) {
      const p = this.pos(g);
      n += p.hi - p.lo;
    }
    return (this.owned = n);
  }
}
