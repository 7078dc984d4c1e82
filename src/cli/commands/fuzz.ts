import { printable } from '../../util/text.js';
import { exitAfterFlush } from '../exit.js';
import { MAX_CALL_PAGES } from '../../seq/schema.js';
import { expandOps } from '../../gen/families.js';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve, relative, join } from 'node:path';
import { randomInt } from 'node:crypto';
import { Option, type Command } from 'commander';
import { DEFAULT_CONFIG, GENERATOR_VERSION, parseWeights, type GenConfig, type Weights } from '../../gen/generate.js';
import { environmentText, makeProfile, RULE_IDS } from '../../model/index.js';
import { runnerArgs, type RunnerOptions } from '../../runner/index.js';
import { projectRoot } from '../../runner/harness-build.js';
import { parseDuration } from '../../campaign/fuzz.js';
import { CAMPAIGN_FILE, readConfig, writeConfig, type CampaignConfig } from '../../campaign/config.js';
import { DEFAULT_LAYOUT, parseShard, type Layout } from '../../campaign/layout.js';
import { planLanes, type LanePlan } from '../../campaign/affinity.js';
import { KnownBugs, knownText } from '../../findings/known.js';
import { InProcessExecutor, ThreadExecutor, type Executor, type WorkerInit } from '../../campaign/executor.js';
import { elapsedSoFar, runCampaign, type ProgressView } from '../../campaign/campaign.js';
import { lockCampaign, type CampaignLock } from '../../campaign/lock.js';
import { findingsDir, FindingStore, type Finding } from '../../campaign/findings.js';
import { heartbeatLine, Panel } from '../../campaign/progress.js';
import { CannotTestError, EXIT, UsageError } from '../../util/errors.js';
import { DEFAULT_FAIL_NTH_MAX } from '../../gen/fail-nth.js';
import { MAX_FAIL_NTH } from '../../seq/fail-nth.js';
import { addRunnerOptions, log, runnerOptionsFrom } from '../common.js';
import { fuzzJson, JSON_VERSION, printJson } from '../json.js';
import { OPS, type Op } from '../../seq/schema.js';
import { shellQuote } from '../../report/replay.js';
import { needsTriage, TriageQueue } from '../../triage/finding.js';
import { triageCounts, triageText } from '../../triage/classify.js';
import { countClasses, triageOptionsFrom } from './triage.js';

// Generated sequences must stay valid corpus files: the generator's largest arena is 1024 pages
// (src/gen/generate.ts interpret), and calls x arenaPages is bounded (src/seq/schema.ts).
const MAX_GENERATED_CALLS = Math.floor(MAX_CALL_PAGES / 1024);

