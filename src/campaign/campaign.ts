// The campaign: hands pieces of chunks of case indices to the executor's lanes, records what comes
// back and keeps the campaign directory resumable:
//   1. findings of a judged piece go to the FindingStore (atomic files), each followed by a line
//      in recorded.ndjson (fsync) - an index recorded there is never recorded again;
//   2. then the piece's line ([lo, hi) of chunk g) goes to progress.ndjson (fsync) - cases there
//      are never run again.
// A kill -9 between 1 and 2 re-runs the piece on --resume, and its already recorded findings are
// skipped; counts in finding.json are reconciled with recorded.ndjson. Nothing is lost, nothing
// recorded twice.
//
// A piece is a few seconds of work at the lane's measured speed (PIECE_MS), whole batches from
// the chunk's start, so a slow runner (QEMU, a loaded machine) checkpoints as often as a fast one.
// Which cases a piece holds never changes a case's result: case i depends on (seed, i, the pool
// of its epoch) and on the batch number in its chunk (batchRunOptions), never on the piece.

import { join } from 'node:path';
import type { TargetInfo } from '../runner/types.js';
import { parseSequence, sequenceToInput, sequenceToJson } from '../seq/io.js';
import type { Sequence } from '../seq/schema.js';
import { InputError } from '../util/errors.js';
import type { CampaignConfig, StatsLine } from './config.js';
import { statsLineSchema } from './config.js';
import type { Executor } from './executor.js';
import type { KnownLookup } from '../findings/known.js';
import { findingTarget, FindingStore, type RecordResult } from './findings.js';
import { Guidance, unreachableRules, type FirstHit } from './guidance.js';
import { HangStore, INFRA_DIR, MODEL_ERRORS_DIR } from './hangs.js';
import { unfiredRules, type UnfiredRule } from './coverage.js';
import { Plan } from './layout.js';
import { addCounts, chunkLineSchema, zeroCounts, type CountTotals, NdjsonAppender, PROGRESS_FILE, readNdjson, RECORDED_FILE, recordedLineSchema, STATS_FILE, type ChunkLine } from './ledger.js';
import type { Outcome } from './check.js';
import type { ChunkResult, Found, MinimizeDone } from './work.js';

export interface CampaignEvents {
  onFinding?(r: RecordResult, o: Outcome): void;
  onMinimized?(d: MinimizeDone): void;
  /** every tick (about once a second) */
  onTick?(v: ProgressView): void;
  log?(line: string): void;
}

export interface CampaignRun {
  dir: string;
  config: CampaignConfig;
  executor: Executor;
  /** labels findings that pin a known kernel bug (src/findings/known.ts) */
  known?: KnownLookup;
  target: TargetInfo;
  /** absolute end of this session (ms since epoch) */
  deadline?: number;
  replay: (file: string) => string;
  shouldStop?: () => boolean;
  events?: CampaignEvents;
  statsEveryMs?: number;
  tickMs?: number;
  /** time limit of one automatic minimization */
  minimizeMs?: number;
  /** how long a stopping campaign waits for minimizations in flight before leaving them to `vmafuzz minimize` */
  graceMs?: number;
  /** how long it waits for the pieces in flight to checkpoint (they end after their current batch);
   *  default stopGraceMs() of the lanes' measured speed */
  chunkGraceMs?: number;
  /** seconds of work a piece is sized for at the lane's measured speed */
  pieceMs?: number;
}

export interface Totals extends CountTotals {
  ops: number[];
  rules: number[];
  chunksDone: number;
}

export interface ProgressView {
  stats: StatsLine;
  config: CampaignConfig;
  target: TargetInfo;
  dir: string;
  /** average over this session */
  sessionRate: number;
  poolSize: number;
  /** rules not fired yet that the target can exhibit */
  rulesMissing: string[];
  /** rules not fired that the target cannot exhibit (src/model/rule-needs.ts) */
  rulesUnreachable: number;
  /** past the deadline (or a stop request): what the campaign still waits for, and how long at most */
  stopping?: { pieces: number; minimizing: number; leftMs: number };
}

export interface CampaignSummary {
  stats: StatsLine;
  session: { sequences: number; calls: number; seconds: number };
  interrupted: boolean;
  /** count mode: every chunk of this shard is done */
  complete: boolean;
  /** timed-out sequences kept this session (timeouts/) */
  hangs: string[];
  /** rules never fired, with why (src/campaign/coverage.ts) */
  unfired: UnfiredRule[];
}

