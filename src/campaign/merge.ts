// `vmafuzz report --merge DIR... --out DIR`: one directory from the outputs of several campaigns
// (the shards of one campaign, or campaigns on several kernels). Findings are deduplicated by
// signature: counts are summed, the lowest case indices are kept as samples, and the reports of
// the lowest sample are used - exactly what one campaign over the union of the ranges keeps.
// Ledgers and stats lines are concatenated, tagged with their source. Sources that ran the same
// cases (same seed, generator, guidance, layout, runner and kernel: a campaign merged with itself
// or with a copy, overlapping shards) are deduplicated by case index: a progress line whose range
// an earlier source already covers is dropped, and a finding counts each case index once.

import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { InputError, UsageError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { CAMPAIGN_FILE, readConfig, statsLineSchema, writeConfig, type CampaignConfig, type StatsLine } from './config.js';
import { findingsDir, findingSchema, MAX_SAMPLES, readFinding, type Finding } from './findings.js';
import { chunkLineSchema, JudgedRanges, PROGRESS_FILE, readNdjson, RECORDED_FILE, recordedLineSchema, STATS_FILE, type ChunkLine, type RecordedLine } from './ledger.js';

export interface MergeResult {
  out: string;
  sources: number;
  findings: number;
  flaky: number;
  sequences: number;
  warnings: string[];
}

interface Held {
  dir: string;
  finding: Finding;
}

const sampleKey = (s: Finding['samples'][number]) => [s.seed ?? Infinity, s.index ?? Infinity] as const;
const cmpSample = (a: Finding['samples'][number], b: Finding['samples'][number]) => {
  const [as, ai] = sampleKey(a);
  const [bs, bi] = sampleKey(b);
  return as !== bs ? (as < bs ? -1 : 1) : ai < bi ? -1 : ai > bi ? 1 : 0;
};

function read<T>(file: string, schema: Parameters<typeof readNdjson<T>>[1]): T[] {
  const r = readNdjson(file, schema);
  if (r.damaged) throw new InputError(file, '', `damaged in the middle (${r.bad})`);
  return r.lines;
}

export function mergeCampaigns(dirs: readonly string[], outDir: string, now = new Date()): MergeResult {
  const out = resolve(outDir);
  if (dirs.length === 0) throw new UsageError('--merge needs at least one campaign directory');
  if (existsSync(join(out, CAMPAIGN_FILE))) throw new UsageError(`${out} already holds a campaign or a merge; choose another --out`);
  const sources: Array<{ dir: string; config: CampaignConfig }> = [];
  const progress: ChunkLine[] = [];
  const recorded: RecordedLine[] = [];
  const stats: StatsLine[] = [];
  const held = new Map<string, Held[]>();
  const warnings: string[] = [];
  for (const d of dirs) {
    const dir = resolve(d);
    if (dir === out) throw new UsageError(`--out ${out} is also an input`);
    const cfg = readConfig(dir);
    const base = sources.length;
    if (cfg.kind === 'campaign') sources.push({ dir, config: cfg });
    else sources.push(...cfg.sources);
    const src = (i: number | undefined) => base + (i ?? 0);
    for (const l of read(join(dir, PROGRESS_FILE), chunkLineSchema)) progress.push({ ...l, src: src(l.src) });
    for (const l of read(join(dir, RECORDED_FILE), recordedLineSchema)) recorded.push({ ...l, src: src(l.src) });
    for (const l of read(join(dir, STATS_FILE), statsLineSchema)) stats.push({ ...l, source: src(l.source) });
    for (const kind of ['divergence', 'flaky'] as const) {
      const fdir = findingsDir(dir, kind);
      if (!existsSync(fdir)) continue;
      for (const sig of readdirSync(fdir).sort()) {
        if (!existsSync(join(fdir, sig, 'finding.json'))) continue;
        const key = `${kind}/${sig}`;
        const list = held.get(key) ?? [];
        list.push({ dir: join(fdir, sig), finding: readFinding(join(fdir, sig)) });
        held.set(key, list);
      }
    }
  }
  // The same cases of the same campaign in two sources would be counted twice.
  const caseKey = (src: number) => {
    const c = sources[src]!.config;
    return JSON.stringify([c.seed, c.generator ?? null, c.gen, c.guidance, c.layout, c.batch, c.profilePatch ?? null, c.target?.runner ?? c.runner.runner, c.target?.release ?? null]);
  };
  const keys = sources.map((_, i) => caseKey(i));
  const ranges = new JudgedRanges();
  const kept: ChunkLine[] = [];
  const dropped = new Map<string, { cases: number; lost: number }>();
  const owner = new Map<string, number>();
  for (const l of progress) {
    const key = `${keys[l.src!]}/${l.g}`;
    const dup = ranges.covered(key, l.lo, l.hi);
    if (dup === 0) {
      ranges.add(key, l.lo, l.hi);
      if (!owner.has(key)) owner.set(key, l.src!);
      kept.push(l);
      continue;
    }
    const k = `sources ${owner.get(key)} and ${l.src}`;
    const d = dropped.get(k) ?? { cases: 0, lost: 0 };
    d.cases += dup;
    d.lost += l.hi - l.lo - dup; // a piece only partly covered: its other cases go too
    dropped.set(k, d);
  }
  for (const [k, d] of dropped) {
    warnings.push(`${k} both ran ${d.cases} of the same cases (same seed, generator and kernel): counted once${d.lost ? `; ${d.lost} cases of partly overlapping pieces were left out` : ''}`);
  }
  progress.length = 0;
  progress.push(...kept);
  // A case index recorded by two sources of the same cases is one divergence, not two.
  const recKeys = new Set<string>();
  const uniqueRec: RecordedLine[] = [];
  const tally = new Map<string, number>();
  for (const l of recorded) {
    const k = `${keys[l.src!]}/${l.i}`;
    if (recKeys.has(k)) continue;
    recKeys.add(k);
    uniqueRec.push(l);
    tally.set(`${l.kind}/${l.sig}`, (tally.get(`${l.kind}/${l.sig}`) ?? 0) + 1);
  }
  recorded.length = 0;
  recorded.push(...uniqueRec);

  mkdirSync(out, { recursive: true });
  let nfind = 0;
  let nflaky = 0;
  for (const [key, list] of [...held.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const kind = key.startsWith('flaky/') ? 'flaky' : 'divergence';
    const sig = key.slice(key.indexOf('/') + 1);
    const all = list.flatMap((h) => h.finding.samples.map((s) => ({ s, h })));
    all.sort((a, b) => cmpSample(a.s, b.s));
    const kept: typeof all = [];
    for (const x of all) if (kept.length < MAX_SAMPLES && !kept.some((k) => k.s.file === x.s.file)) kept.push(x);
    const rep = kept[0]?.h ?? list[0]!;
    const dest = join(findingsDir(out, kind), sig);
    mkdirSync(dest, { recursive: true });
    for (const { s, h } of kept) copyFileSync(join(h.dir, s.file), join(dest, s.file));
    for (const f of ['report.txt', 'detail.json']) if (existsSync(join(rep.dir, f))) copyFileSync(join(rep.dir, f), join(dest, f));
    const withMin = [rep, ...list].find((h) => h.finding.minimized && existsSync(join(h.dir, h.finding.minimized.file)));
    if (withMin) copyFileSync(join(withMin.dir, withMin.finding.minimized!.file), join(dest, withMin.finding.minimized!.file));
    const merged: Finding = {
      ...rep.finding,
      firstSeen: list.map((h) => h.finding.firstSeen).sort()[0]!,
      lastSeen: list.map((h) => h.finding.lastSeen).sort().at(-1)!,
      // counted from recorded.ndjson (each case once); a source without lines for it: the sum
      count: tally.get(key) ?? list.reduce((n, h) => n + h.finding.count, 0),
      samples: kept.map((k) => k.s),
    };
    if (withMin) merged.minimized = withMin.finding.minimized;
    else delete merged.minimized;
    // the most decisive triage of the shards: present first, then any verdict, then indeterminate
    const triages = list.map((h) => h.finding.triage).filter((t) => t !== undefined);
    const triage = triages.find((t) => t.class === 'present') ?? triages.find((t) => t.class !== 'indeterminate') ?? triages[0];
    if (triage) merged.triage = triage;
    else delete merged.triage;
    writeFileAtomic(join(dest, 'finding.json'), JSON.stringify(findingSchema.parse(merged), null, 2) + '\n');
    if (kind === 'flaky') nflaky++;
    else nfind++;
  }
  const nd = (lines: unknown[]) => lines.map((l) => JSON.stringify(l) + '\n').join('');
  writeFileAtomic(join(out, PROGRESS_FILE), nd(progress));
  writeFileAtomic(join(out, RECORDED_FILE), nd(recorded));
  writeFileAtomic(join(out, STATS_FILE), nd(stats));
  writeConfig(out, { vmafuzz: 1, kind: 'merged', created: now.toISOString(), sources });
  return { out, sources: sources.length, findings: nfind, flaky: nflaky, sequences: progress.reduce((n, l) => n + l.n, 0), warnings };
}