function int(name: string, v: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} expects an integer >= ${min}, got ${JSON.stringify(v)}`);
  if (Number(v) > max) throw new UsageError(`--${name} expects an integer <= ${max}, got ${v}`);
  return Number(v);
}

function duration(name: string, v: string): number {
  try {
    return parseDuration(v);
  } catch (e) {
    throw new UsageError(`--${name}: ${(e as Error).message}`);
  }
}

/** Options that define a campaign; on --resume they come from campaign.json. */
const CAMPAIGN_OPTIONS = ['seed', 'count', 'ops', 'weights', 'maxCalls', 'batch', 'stability', 'shard', 'guidance', 'minimize', 'chunk', 'epochChunks', 'segmentEpochs', 'profileOverride', 'runner', 'kernel', 'kernelImage', 'memory', 'append', 'seccomp'];

function newConfig(o: Record<string, unknown>): CampaignConfig {
  if (o.count === undefined && o.time === undefined) throw new UsageError('fuzz needs --count N or --time DURATION (or --resume DIR)');
  let weights: Weights = { ...DEFAULT_CONFIG.weights };
  if (o.ops) {
    let want: Op[];
    try {
      want = expandOps(String(o.ops)); // op names and families (src/gen/families.ts)
    } catch (e) {
      throw new UsageError(`--ops: ${(e as Error).message}`);
    }
    weights = Object.fromEntries(OPS.map((op) => [op, want.includes(op) ? weights[op] : 0])) as Record<Op, number>;
  }
  if (o.weights) {
    try {
      weights = parseWeights(String(o.weights), weights);
    } catch (e) {
      throw new UsageError(`--weights: ${(e as Error).message}`);
    }
  }
  let shard = { index: 0, count: 1 };
  if (o.shard !== undefined) {
    try {
      shard = parseShard(String(o.shard));
    } catch (e) {
      throw new UsageError(`--shard: ${(e as Error).message}`);
    }
  }
  let profilePatch: Record<string, unknown> | undefined;
  if (o.profileOverride !== undefined) {
    try {
      profilePatch = JSON.parse(String(o.profileOverride)) as Record<string, unknown>;
      if (!profilePatch || typeof profilePatch !== 'object' || Array.isArray(profilePatch)) throw new Error('not a JSON object');
    } catch (e) {
      throw new UsageError(`--profile-override: ${(e as Error).message}`);
    }
  }
  const layout: Layout = {
    chunk: o.chunk !== undefined ? int('chunk', String(o.chunk), 1) : DEFAULT_LAYOUT.chunk,
    epochChunks: o.epochChunks !== undefined ? int('epoch-chunks', String(o.epochChunks), 1) : DEFAULT_LAYOUT.epochChunks,
    segmentEpochs: o.segmentEpochs !== undefined ? int('segment-epochs', String(o.segmentEpochs), 1) : DEFAULT_LAYOUT.segmentEpochs,
  };
  const gen: GenConfig = { ...DEFAULT_CONFIG, weights, maxCalls: int('max-calls', String(o.maxCalls), 1, MAX_GENERATED_CALLS) };
  if (o.failNth !== undefined) {
    gen.failNthPercent = int('fail-nth', String(o.failNth), 0, 100);
    gen.failNthMax = int('fail-nth-max', String(o.failNthMax ?? DEFAULT_FAIL_NTH_MAX), 1, MAX_FAIL_NTH);
  }
  const ropts = runnerOptionsFrom(o);
  return {
    vmafuzz: 1,
    kind: 'campaign',
    generator: GENERATOR_VERSION,
    seed: o.seed !== undefined ? int('seed', String(o.seed)) : randomInt(2 ** 31),
    count: o.count !== undefined ? int('count', String(o.count)) : null,
    timeMs: o.time !== undefined ? duration('time', String(o.time)) : null,
    shard,
    layout,
    gen,
    guidance: { enabled: o.guidance !== false, mutantPercent: 50 },
    batch: int('batch', String(o.batch), 1),
    stabilityRuns: int('stability', String(o.stability)),
    minimize: o.minimize !== false,
    runner: { ...ropts },
    ...(profilePatch ? { profilePatch } : {}),
    ops: [...OPS],
    rules: [...RULE_IDS],
    created: new Date().toISOString(),
  };
}

/** " (2 known kernel bugs)" when some unique findings pin a known bug of corpus/regression. */
function knownCount(divergences: readonly Finding[]): string {
  const n = divergences.filter((f) => f.known).length;
  return n ? ` (${n} known kernel bug${n > 1 ? 's' : ''})` : '';
}

/** " on CPUs 0,1", plus why some lanes are unbound (no free CPU, no taskset, a failed bind). */
function lanesText(ex: Executor, plan: LanePlan | null): string {
  if (!plan) return '';
  const bound = ex.cpus.filter((c): c is number => c !== null);
  const notes = [plan.note, ...ex.bindErrors.map((e) => 'bind failed: ' + e)].filter((n): n is string => !!n);
  return (bound.length ? ` on CPU${bound.length > 1 ? 's' : ''} ${bound.join(',')}` : '') + (notes.length ? ` (${notes.join('; ')})` : '');
}

export function registerFuzz(program: Command, setCode: (c: number) => void): void {
  const cmd = program
    .command('fuzz')
    .description('run a fuzz campaign: generate sequences, run them on the kernel and in the model, report divergences')
    .option('--seed <n>', 'campaign seed (printed first; default: random)')
    .option('--threads <n>', 'a concurrent campaign: sequences with N racing threads (2-4), judged by linearizability (src/linearize)')
    .option('--count <n>', 'run cases [0, N) of the seed (with --shard: the whole campaign range)')
    .option('--time <duration>', 'time budget, e.g. 60s, 10m, 8h (with --resume: for this session)')
    .option('--jobs <n>', 'parallel lanes, each a runner (harness process, container or VM) and its JavaScript thread; default: all cores')
    .option('--no-pin', 'do not bind each native lane to a free CPU of its own (AFL++ style)')
    .option('--out <dir>', 'output directory', 'out')
    .option('--resume <dir>', 'continue the campaign in DIR (its campaign.json gives every campaign option)')
    .option('--shard <i/M>', 'run only the i-th of M disjoint parts of the campaign (no coordination needed)')
    .option('--ops <list>', `only these ops (comma separated: ${OPS.join(', ')})`)
    .option('--weights <spec>', 'per-op weights, e.g. mmap=4,mprotect=2')
    .option('--max-calls <n>', 'longest generated sequence', String(DEFAULT_CONFIG.maxCalls))
    .option('--fail-nth <percent>', 'inject an allocation failure (failNth) into one call of this share of the cases; needs a kernel with fault injection (kernels build --with fault-injection)')
    .option('--fail-nth-max <k>', `with --fail-nth: k is 1..this (default ${DEFAULT_FAIL_NTH_MAX})`)
    .option('--batch <n>', 'sequences per harness batch', '64')
    .option('--stability <n>', 're-runs of each divergence before it counts as stable', '2')
    .option('--no-guidance', 'no model-rule coverage guidance (plain generated cases)')
    .option('--no-minimize', 'do not minimize new findings')
    .option('--minimize-time <duration>', 'time limit of one automatic minimization', '30s')
    .option('--triage', 'triage each new finding after minimization: replay it on reference Debian kernels in QEMU (src/triage)')
    .option('--triage-kernels <list>', 'reference kernels of --triage; default: the host\'s series and the newest series on the mirror (offline: the newest cached kernel)')
    .option('--triage-time <duration>', 'time budget of one finding\'s triage', '10m')
    .addOption(new Option('--fail-on <which>', 'exit 1 for any unique finding, or only for findings triaged present through the newest kernel (needs --triage)').choices(['any', 'present']).default('any'))
    .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'panel', 'lines', 'off']).default('auto'))
    .option('--json', 'print a machine-readable summary')
    .addOption(new Option('--chunk <n>', 'cases per chunk (ledger unit)').hideHelp())
    .addOption(new Option('--epoch-chunks <n>', 'chunks per guidance epoch').hideHelp())
    .addOption(new Option('--segment-epochs <n>', 'epochs per segment (shard unit)').hideHelp())
    .addOption(new Option('--profile-override <json>', 'testing: override model profile fields (a deliberately wrong model)').hideHelp())
    .addOption(new Option('--stats-every <duration>', 'interval of stats.ndjson lines and heartbeats').default('5s').hideHelp());
  addRunnerOptions(cmd).action(async (o: Record<string, unknown>) => {
    if (o.threads !== undefined) return (await import('./fuzz-threads.js')).fuzzThreads(o, setCode);
    let dir: string;
    let config: CampaignConfig;
    if (o.resume !== undefined) {
      dir = resolve(String(o.resume));
      if (cmd.getOptionValueSource('out') === 'cli') throw new UsageError(`--resume writes to the campaign's own directory (${dir}); do not give --out`);
      const clash = CAMPAIGN_OPTIONS.filter((k) => cmd.getOptionValueSource(k) === 'cli');
      if (clash.length) throw new UsageError(`--resume takes the campaign options from ${CAMPAIGN_FILE}; do not give ${clash.map((k) => '--' + k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')}`);
      const c = readConfig(dir);
      if (c.kind !== 'campaign') throw new UsageError(`${dir} is a merged report directory, not a campaign`);
      // Case i is generated anew from (seed, i) on resume: another generator would judge other cases
      // under the same indices (and an older campaign's runner defaults changed too, e.g. Docker's).
      if (c.generator !== GENERATOR_VERSION) {
        throw new UsageError(`${dir} was made by generator ${c.generator ?? 'before 4'} and this vmafuzz has generator ${GENERATOR_VERSION}: its remaining cases would not be the same; start a new campaign (report and report --merge still read it)`);
      }
      config = c;
    } else {
      dir = resolve(String(o.out));
      config = newConfig(o);
      if (existsSync(join(dir, CAMPAIGN_FILE))) throw new UsageError(`${dir} already holds a campaign: continue it with --resume ${relative(process.cwd(), dir) || dir}, or choose another --out`);
      mkdirSync(dir, { recursive: true });
    }
    // One process per campaign directory (lock.ts); a second one is refused with exit 2.
    const lock: CampaignLock = lockCampaign(dir);
    try {
      await fuzzIn(dir, config, o, setCode);
    } finally {
      lock.release();
    }
  });
}

