// The readable report of one divergence: every call with the model's and the kernel's result, the
// first divergent call marked, and the arena maps before and after it side by side.

import { printableLine } from '../util/text.js';
import type { Divergence } from '../compare/compare.js';
import { canonicalizeFiles } from '../compare/compare.js';
import { mapsEntryToString } from '../seq/maps.js';
import type { MapsEntry, SeqObservation, Snapshot } from '../seq/observation.js';
import { alignByStart, flagDiff, pagemapDiffers, procName, snapOf } from './layers.js';
import { absoluteReplay } from './replay.js';
import { callToString, resultToString } from '../seq/render.js';
import type { Sequence } from '../seq/schema.js';

export interface ReportInput {
  title: string;
  seq: Sequence;
  model: SeqObservation;
  kernel: SeqObservation;
  divergence: Divergence;
  target: string;
  replayCommand: string;
  extra?: string[];
}

/** The snapshot (files canonicalized) and its index in the observation's snapshots. */
function snapAt(o: SeqObservation, after: number, proc: number): { s: Snapshot; i: number } | undefined {
  const all = canonicalizeFiles(o.snapshots);
  const s = snapOf(all, after, proc) as Snapshot | undefined;
  return s ? { s, i: all.indexOf(s) } : undefined;
}

/** Model and kernel VMAs side by side, rows aligned by start address so one extra VMA on either
 *  side does not shift every row below it. */
function sideBySide(model: readonly MapsEntry[], kernel: readonly MapsEntry[]): string[] {
  const pairs: Array<[string, string]> = [];
  let i = 0;
  let j = 0;
  while (i < model.length || j < kernel.length) {
    const a = model[i];
    const b = kernel[j];
    if (a && b && a.start === b.start) {
      pairs.push([mapsEntryToString(a), mapsEntryToString(b)]);
      i++;
      j++;
    } else if (a && (!b || a.start < b.start)) {
      pairs.push([mapsEntryToString(a), '']);
      i++;
    } else {
      pairs.push(['', mapsEntryToString(b!)]);
      j++;
    }
  }
  const w = Math.max(5, ...pairs.map(([l]) => l.length)) + 2;
  return [`    ${'model'.padEnd(w)}| kernel`, ...pairs.map(([l, r]) => `${l === r ? '    ' : ' !! '}${l.padEnd(w)}| ${r}`)];
}

export function renderTextReport(r: ReportInput): string {
  const d = r.divergence;
  const out: string[] = [];
  out.push(r.title);
  out.push(`target:     ${r.target}`);
  const origin = r.seq.origin ? `seed ${r.seq.origin.seed} index ${r.seq.origin.index}, ` : '';
  out.push(`sequence:   ${origin}${r.seq.calls.length} calls, ${r.seq.arenaPages}-page arena${r.seq.name ? ` (${printableLine(r.seq.name)})` : ''}`);
  const forks = r.seq.calls.some((c) => c.op === 'fork');
  const proc = d.proc ?? 0;
  const who = procName(proc, forks);
  const the = proc === 0 ? 'the parent' : who;
  const of = who ? ` of ${the}` : '';
  out.push(`divergence: ${d.layer} ${d.call < 0 ? 'before the first call' : `at call ${d.call}`}${who ? ` in ${the}` : ''}: ${d.kind}`);
  // made now, in the directory the command's relative file is relative to: shown absolute
  out.push(`replay:     ${absoluteReplay(r.replayCommand, { cwd: process.cwd() }) ?? r.replayCommand}`);
  for (const e of r.extra ?? []) out.push(printableLine(e)); // known.summary and the like come from corpus files
  out.push('');
  out.push('calls (result: model | kernel):');
  r.seq.calls.forEach((c, i) => {
    const m = r.model.calls[i];
    const k = r.kernel.calls[i];
    const mark = i === d.call ? '>>' : '  ';
    const res = (o: typeof m) => (o ? resultToString(c, o) : '(not run)');
    const rm = res(m);
    const rk = res(k);
    out.push(`${mark}${String(i).padStart(4)}  ${callToString(c)} = ${rm === rk ? rm : `${rm} | ${rk}`}`);
  });
  const show = (after: number, label: string) => {
    const m = snapAt(r.model, after, proc)?.s;
    const k = snapAt(r.kernel, after, proc)?.s;
    if (!m && !k) return;
    const p = (k ?? m)!.proc ?? 0;
    out.push('');
    out.push(`maps${forks ? ` of ${p === 0 ? 'the parent' : procName(p, forks)}` : ''} ${label}:`);
    out.push(...sideBySide(m?.maps ?? [], k?.maps ?? []));
  };
  if (d.call >= 0) show(d.call - 1, d.call === 0 ? 'before the first call' : `after call ${d.call - 1} (before the divergent call)`);
  show(d.call, d.call < 0 ? 'before the first call' : `after call ${d.call}`);
  const m = snapAt(r.model, d.call, proc)?.s;
  const kAt = snapAt(r.kernel, d.call, proc);
  const k = kAt?.s;
  const flagRows = alignByStart(m?.maps ?? [], k?.maps ?? []).filter(([a, b]) => a && b && flagDiff(a.vmflags, b.vmflags));
  if (flagRows.length) {
    out.push('');
    out.push(`VmFlags${of} after call ${d.call} that differ (kernel vs model):`);
    for (const [a, b] of flagRows) out.push(` !! ${mapsEntryToString(a!)}  ${flagDiff(a!.vmflags, b!.vmflags)}  (model "${a!.vmflags}", kernel "${b!.vmflags}")`);
  }
  if (m?.pagemap !== undefined && k?.pagemap !== undefined && pagemapDiffers(m.pagemap, k.pagemap).length) {
    const bad = new Set(pagemapDiffers(m.pagemap, k.pagemap));
    out.push('');
    out.push(`pagemap${of} after call ${d.call} (P present, - not, G guard, S swap/marker, ? kernel's choice):`);
    out.push(`    model   ${m.pagemap}`);
    out.push(`    kernel  ${k.pagemap}`);
    out.push(`    differs ${[...k.pagemap].map((_, i) => (bad.has(i) ? '^' : ' ')).join('').trimEnd()}`);
  }
  const ri = kAt?.i ?? -1;
  const raw = ri >= 0 ? r.kernel.rawMaps?.[ri] : undefined;
  if (raw && raw.length) {
    out.push('');
    out.push(`kernel /proc/self/maps text${of} after call ${k!.after} (arena base ${r.kernel.base ?? '?'}):`);
    for (const l of raw) out.push('    ' + l);
  }
  return out.join('\n') + '\n';
}
