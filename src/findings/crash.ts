// Kernel crashes as their own finding kind. A BUG/WARNING/Oops/panic/KASAN report seen on a QEMU
// guest's console (src/runner/qemu.ts KernelCrash) is not a divergence from the model: it is a
// kernel bug whatever the model says. Each distinct report gets one directory,
// `<out>/crashes/<signature>/`:
//   finding.json   zod-validated (crashFindingSchema): kind, signature, title, count, first/last seen
//   console.txt    the report's console lines, as printed (first occurrence)
//   console.log    the tail of that VM's whole console log (boot messages give the context)
//   sequence.json  the sequence that was running, as a corpus file (absent when none was running)
// The signature comes from the report's first BUG/WARNING line with addresses and numbers stripped,
// so the same bug reached by different sequences, PIDs, CPUs or kernel builds is one finding.

import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { withLock } from '../kernels/lock.js';
import { classify, stripTimestamp, type ConsoleReport, type CrashKind } from '../runner/qemu/console.js';
import type { KernelCrash } from '../runner/qemu.js';
import type { Runner } from '../runner/types.js';
import { sequenceToJson } from '../seq/io.js';
import { writeFileAtomic } from '../util/fs.js';
import { parseReport, reportKey } from './kreport.js';
import { readJsonFile } from '../util/input.js';

const CRASH_KINDS = ['panic', 'oops', 'bug', 'warning', 'kasan', 'ubsan', 'gpf', 'lockup', 'lockdep', 'maple'] as const satisfies readonly CrashKind[];
/** bytes of the VM's console log kept next to the excerpt */
const CONSOLE_TAIL = 256 << 10;

export const crashFindingSchema = z.strictObject({
  vmafuzz: z.literal(1),
  kind: z.literal('crash'),
  signature: z.string().regex(/^[0-9a-f]{16}$/),
  /** the normalised line the signature is the hash of */
  signatureText: z.string(),
  crashKind: z.enum(CRASH_KINDS),
  /** the report's first line as printed the first time */
  title: z.string(),
  /** syzkaller-style title ("KASAN: slab-use-after-free Read in vma_merge", "WARNING in vma_complete"); src/findings/kreport.ts */
  reportTitle: z.string().optional(),
  /** the top of the report's stack, innermost first, without the reporting machinery */
  frames: z.array(z.string()).optional(),
  /** fail-nth values of the sequence's calls (call index -> k), when the sequence injected failures */
  failNth: z.array(z.strictObject({ call: z.number().int().min(0), k: z.number().int().min(1) })).optional(),
  /** a panic took the VM down (the runner rebooted it) */
  fatal: z.boolean(),
  /** the task that hit it ("Comm:"), when printed */
  comm: z.string().nullable(),
  /** kernel releases it was seen on */
  releases: z.array(z.string()).min(1),
  firstSeen: z.string(),
  lastSeen: z.string(),
  count: z.number().int().min(1),
  console: z.literal('console.txt'),
  consoleLog: z.literal('console.log').nullable(),
  /** the sequence that was running, as a corpus file; null when the report came between sequences */
  sequence: z.literal('sequence.json').nullable(),
  /** the command that replays that sequence on the same kernel */
  replay: z.string().nullable(),
  /** the command that shrinks that sequence to the smallest one printing the same report (src/findings/minimize-crash.ts) */
  minimize: z.string().optional(),
  /** the command that writes a C reproducer of it (it arms fail-nth like the sequence) */
  repro: z.string().optional(),
});
export type CrashFinding = z.infer<typeof crashFindingSchema>;

export interface CrashRecord {
  dir: string;
  signature: string;
  isNew: boolean;
  finding: CrashFinding;
}

/** The line a report is known by: its first BUG/WARNING/Oops/KASAN/... line, else its panic line. */
export function crashLine(r: Pick<ConsoleReport, 'excerpt' | 'title'>): string {
  const lines = r.excerpt.split('\n').map((l) => stripTimestamp(l).trim());
  return lines.find((l) => { const k = classify(l); return k !== null && k !== 'panic'; }) ?? lines.find((l) => classify(l) === 'panic') ?? r.title;
}

