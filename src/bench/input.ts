// The harness input of the bench's C-only baselines: the given sequences in batches of 64 (the
// campaign default), each with the observations a campaign collects for that batch
// (src/campaign/work.ts batchRunOptions: maps, and every LAYER_EVERY-th batch VmFlags and pagemap).

import { batchRunOptions } from '../campaign/work.js';
import { encodeWire, toWire } from '../runner/protocol.js';
import type { Sequence } from '../seq/schema.js';

export const BENCH_BATCH = 64;

export function harnessInput(seqs: readonly Sequence[]): string {
  return seqs.map((s, i) => encodeWire(String(i), toWire(s), batchRunOptions(Math.floor(i / BENCH_BATCH)))).join('') + 'quit\n';
}
