// `fuzz --threads N`: the concurrent campaign (src/campaign/races.ts) instead of the sequential one.
// It shares fuzz's --seed, --count, --time, --batch, --stability (re-runs that measure a race's hit
// rate), --out, --minimize-time and the runner options (--no-pin: racing threads are not bound to
// CPUs), --fail-nth PERCENT [--fail-nth-max K] (that share of the cases: a racing fork with failNth
// while maps readers read, src/gen/fail-nth-threads.ts); the sequential campaign's ledger, guidance
// and resume do not apply to it.

import { existsSync, mkdirSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { KnownBugs } from '../../findings/known.js';
import { projectRoot } from '../../runner/harness-build.js';
import { parseDuration } from '../../campaign/fuzz.js';
import { runRaceCampaign } from '../../campaign/races.js';
import { DEFAULT_RACE_CONFIG } from '../../gen/threads.js';
import { environmentText, makeProfile } from '../../model/index.js';
import { createRunner } from '../../runner/index.js';
import { MAX_THREADS } from '../../seq/schema.js';
import { CannotTestError, EXIT, UsageError } from '../../util/errors.js';
import { DEFAULT_FAIL_NTH_MAX } from '../../gen/fail-nth.js';
import { MAX_FAIL_NTH } from '../../seq/fail-nth.js';
import { log, runnerOptionsFrom } from '../common.js';

const int = (name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number => {
  const s = String(v);
  if (!/^\d+$/.test(s) || Number(s) < min || Number(s) > max) throw new UsageError(`--${name} expects an integer in [${min}, ${max}], got ${JSON.stringify(s)}`);
  return Number(s);
};

export async function fuzzThreads(o: Record<string, unknown>, setCode: (c: number) => void): Promise<void> {
  const threads = int('threads', o.threads, 2, MAX_THREADS);
  if (o.resume !== undefined) throw new UsageError('--threads campaigns cannot be resumed (they keep no ledger); start a new one');
  if (o.json) throw new UsageError('--threads campaigns have no --json summary yet (they write races-summary.json in --out)');
  if (o.count === undefined && o.time === undefined) throw new UsageError('fuzz --threads needs --count N or --time DURATION');
  let timeMs: number | undefined;
  if (o.time !== undefined) {
    try {
      timeMs = parseDuration(String(o.time));
    } catch (e) {
      throw new UsageError(`--time: ${(e as Error).message}`);
    }
  }
  const seed = o.seed !== undefined ? int('seed', o.seed, 0) : randomInt(2 ** 31);
  // --fail-nth: a share of the cases gets a racing fork with failNth while readers read (src/gen/fail-nth-threads.ts)
  const failNth = o.failNth !== undefined ? { failNthPercent: int('fail-nth', o.failNth, 0, 100), failNthMax: int('fail-nth-max', o.failNthMax ?? DEFAULT_FAIL_NTH_MAX, 1, MAX_FAIL_NTH) } : {};
  const out = resolve(String(o.out));
  if (existsSync(`${out}/races-summary.json`)) throw new UsageError(`${out} already holds a --threads campaign; choose another --out`);
  mkdirSync(out, { recursive: true });
  log(`vmafuzz fuzz --threads ${threads}: seed ${seed}`);
  // a VM gets a CPU per racing thread (as far as the host has them): with one, threads only
  // interleave where the guest scheduler preempts them
  const ropts = runnerOptionsFrom(o);
  if (ropts.runner === 'qemu') ropts.cpus = Math.max(1, Math.min(threads, availableParallelism()));
  const runner = await createRunner(ropts);
  let stop = false;
  const onSignal = () => (stop = true);
  process.on('SIGINT', onSignal);
  try {
    const target = await runner.start();
    const profile = makeProfile(target.release, target.facts);
    if ((failNth.failNthPercent ?? 0) > 0 && target.facts.fail_nth !== '1') {
      throw new CannotTestError(`--fail-nth needs /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION); kernel ${target.release} has none: use a kernel from \`vmafuzz kernels build VERSION --with fault-injection\``);
    }
    const knownBugs = KnownBugs.load(join(projectRoot(), 'corpus', 'regression'), projectRoot());
    log(`target: ${target.runner}, kernel ${target.release}; output ${out}`);
    log(`environment: ${environmentText(target.facts)}`);
    const s = await runRaceCampaign({
      runner,
      profile,
      seed,
      gen: { ...DEFAULT_RACE_CONFIG, threads, ...failNth },
      count: o.count !== undefined ? int('count', o.count, 0) : null,
      ...(timeMs !== undefined ? { deadline: Date.now() + timeMs } : {}),
      batch: int('batch', o.batch, 1),
      pinThreads: o.pin !== false,
      confirmRuns: int('stability', o.stability, 0),
      minimizeMs: o.minimize === false ? 0 : parseDuration(String(o.minimizeTime)),
      out,
      known: (f, release) => knownBugs.lookup(f, release),
      release: target.release,
      shouldStop: () => stop,
      log,
    });
    const rate = s.sequences / Math.max(s.seconds, 1e-9);
    const reasons = Object.entries(s.reasons).map(([r, n]) => `${n} x ${r}`).join('; ');
    log(`${s.sequences} concurrent sequences (${threads} threads), ${s.calls} calls in ${s.seconds.toFixed(1)}s (${rate.toFixed(1)} sequences/s; in ${s.overlapping} runs calls of two threads overlapped): ${s.pass} linearizable, ${s.fail} with no linearization (${s.findings.length} unique, ${s.serial} of them diverging serially too (${s.known} a known kernel bug), ${s.unconfirmed} not seen again in ${String(o.stability)} re-runs), ${s.indeterminate} indeterminate${reasons ? ` (${reasons})` : ''}, ${s.crashes} kernel crashes; ${s.applied} model call applications`);
    if (s.failNth) log(`fault injection: ${s.failNth.armed} cases with a racing fork carrying failNth, ${s.failNth.failed} runs where its failure surfaced, ${s.failNth.reads} maps reads overlapping those failing forks`);
    if (s.sequences === 0) {
      log('nothing was tested');
      setCode(EXIT.CANNOT_TEST);
      return;
    }
    setCode(s.findings.length || s.crashes ? EXIT.DIVERGENCE : EXIT.OK);
  } finally {
    process.off('SIGINT', onSignal);
    await runner.close();
  }
}
