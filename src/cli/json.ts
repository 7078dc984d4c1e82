// Versioned, zod-validated shapes of every `--json` output. A consumer can rely on `vmafuzz` (the
// format version) and `command`; we validate before printing so a bug cannot emit a malformed one.

import { z } from 'zod';
import { knownLabelSchema } from '../findings/known.js';
import { TRIAGE_CLASSES, triageSchema } from '../triage/classify.js';

export const JSON_VERSION = 1;

const target = z.strictObject({ runner: z.string(), release: z.string(), facts: z.record(z.string(), z.string()) });
/** a rule the campaign never fired: why (needs the target lacks; [] = can fire, not reached yet) */
const unfiredRule = z.strictObject({ rule: z.string(), why: z.array(z.string()), recipe: z.boolean(), targetUnknown: z.literal(true).optional() });
const divergence = z.strictObject({ call: z.number().int(), layer: z.string(), kind: z.string(), detail: z.string() });

export const fuzzJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('fuzz'),
  seed: z.number().int(),
  shard: z.strictObject({ index: z.number().int(), count: z.number().int() }),
  jobs: z.number().int(),
  /** the CPU each lane was bound to (null: unbound; see --no-pin) */
  cpus: z.array(z.number().int().nullable()),
  target,
  /** this session */
  sequences: z.number().int(),
  calls: z.number().int(),
  seconds: z.number(),
  sequencesPerSecond: z.number(),
  /** the whole campaign (all sessions) */
  totalSequences: z.number().int(),
  divergences: z.number().int(),
  unique: z.number().int(),
  flaky: z.number().int(),
  indeterminate: z.number().int(),
  /** sequences judged only up to a call the model cannot predict */
  partial: z.number().int(),
  rulesHit: z.number().int(),
  rulesTotal: z.number().int(),
  rulesUnfired: z.array(unfiredRule),
  interrupted: z.boolean(),
  complete: z.boolean(),
  out: z.string(),
  findings: z.array(
    z.strictObject({
      signature: z.string(), kind: z.string(), count: z.number().int(), dir: z.string(), replay: z.string(), layer: z.string(), op: z.string(), diff: z.string(),
      /** the summary of the known kernel bug (corpus/regression) this finding pins */
      known: z.string().optional(),
      /** --triage: the finding's class across kernels (src/triage) */
      triage: z.enum(TRIAGE_CLASSES).optional(),
    }),
  ),
  /** --triage: unique findings per triage class */
  triage: z.record(z.enum(TRIAGE_CLASSES), z.number().int()).optional(),
  /** --fail-on: which findings make the exit status 1 */
  failOn: z.enum(['any', 'present']),
});

export const replayJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('replay'),
  /** null when every file was refused and nothing ran */
  target: target.nullable(),
  results: z.array(
    z.strictObject({
      file: z.string(),
      status: z.enum(['match', 'diverge', 'indeterminate']),
      signature: z.string().optional(),
      /** layer|op|kind|decisive rules: what the signature hashes */
      signatureText: z.string().optional(),
      divergence: divergence.optional(),
      kernelStatus: z.string(),
      /** the file's "known" label (a known kernel bug), when it has one */
      known: z.string().optional(),
    }),
  ),
  /** files refused before anything ran (exit 2 once the others are replayed) */
  badInput: z.array(z.strictObject({ file: z.string(), problem: z.string() })).optional(),
});

const sample = z.strictObject({ file: z.string(), seed: z.number().int().optional(), index: z.number().int().optional(), call: z.number().int() });
const reportFinding = z.strictObject({
  signature: z.string(),
  signatureText: z.string(),
  kind: z.enum(['divergence', 'flaky']),
  layer: z.string(),
  op: z.string(),
  diff: z.string(),
  count: z.number().int(),
  firstSeen: z.string(),
  lastSeen: z.string(),
  samples: z.array(sample),
  dir: z.string(),
  stability: z.strictObject({ runs: z.number().int(), same: z.number().int() }).optional(),
  minimized: z.strictObject({ file: z.string(), calls: z.number().int(), arenaPages: z.number().int(), confirmed: z.boolean() }).optional(),
  /** the known kernel bug of corpus/regression with this signature */
  known: knownLabelSchema.optional(),
  /** the finding's triage across kernels (src/triage), when it was triaged */
  triage: triageSchema.optional(),
  replay: z.string().optional(),
  divergence: z.strictObject({ call: z.number().int(), layer: z.string(), kind: z.string(), detail: z.string(), proc: z.number().int().optional() }).optional(),
});