/** One session of the campaign in DIR (locked by the caller). */
async function fuzzIn(dir: string, config: CampaignConfig, o: Record<string, unknown>, setCode: (c: number) => void): Promise<void> {
  // A resumed campaign keeps its lane count unless --jobs says otherwise (it never changes results).
  const jobs = o.jobs !== undefined ? int('jobs', String(o.jobs), 1) : (config.jobs ?? availableParallelism());
  if (o.resume === undefined) config = { ...config, jobs };
  // --triage and --fail-on are session options (a resumed campaign gives them again)
  const failOn = String(o.failOn) as 'any' | 'present';
  if (failOn === 'present' && !o.triage) throw new UsageError('--fail-on present needs --triage (the class comes from the triage)');
  const triageOpts = o.triage ? triageOptionsFrom(o) : null;
  const triageMs = duration('triage-time', String(o.triageTime));
  const shardText = config.shard.count > 1 ? ` shard ${config.shard.index}/${config.shard.count}` : '';
  log(`vmafuzz fuzz: seed ${config.seed}${shardText}${o.resume !== undefined ? ` (resuming ${dir})` : ''}`);

  const ropts = config.runner as RunnerOptions;
  const init: WorkerInit = {
    runner: ropts,
    ...(config.profilePatch ? { profilePatch: config.profilePatch } : {}),
    cfg: { seed: config.seed, gen: { ...DEFAULT_CONFIG, ...config.gen, weights: { ...DEFAULT_CONFIG.weights, ...config.gen.weights } }, batch: config.batch, stabilityRuns: config.stabilityRuns, rules: config.rules, ops: config.ops, out: dir },
  };
  // Native lanes are bound to free CPUs; a container's or VM's work is scheduled elsewhere.
  const lanes = o.pin !== false && ropts.runner === 'native' ? planLanes(jobs) : null;
  const cpu0 = lanes?.cpus[0];
  const executor: Executor = jobs === 1 ? await InProcessExecutor.create(cpu0 === undefined ? init : { ...init, cpu: cpu0 }, 1) : new ThreadExecutor(jobs, init, lanes?.cpus);
  let stopRequests = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    stopRequests++;
    if (stopRequests === 1) log(`\n${sig}: each lane ends its piece after the batch it is running (kept in the ledger), then the summary (again to stop at once)`);
    else void exitAfterFlush(EXIT.CANNOT_TEST);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let panel: Panel | null = null;
  try {
    const target = await executor.start();
    log(`target: ${target.runner}, kernel ${target.release}; ${jobs} job${jobs > 1 ? 's' : ''}${lanesText(executor, lanes)}; output ${dir}`);
    // environment facts that change the model's predictions, and what the profile had to guess
    log(`environment: ${environmentText(target.facts)}`);
    if ((config.gen.failNthPercent ?? 0) > 0 && target.facts.fail_nth !== '1') {
      throw new CannotTestError(`--fail-nth needs /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION); kernel ${target.release} has none: use a kernel from \`vmafuzz kernels build VERSION --with fault-injection\``);
    }
    for (const w of makeProfile(target.release, target.facts).warnings) log(`warning: profile: ${w}`);
    if (config.target && (config.target.release !== target.release || config.target.runner !== target.runner)) {
      log(`warning: resuming on ${target.runner} kernel ${target.release}; the campaign started on ${config.target.runner} kernel ${config.target.release}`);
    }
    if (!config.target) {
      config = { ...config, target: { runner: target.runner, release: target.release, facts: target.facts } };
      writeConfig(dir, config);
    }
    const rel = (f: string) => relative(process.cwd(), f) || f;
    // Replay commands are stored in findings and reports and read later from anywhere: absolute paths.
    const replay = (f: string) => `vmafuzz replay ${shellQuote(resolve(f))}${runnerArgs(ropts)}`;
    // Time budget: --time for this session, else what is left of the campaign's.
    let deadline: number | undefined;
    let budgetUsedUp = false;
    if (o.time !== undefined) deadline = Date.now() + duration('time', String(o.time));
    else if (config.timeMs !== null) {
      const left = config.timeMs - elapsedSoFar(dir) * 1000;
      budgetUsedUp = left <= 0;
      deadline = Date.now() + Math.max(0, left);
    }
    const mode = String(o.progress);
    const tty = process.stderr.isTTY && !process.env.CI;
    const usePanel = !o.json && (mode === 'panel' || (mode === 'auto' && tty));
    const useLines = !usePanel && mode !== 'off' && !(mode === 'auto' && o.json);
    const statsEvery = duration('stats-every', String(o.statsEvery));
    if (usePanel) panel = new Panel(process.stderr);
    const say = (s: string) => (panel ? panel.message(printable(s)) : log(s)); // log() escapes too
    let lastBeat = Date.now();
    const knownBugs = KnownBugs.load(join(projectRoot(), 'corpus', 'regression'), projectRoot());
    // Triage runs next to the campaign, one finding at a time, each bounded by --triage-time.
    const triageStore = new FindingStore(dir);
    const triage = triageOpts
      ? new TriageQueue(
          triageStore,
          { ...triageOpts, target: ropts, qemu: { ...(ropts.memory ? { memory: ropts.memory } : {}), ...(ropts.append ? { append: ropts.append } : {}) }, budgetMs: triageMs },
          (f, t) => say(`triaged ${f.signature}: ${triageText(t)}`),
          (sig, e) => say(`triage of ${sig} failed: ${e.message.split('\n')[0]}`),
        )
      : null;
    // resumed: findings a killed session left untriaged (or indeterminate) come first
    if (triage) for (const f of triageStore.list('divergence').filter(needsTriage)) triage.add(f.signature);
    const summary = await runCampaign({
      dir,
      config,
      executor,
      target,
      known: (f, release) => knownBugs.lookup(f, release),
      deadline,
      replay,
      statsEveryMs: statsEvery,
      minimizeMs: duration('minimize-time', String(o.minimizeTime)),
      shouldStop: () => stopRequests > 0,
      events: {
        log: say,
        onFinding: (r, oc) => {
          if (!r.isNew) return;
          const what = r.finding.kind === 'flaky' ? 'flaky' : r.finding.known ? 'known finding' : 'NEW finding';
          const known = r.finding.known ? `\n  ${knownText(r.finding.known)}` : '';
          say(`${what} ${r.finding.signature}: ${oc.divergence!.layer} divergence at call ${oc.divergence!.call} (${r.finding.op}: ${r.finding.diff})${known}\n  report: ${rel(r.dir)}/report.txt\n  replay: ${replay(r.sampleFile)}`);
        },
        onMinimized: (d) => {
          if (triage && d.kind === 'divergence') triage.add(d.signature);
          if (d.seq) say(`minimized ${d.signature}: ${d.seq.calls.length} calls, ${rel(join(findingsDir(dir, d.kind), d.signature, 'minimized.json'))}`);
        },
        onTick: (v: ProgressView) => {
          if (panel) panel.draw(v);
          else if (useLines && Date.now() - lastBeat >= statsEvery) {
            lastBeat = Date.now();
            log(heartbeatLine(v));
          }
        },
      },
    });
    // Findings not triaged yet (no minimization, or it failed): now, unless the campaign was
    // interrupted, for at most one more --triage-time in all; the rest is left to --resume.
    if (triage && !summary.interrupted) {
      for (const f of triageStore.list('divergence').filter((f) => !f.triage)) triage.add(f.signature);
      if (triage.pending) say(`triaging ${triage.pending} finding(s) for at most ${String(o.triageTime)} (interrupt to leave them to --resume or vmafuzz triage)`);
      const until = Date.now() + triageMs;
      await new Promise<void>((done) => {
        const t = setInterval(() => {
          if (stopRequests > 0 || !triage.pending || Date.now() > until) {
            clearInterval(t);
            done();
          }
        }, 200);
      });
    }
    await triage?.stop();
    panel?.close();
    panel = null;
    const s = summary.stats;
    const secs = summary.session.seconds;
    const rate = summary.session.sequences / Math.max(secs, 1e-9);
    const state = summary.interrupted ? ' (interrupted)' : config.count !== null && !summary.complete ? ' (time budget used up)' : '';
    const store = new FindingStore(dir);
    const divergences = store.list('divergence');
    const triaged = triage ? triageCounts(divergences.map((f) => f.triage?.class)) : '';
    log(
      `${summary.session.sequences} sequences, ${summary.session.calls} calls in ${secs.toFixed(1)}s (${rate.toFixed(0)} sequences/s)${state}; ` +
        `campaign total ${s.sequences} sequences: ${s.divergences} divergences, ${s.unique} unique${knownCount(divergences)}${triaged ? ` (triage: ${triaged})` : ''}, ${s.flaky} flaky, ${s.indeterminate} indeterminate, ${s.partial ?? 0} partial, rules ${s.rulesHit}/${s.rulesTotal}`,
    );
    log(`environment: ${environmentText(target.facts)}`);
    const notYet = summary.unfired.filter((u) => !u.why.length);
    const cannot = summary.unfired.length - notYet.length;
    if (summary.unfired.length) log(`rules not fired: ${notYet.length ? notYet.map((u) => u.rule).join(', ') : 'none this target can exhibit'}${cannot ? `; ${cannot} cannot fire on this target (vmafuzz report ${rel(dir)} says why)` : ''}`);
    if (!summary.complete && config.count !== null) log(`continue with: vmafuzz fuzz --resume ${rel(dir)}`);
    if (o.json) {
      const findings = [...divergences, ...store.list('flaky')].map((f) => {
        const fdir = join(findingsDir(dir, f.kind), f.signature);
        return { signature: f.signature, kind: f.kind, count: f.count, dir: rel(fdir), replay: replay(join(fdir, f.samples[0]!.file)), layer: f.layer, op: f.op, diff: f.diff, ...(f.known ? { known: f.known.summary } : {}), ...(f.triage ? { triage: f.triage.class } : {}) };
      });
      printJson(fuzzJson, {
        vmafuzz: JSON_VERSION,
        command: 'fuzz',
        seed: config.seed,
        shard: config.shard,
        jobs,
        cpus: executor.cpus,
        target: { runner: target.runner, release: target.release, facts: target.facts },
        sequences: summary.session.sequences,
        calls: summary.session.calls,
        seconds: secs,
        sequencesPerSecond: rate,
        totalSequences: s.sequences,
        divergences: s.divergences,
        unique: s.unique,
        flaky: s.flaky,
        indeterminate: s.indeterminate,
        partial: s.partial ?? 0,
        rulesHit: s.rulesHit,
        rulesTotal: s.rulesTotal,
        rulesUnfired: summary.unfired,
        interrupted: summary.interrupted,
        complete: summary.complete,
        out: dir,
        findings,
        ...(triage ? { triage: countClasses(divergences.flatMap((f) => (f.triage ? [f.triage.class] : []))) } : {}),
        failOn,
      });
    }
    if (summary.session.sequences === 0 && !(config.count !== null && summary.complete)) {
      // Nothing judged is not a clean result: say why and exit 125 (cannot test).
      const why = summary.interrupted
        ? 'interrupted before the first batch was judged'
        : budgetUsedUp
          ? `the campaign's time budget is used up; give --time D to run on`
          : `no batch of ${config.batch} sequences was judged in ${secs.toFixed(0)} s; give more --time`;
      log(`nothing was tested: ${why}`);
      setCode(EXIT.CANNOT_TEST);
      return;
    }
    // --fail-on present: a nightly job fails only on findings present through the newest kernel
    const failing = failOn === 'present' ? divergences.filter((f) => f.triage?.class === 'present').length : s.unique;
    setCode(failing > 0 ? EXIT.DIVERGENCE : EXIT.OK);
  } finally {
    panel?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await executor.close();
  }
}
