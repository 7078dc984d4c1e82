// The findings directory: one folder per signature, so a night of fuzzing yields a short list of
// distinct problems. Every file is written atomically (temp + rename); a campaign killed at any
// moment leaves each finding either absent or complete. The kept samples are the lowest case
// indices seen (not the first to arrive), and report.txt/detail.json describe the lowest one, so
// the store's content does not depend on which worker or machine finished first.

import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { readJsonFile } from '../util/input.js';
import { join } from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from '../util/fs.js';
import { sequenceToInput, sequenceToJson } from '../seq/io.js';
import { renderTextReport } from '../report/text.js';
import type { Outcome } from './check.js';
import { knownLabelSchema, knownText, type KnownLookup } from '../findings/known.js';
import { unusualFacts } from '../model/index.js';
import type { Sequence } from '../seq/schema.js';
import { triageSchema, triageText, type Triage } from '../triage/classify.js';

/** `facts`: the probed environment facts that differ from upstream defaults (e.g. zero_page=0) */
const targetSchema = z.strictObject({ runner: z.string(), release: z.string(), facts: z.record(z.string(), z.string()).optional() });

/** A file of the finding's own directory: a plain name, never a path (finding.json comes from
 *  shards of other machines; `report --merge` copies and `report`/`triage` open these files). */
const ownFile = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\.json$/, 'a plain .json file name of the finding directory');

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
  samples: z.array(z.strictObject({ file: ownFile, seed: z.number().int().optional(), index: z.number().int().optional(), call: z.number().int() })),
  target: targetSchema,
  stability: z.strictObject({ runs: z.number().int(), same: z.number().int() }).optional(),
  /** the known kernel bug of the regression corpus with this signature (src/findings/known.ts) */
  known: knownLabelSchema.optional(),
  /** set once the campaign minimized the finding (src/findings) */
  minimized: z.strictObject({ file: ownFile, calls: z.number().int(), arenaPages: z.number().int(), confirmed: z.boolean() }).optional(),
  /** set once the finding was triaged across kernels (src/triage; versioned on its own) */
  triage: triageSchema.optional(),
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
  target: targetSchema,
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

/** A finding's target: runner, release and the probed facts that differ from upstream defaults. */
export function findingTarget(t: { runner: string; release: string; facts: Record<string, string> }): Finding['target'] {
  const facts = unusualFacts(t.facts);
  return { runner: t.runner, release: t.release, ...(Object.keys(facts).length ? { facts } : {}) };
}

export function findingsDir(root: string, kind: Finding['kind']): string {
  return join(root, kind === 'flaky' ? 'flaky' : 'findings');
}

export function readFinding(dir: string): Finding {
  return readJsonFile(join(dir, 'finding.json'), findingSchema); // damaged: an InputError naming the file
}

export class FindingStore {
  /** `known`: label a finding that pins a known kernel bug (src/findings/known.ts) */
  constructor(
    readonly root: string,
    private readonly known?: KnownLookup,
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
        // the new lowest sample represents the finding; it decides the known-bug label until the
        // finding is minimized (then the minimized sequence does: attachMinimized)
        if (this.known && !finding.minimized) {
          const label = this.known({ signature: sig, signatureText: finding.signatureText, calls: o.seq.calls.slice(0, d.call + 1) }, target.release);
          if (label) finding.known = label;
          else delete finding.known;
        }
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
      target: `${target.runner}, kernel ${target.release}${target.facts ? `; ${Object.entries(target.facts).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`,
      replayCommand: replayCmd,
      extra: [...(o.stable ? [`stability:  ${o.stable.same}/${o.stable.runs} re-runs reproduced it`] : []), ...(f.known ? [knownText(f.known)] : []), ...(f.triage ? [triageText(f.triage)] : [])],
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

  /**
   * Attach a minimized reproducer (same signature, ends at its divergent call) to a finding; its
   * known-bug label is decided again on it: a label the minimized form no longer supports is dropped.
   */
  attachMinimized(sig: string, kind: Finding['kind'], seq: Sequence, info: NonNullable<Finding['minimized']>): Finding {
    const dir = this.dirOf(sig, kind);
    writeFileAtomic(join(dir, info.file), sequenceToJson(seq));
    const { known: _old, ...f } = readFinding(dir);
    const label = this.known?.({ signature: f.signature, signatureText: f.signatureText, calls: seq.calls }, f.target.release);
    const known = this.known ? label : _old;
    const next = findingSchema.parse({ ...f, ...(known ? { known } : {}), minimized: info });
    writeFileAtomic(join(dir, 'finding.json'), JSON.stringify(next, null, 2) + '\n');
    return next;
  }

  /** Record a finding's triage (finding.json, and the triage line of report.txt). */
  attachTriage(sig: string, kind: Finding['kind'], t: Triage): Finding {
    const dir = this.dirOf(sig, kind);
    const next = findingSchema.parse({ ...readFinding(dir), triage: t });
    const reportFile = join(dir, 'report.txt');
    if (existsSync(reportFile)) {
      // the triage line belongs to the header (as writeReports puts it): replace it, or end the header with it
      const lines = readFileSync(reportFile, 'utf8').split('\n').filter((l) => !l.startsWith('triage: '));
      const end = lines.indexOf('');
      lines.splice(end < 0 ? lines.length : end, 0, triageText(t));
      writeFileAtomic(reportFile, lines.join('\n'));
    }
    writeFileAtomic(join(dir, 'finding.json'), JSON.stringify(next, null, 2) + '\n');
    return next;
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
