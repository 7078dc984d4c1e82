// The findings directory: one folder per signature, so a night of fuzzing yields a short list of
// distinct problems. Every file is written atomically (temp + rename); a campaign killed at any
// moment leaves each finding either absent or complete. The kept samples are the lowest case
// indices seen (not the first to arrive), and report.txt/detail.json describe the lowest one, so
// the store's content does not depend on which worker or machine finished first.

import { existsSync, readdirSync, rmSync } from 'node:fs';
import { readJsonFile } from '../util/input.js';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/fs.js';
import { sequenceToInput, sequenceToJson } from '../seq/io.js';
import { renderTextReport } from '../report/text.js';
import type { Outcome } from './check.js';
import { knownLabelSchema, knownText, type KnownLabel } from '../findings/known.js';

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
  /** the known kernel bug of the regression corpus with this signature (src/findings/known.ts) */
  known: knownLabelSchema.optional(),
  /** set once the campaign minimized the finding (src/findings) */
  minimized: z.strictObject({ file: z.string(), calls: z.number().int(), arenaPages: z.number().int(), confirmed: z.boolean() }).optional(),
});
export type Finding = z.infer<typeof findingSchema>;

const ret = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('int'), value: z.number() }),
  z.strictObject({ kind: z.literal('addr'), page: z.number(), off: z.number() }),
  z.strictObject({ kind: z.literal('outside'), hex: z.string() }),
]);
const mapsEntry = z.looseObject({ start: z.number(), end: z.number(), perms: z.string(), offset: z.number(), dev: z.string(), inode: z.number(), name: z.string(), vmflags: z.string().optional() });
/** An observation as the report needs it (unknown extra fields of newer layers are kept). */
export const observationSchema = z.looseObject({
  calls: z.array(z.looseObject({ ret, errno: z.number(), signal: z.number(), event: z.string().optional() })),
  snapshots: z.array(z.looseObject({ after: z.number().int(), proc: z.number().int().optional(), maps: z.array(mapsEntry), pagemap: z.string().optional() })),
  status: z.string(),
  detail: z.string().optional(),
  base: z.string().optional(),
  rawMaps: z.array(z.array(z.string())).optional(),
});

/** detail.json: the detailed kernel run and model prediction of the representative sample. */
export const detailSchema = z.strictObject({
  vmafuzz: z.literal(1),
  signature: z.string(),
  sample: z.string(),
  /** the sample as a corpus document */
  sequence: z.unknown(),
  divergence: z.strictObject({ call: z.number().int(), layer: z.string(), kind: z.string(), detail: z.string(), proc: z.number().int().optional() }),
  model: observationSchema,
  kernel: observationSchema,
  /** model rule ids that fired, per call */
  rules: z.array(z.array(z.string())),
  target: z.strictObject({ runner: z.string(), release: z.string() }),
  replay: z.string(),
});
export type Detail = z.infer<typeof detailSchema>;

export const MAX_SAMPLES = 5;

export interface RecordResult {
  dir: string;
  sampleFile: string;
  isNew: boolean;
  finding: Finding;
}

const sampleName = (o: Outcome, n: number) => (o.seq.origin ? `sample-${o.seq.origin.seed}-${o.seq.origin.index}.json` : `sample-${n}.json`);
const order = (s: Finding['samples'][number]) => [s.seed ?? Infinity, s.index ?? Infinity] as const;
const before = (a: Finding['samples'][number], b: Finding['samples'][number]) => {
  const [as, ai] = order(a);
  const [bs, bi] = order(b);
  return as !== bs ? as < bs : ai < bi;
};

export function findingsDir(root: string, kind: Finding['kind']): string {
  return join(root, kind === 'flaky' ? 'flaky' : 'findings');
}

export function readFinding(dir: string): Finding {
  return readJsonFile(join(dir, 'finding.json'), findingSchema); // damaged: an InputError naming the file
}

export class FindingStore {
  /** `known`: label a finding whose signature pins a known kernel bug (src/findings/known.ts) */
  constructor(
    readonly root: string,
    private readonly known?: (signature: string, signatureText: string, release: string) => KnownLabel | undefined,
  ) {}

  dirOf(sig: string, kind: Finding['kind']): string {
    return join(findingsDir(this.root, kind), sig);
  }