/** Work per piece (ms): a kill loses at most this per lane; natively it is about a chunk, so the ledger grows no faster than with whole chunks. */
export const PIECE_MS = 4000;

/**
 * How long a stopping campaign waits for its pieces to checkpoint: each ends after the batch it is
 * running (and that batch's detail re-runs), a fraction of PIECE_MS at the lane's measured speed.
 * Three batches of the slowest lane, at least 10 s, at most 2 minutes (a slow QEMU lane not
 * measured yet). A piece still running then is given up: its findings were recorded as its
 * batches were judged, its cases run again on --resume. A lane stuck for good (a model loop, a
 * hung harness) so costs --time 10 s more, not 2 minutes.
 */
export function stopGraceMs(batch: number, laneRates: readonly number[]): number {
  if (!laneRates.length) return 120_000;
  const slowest = Math.min(...laneRates);
  return Math.round(Math.min(120_000, Math.max(10_000, (3 * batch * 1000) / Math.max(1e-3, slowest))));
}

type Range = [number, number];
const overlaps = (rs: readonly Range[], lo: number, hi: number) => rs.some(([a, b]) => a < hi && lo < b);

function addPiece(t: Totals, l: ChunkLine | ChunkResult): void {
  addCounts(t, l);
  l.ops.forEach((v, i) => (t.ops[i] = (t.ops[i] ?? 0) + v));
  l.rules.forEach((v, i) => (t.rules[i] = (t.rules[i] ?? 0) + v));
}

const RATE_WINDOW = 5000;

/** Normalised copy of a pool sequence: the same object whether it came from a worker or from the ledger. */
const normal = (s: Sequence, where: string): Sequence => parseSequence(JSON.parse(JSON.stringify(sequenceToInput(s))), where);

/** Campaign run time recorded so far (seconds, all sessions; from the last stats line). */
export function elapsedSoFar(dir: string): number {
  return readNdjson(join(dir, STATS_FILE), statsLineSchema).lines.filter((s) => s.source === undefined).at(-1)?.elapsed ?? 0;
}

