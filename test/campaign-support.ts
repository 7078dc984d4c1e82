// Shared by the campaign and report tests: the built CLI (rebuilt when src/ is newer, so a direct
// `npx vitest run test/campaign-cli.test.ts` works too), and readers that reduce a campaign
// directory to what must not depend on scheduling (timestamps left out).

import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { findingSchema } from '../src/campaign/findings.js';
import { predict, type Profile } from '../src/model/index.js';
import type { Runner, TargetInfo } from '../src/runner/types.js';

export const ROOT = join(import.meta.dirname, '..');
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** Build dist/ when any source is newer than it (tsc emits even when other modules have type errors). */
export async function ensureBuilt(): Promise<void> {
  const stamp = join(ROOT, 'dist', 'campaign', 'worker.js');
  if (existsSync(stamp) && existsSync(CLI) && statSync(stamp).mtimeMs >= newest(join(ROOT, 'src'))) return;
  const lock = join(ROOT, 'dist', '.build-lock');
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (let i = 0; ; i++) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (i > 600) throw new Error(`build lock ${lock} held for 5 minutes`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (existsSync(stamp) && statSync(stamp).mtimeMs >= newest(join(ROOT, 'src'))) return;
    await execa(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json')], { reject: false });
    if (!existsSync(stamp)) throw new Error('tsc did not produce dist/campaign/worker.js');
  } finally {
    rmdirSync(lock);
  }
}

export function vmafuzz(args: string[], opts: { env?: Record<string, string> } = {}): ResultPromise<{ reject: false; env: Record<string, string> }> {
  return execa(process.execPath, [CLI, ...args], { reject: false, env: opts.env ?? {} });
}

/** A deliberately wrong model: it believes the process is 6 VMAs short of vm.max_map_count. */
export const WRONG_PROFILE = JSON.stringify({ baseMapCount: 65524 });

/** The campaign knobs the tests share: small chunks and epochs so guidance starts early. */
export const SMALL_LAYOUT = ['--chunk', '200', '--epoch-chunks', '2', '--segment-epochs', '4'];

export interface FindingKey {
  kind: string;
  signature: string;
  signatureText: string;
  layer: string;
  op: string;
  diff: string;
  count: number;
  samples: unknown;
  stability: unknown;
}

/** Findings of a directory without timestamps (and without minimization, which is time-limited). */
export function findingsOf(dir: string): FindingKey[] {
  const out: FindingKey[] = [];
  for (const kind of ['findings', 'flaky']) {
    const base = join(dir, kind);
    if (!existsSync(base)) continue;
    for (const sig of readdirSync(base).sort()) {
      const f = findingSchema.parse(JSON.parse(readFileSync(join(base, sig, 'finding.json'), 'utf8')));
      out.push({ kind: f.kind, signature: f.signature, signatureText: f.signatureText, layer: f.layer, op: f.op, diff: f.diff, count: f.count, samples: f.samples, stability: f.stability });
    }
  }
  return out;
}

/** The records of an ndjson file; a last line without its newline that does not parse is one a
 *  kill tore while it was written (the campaign's own readers skip it too) and is left out. */
export function ndjson(file: string): Array<Record<string, unknown>> {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const torn = lines.at(-1) !== '' ? lines.pop()! : '';
  const out = lines.filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  if (torn) {
    try {
      out.push(JSON.parse(torn) as Record<string, unknown>);
    } catch {
      // torn by a kill
    }
  }
  return out;
}

/** A "kernel" that is the model itself: for count-based coverage experiments without a harness. */
export function modelRunner(profile: Profile): Runner {
  // the pool and SysV facts the profile was made with (a campaign builds its profile from them)
  const facts: Record<string, string> = {};
  if (profile.hugepagesFree !== undefined) facts['hugepages_free'] = profile.hugepagesFree.toString(16);
  if (profile.sysvShm !== undefined) facts['sysv_shm'] = profile.sysvShm ? '1' : '0';
  const target: TargetInfo = { runner: 'model', release: profile.release, facts };
  return {
    name: 'model',
    start: async () => target,
    run: async (batch, opts) =>
      batch.map((s) => {
        const p = predict(s, profile, { snapshotEveryCall: opts.snapshotEveryCall });
        return { calls: p.calls, snapshots: p.snapshots, status: 'ok' as const };
      }),
    close: async () => {},
  };
}