  /** Record a divergent outcome. `replay(file)` gives the command line that replays a sample. */
  record(o: Outcome, target: Finding['target'], replay: (file: string) => string, kind: Finding['kind'], now = new Date()): RecordResult {
    const d = o.divergence!;
    const sig = o.signature!;
    const dir = this.dirOf(sig, kind);
    const metaFile = join(dir, 'finding.json');
    const prev = existsSync(metaFile) ? readFinding(dir) : undefined;
    const name = sampleName(o, (prev?.count ?? 0) + 1);
    const origin = o.seq.origin;
    const sample = { file: name, ...(origin ? { seed: origin.seed, index: origin.index } : {}), call: d.call };
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
        };
    const label = this.known?.(sig, finding.signatureText, target.release);
    if (label) finding.known = label;
    const samples = finding.samples;
    const seen = samples.some((s) => s.file === name);
    const full = samples.length >= MAX_SAMPLES;
    const worst = samples.reduce<Finding['samples'][number] | undefined>((w, s) => (!w || before(w, s) ? s : w), undefined);
    const keep = !seen && (!full || (worst !== undefined && before(sample, worst)));
    let dropped: string | undefined;
    if (keep) {
      const sampleFile = join(dir, name);
      // Sample first, then the report, then the metadata that points at them.
      writeFileAtomic(sampleFile, sequenceToJson(o.seq));
      if (full) {
        dropped = worst!.file;
        samples.splice(samples.indexOf(worst!), 1);
      }
      samples.push(sample);
      samples.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
      if (samples[0]!.file === name) {
        // the new lowest sample represents the finding
        this.writeReports(dir, o, finding, target, replay(sampleFile), sig, kind, name);
        if (o.stable) finding.stability = o.stable;
        else delete finding.stability;
      }
    }
    writeFileAtomic(metaFile, JSON.stringify(findingSchema.parse(finding), null, 2) + '\n');
    if (dropped) rmSync(join(dir, dropped), { force: true });
    return { dir, sampleFile: join(dir, keep ? name : samples[0]!.file), isNew: !prev, finding };
  }

  private writeReports(dir: string, o: Outcome, f: Finding, target: Finding['target'], replayCmd: string, sig: string, kind: Finding['kind'], sample: string): void {
    const d = o.divergence!;
    const report = renderTextReport({
      title: `vmafuzz ${kind} ${sig}`,
      seq: o.seq,
      model: o.model,
      kernel: o.kernel,
      divergence: d,
      target: `${target.runner}, kernel ${target.release}`,
      replayCommand: replayCmd,
      extra: [...(o.stable ? [`stability:  ${o.stable.same}/${o.stable.runs} re-runs reproduced it`] : []), ...(f.known ? [knownText(f.known)] : [])],
    });
    writeFileAtomic(join(dir, 'report.txt'), report);
    const detail: Detail = {
      vmafuzz: 1,
      signature: f.signature,
      sample,
      sequence: sequenceToInput(o.seq),
      divergence: { call: d.call, layer: d.layer, kind: d.kind, detail: d.detail, ...(d.proc !== undefined ? { proc: d.proc } : {}) },
      model: o.model as unknown as Detail['model'],
      kernel: o.kernel as unknown as Detail['kernel'],
      rules: o.model.rules.map((r) => [...r]),
      target,
      replay: replayCmd,
    };
    writeFileAtomic(join(dir, 'detail.json'), JSON.stringify(detailSchema.parse(JSON.parse(JSON.stringify(detail))), null, 1) + '\n');
  }

  /** Set the counts from an authoritative tally (the campaign's recorded.ndjson), e.g. after a crash. */
  reconcile(counts: ReadonlyMap<string, number>): void {
    for (const kind of ['divergence', 'flaky'] as const) {
      for (const f of this.list(kind)) {
        const n = counts.get(`${kind}/${f.signature}`);
        if (n !== undefined && n > 0 && n !== f.count) writeFileAtomic(join(this.dirOf(f.signature, kind), 'finding.json'), JSON.stringify({ ...f, count: n }, null, 2) + '\n');
      }
    }
  }

  /** Attach a minimized reproducer to a finding. */
  attachMinimized(sig: string, kind: Finding['kind'], text: string, info: NonNullable<Finding['minimized']>): void {
    const dir = this.dirOf(sig, kind);
    writeFileAtomic(join(dir, info.file), text);
    const f = readFinding(dir);
    writeFileAtomic(join(dir, 'finding.json'), JSON.stringify(findingSchema.parse({ ...f, minimized: info }), null, 2) + '\n');
  }

  list(kind: Finding['kind'] = 'divergence'): Finding[] {
    const base = findingsDir(this.root, kind);
    if (!existsSync(base)) return [];
    return readdirSync(base)
      .sort()
      .filter((d) => existsSync(join(base, d, 'finding.json')))
      .map((d) => readFinding(join(base, d)));
  }
}