export async function runCampaign(run: CampaignRun): Promise<CampaignSummary> {
  const { dir, config: cfg, executor, target } = run;
  const ev = run.events ?? {};
  const plan = new Plan(cfg.layout, cfg.shard, cfg.count ?? undefined);
  const unreachable = unreachableRules(cfg);
  const guidance = new Guidance(plan, cfg.rules, cfg.guidance.mutantPercent, cfg.guidance.enabled, new Set(unreachable.keys()));
  const store = new FindingStore(dir, run.known);
  const totals: Totals = { ...zeroCounts(), ops: cfg.ops.map(() => 0), rules: cfg.rules.map(() => 0), chunksDone: 0 };
  /** complete chunks */
  const done = new Set<number>();
  /** judged ranges of chunks not complete yet */
  const judged = new Map<number, Range[]>();
  const cases = (rs: readonly Range[]) => rs.reduce((n, [a, b]) => n + b - a, 0);
  const markJudged = (g: number, lo: number, hi: number) => {
    const rs = judged.get(g) ?? [];
    rs.push([lo, hi]);
    const p = plan.pos(g);
    if (cases(rs) >= p.hi - p.lo) {
      judged.delete(g);
      done.add(g);
      totals.chunksDone++;
    } else judged.set(g, rs);
  };

  // --- state from earlier sessions -------------------------------------------------------------
  const progressFile = join(dir, PROGRESS_FILE);
  const prog = readNdjson(progressFile, chunkLineSchema);
  if (prog.damaged) throw new InputError(progressFile, '', `damaged in the middle (${prog.bad}); refusing to resume`);
  for (const l of prog.lines) {
    if (done.has(l.g) || overlaps(judged.get(l.g) ?? [], l.lo, l.hi)) continue; // never count a case twice
    addPiece(totals, l);
    markJudged(l.g, l.lo, l.hi);
    const p = plan.pos(l.g);
    const first: FirstHit[] = l.first.map((h) => ({ rule: h.r, index: h.i, call: h.k, seq: parseSequence(h.seq, `${progressFile} chunk ${l.g}`) }));
    guidance.add(p.segment, p.epoch, l.rules, first, l.hi - l.lo);
  }
  const recordedFile = join(dir, RECORDED_FILE);
  const rec = readNdjson(recordedFile, recordedLineSchema);
  if (rec.damaged) throw new InputError(recordedFile, '', `damaged in the middle (${rec.bad}); refusing to resume`);
  const recorded = new Set<number>();
  const tally = new Map<string, number>();
  for (const l of rec.lines) {
    if (recorded.has(l.i)) continue;
    recorded.add(l.i);
    tally.set(`${l.kind}/${l.sig}`, (tally.get(`${l.kind}/${l.sig}`) ?? 0) + 1);
  }
  store.reconcile(tally);
  const prevStats = readNdjson(join(dir, STATS_FILE), statsLineSchema).lines.filter((s) => s.source === undefined).at(-1);
  const session = (prevStats?.session ?? 0) + 1;
  const elapsedBefore = prevStats?.elapsed ?? 0;
  const uniques = new Set(store.list('divergence').map((f) => f.signature));
  const flakyUniques = new Set(store.list('flaky').map((f) => f.signature));
  let lastNew: number | null = null;
  for (const f of store.list('divergence')) lastNew = Math.max(lastNew ?? 0, Date.parse(f.firstSeen));

  const progress = new NdjsonAppender(progressFile, prog.goodBytes);
  const recordedLog = new NdjsonAppender(recordedFile, rec.goodBytes);
  const statsLog = new NdjsonAppender(join(dir, STATS_FILE));

  // --- scheduling ---------------------------------------------------------------------------------
  const t0 = Date.now();
  const sessionStart = { sequences: totals.sequences, calls: totals.calls };
  let cursor: number | null = plan.nextOwned(0);
  /** cases of touched chunks not handed out yet (gaps between judged and running pieces) */
  const todo = new Map<number, Range[]>();
  const gaps = (g: number): Range[] => {
    let t = todo.get(g);
    if (t) return t;
    const p = plan.pos(g);
    t = [];
    let at = p.lo;
    for (const [a, b] of [...(judged.get(g) ?? [])].sort((x, y) => x[0] - y[0])) {
      if (a > at) t.push([at, a]);
      at = Math.max(at, b);
    }
    if (at < p.hi) t.push([at, p.hi]);
    todo.set(g, t);
    return t;
  };
  const open = (g: number) => !done.has(g) && gaps(g).length > 0;
  /** display only: sequences and calls judged in pieces still running */
  const partial = new Map<number, { n: number; calls: number }>();
  /** measured sequences/s of each lane (from its last piece) */
  const laneRate = new Map<number, number>();
  const pieceMs = run.pieceMs ?? PIECE_MS;
  const retries: Array<{ g: number; lo: number; hi: number }> = [];
  const failures = new Map<string, number>();
  const minimizeQueue: Array<{ sig: string; kind: 'divergence' | 'flaky'; outcome: Outcome }> = [];
  let busy = 0;
  let pieces = 0;
  let stopping = false;
  let hardStop = false;
  let fatal: Error | null = null;
  const tasks = new Set<Promise<void>>();
  const chunkTasks = new Set<Promise<void>>();
  const hangs: string[] = [];
  const hangStore = new HangStore(dir, cfg.seed);
  const modelErrorStore = new HangStore(dir, cfg.seed, MODEL_ERRORS_DIR);
  const infraStore = new HangStore(dir, cfg.seed, INFRA_DIR);

  /** Cases for a piece on `lane`: PIECE_MS of work at its speed, whole batches, one batch to start. */
  const pieceSize = (lane: number): number => {
    const r = laneRate.get(lane);
    if (r === undefined) return cfg.batch;
    return Math.max(1, Math.min(Math.round((r * pieceMs) / 1000 / cfg.batch), Math.ceil(cfg.layout.chunk / cfg.batch))) * cfg.batch;
  };
  const take = (g: number, lane: number) => {
    const t = gaps(g);
    const [a, b] = t[0]!;
    const hi = Math.min(b, a + pieceSize(lane));
    if (hi === b) t.shift();
    else t[0] = [hi, b];
    return { g, lo: a, hi };
  };

  const pick = (lane: number): { g: number; lo: number; hi: number } | null => {
    if (retries.length) return retries.shift()!;
    while (cursor !== null && !open(cursor)) cursor = plan.nextOwned(cursor + 1);
    // look a little ahead for a chunk whose pool is ready (the next one may wait for its epoch - 2)
    let g = cursor;
    for (let look = 0; g !== null && look < 4 * cfg.layout.epochChunks + 2; look++, g = plan.nextOwned(g + 1)) {
      if (!open(g)) continue;
      const p = plan.pos(g);
      if (guidance.ready(p.segment, p.epoch)) return take(g, lane);
    }
    return null;
  };

  /** the sample file of each new finding (to name it when its minimization is left undone) */
  const sampleOf = new Map<string, string>();
  /** Record findings (as each batch is judged, and again from the piece's result: skipped then). */
  const recordFound = (fs: readonly Found[]) => {
    for (const f of [...fs].sort((a, b) => a.index - b.index)) {
      if (recorded.has(f.index)) continue;
      const res = store.record(f.outcome, findingTarget(target), run.replay, f.kind);
      recordedLog.add({ i: f.index, sig: f.outcome.signature!, kind: f.kind });
      recordedLog.flush(true);
      recorded.add(f.index);
      if (res.isNew) {
        if (f.kind === 'divergence') {
          uniques.add(res.finding.signature);
          lastNew = Date.now();
          sampleOf.set(res.finding.signature, res.sampleFile);
          if (cfg.minimize) minimizeQueue.push({ sig: res.finding.signature, kind: f.kind, outcome: f.outcome });
        } else flakyUniques.add(res.finding.signature);
      }
      ev.onFinding?.(res, f.outcome);
    }
  };

  const onPiece = (r: ChunkResult, task: { g: number; lo: number; hi: number }) => {
    recordFound(r.found);
    for (const h of r.modelErrors ?? []) {
      const file = modelErrorStore.keep(h.index, h.seq, h.detail);
      if (file) ev.log?.(`MODEL ERROR at sequence ${h.index} (${h.detail}): not judged, kept for replay: ${run.replay(file)}`);
    }
    for (const h of r.infraErrors ?? []) {
      const file = infraStore.keep(h.index, h.seq, h.detail);
      if (file) ev.log?.(`sequence ${h.index} could not be run (${h.detail || 'harness error'}): not judged, kept for replay: ${run.replay(file)}`);
    }
    for (const h of r.hangs ?? []) {
      const file = hangStore.keep(h.index, h.seq, h.detail);
      if (file) {
        hangs.push(file);
        ev.log?.(`sequence ${h.index} timed out (${h.detail || 'deadline'}); kept for replay: ${run.replay(file)}`);
      }
    }
    const first = r.first.map((h) => ({ ...h, seq: normal(h.seq, `chunk ${r.g}`) }));
    if (r.hi > r.lo) {
      const line: ChunkLine = {
        g: r.g, lo: r.lo, hi: r.hi, n: r.n, calls: r.calls, div: r.div, flaky: r.flaky, timeout: r.timeout, crash: r.crash, infra: r.infra, partial: r.partial,
        ops: r.ops, rules: r.rules, first: first.map((h) => ({ r: h.rule, i: h.index, k: h.call, seq: sequenceToInput(h.seq) })),
      };
      progress.add(line);
      progress.flush(true);
      addPiece(totals, r);
      markJudged(r.g, r.lo, r.hi);
      if (done.has(r.g)) todo.delete(r.g);
      const p = plan.pos(r.g);
      guidance.add(p.segment, p.epoch, r.rules, first, r.hi - r.lo);
    }
    // a piece cut short by a stop request: its tail goes back to be handed out again
    if (r.hi < task.hi) gaps(r.g).unshift([r.hi, task.hi]);
  };

  const dispatchChunk = (task: { g: number; lo: number; hi: number }, lane: number) => {
    const { g } = task;
    const p = plan.pos(g);
    const pool = guidance.pool(p.segment, p.epoch);
    const known = [...guidance.known(p.segment, task.lo)];
    const id = pieces++;
    const started = Date.now();
    busy++;
    const t = executor
      .chunk({ ...task, batch0: Math.floor((task.lo - p.lo) / cfg.batch), pool, known }, (n, calls, found) => {
        partial.set(id, { n, calls });
        if (found.length && !fatal && !hardStop) recordFound(found);
      })
      .then(
        (r) => {
          if (r.n > 0) laneRate.set(lane, r.n / Math.max(1e-3, (Date.now() - started) / 1000));
          if (!fatal && !hardStop) onPiece(r, task);
        },
        (e: Error) => {
          if (stopping) return; // the runner was closed under it, or the campaign ends anyway
          const key = `${g}/${task.lo}`;
          const n = (failures.get(key) ?? 0) + 1;
          failures.set(key, n);
          ev.log?.(`chunk ${g} (cases ${task.lo}-${task.hi - 1}) failed (${n}/3): ${e.message.split('\n')[0]}`);
          if (n >= 3) fatal ??= new Error(`chunk ${g} (cases ${task.lo}-${task.hi - 1}) failed 3 times: ${e.message}`);
          else retries.push(task);
        },
      )
      .finally(() => {
        partial.delete(id);
        busy--;
        tasks.delete(t);
        chunkTasks.delete(t);
      });
    tasks.add(t);
    chunkTasks.add(t);
  };

  let minimizing = 0;
  /** signatures being minimized */
  const inMinimize = new Set<string>();
  const dispatchMinimize = () => {
    const m = minimizeQueue.shift()!;
    busy++;
    minimizing++;
    inMinimize.add(m.sig);
    const t = executor
      .minimize({ signature: m.sig, kind: m.kind, outcome: m.outcome, timeLimitMs: run.minimizeMs ?? 30_000 })
      .then(
        (d) => {
          inMinimize.delete(m.sig);
          if (hardStop) return;
          if (d.seq) store.attachMinimized(d.signature, d.kind, d.seq, { file: 'minimized.json', calls: d.seq.calls.length, arenaPages: d.seq.arenaPages, confirmed: d.confirmed });
          ev.onMinimized?.(d);
        },
        (e: Error) => {
          inMinimize.delete(m.sig);
          if (!stopping) ev.log?.(`minimizing ${m.sig} failed: ${e.message.split('\n')[0]}`);
        },
      )
      .finally(() => {
        busy--;
        minimizing--;
        tasks.delete(t);
      });
    tasks.add(t);
  };

  // --- stats ---------------------------------------------------------------------------------------
  // Rates over the last RATE_WINDOW ms, from one sample per tick.
  const samples: Array<{ at: number; sequences: number; calls: number }> = [{ at: t0, sequences: totals.sequences, calls: totals.calls }];
  const live = () => {
    let n = totals.sequences;
    let calls = totals.calls;
    for (const p of partial.values()) {
      n += p.n;
      calls += p.calls;
    }
    return { sequences: n, calls };
  };
  const rate = (now: number) => {
    const l = live();
    samples.push({ at: now, ...l });
    while (samples.length > 2 && now - samples[1]!.at >= RATE_WINDOW) samples.shift();
    const a = samples[0]!;
    const dt = Math.max(1e-3, (now - a.at) / 1000);
    return { seq: Math.max(0, l.sequences - a.sequences) / dt, calls: Math.max(0, l.calls - a.calls) / dt };
  };
  let lastRulesAt = 0;
  const statsLine = (final: boolean, forFile: boolean): StatsLine => {
    const now = Date.now();
    const r = rate(now);
    const liveNow = final ? { sequences: totals.sequences, calls: totals.calls } : live();
    const withRules = final || (forFile && now - lastRulesAt >= 60_000);
    if (withRules && forFile) lastRulesAt = now;
    const line: StatsLine = {
      t: new Date(now).toISOString(),
      elapsed: elapsedBefore + (now - t0) / 1000,
      session,
      jobs: executor.slots,
      // live: the pieces in flight count as they go (rules follow at the end of each piece)
      sequences: liveNow.sequences,
      calls: liveNow.calls,
      sequencesPerSec: r.seq,
      callsPerSec: r.calls,
      divergences: totals.divergences,
      unique: uniques.size,
      flaky: totals.flaky,
      flakyUnique: flakyUniques.size,
      indeterminate: totals.timeout + totals.crash + totals.infra,
      timeout: totals.timeout,
      crash: totals.crash,
      infra: totals.infra,
      partial: totals.partial,
      sinceNewFinding: lastNew === null ? null : Math.max(0, (now - lastNew) / 1000),
      ops: Object.fromEntries(cfg.ops.map((o, i) => [o, totals.ops[i]!])),
      rulesHit: totals.rules.filter((v) => v > 0).length,
      rulesTotal: cfg.rules.length,
      ...(withRules ? { rules: Object.fromEntries(cfg.rules.map((r, i) => [r, totals.rules[i]!])) } : {}),
      chunksDone: totals.chunksDone,
      planned: plan.ownedCases() ?? null,
      ...(final ? { final: true } : {}),
    };
    return statsLineSchema.parse(line);
  };
  const view = (stats: StatsLine): ProgressView => ({
    stats,
    config: cfg,
    target,
    dir,
    sessionRate: (live().sequences - sessionStart.sequences) / Math.max(1e-3, (Date.now() - t0) / 1000),
    poolSize: cursor === null ? 0 : guidance.poolSize(plan.pos(cursor).segment, plan.pos(cursor).epoch),
    rulesMissing: cfg.rules.filter((r, i) => totals.rules[i] === 0 && !unreachable.has(r)),
    rulesUnreachable: cfg.rules.filter((r, i) => totals.rules[i] === 0 && unreachable.has(r)).length,
    ...(stopping ? { stopping: { pieces: chunkTasks.size, minimizing, leftMs: Math.max(0, stopAt + (chunkTasks.size ? chunkGrace : minimizeGrace) - Date.now()) } } : {}),
  });

  // --- main loop -------------------------------------------------------------------------------------
  const statsEvery = run.statsEveryMs ?? 5000;
  const tickMs = run.tickMs ?? 1000;
  let nextStats = t0 + statsEvery;
  let stopAt = 0;
  let chunkGrace = run.chunkGraceMs ?? 120_000;
  const minimizeGrace = run.graceMs ?? 15_000;
  for (;;) {
    if (fatal) break;
    if (!stopping && (run.shouldStop?.() || (run.deadline !== undefined && Date.now() >= run.deadline))) {
      stopping = true;
      stopAt = Date.now();
      chunkGrace = run.chunkGraceMs ?? stopGraceMs(cfg.batch, [...laneRate.values()]);
      executor.stop();
    }
    if (!stopping) {
      // Minimizations take a free lane first, but leave at least one lane fuzzing when there are several.
      while (busy < executor.slots && minimizeQueue.length && minimizing < Math.max(1, executor.slots - 1)) dispatchMinimize();
      while (busy < executor.slots) {
        const lane = executor.nextLane();
        const task = pick(lane);
        if (task === null) break;
        dispatchChunk(task, lane);
      }
    }
    if (tasks.size === 0) break;
    // Pieces in flight checkpoint after their current batch (chunkGrace); then minimizations in
    // flight get what is left of minimizeGrace.
    const waited = Date.now() - stopAt;
    if (stopping && waited > (chunkTasks.size ? chunkGrace : minimizeGrace)) {
      hardStop = true;
      break;
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([...tasks, new Promise<void>((res) => (timer = setTimeout(res, tickMs)))]);
    clearTimeout(timer);
    const now = Date.now();
    if (now >= nextStats) {
      nextStats = now + statsEvery;
      statsLog.add(statsLine(false, true));
      statsLog.flush(false);
    }
    ev.onTick?.(view(statsLine(false, false)));
  }
  const interrupted = stopping && (run.shouldStop?.() ?? false);
  // What a stop left undone, said rather than waited for.
  if (hardStop && chunkTasks.size) {
    ev.log?.(`gave up on ${chunkTasks.size} piece(s) still running ${Math.round((Date.now() - stopAt) / 1000)} s after the stop (a stuck lane?): the findings of their judged batches are recorded, their cases run again on --resume`);
  }
  const unminimized = [...inMinimize, ...minimizeQueue.map((m) => m.sig)];
  if (unminimized.length) {
    const files = unminimized.map((sig) => sampleOf.get(sig)).filter((f): f is string => f !== undefined);
    ev.log?.(`${unminimized.length} new finding(s) not minimized (the campaign stopped): vmafuzz minimize ${files.length === 1 ? files[0] : 'FILE'}${files.length > 1 ? ` for each of ${files.join(', ')}` : ''}`);
  }
  const final = statsLine(true, true);
  statsLog.add(final);
  progress.close();
  recordedLog.close();
  statsLog.close();
  if (fatal) throw fatal;
  const complete = cfg.count !== null && plan.allDone(done);
  return {
    stats: final,
    session: { sequences: totals.sequences - sessionStart.sequences, calls: totals.calls - sessionStart.calls, seconds: (Date.now() - t0) / 1000 },
    interrupted,
    complete,
    hangs,
    unfired: unfiredRules(Object.fromEntries(cfg.rules.map((r, i) => [r, totals.rules[i] ?? 0])), [cfg]),
  };
}
