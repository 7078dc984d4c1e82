// The per-layer pictures of a finding, beyond the arena's VMA bars: which process a snapshot belongs
// to (fork children have their own), the VmFlags of each VMA model vs kernel with the difference
// written out, and the pagemap as a per-page strip with the differing pages outlined.

import { mapsEntryToString } from '../seq/maps.js';
import type { MapsEntry } from '../seq/observation.js';
import { esc } from './svg.js';

interface Snap {
  after: number;
  proc?: number;
  maps: MapsEntry[];
  pagemap?: string;
}

/** "parent" / "fork child 2" in a sequence that forks, "" otherwise. */
export const procName = (proc: number, forks: boolean): string => (!forks ? '' : proc === 0 ? 'parent' : `fork child ${proc}`);

/**
 * The snapshot of process `proc` taken after call `after`, or else that process's latest one before
 * it (a parent's state while its child ran), with the call it was taken after.
 */
export function snapOf(snaps: readonly Snap[], after: number, proc: number): Snap | undefined {
  let best: Snap | undefined;
  for (const s of snaps) if ((s.proc ?? 0) === proc && s.after <= after && (!best || s.after >= best.after)) best = s;
  // the snapshot after a fork is the child's: before the fork's next call, "the process" is the child
  return best ?? snaps.filter((s) => s.after === after).at(-1);
}

const flags = (f: string | undefined) => new Set((f ?? '').trim().split(/\s+/).filter(Boolean));

/** The kernel's VmFlags relative to the model's: `+ac -me` (kernel has ac, lacks me), "" when equal. */
export function flagDiff(model: string | undefined, kernel: string | undefined): string {
  const m = flags(model);
  const k = flags(kernel);
  return [...[...k].filter((f) => !m.has(f)).map((f) => '+' + f), ...[...m].filter((f) => !k.has(f)).map((f) => '-' + f)].join(' ');
}

/** VMAs side by side, aligned by start page (one extra VMA does not shift the rows below). */
export function alignByStart(m: readonly MapsEntry[], k: readonly MapsEntry[]): Array<[MapsEntry | undefined, MapsEntry | undefined]> {
  const out: Array<[MapsEntry | undefined, MapsEntry | undefined]> = [];
  let i = 0;
  let j = 0;
  while (i < m.length || j < k.length) {
    const a = m[i];
    const b = k[j];
    if (a && b && a.start === b.start) (out.push([a, b]), i++, j++);
    else if (a && (!b || a.start < b.start)) (out.push([a, undefined]), i++);
    else (out.push([undefined, b]), j++);
  }
  return out;
}

/** Indices (in `m`, in `k`) of VMAs at the same place whose VmFlags differ, with the difference. */
export function vmflagsDiffers(m: readonly MapsEntry[], k: readonly MapsEntry[]): { model: Map<number, string>; kernel: Map<number, string> } {
  const model = new Map<number, string>();
  const kernel = new Map<number, string>();
  for (const [a, b] of alignByStart(m, k)) {
    if (!a || !b || a.vmflags === undefined || b.vmflags === undefined) continue;
    const d = flagDiff(a.vmflags, b.vmflags);
    if (!d) continue;
    model.set(m.indexOf(a), d);
    kernel.set(k.indexOf(b), d);
  }
  return { model, kernel };
}

/** Each flag of `have`, the ones missing from `other` in bold red. */
function flagCells(have: string | undefined, other: string | undefined): string {
  if (have === undefined) return '<span class="muted">(not collected)</span>';
  const o = flags(other);
  return [...flags(have)].map((f) => (o.has(f) ? esc(f) : `<b class="flagdiff">${esc(f)}</b>`)).join(' ');
}

/** The VmFlags of every VMA, model vs kernel, with the difference (`+ac -me`: the kernel's extra and missing flags). */
export function vmflagsTable(title: string, m: readonly MapsEntry[], k: readonly MapsEntry[]): string {
  const rows = alignByStart(m, k).map(([a, b]) => {
    const d = a && b ? flagDiff(a.vmflags, b.vmflags) : '';
    const where = esc(mapsEntryToString((a ?? b)!));
    const cls = d || !a || !b ? ' class="diff"' : '';
    return `<tr${cls}><td class="mono">${where}${a && b ? '' : ` <span class="tag bad">${a ? 'model only' : 'kernel only'}</span>`}</td><td class="mono">${a ? flagCells(a.vmflags, b?.vmflags) : ''}</td><td class="mono">${b ? flagCells(b.vmflags, a?.vmflags) : ''}</td><td class="mono flagdiff">${esc(d)}</td></tr>`;
  });
  if (!rows.length) rows.push('<tr><td class="muted" colspan="4">(nothing mapped)</td></tr>');
  return `<h3>${esc(title)}</h3><table class="vmflags"><tr><th>VMA</th><th>model VmFlags</th><th>kernel VmFlags</th><th>kernel vs model</th></tr>${rows.join('')}</table>`;
}

