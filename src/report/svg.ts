// Inline SVG pictures for the HTML report: the arena's VMAs as bars (model and kernel, before and
// after the divergent call) and small line charts of campaign stats over time. Plain strings, no
// dependencies; every number is computed here so the report needs no script to draw.

export const esc = (s: string | number): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export interface Vma {
  start: number;
  end: number;
  perms: string;
  name: string;
}

export interface ArenaRow {
  label: string;
  maps: readonly Vma[];
  /** entries of this row that have no identical entry in the row it is compared with */
  differs?: ReadonlySet<number>;
  /** text written on an entry (a VmFlags difference such as `+ac -me`); such an entry is outlined as differing */
  notes?: ReadonlyMap<number, string>;
}

/** Fill colour of a VMA by its protection (shared mappings get a hatch on top). */
export function permColor(perms: string): string {
  const p = perms.slice(0, 3);
  return { 'rw-': '#4e79a7', 'r--': '#59a14f', '---': '#bab0ac', 'r-x': '#f28e2b', 'rwx': '#e15759', '-w-': '#76b7b2', '--x': '#edc948', '-wx': '#b07aa1' }[p] ?? '#9c755f';
}

const sameVma = (a: Vma, b: Vma) => a.start === b.start && a.end === b.end && a.perms === b.perms && a.name === b.name;

/** Indices of `a` with no identical entry in `b`. */
export function differing(a: readonly Vma[], b: readonly Vma[]): Set<number> {
  const out = new Set<number>();
  a.forEach((e, i) => {
    if (!b.some((f) => sameVma(e, f))) out.add(i);
  });
  return out;
}

export interface ArenaPicture {
  title: string;
  arenaPages: number;
  rows: ArenaRow[];
  /** pages the divergent call names, [from, to) */
  band?: { from: number; to: number; label: string };
  /** separators drawn above these row indices */
  groupStarts?: number[];
  /** draw only pages [from, to) (a zoom on the divergence) */
  view?: { from: number; to: number };
}

