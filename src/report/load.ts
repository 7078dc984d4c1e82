// Everything a report shows, read from a campaign directory (or a merged one) and validated:
// campaign.json, the progress ledger (totals), stats.ndjson (over time), and each finding with
// its detail.json (the observations the pictures are drawn from).

import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readConfig, statsLineSchema, type CampaignConfig, type StatsLine } from '../campaign/config.js';
import { detailSchema, findingsDir, readFinding, type Detail, type Finding } from '../campaign/findings.js';
import { addCounts, chunkLineSchema, JudgedRanges, PROGRESS_FILE, readNdjson, STATS_FILE, zeroCounts, type CountTotals } from '../campaign/ledger.js';
import { unfiredRules, type UnfiredRule } from '../campaign/coverage.js';
import { RULE_IDS } from '../model/index.js';
import { loadSequenceFile, parseSequence } from '../seq/io.js';
import { MAX_RECORD_BYTES, parseJsonText, readInputFile } from '../util/input.js';
import type { Sequence } from '../seq/schema.js';
import { InputError } from '../util/errors.js';
import { absoluteReplay, shellQuote, splitReplay } from './replay.js';
import { projectRoot } from '../runner/harness-build.js';

export interface FindingView {
  finding: Finding;
  dir: string;
  detail: Detail | null;
  sequence: Sequence | null;
  reportText: string | null;
  minimized: Sequence | null;
  /** the replay command with an absolute file (runs from any directory), when the sample is here */
  replay?: string;
  /** the same for the minimized form */
  minimizedReplay?: string;
  /** the known bug's regression file, absolute, when this vmafuzz has it */
  knownFile?: string;
  /** why detail.json could not be used (older campaign, damaged file) */
  problem?: string;
}

export interface Totals extends CountTotals {
  chunks: number;
  ops: Record<string, number>;
  rules: Record<string, number>;
}

export interface ReportData {
  dir: string;
  kind: 'campaign' | 'merged';
  sources: Array<{ dir: string; config: CampaignConfig }>;
  totals: Totals;
  stats: StatsLine[];
  findings: FindingView[];
  flaky: FindingView[];
  /** rules never fired, with why (src/campaign/coverage.ts) */
  unfired: UnfiredRule[];
}

function loadFinding(dir: string): FindingView {
  const finding = readFinding(dir);
  const v: FindingView = { finding, dir, detail: null, sequence: null, reportText: null, minimized: null };
  if (existsSync(join(dir, 'report.txt'))) v.reportText = readFileSync(join(dir, 'report.txt'), 'utf8');
  const file = join(dir, 'detail.json');
  if (existsSync(file)) {
    let json: unknown;
    try {
      json = parseJsonText(readInputFile(file, MAX_RECORD_BYTES), file);
    } catch (e) {
      json = undefined;
      v.problem = `detail.json: ${(e as Error).message}`;
    }
    const r = detailSchema.safeParse(json);
    if (v.problem) {
      /* unreadable: shown as a problem */
    } else if (r.success) {
      v.detail = r.data;
      try {
        v.sequence = parseSequence(r.data.sequence, file);
      } catch (e) {
        v.problem = `detail.json: ${(e as Error).message}`;
      }
    } else v.problem = `detail.json: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`;
  } else v.problem = 'no detail.json (recorded by an older vmafuzz)';
  if (v.detail) {
    const r = absoluteReplay(v.detail.replay, { findingDir: dir });
    if (r) v.replay = r;
    const s = splitReplay(v.detail.replay);
    if (s && finding.minimized && existsSync(join(dir, finding.minimized.file))) v.minimizedReplay = `${s.prefix}${shellQuote(join(dir, finding.minimized.file))}${s.rest}`;
  }
  // known-bug labels name their regression file relative to the project root
  if (finding.known && existsSync(join(projectRoot(), finding.known.file))) v.knownFile = join(projectRoot(), finding.known.file);
  if (finding.minimized && existsSync(join(dir, finding.minimized.file))) {
    try {
      v.minimized = loadSequenceFile(join(dir, finding.minimized.file));
    } catch {
      /* shown as missing */
    }
  }
  return v;
}

function loadFindings(root: string, kind: Finding['kind']): FindingView[] {
  const base = findingsDir(root, kind);
  if (!existsSync(base)) return [];
  return readdirSync(base)
    .sort()
    .filter((d) => existsSync(join(base, d, 'finding.json')))
    .map((d) => loadFinding(join(base, d)))
    .sort((a, b) => b.finding.count - a.finding.count || (a.finding.signature < b.finding.signature ? -1 : 1));
}

export function loadReport(d: string): ReportData {
  const dir = resolve(d);
  const cfg = readConfig(dir);
  const sources = cfg.kind === 'campaign' ? [{ dir, config: cfg }] : cfg.sources;
  const allRules = [...new Set([...RULE_IDS, ...sources.flatMap((s) => s.config.rules)])];
  const totals: Totals = { ...zeroCounts(), chunks: 0, ops: {}, rules: Object.fromEntries(allRules.map((r) => [r, 0])) };
  const prog = readNdjson(join(dir, PROGRESS_FILE), chunkLineSchema);
  if (prog.damaged) throw new InputError(join(dir, PROGRESS_FILE), '', `damaged in the middle (${prog.bad})`);
  // lines are pieces of chunks: count each case once (a re-run piece is a duplicate)
  const seen = new JudgedRanges();
  for (const l of prog.lines) {
    if (!seen.add(`${l.src ?? 0}/${l.g}`, l.lo, l.hi)) continue;
    const c = sources[l.src ?? 0]?.config;
    if (!c) throw new InputError(join(dir, PROGRESS_FILE), '', `line for unknown source ${l.src}`);
    addCounts(totals, l);
    l.ops.forEach((v, i) => (totals.ops[c.ops[i]!] = (totals.ops[c.ops[i]!] ?? 0) + v));
    l.rules.forEach((v, i) => (totals.rules[c.rules[i]!] = (totals.rules[c.rules[i]!] ?? 0) + v));
  }
  totals.chunks = seen.keys;
  const stats = readNdjson(join(dir, STATS_FILE), statsLineSchema).lines;
  const unfired = unfiredRules(totals.rules, sources.map((s) => s.config));
  return { dir, kind: cfg.kind, sources, totals, stats, findings: loadFindings(dir, 'divergence'), flaky: loadFindings(dir, 'flaky'), unfired };
}

export function rulesHit(t: Totals): number {
  return Object.values(t.rules).filter((v) => v > 0).length;
}