export const reportJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('report'),
  dir: z.string(),
  kind: z.enum(['campaign', 'merged']),
  sources: z.array(z.strictObject({ dir: z.string(), seed: z.number().int(), shard: z.strictObject({ index: z.number().int(), count: z.number().int() }), target: z.strictObject({ runner: z.string(), release: z.string() }).nullable() })),
  totals: z.strictObject({
    sequences: z.number().int(),
    calls: z.number().int(),
    divergences: z.number().int(),
    flaky: z.number().int(),
    timeout: z.number().int(),
    crash: z.number().int(),
    infra: z.number().int(),
    /** sequences judged only up to a call the model cannot predict */
    partial: z.number().int(),
    chunks: z.number().int(),
    ops: z.record(z.string(), z.number().int()),
  }),
  rulesHit: z.number().int(),
  rulesTotal: z.number().int(),
  rules: z.record(z.string(), z.number().int()),
  rulesUnfired: z.array(unfiredRule),
  findings: z.array(reportFinding),
  flaky: z.array(reportFinding),
  html: z.string().nullable(),
  junit: z.string().nullable(),
});

export function printJson<T>(schema: z.ZodType<T>, value: T): void {
  process.stdout.write(JSON.stringify(schema.parse(value), null, 2) + '\n');
}

// ---- findings pipeline (src/findings): minimize, repro, bisect

const seqSize = z.strictObject({ calls: z.number().int(), arenaPages: z.number().int() });

export const minimizeJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('minimize'),
  target,
  file: z.string(),
  status: z.enum(['minimized', 'unstable', 'match', 'indeterminate']),
  /** where the minimized sequence was written (minimized and unstable only) */
  out: z.string().optional(),
  signature: z.string().optional(),
  signatureText: z.string().optional(),
  divergence: divergence.optional(),
  before: seqSize,
  after: seqSize.optional(),
  confirm: z.strictObject({ runs: z.number().int(), same: z.number().int() }).optional(),
  candidates: z.number().int(),
  batches: z.number().int(),
  seconds: z.number(),
  phases: z.array(z.strictObject({ phase: z.string(), calls: z.number().int(), arenaPages: z.number().int(), candidates: z.number().int(), ms: z.number() })),
});

export const reproJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('repro'),
  target,
  file: z.string(),
  out: z.string(),
  kselftest: z.boolean(),
  /** does the run used to build the expectations already diverge? (the program will exit 1 there) */
  status: z.enum(['match', 'diverge', 'indeterminate']),
  signature: z.string().optional(),
  divergence: divergence.optional(),
});

const verdict = z.strictObject({
  kernel: z.string(),
  release: z.string().optional(),
  verdict: z.enum(['match', 'diverge', 'skip']),
  signature: z.string().optional(),
  detail: z.string(),
});

export const bisectJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('bisect'),
  file: z.string(),
  /** the model profile every kernel was judged against; null = each kernel's own release */
  profile: z.string().nullable(),
  kernels: z.array(z.string()),
  steps: z.array(verdict),
  result: z.strictObject({
    status: z.enum(['changed', 'unchanged', 'undecided']),
    lastSame: z.string().optional(),
    firstChanged: z.string().optional(),
    skipped: z.array(z.string()),
    message: z.string(),
  }),
});

// ---- triage across kernels (src/triage)

export const triageJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('triage'),
  results: z.array(
    z.strictObject({
      /** the finding directory or corpus file given */
      path: z.string(),
      signature: z.string().optional(),
      /** written to the finding's finding.json (a finding directory) */
      recorded: z.boolean(),
      triage: triageSchema,
    }),
  ),
  counts: z.record(z.enum(TRIAGE_CLASSES), z.number().int()),
  exitCode: z.number().int(),
});

// ---- kernel matrix (src/matrix)

const matrixCell = z.strictObject({
  kernel: z.string(),
  status: z.enum(['match', 'diverge', 'crash', 'timeout', 'infra', 'untested']),
  /** as printed in the table: match, "#3 maps", crash, timeout, infra, "-" */
  label: z.string(),
  divergence: divergence.optional(),
  signature: z.string().optional(),
  signatureText: z.string().optional(),
  /** the known kernel bug the signature pins (corpus/regression); the cell still diverges */
  known: knownLabelSchema.optional(),
  detail: z.string().optional(),
  replay: z.string().optional(),
});

export const matrixJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('matrix'),
  runner: z.string(),
  /** --profile: the one model release every kernel was judged against; null = each kernel's own */
  profile: z.string().nullable(),
  files: z.array(z.string()),
  kernels: z.array(
    z.strictObject({
      kernel: z.string(),
      /** the column's short label in the text table */
      label: z.string(),
      status: z.enum(['tested', 'cannot-test']),
      error: z.string().optional(),
      target: target.optional(),
      /** the model profile this kernel was judged against (makeProfile(release, facts)) */
      profile: z.strictObject({ release: z.string(), version: z.string(), thp: z.string(), preRows: z.array(z.string()), warnings: z.array(z.string()) }).optional(),
      seconds: z.number(),
    }),
  ),
  /** one row per file, cells in the order of `kernels` */
  rows: z.array(z.strictObject({ file: z.string(), cells: z.array(matrixCell) })),
  summary: z.strictObject({ match: z.number().int(), diverge: z.number().int(), crash: z.number().int(), timeout: z.number().int(), infra: z.number().int(), untested: z.number().int() }),
  exitCode: z.number().int(),
});
