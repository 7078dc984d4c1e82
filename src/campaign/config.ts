// campaign.json (what was asked, written once at the start and read back by --resume, report and
// merge) and the stats.ndjson heartbeat line. Both zod-validated; docs/campaign.md lists every field.

import { existsSync } from 'node:fs';
import { readJsonFile } from '../util/input.js';
import { join } from 'node:path';
import { z } from 'zod';
import { InputError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { layoutSchema, shardSchema } from './layout.js';

export const CAMPAIGN_FILE = 'campaign.json';

const target = z.strictObject({ runner: z.string(), release: z.string(), facts: z.record(z.string(), z.string()) });

export const campaignConfigSchema = z.strictObject({
  vmafuzz: z.literal(1),
  kind: z.literal('campaign'),
  seed: z.number().int(),
  /** cases [0, count) of the whole campaign (all shards); null = until the time budget ends */
  count: z.number().int().min(0).nullable(),
  /** time budget in ms (per campaign, across resumes); null = until count */
  timeMs: z.number().min(0).nullable(),
  shard: shardSchema,
  layout: layoutSchema,
  gen: z.strictObject({ weights: z.record(z.string(), z.number().min(0)), maxCalls: z.number().int().min(1), invalidPercent: z.number().min(0).max(100), failNthPercent: z.number().min(0).max(100).optional(), failNthMax: z.number().int().min(1).optional() }),
  guidance: z.strictObject({ enabled: z.boolean(), mutantPercent: z.number().int().min(0).max(100) }),
  batch: z.number().int().min(1),
  stabilityRuns: z.number().int().min(0),
  minimize: z.boolean(),
  runner: z.strictObject({ runner: z.string(), kernel: z.string().optional(), kernelImage: z.string().optional(), memory: z.string().optional(), append: z.string().optional(), seccomp: z.string().optional(), fsDirs: z.strictObject({ ext4: z.string().optional(), xfs: z.string().optional(), btrfs: z.string().optional() }).optional() }),
  /** testing only: fields that override the model profile (a deliberately wrong model) */
  profilePatch: z.record(z.string(), z.unknown()).optional(),
  /** the order of the per-op and per-rule count arrays in progress.ndjson */
  ops: z.array(z.string()),
  rules: z.array(z.string()),
  created: z.string(),
  target: target.optional(),
  /** lanes the campaign was started with: the default of --resume (absent in older campaigns) */
  jobs: z.number().int().min(1).optional(),
  /** GENERATOR_VERSION of src/gen (absent: a campaign from before version 4); a case is only the
   *  same case under the same generator, so --resume refuses another one and merge keeps them apart */
  generator: z.string().optional(),
});
export type CampaignConfig = z.infer<typeof campaignConfigSchema>;

/** A merged directory (vmafuzz report --merge): the campaigns it was made from. */
export const mergedConfigSchema = z.strictObject({
  vmafuzz: z.literal(1),
  kind: z.literal('merged'),
  created: z.string(),
  sources: z.array(z.strictObject({ dir: z.string(), config: campaignConfigSchema })),
});
export type MergedConfig = z.infer<typeof mergedConfigSchema>;

export const anyConfigSchema = z.discriminatedUnion('kind', [campaignConfigSchema, mergedConfigSchema]);
export type AnyConfig = z.infer<typeof anyConfigSchema>;

export function readConfig(dir: string): AnyConfig {
  const file = join(dir, CAMPAIGN_FILE);
  if (!existsSync(file)) throw new InputError(file, '', 'not a campaign directory (no campaign.json)');
  return readJsonFile(file, anyConfigSchema);
}

export function writeConfig(dir: string, c: AnyConfig): void {
  writeFileAtomic(join(dir, CAMPAIGN_FILE), JSON.stringify(anyConfigSchema.parse(c), null, 2) + '\n');
}

const count = z.number().int().min(0);

/** One heartbeat: cumulative figures of the campaign (all sessions), see docs/campaign.md. */
export const statsLineSchema = z.strictObject({
  t: z.string(),
  /** seconds of campaign run time, all sessions */
  elapsed: z.number().min(0),
  session: z.number().int().min(1),
  jobs: z.number().int().min(1),
  sequences: count,
  calls: count,
  /** over the last heartbeat interval */
  sequencesPerSec: z.number().min(0),
  callsPerSec: z.number().min(0),
  divergences: count,
  unique: count,
  flaky: count,
  flakyUnique: count,
  indeterminate: count,
  timeout: count,
  crash: count,
  infra: count,
  /** sequences judged only up to a call the model cannot predict (absent before this field existed) */
  partial: count.optional(),
  /** seconds since the last new unique finding (null: none yet) */
  sinceNewFinding: z.number().min(0).nullable(),
  ops: z.record(z.string(), count),
  rulesHit: count,
  rulesTotal: count,
  /** per-rule counts: every minute and in the last line of a session */
  rules: z.record(z.string(), count).optional(),
  chunksDone: count,
  /** cases this shard runs in total (count mode) */
  planned: count.nullable(),
  final: z.boolean().optional(),
  /** merged directories: which source the line comes from */
  source: z.number().int().min(0).optional(),
});
export type StatsLine = z.infer<typeof statsLineSchema>;
