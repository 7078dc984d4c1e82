// The readable report of one divergence: every call with the model's and the kernel's result, the
// first divergent call marked, and the arena maps before and after it side by side.

import { printableLine } from '../util/text.js';
import type { Divergence } from '../compare/compare.js';
import { canonicalizeFiles } from '../compare/compare.js';
import { mapsEntryToString } from '../seq/maps.js';
import type { MapsEntry, SeqObservation } from '../seq/observation.js';
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

function snapAt(o: SeqObservation, after: number): MapsEntry[] | undefined {
  return canonicalizeFiles(o.snapshots).find((s) => s.after === after)?.maps;
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
  out.push(`divergence: ${d.layer} ${d.call < 0 ? 'before the first call' : `at call ${d.call}`}: ${d.kind}`);
  out.push(`replay:     ${r.replayCommand}`);
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
    const m = snapAt(r.model, after);
    const k = snapAt(r.kernel, after);
    if (!m && !k) return;
    out.push('');
    out.push(`maps ${label}:`);
    out.push(...sideBySide(m ?? [], k ?? []));
  };
  if (d.call >= 0) show(d.call - 1, d.call === 0 ? 'before the first call' : `after call ${d.call - 1} (before the divergent call)`);
  show(d.call, d.call < 0 ? 'before the first call' : `after call ${d.call}`);
  const raw = r.kernel.rawMaps?.[r.kernel.snapshots.findIndex((s) => s.after === d.call)];
  if (raw && raw.length) {
    out.push('');
    out.push(`kernel /proc/self/maps text after call ${d.call} (arena base ${r.kernel.base ?? '?'}):`);
    for (const l of raw) out.push('    ' + l);
  }
  return out.join('\n') + '\n';
}
