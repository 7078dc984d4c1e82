// The concurrent campaign (`fuzz --threads N`): generate concurrent sequences (src/gen/threads.ts),
// run them on the kernel, judge each run with the linearizability oracle (src/linearize/). A run
// no linearization explains is re-run to measure how often the race shows (its hit rate), then
// kept as a finding under <out>/races/<signature>/ with the sequence, the orders tried and the
// kernel run. Kernel crashes the runner saw (QEMU console) are recorded as in every campaign.
// One lane, in process: a race campaign is judged by the search, not by many harnesses.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordRunnerCrashes } from '../findings/crash.js';
import { knownText, type KnownLookup } from '../findings/known.js';
import { generateConcurrent, type RaceGenConfig } from '../gen/threads.js';
import { withRaceFailNth } from '../gen/fail-nth-threads.js';
import { judgeRace, type RaceOptions, type RaceOutcome } from '../linearize/index.js';
import { armedFork, failedFork } from '../linearize/fail-fork.js';
import { minimizeRace } from '../linearize/minimize.js';
import type { Profile } from '../model/index.js';
import { DETAIL_RUN, FAST_LAYERS_RUN, FAST_RUN, type Runner } from '../runner/types.js';
import { writeSequenceFile } from '../seq/io.js';
import { allCalls, racingCalls } from '../seq/threads.js';
import { judgeWith, predictAgainst } from './check.js';
import type { Sequence } from '../seq/schema.js';
import { writeFileAtomic } from '../util/fs.js';
import { LAYER_EVERY } from './work.js';

export interface RaceCampaignOptions {
  runner: Runner;
  profile: Profile;
  seed: number;
  gen: RaceGenConfig;
  count: number | null;
  /** ms since the epoch */
  deadline?: number;
  batch: number;
  /** bind each racing thread to a CPU of its own */
  pinThreads?: boolean;
  /** re-runs of a run that no linearization explains (its hit rate) */
  confirmRuns: number;
  /** time limit of minimizing each new finding (0 = none) */
  minimizeMs?: number;
  /** known kernel bugs (corpus/regression), looked up with a finding's serial divergence */
  known?: KnownLookup;
  release?: string;
  out: string;
  race?: RaceOptions;
  shouldStop?: () => boolean;
  log?: (s: string) => void;
  onFinding?: (f: RaceFinding) => void;
}

export interface RaceFinding {
  signature: string;
  dir: string;
  outcome: RaceOutcome;
  /** runs that showed the same signature, of `runs` (the first run included) */
  hits: number;
  runs: number;
  /** the minimized sequence (minimized.json) and its hit rate */
  minimized?: { calls: number; hits: number; runs: number };
  /** a candidate order tried, run serially (setup + those calls), diverges too: no race is needed
   *  to show it (a sequential finding; the sequential campaign reports and labels it) */
  serial?: { signature: string; kind: string; known?: string };
}

export interface RaceSummary {
  sequences: number;
  calls: number;
  seconds: number;
  pass: number;
  fail: number;
  indeterminate: number;
  /** runs of failing cases whose re-runs never showed the signature again (counted in fail) */
  unconfirmed: number;
  findings: RaceFinding[];
  crashes: number;
  /** runs where calls of two threads overlapped in time (the race really ran) */
  overlapping: number;
  /** unique findings whose deepest order also diverges when run serially */
  serial: number;
  /** of those, the ones whose serial divergence is a known kernel bug */
  known: number;
  /** model call applications of the search, all cases */
  applied: number;
  /** indeterminate reasons, counted */
  reasons: Record<string, number>;
  /** --fail-nth: cases with an armed racing fork, the runs where its injected failure surfaced,
   *  and the maps reads that overlapped those failing forks (src/linearize/fail-fork.ts) */
  failNth?: { armed: number; failed: number; reads: number };
}

