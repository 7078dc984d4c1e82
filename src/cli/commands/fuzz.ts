import { resolve, relative } from 'node:path';
import { randomInt } from 'node:crypto';
import type { Command } from 'commander';
import { DEFAULT_CONFIG, parseWeights, type GenConfig } from '../../gen/generate.js';
import { makeProfile } from '../../model/index.js';
import { createRunner, runnerArgs } from '../../runner/index.js';
import { runCampaign, parseDuration } from '../../campaign/fuzz.js';
import { FindingStore } from '../../campaign/findings.js';
import { writeFileAtomic } from '../../util/fs.js';
import { EXIT, UsageError } from '../../util/errors.js';
import { addRunnerOptions, log, runnerOptionsFrom } from '../common.js';
import { fuzzJson, JSON_VERSION, printJson } from '../json.js';
import { OPS, type Op } from '../../seq/schema.js';

function int(name: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`--${name} expects a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

export function registerFuzz(program: Command, setCode: (c: number) => void): void {
  const cmd = program
    .command('fuzz')
    .description('run a fuzz campaign: generate sequences, run them on the kernel and in the model, report divergences')
    .option('--seed <n>', 'campaign seed (printed first; default: random)')
    .option('--count <n>', 'number of sequences to run')
    .option('--time <duration>', 'time budget, e.g. 60s, 10m, 8h')
    .option('--out <dir>', 'output directory for findings', 'out')
    .option('--ops <list>', `only these ops (comma separated: ${OPS.join(', ')})`)
    .option('--weights <spec>', 'per-op weights, e.g. mmap=4,mprotect=2')
    .option('--max-calls <n>', 'longest generated sequence', String(DEFAULT_CONFIG.maxCalls))
    .option('--batch <n>', 'sequences per harness batch', '64')
    .option('--stability <n>', 're-runs of each divergence before it counts as stable', '2')
    .option('--json', 'print a machine-readable summary');
  addRunnerOptions(cmd).action(async (o: Record<string, string | boolean | undefined>) => {
    const seed = o.seed !== undefined ? int('seed', String(o.seed)) : randomInt(2 ** 31);
    if (o.count === undefined && o.time === undefined) throw new UsageError('fuzz needs --count N or --time DURATION');
    const count = o.count !== undefined ? int('count', String(o.count)) : undefined;
    let deadline: number | undefined;
    if (o.time !== undefined) {
      try {
        deadline = Date.now() + parseDuration(String(o.time));
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    let weights = { ...DEFAULT_CONFIG.weights };
    if (o.ops) {
      const want = String(o.ops).split(',').map((s) => s.trim()).filter(Boolean);
      for (const w of want) if (!(OPS as readonly string[]).includes(w)) throw new UsageError(`--ops: unknown op ${JSON.stringify(w)} (known: ${OPS.join(', ')})`);
      weights = Object.fromEntries(OPS.map((op) => [op, want.includes(op) ? weights[op] : 0])) as Record<Op, number>;
    }
    if (o.weights) {
      try {
        weights = parseWeights(String(o.weights), weights);
      } catch (e) {
        throw new UsageError(`--weights: ${(e as Error).message}`);
      }
    }
    const gen: GenConfig = { ...DEFAULT_CONFIG, weights, maxCalls: int('max-calls', String(o.maxCalls)) };
    const out = resolve(String(o.out));
    const ropts = runnerOptionsFrom(o);
    log(`vmafuzz fuzz: seed ${seed}`);
    const runner = await createRunner(ropts);
    try {
      const target = await runner.start();
      log(`target: ${target.runner}, kernel ${target.release}`);
      const profile = makeProfile(target.release, target.facts);
      const store = new FindingStore(out);
      writeFileAtomic(`${out}/campaign.json`, JSON.stringify({ vmafuzz: JSON_VERSION, seed, count, time: o.time ?? null, gen, runner: ropts, target, started: new Date().toISOString() }, null, 2) + '\n');
      const rel = (f: string) => relative(process.cwd(), f) || f;
      const replay = (f: string) => `vmafuzz replay ${rel(f)}${runnerArgs(ropts)}`;
      const t0 = Date.now();
      let lastBeat = t0;
      const stats = await runCampaign(
        { seed, start: 0, end: count, deadline, batch: int('batch', String(o.batch)), gen, stabilityRuns: int('stability', String(o.stability)) },
        runner,
        target,
        profile,
        store,
        replay,
        {
          onFinding: (r, oc) => {
            if (r.isNew) log(`${r.finding.kind === 'flaky' ? 'flaky' : 'NEW finding'} ${r.finding.signature}: ${oc.divergence!.layer} divergence at call ${oc.divergence!.call} (${r.finding.op}: ${r.finding.diff})\n  report: ${rel(r.dir)}/report.txt\n  replay: ${replay(r.sampleFile)}`);
          },
          onBatch: (s) => {
            const now = Date.now();
            if (now - lastBeat >= 5000 && !o.json) {
              lastBeat = now;
              const secs = (now - t0) / 1000;
              log(`[${secs.toFixed(0)}s] ${s.sequences} sequences (${(s.sequences / secs).toFixed(0)}/s), ${s.divergences} divergences (${s.unique} unique), ${s.flaky} flaky, ${s.indeterminate} indeterminate`);
            }
          },
        },
      );
      const secs = (Date.now() - t0) / 1000;
      const findings = [...store.list('divergence'), ...store.list('flaky')].map((f) => ({
        signature: f.signature,
        kind: f.kind,
        count: f.count,
        dir: rel(`${out}/${f.kind === 'flaky' ? 'flaky' : 'findings'}/${f.signature}`),
        replay: replay(`${out}/${f.kind === 'flaky' ? 'flaky' : 'findings'}/${f.signature}/${f.samples[0]!.file}`),
        layer: f.layer,
        op: f.op,
        diff: f.diff,
      }));
      const summary = `${stats.sequences} sequences, ${stats.calls} calls in ${secs.toFixed(1)}s (${(stats.sequences / secs).toFixed(0)} sequences/s): ${stats.divergences} divergences, ${stats.unique} unique, ${stats.flaky} flaky, ${stats.indeterminate} indeterminate`;
      log(summary);
      if (o.json) {
        printJson(fuzzJson, {
          vmafuzz: JSON_VERSION,
          command: 'fuzz',
          seed,
          target: { runner: target.runner, release: target.release, facts: target.facts },
          sequences: stats.sequences,
          calls: stats.calls,
          seconds: secs,
          sequencesPerSecond: stats.sequences / Math.max(secs, 1e-9),
          divergences: stats.divergences,
          unique: stats.unique,
          flaky: stats.flaky,
          indeterminate: stats.indeterminate,
          out,
          findings,
        });
      }
      setCode(stats.unique > 0 ? EXIT.DIVERGENCE : EXIT.OK);
    } finally {
      await runner.close();
    }
  });
}