const PAGE_COLORS: Record<string, string> = { P: '#4e79a7', '-': '#eeeeee', G: '#b07aa1', S: '#edc948', '?': '#ffffff' };
const PAGE_NAMES: Record<string, string> = { P: 'present', '-': 'not present', G: 'guard marker', S: 'swap / uffd-wp marker', '?': 'kernel may choose' };

/** Pages where the kernel's pagemap differs from the model's ('?' in the model matches anything). */
export function pagemapDiffers(model: string, kernel: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(model.length, kernel.length); i++) if (model[i] !== '?' && model[i] !== kernel[i]) out.push(i);
  return out;
}

/**
 * The pagemap of the arena as two strips of page cells, model over kernel, each cell its letter
 * (P present, - not present, G guard, S swap/marker, ? kernel's choice); differing pages outlined
 * in red and marked below. Large arenas are shown around the differing pages.
 */
export function pagemapSvg(title: string, model: string, kernel: string): string {
  const diff = pagemapDiffers(model, kernel);
  const n = Math.max(model.length, kernel.length, 1);
  let v0 = 0;
  let v1 = n;
  if (n > 96 && diff.length) {
    v0 = Math.max(0, diff[0]! - 16);
    v1 = Math.min(n, Math.max(diff.at(-1)! + 17, v0 + 48));
  }
  const W = 960;
  const labelW = 190;
  const cw = (W - labelW - 16) / (v1 - v0);
  const rowH = 24;
  const top = 22;
  const H = top + 2 * (rowH + 6) + 30;
  const out: string[] = [];
  out.push(`<svg class="pagemap" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(title)}"><title>${esc(title)}</title>`);
  const step = Math.max(1, Math.ceil((v1 - v0) / 16));
  for (let p = v0; p <= v1; p += step) out.push(`<text x="${(labelW + (p - v0) * cw).toFixed(1)}" y="${top - 8}" font-size="10" text-anchor="middle" fill="#666">A+${p}p</text>`);
  const strip = (label: string, pm: string, y: number) => {
    out.push(`<text x="6" y="${y + rowH / 2 + 4}" font-size="12" fill="#222">${esc(label)}</text>`);
    for (let p = v0; p < v1; p++) {
      const ch = pm[p] ?? ' ';
      const bad = diff.includes(p);
      const x = labelW + (p - v0) * cw;
      out.push(`<g class="page${bad ? ' diff' : ''}" data-page="${p}"><title>${esc(`A+${p}p: ${ch} ${PAGE_NAMES[ch] ?? ''}${bad ? ' (differs)' : ''}`)}</title>`);
      out.push(`<rect x="${(x + 1).toFixed(1)}" y="${y}" width="${Math.max(1, cw - 2).toFixed(1)}" height="${rowH}" fill="${PAGE_COLORS[ch] ?? '#9c755f'}" stroke="${bad ? '#d50000' : '#999'}" stroke-width="${bad ? 3 : 0.6}"/>`);
      if (cw >= 9) out.push(`<text x="${(x + cw / 2).toFixed(1)}" y="${y + rowH / 2 + 4}" font-size="${cw >= 14 ? 12 : 9}" font-family="monospace" text-anchor="middle" fill="${ch === 'P' || ch === 'G' ? '#fff' : '#222'}">${esc(ch)}</text>`);
      out.push('</g>');
    }
  };
  strip('model', model, top);
  strip('kernel', kernel, top + rowH + 6);
  for (const p of diff) {
    if (p < v0 || p >= v1) continue;
    const x = labelW + (p - v0 + 0.5) * cw;
    out.push(`<path d="M${x.toFixed(1)},${top + 2 * (rowH + 6) + 2} l-5,8 h10 z" fill="#d50000"/>`);
  }
  out.push(`<text x="${labelW}" y="${H - 6}" font-size="11" fill="#8d0000">${esc(diff.length ? `${diff.length} page(s) differ: ${diff.slice(0, 12).map((p) => `A+${p}p model ${model[p] ?? ' '} kernel ${kernel[p] ?? ' '}`).join(', ')}${diff.length > 12 ? ', …' : ''}` : 'no page differs')}</text>`);
  out.push('</svg>');
  return out.join('');
}

export function pagemapLegend(): string {
  return `<div class="legend muted">${Object.entries(PAGE_COLORS).map(([c, col]) => `<span style="background:${col};border:1px solid #999"></span>${esc(c)} ${esc(PAGE_NAMES[c]!)}`).join('')} · <span style="border:2px solid #d50000;width:10px;height:10px"></span>page differs</div>`;
}