function writeFinding(dir: string, f: RaceFinding): void {
  mkdirSync(dir, { recursive: true });
  const o = f.outcome;
  writeSequenceFile(join(dir, 'sequence.json'), o.seq);
  writeFileAtomic(join(dir, 'detail.json'), JSON.stringify({ divergence: o.divergence, candidates: o.candidates, stats: o.stats, hits: f.hits, runs: f.runs, kernel: o.kernel }, null, 2) + '\n');
  const lines = [
    `race finding ${f.signature}: ${o.divergence!.layer} ${o.divergence!.kind}`,
    `hit rate: ${f.hits}/${f.runs} runs`,
    f.minimized ? `minimized.json: ${f.minimized.calls} calls, hit rate ${f.minimized.hits}/${f.minimized.runs} runs` : 'not minimized',
    f.serial ? `a candidate order run serially diverges too (${f.serial.kind}, sequential signature ${f.serial.signature}): no race is needed to show it${f.serial.known ? `\n${f.serial.known}` : ''}` : 'no candidate order run serially diverges from the model: the race is needed',
    o.divergence!.detail,
    '',
    'orders tried (global call indices; setup calls 0..' + (o.seq.calls.length - 1) + ' run first):',
    ...(o.candidates ?? []).map((c) => `  [${c.order.join(' ')}] ${c.failedAt === null ? 'complete' : `stops at call ${c.failedAt}`}: ${c.layer} ${c.kind}: ${c.detail}`),
    '',
    'racing calls (index thread.position op):',
    ...racingCalls(o.seq).map((r) => `  ${r.index} t${r.thread}.${r.pos} ${r.call.op} [${o.kernel.timing?.[r.index]?.start ?? '?'}, ${o.kernel.timing?.[r.index]?.end ?? '?'}] ns`),
  ];
  writeFileSync(join(dir, 'report.txt'), lines.join('\n') + '\n');
}

/** Whether calls of two threads ran at the same time in this run. */
export function overlapped(seq: Sequence, k: RaceOutcome['kernel']): boolean {
  const r = racingCalls(seq).flatMap((c) => (k.timing?.[c.index] ? [{ t: c.thread, ...k.timing[c.index]! }] : []));
  return r.some((a) => r.some((b) => a.t < b.t && a.start <= b.end && b.start <= a.end));
}

/** A candidate order (the deepest by default) as a serial sequence (setup calls, then those racing calls). */
export function serialOf(o: RaceOutcome, which = 0): Sequence | null {
  const order = o.candidates?.[which]?.order;
  if (!order) return null;
  const calls = allCalls(o.seq);
  const { threads: _t, readers: _r, ...rest } = o.seq;
  // a racing fork only looks at the mm (its child exits at once): serially it would run the rest
  // in the child, so it is left out; a first fault of a touch (-(i+1)) is its touch's business
  const serial = order.filter((i) => i >= 0).map((i) => calls[i]!).filter((c) => c.op !== 'fork');
  return { ...rest, calls: [...o.seq.calls, ...serial] };
}

/**
 * Every candidate order the search reported, run serially: one that diverges without the race (a
 * known kernel bug first) means no race is needed to show it. Not only the deepest: the kernel may
 * have taken another order, and a bug of that order is what it shows (a DONTUNMAP self-merge after
 * a racing mmap, while the deepest order ran the mremap first).
 */
async function serialCheck(runner: Runner, profile: Profile, o: RaceOutcome, known?: KnownLookup, release = ''): Promise<RaceFinding['serial'] | undefined> {
  const seqs = (o.candidates ?? []).map((_, i) => serialOf(o, i)).filter((s): s is Sequence => s !== null);
  if (!seqs.length) return undefined;
  // every call's snapshot: a read may have seen a state between the calls
  const ks = await runner.run(seqs, DETAIL_RUN);
  let first: RaceFinding['serial'] | undefined;
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i]!;
    const j = judgeWith(predictAgainst, profile, seq, ks[i]!, true);
    if (!j.divergence) continue;
    const label = known?.({ signature: j.signature!, signatureText: j.signatureText!, calls: seq.calls.slice(0, j.divergence.call + 1) }, release);
    const r = { signature: j.signature!, kind: j.divergence.kind, ...(label ? { known: knownText(label) } : {}) };
    if (label) return r;
    first ??= r;
  }
  return first;
}