/** Addresses, offsets and numbers (CPU, PID, line numbers, counters) out: what is left names the bug. */
export function normalizeCrashLine(line: string): string {
  return stripTimestamp(line)
    .replace(/\b0x[0-9a-f]+\b/gi, 'X')
    .replace(/\b[0-9a-f]{8,}\b/gi, 'X') // raw addresses (ffff8880...), Oops error codes
    .replace(/(?<![A-Za-z_])\d+/g, 'N') // keeps identifiers such as x86_64 or ext4
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Deduplication: the report's title and the top of its stack (src/findings/kreport.ts); a report
 * the parser cannot title falls back to its first BUG/WARNING line, normalised.
 */
export function crashSignature(r: Pick<ConsoleReport, 'excerpt' | 'title'>): { signature: string; signatureText: string } {
  const key = reportKey(r.excerpt);
  const signatureText = key.trim() ? normalizeCrashLine(key.split('\n')[0]!) + key.slice(key.indexOf('\n') < 0 ? key.length : key.indexOf('\n')) : normalizeCrashLine(crashLine(r));
  return { signature: createHash('sha256').update(signatureText).digest('hex').slice(0, 16), signatureText };
}

function tail(file: string, bytes: number): string | null {
  if (!file || !existsSync(file)) return null;
  const size = statSync(file).size;
  const n = Math.min(size, bytes);
  const buf = Buffer.alloc(n);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, buf, 0, n, size - n);
  } finally {
    closeSync(fd);
  }
  return (size > n ? `[... ${size - n} earlier bytes of ${file} cut ...]\n` : '') + buf.toString('utf8');
}

export interface RecordCrashOptions {
  /** the runner words for the replay command (default `--runner qemu --kernel <release>`) */
  runnerArgs?: string;
}

/**
 * Record one kernel crash under `<out>/crashes/<signature>/`: a new directory for a new signature,
 * else count + last seen (+ the sequence, if the first occurrence had none). Safe to call from
 * several processes or worker threads at once (a lock per signature directory).
 */
export async function recordCrash(out: string, crash: KernelCrash, o: RecordCrashOptions = {}): Promise<CrashRecord> {
  const { signature, signatureText } = crashSignature(crash);
  const dir = join(out, 'crashes', signature);
  return withLock(dir, async () => {
    const file = join(dir, 'finding.json');
    const prev = existsSync(file) ? readJsonFile(file, crashFindingSchema) : null;
    const f: CrashFinding = prev ?? {
      vmafuzz: 1,
      kind: 'crash',
      signature,
      signatureText,
      crashKind: crash.kind,
      title: crash.title,
      ...(() => {
        const p = parseReport(crash.excerpt);
        return { reportTitle: p.title, frames: p.frames.slice(0, 8) };
      })(),
      ...(() => {
        const inj = (crash.sequence?.calls ?? []).flatMap((c, i) => ((c as { failNth?: number }).failNth ? [{ call: i, k: (c as { failNth?: number }).failNth! }] : []));
        return inj.length ? { failNth: inj } : {};
      })(),
      fatal: crash.fatal,
      comm: crash.comm,
      releases: [crash.release],
      firstSeen: crash.at,
      lastSeen: crash.at,
      count: 0,
      console: 'console.txt',
      consoleLog: null,
      sequence: null,
      replay: null,
    };
    f.count++;
    if (crash.at > f.lastSeen) f.lastSeen = crash.at;
    if (crash.at < f.firstSeen) f.firstSeen = crash.at;
    if (!f.releases.includes(crash.release)) f.releases.push(crash.release);
    if (!prev) {
      writeFileAtomic(join(dir, 'console.txt'), crash.excerpt + '\n');
      const log = tail(crash.consoleLog, CONSOLE_TAIL);
      if (log !== null) {
        writeFileAtomic(join(dir, 'console.log'), log);
        f.consoleLog = 'console.log';
      }
    }
    if (f.sequence === null && crash.sequence) {
      writeFileAtomic(join(dir, 'sequence.json'), sequenceToJson(crash.sequence));
      f.sequence = 'sequence.json';
      const runnerWords = o.runnerArgs ?? ` --runner qemu --kernel ${crash.release}`;
      f.replay = `vmafuzz replay ${join(dir, 'sequence.json')}${runnerWords}`;
      f.minimize = `vmafuzz minimize ${join(dir, 'sequence.json')} --crash ${signature} --out ${join(dir, 'minimized.json')}${runnerWords}`;
      f.repro = `vmafuzz repro ${join(dir, 'sequence.json')} --c ${join(dir, 'repro.c')}${runnerWords}`;
    }
    writeFileAtomic(file, JSON.stringify(crashFindingSchema.parse(f), null, 2) + '\n');
    return { dir, signature, isNew: prev === null, finding: f };
  });
}

/** The campaign's one call after each runner.run(): record what the runner saw (no-op for runners without a console). */
export async function recordRunnerCrashes(runner: Runner, out: string, o: RecordCrashOptions = {}): Promise<CrashRecord[]> {
  const take = (runner as Partial<{ takeCrashes(): KernelCrash[] }>).takeCrashes;
  if (typeof take !== 'function') return [];
  const got: CrashRecord[] = [];
  for (const c of take.call(runner)) got.push(await recordCrash(out, c, o));
  return got;
}
