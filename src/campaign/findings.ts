// The findings directory: one folder per signature, so a night of fuzzing yields a short list of
// distinct problems. Every file is written atomically (temp + rename); a campaign killed at any
// moment leaves each finding either absent or complete.

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/fs.js';
import { sequenceToJson } from '../seq/io.js';
import { renderTextReport } from '../report/text.js';
import type { Outcome } from './check.js';

export const findingSchema = z.strictObject({
  vmafuzz: z.literal(1),
  kind: z.enum(['divergence', 'flaky']),
  signature: z.string(),
  signatureText: z.string(),
  layer: z.string(),
  op: z.string(),
  diff: z.string(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  count: z.number().int().min(1),
  samples: z.array(z.strictObject({ file: z.string(), seed: z.number().int().optional(), index: z.number().int().optional(), call: z.number().int() })),
  target: z.strictObject({ runner: z.string(), release: z.string() }),
  stability: z.strictObject({ runs: z.number().int(), same: z.number().int() }).optional(),
});
export type Finding = z.infer<typeof findingSchema>;

const MAX_SAMPLES = 5;

export interface RecordResult {
  dir: string;
  sampleFile: string;
  isNew: boolean;
  finding: Finding;
}

export class FindingStore {
  constructor(readonly root: string) {}

  private dirOf(sig: string, kind: Finding['kind']): string {
    return join(this.root, kind === 'flaky' ? 'flaky' : 'findings', sig);
  }

  /** Record a divergent outcome. `replay(file)` gives the command line that replays a sample. */
  record(o: Outcome, target: Finding['target'], replay: (file: string) => string, kind: Finding['kind'], now = new Date()): RecordResult {
    const d = o.divergence!;
    const sig = o.signature!;
    const dir = this.dirOf(sig, kind);
    const metaFile = join(dir, 'finding.json');
    const prev = existsSync(metaFile) ? findingSchema.parse(JSON.parse(readFileSync(metaFile, 'utf8'))) : undefined;
    const origin = o.seq.origin;
    const sampleName = origin ? `sample-${origin.seed}-${origin.index}.json` : `sample-${(prev?.count ?? 0) + 1}.json`;
    const sampleFile = join(dir, sampleName);
    const finding: Finding = prev
      ? { ...prev, lastSeen: now.toISOString(), count: prev.count + 1 }
      : {
          vmafuzz: 1,
          kind,
          signature: sig,
          signatureText: o.signatureText!,
          layer: d.layer,
          op: d.call >= 0 ? o.seq.calls[d.call]!.op : 'initial',
          diff: d.kind,
          firstSeen: now.toISOString(),
          lastSeen: now.toISOString(),
          count: 1,
          samples: [],
          target,
          ...(o.stable ? { stability: o.stable } : {}),
        };
    const keep = finding.samples.length < MAX_SAMPLES && !finding.samples.some((s) => s.file === sampleName);
    if (keep) {
      // Sample first, then the report, then the metadata that points at them.
      writeFileAtomic(sampleFile, sequenceToJson(o.seq));
      finding.samples.push({ file: sampleName, ...(origin ? { seed: origin.seed, index: origin.index } : {}), call: d.call });
      if (!prev) {
        const report = renderTextReport({
          title: `vmafuzz ${kind} ${sig}`,
          seq: o.seq,
          model: o.model,
          kernel: o.kernel,
          divergence: d,
          target: `${target.runner}, kernel ${target.release}`,
          replayCommand: replay(sampleFile),
          extra: o.stable ? [`stability:  ${o.stable.same}/${o.stable.runs} re-runs reproduced it`] : [],
        });
        writeFileAtomic(join(dir, 'report.txt'), report);
      }
    }
    writeFileAtomic(metaFile, JSON.stringify(finding, null, 2) + '\n');
    return { dir, sampleFile: keep ? sampleFile : join(dir, finding.samples[0]!.file), isNew: !prev, finding };
  }

  list(kind: Finding['kind'] = 'divergence'): Finding[] {
    const base = join(this.root, kind === 'flaky' ? 'flaky' : 'findings');
    if (!existsSync(base)) return [];
    return readdirSync(base)
      .filter((d) => existsSync(join(base, d, 'finding.json')))
      .map((d) => findingSchema.parse(JSON.parse(readFileSync(join(base, d, 'finding.json'), 'utf8'))));
  }
}