export function arenaSvg(p: ArenaPicture): string {
  const W = 960;
  const labelW = 190;
  const rowH = 30;
  const top = 26;
  const plotW = W - labelW - 16;
  const v0 = p.view?.from ?? 0;
  const v1 = p.view?.to ?? Math.max(1, p.arenaPages);
  const n = Math.max(1, v1 - v0);
  const x = (page: number) => labelW + ((Math.max(v0, Math.min(page, v1)) - v0) / n) * plotW;
  const H = top + p.rows.length * (rowH + 6) + 30;
  const out: string[] = [];
  out.push(`<svg class="arena" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-label="${esc(p.title)}">`);
  out.push(`<title>${esc(p.title)}</title>`);
  out.push(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="#fff" stroke-width="2" stroke-opacity="0.6"/></pattern></defs>`);
  // page ruler
  const step = Math.max(1, Math.ceil(n / 8));
  for (let pg = v0; pg <= v1; pg += step) {
    out.push(`<line x1="${x(pg).toFixed(1)}" y1="${top - 6}" x2="${x(pg).toFixed(1)}" y2="${H - 24}" stroke="#ddd"/>`);
    out.push(`<text x="${x(pg).toFixed(1)}" y="${top - 10}" font-size="10" text-anchor="middle" fill="#666">A+${pg}p</text>`);
  }
  if (p.band) {
    const bx = x(p.band.from);
    const bw = Math.max(2, x(p.band.to) - bx);
    out.push(`<rect class="band" x="${bx.toFixed(1)}" y="${top - 4}" width="${bw.toFixed(1)}" height="${H - top - 18}" fill="#ffd54f" fill-opacity="0.35" stroke="#f9a825" stroke-dasharray="4 3"/>`);
    out.push(`<text x="${(bx + bw / 2).toFixed(1)}" y="${H - 8}" font-size="11" text-anchor="middle" fill="#8d6e00">${esc(p.band.label)}</text>`);
  }
  p.rows.forEach((row, ri) => {
    const y = top + ri * (rowH + 6);
    if (p.groupStarts?.includes(ri) && ri > 0) out.push(`<line x1="4" y1="${y - 3}" x2="${W - 4}" y2="${y - 3}" stroke="#999" stroke-dasharray="2 2"/>`);
    out.push(`<text x="6" y="${y + rowH / 2 + 4}" font-size="12" fill="#222">${esc(row.label)}</text>`);
    out.push(`<rect x="${labelW}" y="${y}" width="${plotW}" height="${rowH}" fill="#f7f7f7" stroke="#ccc"/>`);
    row.maps.forEach((v, i) => {
      if (v.end <= v0 || v.start >= v1) return;
      const vx = x(v.start);
      const vw = Math.max(1.5, x(v.end) - vx);
      const note = row.notes?.get(i);
      const diff = (row.differs?.has(i) ?? false) || note !== undefined;
      const tip = `A+${v.start}p-A+${v.end}p ${v.perms}${v.name ? ' ' + v.name : ''}${note ? ` VmFlags ${note}` : ''}${diff ? ' (differs)' : ''}`;
      out.push(`<g class="vma${diff ? ' diff' : ''}"><title>${esc(tip)}</title>`);
      out.push(`<rect x="${vx.toFixed(1)}" y="${y + 3}" width="${vw.toFixed(1)}" height="${rowH - 6}" fill="${permColor(v.perms)}" stroke="${diff ? '#d50000' : '#333'}" stroke-width="${diff ? 3 : 0.8}"/>`);
      if (v.perms[3] === 's') out.push(`<rect x="${vx.toFixed(1)}" y="${y + 3}" width="${vw.toFixed(1)}" height="${rowH - 6}" fill="url(#hatch)"/>`);
      if (note !== undefined) {
        // the flag difference on a white tag over the bar (centred on the visible part), legible at any width
        const cx = (Math.max(vx, labelW) + Math.min(vx + vw, labelW + plotW)) / 2;
        const tw = 8 + note.length * 7;
        out.push(`<rect class="note" x="${(cx - tw / 2).toFixed(1)}" y="${y + 6}" width="${tw}" height="${rowH - 12}" rx="3" fill="#fff" stroke="#d50000"/>`);
        out.push(`<text class="note" x="${cx.toFixed(1)}" y="${y + rowH / 2 + 4}" font-size="12" font-weight="bold" font-family="monospace" text-anchor="middle" fill="#b71c1c">${esc(note)}</text>`);
      } else if (vw > 46) out.push(`<text x="${(vx + vw / 2).toFixed(1)}" y="${y + rowH / 2 + 4}" font-size="11" text-anchor="middle" fill="#fff">${esc(v.perms)}${vw > 120 ? ` ${v.start}-${v.end}` : ''}</text>`);
      out.push('</g>');
    });
  });
  out.push('</svg>');
  return out.join('');
}

export interface Series {
  name: string;
  color: string;
  points: Array<[number, number]>;
}

/** A small line chart; x in seconds (labelled as durations), y as counts. */
export function lineChartSvg(title: string, yLabel: string, series: readonly Series[]): string {
  const W = 460;
  const H = 220;
  const L = 56;
  const B = 30;
  const T = 22;
  const R = 10;
  const pts = series.flatMap((s) => s.points);
  const xmax = Math.max(1, ...pts.map((p) => p[0]));
  const ymax = Math.max(1, ...pts.map((p) => p[1])) * 1.08;
  const x = (v: number) => L + (v / xmax) * (W - L - R);
  const y = (v: number) => H - B - (v / ymax) * (H - B - T);
  const out: string[] = [];
  out.push(`<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">`);
  out.push(`<title>${esc(title)}</title>`);
  out.push(`<text x="${L}" y="14" font-size="12" font-weight="bold">${esc(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const v = (ymax / 4) * i;
    out.push(`<line x1="${L}" y1="${y(v).toFixed(1)}" x2="${W - R}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${L - 4}" y="${(y(v) + 3).toFixed(1)}" font-size="10" text-anchor="end" fill="#555">${esc(fmtNum(v))}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const v = (xmax / 4) * i;
    out.push(`<text x="${x(v).toFixed(1)}" y="${H - B + 14}" font-size="10" text-anchor="middle" fill="#555">${esc(fmtSecs(v))}</text>`);
  }
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#888"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#888"/>`);
  out.push(`<text x="12" y="${(T + H - B) / 2}" font-size="10" transform="rotate(-90 12 ${(T + H - B) / 2})" text-anchor="middle" fill="#555">${esc(yLabel)}</text>`);
  series.forEach((s, i) => {
    if (s.points.length === 0) return;
    const d = s.points.map((p, j) => `${j ? 'L' : 'M'}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`).join(' ');
    out.push(`<path class="series" d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`);
    if (s.points.length === 1) out.push(`<circle cx="${x(s.points[0]![0]).toFixed(1)}" cy="${y(s.points[0]![1]).toFixed(1)}" r="3" fill="${s.color}"/>`);
    if (series.length > 1) out.push(`<text x="${W - R - 4}" y="${T + 12 + i * 12}" font-size="10" text-anchor="end" fill="${s.color}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('');
}

function fmtNum(v: number): string {
  return v >= 10000 ? `${(v / 1000).toFixed(0)}k` : v >= 100 ? v.toFixed(0) : v.toFixed(1);
}

export function fmtSecs(s: number): string {
  if (s < 90) return `${s.toFixed(0)}s`;
  if (s < 5400) return `${(s / 60).toFixed(0)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'];