export async function runRaceCampaign(o: RaceCampaignOptions): Promise<RaceSummary> {
  const t0 = Date.now();
  const s: RaceSummary = { sequences: 0, calls: 0, seconds: 0, pass: 0, fail: 0, indeterminate: 0, unconfirmed: 0, findings: [], crashes: 0, overlapping: 0, serial: 0, known: 0, applied: 0, reasons: {} };
  const seen = new Map<string, RaceFinding>();
  const log = o.log ?? (() => {});
  for (let index = 0, batchNo = 0; ; batchNo++) {
    if (o.count !== null && index >= o.count) break;
    if (o.deadline !== undefined && Date.now() >= o.deadline) break;
    if (o.shouldStop?.()) break;
    const n = o.count !== null ? Math.min(o.batch, o.count - index) : o.batch;
    const batch: Sequence[] = Array.from({ length: n }, (_, k) => withRaceFailNth(generateConcurrent(o.seed, index + k, o.gen), o.seed, index + k, o.gen.failNthPercent ?? 0, o.gen.failNthMax));
    const runOpts = { ...(batchNo % LAYER_EVERY === 0 ? FAST_LAYERS_RUN : FAST_RUN), ...(o.pinThreads ? { pinThreads: true } : {}) };
    const kernel = await o.runner.run(batch, runOpts);
    s.crashes += (await recordRunnerCrashes(o.runner, o.out)).length;
    for (let k = 0; k < n; k++) {
      const seq = batch[k]!;
      s.sequences++;
      s.calls += seq.calls.length + racingCalls(seq).length;
      if (overlapped(seq, kernel[k]!)) s.overlapping++;
      if (armedFork(seq)) {
        const f = (s.failNth ??= { armed: 0, failed: 0, reads: 0 });
        f.armed++;
        const failed = failedFork(seq, kernel[k]!);
        const t = failed && kernel[k]!.timing?.[failed.index];
        if (failed) f.failed++;
        if (t) f.reads += (kernel[k]!.reads ?? []).filter((r) => r.start <= t.end && r.end >= t.start).length;
      }
      const out = judgeRace(seq, kernel[k]!, o.profile, o.race);
      s.applied += out.stats?.applied ?? 0;
      if (out.verdict === 'pass') s.pass++;
      else if (out.verdict === 'indeterminate') {
        s.indeterminate++;
        const why = (out.reason ?? '').replace(/\d+/g, 'N').slice(0, 80);
        s.reasons[why] = (s.reasons[why] ?? 0) + 1;
      } else {
        s.fail++;
        const sig = out.signature!;
        const known = seen.get(sig);
        if (known) continue;
        const again = o.confirmRuns > 0 ? await o.runner.run(Array(o.confirmRuns).fill(seq), runOpts) : [];
        const hits = 1 + again.filter((kk) => judgeRace(seq, kk, o.profile, o.race).signature === sig).length;
        if (o.confirmRuns > 0 && hits === 1) s.unconfirmed++;
        const f: RaceFinding = { signature: sig, dir: join(o.out, 'races', sig), outcome: out, hits, runs: 1 + o.confirmRuns };
        const serial = await serialCheck(o.runner, o.profile, out, o.known, o.release);
        if (serial) {
          f.serial = serial;
          s.serial++;
          if (serial.known) s.known++;
        }
        if (o.minimizeMs) {
          const m = await minimizeRace(o.runner, o.profile, seq, sig, { timeMs: o.minimizeMs, confirmRuns: 10, ...(o.race ? { race: o.race } : {}) });
          f.minimized = { calls: m.callsAfter, hits: m.hits, runs: m.runs };
          mkdirSync(f.dir, { recursive: true });
          writeSequenceFile(join(f.dir, 'minimized.json'), m.seq);
        }
        writeFinding(f.dir, f);
        seen.set(sig, f);
        s.findings.push(f);
        o.onFinding?.(f);
        log(`race finding ${sig}: ${out.divergence!.kind} (hit rate ${hits}/${f.runs})${serial ? `; a candidate order run serially diverges too (${serial.kind}, sequential signature ${serial.signature})${serial.known ? `: ${serial.known}` : ''}` : ''} ${f.dir}/report.txt`);
      }
    }
    index += n;
  }
  s.seconds = (Date.now() - t0) / 1000;
  writeFileAtomic(join(o.out, 'races-summary.json'), JSON.stringify({ ...s, findings: s.findings.map((f) => ({ signature: f.signature, dir: f.dir, hits: f.hits, runs: f.runs })) }, null, 2) + '\n');
  return s;
}


