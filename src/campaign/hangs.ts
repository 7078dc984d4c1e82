// Sequences whose kernel run timed out are indeterminate (not judged past the calls that ran), but
// a maintainer wants to replay a hang: the campaign keeps the lowest-index ones as corpus files in
// timeouts/, with what the harness said (timeout, unkillable, uffd-stuck) in timeouts/index.ndjson.

import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { sequenceToJson } from '../seq/io.js';
import type { Sequence } from '../seq/schema.js';
import { writeFileAtomic } from '../util/fs.js';
import { NdjsonAppender } from './ledger.js';

export const TIMEOUTS_DIR = 'timeouts';
/** Sequences the model threw on (src/campaign/work.ts), kept the same way. */
export const MODEL_ERRORS_DIR = 'model-errors';
/** Sequences the harness could not run (infra), kept the same way with the harness's reason. */
export const INFRA_DIR = 'infra';
/** Timed-out samples kept per campaign (the lowest case indices). */
export const MAX_TIMEOUT_SAMPLES = 20;

const nameOf = (seed: number, index: number) => `sample-${seed}-${index}.json`;
const indexOf = (f: string) => Number(/^sample-\d+-(\d+)\.json$/.exec(f)?.[1] ?? NaN);

export class HangStore {
  private readonly dir: string;
  private kept: number[] | null = null;

  constructor(
    campaignDir: string,
    private readonly seed: number,
    sub: string = TIMEOUTS_DIR,
  ) {
    this.dir = join(campaignDir, sub);
  }

  private list(): number[] {
    if (this.kept) return this.kept;
    this.kept = existsSync(this.dir) ? readdirSync(this.dir).map(indexOf).filter((i) => Number.isFinite(i)).sort((a, b) => a - b) : [];
    return this.kept;
  }

  /** Keep case `index` if it is among the lowest MAX_TIMEOUT_SAMPLES; returns its file, or null. */
  keep(index: number, seq: Sequence, detail: string): string | null {
    const kept = this.list();
    if (kept.includes(index)) return null;
    if (kept.length >= MAX_TIMEOUT_SAMPLES && index > kept.at(-1)!) return null;
    const file = join(this.dir, nameOf(this.seed, index));
    writeFileAtomic(file, sequenceToJson(seq));
    const log = new NdjsonAppender(join(this.dir, 'index.ndjson'));
    log.add({ i: index, file: nameOf(this.seed, index), detail });
    log.close();
    kept.push(index);
    kept.sort((a, b) => a - b);
    while (kept.length > MAX_TIMEOUT_SAMPLES) rmSync(join(this.dir, nameOf(this.seed, kept.pop()!)), { force: true });
    return file;
  }
}
