// Versioned, zod-validated shapes of every `--json` output. A consumer can rely on `vmafuzz` (the
// format version) and `command`; we validate before printing so a bug cannot emit a malformed one.

import { z } from 'zod';

export const JSON_VERSION = 1;

const target = z.strictObject({ runner: z.string(), release: z.string(), facts: z.record(z.string(), z.string()) });
const divergence = z.strictObject({ call: z.number().int(), layer: z.string(), kind: z.string(), detail: z.string() });

export const fuzzJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('fuzz'),
  seed: z.number().int(),
  target,
  sequences: z.number().int(),
  calls: z.number().int(),
  seconds: z.number(),
  sequencesPerSecond: z.number(),
  divergences: z.number().int(),
  unique: z.number().int(),
  flaky: z.number().int(),
  indeterminate: z.number().int(),
  out: z.string(),
  findings: z.array(z.strictObject({ signature: z.string(), kind: z.string(), count: z.number().int(), dir: z.string(), replay: z.string(), layer: z.string(), op: z.string(), diff: z.string() })),
});

export const replayJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('replay'),
  target,
  results: z.array(
    z.strictObject({
      file: z.string(),
      status: z.enum(['match', 'diverge', 'indeterminate']),
      signature: z.string().optional(),
      divergence: divergence.optional(),
      kernelStatus: z.string(),
    }),
  ),
});

export function printJson<T>(schema: z.ZodType<T>, value: T): void {
  process.stdout.write(JSON.stringify(schema.parse(value), null, 2) + '\n');
}
