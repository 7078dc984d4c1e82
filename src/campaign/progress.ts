// Progress output: on a terminal a status panel redrawn in place (in the spirit of AFL++'s), else
// one heartbeat line every few seconds. Every number is explained in docs/campaign.md.

import type { ProgressView } from './campaign.js';

export function fmtDuration(secs: number): string {
  const s = Math.floor(secs);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return d > 0 ? `${d}d ${two(h)}h ${two(m)}m` : h > 0 ? `${h}h ${two(m)}m ${two(ss)}s` : m > 0 ? `${m}m ${two(ss)}s` : `${ss}s`;
}

const num = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (n: number, of: number) => `${of ? ((100 * n) / of).toFixed(1) : '0.0'}%`;

/** The one-line heartbeat (no TTY, CI). */
export function heartbeatLine(v: ProgressView): string {
  const s = v.stats;
  const last = s.sinceNewFinding === null ? 'none yet' : `${fmtDuration(s.sinceNewFinding)} ago`;
  const planned = s.planned ? `/${num(s.planned)}` : '';
  return (
    `[${fmtDuration(s.elapsed)}] ${num(s.sequences)}${planned} sequences (${num(s.sequencesPerSec)}/s, ${num(s.callsPerSec)} calls/s), ` +
    `${s.unique} unique / ${s.divergences} divergences, ${s.flaky} flaky, ${s.indeterminate} indeterminate, ${s.partial ?? 0} partial, ` +
    `rules ${s.rulesHit}/${s.rulesTotal}, last new finding ${last}` +
    (v.stopping ? `; ${stoppingText(v.stopping)}` : '')
  );
}

/** What a campaign past its deadline still waits for, and for how long at most. */
export function stoppingText(st: NonNullable<ProgressView['stopping']>): string {
  const what = [
    ...(st.pieces ? [`${st.pieces} piece${st.pieces > 1 ? 's' : ''} to checkpoint`] : []),
    ...(st.minimizing ? [`minimizing ${st.minimizing} finding${st.minimizing > 1 ? 's' : ''}`] : []),
  ];
  return `stopping: ${what.length ? what.join(', ') : 'closing'} (at most ${Math.ceil(st.leftMs / 1000)} s more)`;
}

const ANSI = { bold: '\x1b[1m', dim: '\x1b[2m', red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', cyan: '\x1b[36m', off: '\x1b[0m' };

function bar(frac: number, width: number): string {
  const n = Math.max(0, Math.min(width, Math.round(frac * width)));
  return '█'.repeat(n) + '░'.repeat(width - n);
}

/** The panel lines (without cursor movement). `color` adds ANSI colours. */
export function panelLines(v: ProgressView, color = true, width = 78): string[] {
  const c = color ? ANSI : { bold: '', dim: '', red: '', green: '', yellow: '', cyan: '', off: '' };
  const s = v.stats;
  const w = width;
  const line = (l: string, r: string) => {
    const half = Math.floor((w - 7) / 2);
    return `│ ${pad(l, half)} │ ${pad(r, w - 7 - half)} │`;
  };
  const head = (t: string) => `├─ ${c.cyan}${t}${c.off} ${'─'.repeat(Math.max(0, w - 5 - t.length))}┤`;
  const shard = v.config.shard.count > 1 ? `, shard ${v.config.shard.index}/${v.config.shard.count}` : '';
  const title = `vmafuzz fuzz · seed ${v.config.seed}${shard} · ${v.target.runner} ${v.target.release} · ${s.jobs} job${s.jobs > 1 ? 's' : ''}`;
  const since = s.sinceNewFinding === null ? 'none yet' : `${fmtDuration(s.sinceNewFinding)} ago`;
  const done = s.planned ? `${num(s.sequences)} / ${num(s.planned)} (${((100 * s.sequences) / s.planned).toFixed(1)}%)` : num(s.sequences);
  const ops = Object.entries(s.ops).filter(([, n]) => n > 0);
  const opTotal = ops.reduce((a, [, n]) => a + n, 0) || 1;
  const rows: string[] = [];
  rows.push(`┌─ ${c.bold}${title.slice(0, w - 6)}${c.off} ${'─'.repeat(Math.max(0, w - 5 - Math.min(title.length, w - 6)))}┐`);
  rows.push(line(`run time     ${fmtDuration(s.elapsed)}`, `unique       ${s.unique > 0 ? c.red + c.bold : ''}${s.unique}${c.off} findings`));
  rows.push(line(`seq/s        ${num(s.sequencesPerSec)} (avg ${num(v.sessionRate)})`, `divergences  ${num(s.divergences)}`));
  rows.push(line(`calls/s      ${num(s.callsPerSec)}`, `last new     ${since}`));
  rows.push(line(`sequences    ${done}`, `flaky        ${num(s.flaky)} (${s.flakyUnique} kept)`));
  rows.push(line(`calls        ${num(s.calls)}`, `indeterm.    ${num(s.indeterminate)} (${s.crash} crash, ${s.timeout} t/o)`));
  rows.push(line(`partial      ${num(s.partial ?? 0)} (${pct(s.partial ?? 0, s.sequences)})`, v.stopping ? `${c.yellow}${stoppingText(v.stopping)}${c.off}` : ''));
  rows.push(head('calls per op'));
  const opText = ops.map(([o, n]) => `${o} ${num(n)} (${((100 * n) / opTotal).toFixed(0)}%)`);
  for (let i = 0; i < opText.length; i += 2) rows.push(line(opText[i]!, opText[i + 1] ?? ''));
  rows.push(head('model-rule coverage'));
  const frac = s.rulesTotal ? s.rulesHit / s.rulesTotal : 0;
  rows.push(`│ ${pad(`rules hit  ${s.rulesHit}/${s.rulesTotal}  ${c.green}${bar(frac, 30)}${c.off}  pool ${v.poolSize}`, w - 4)} │`);
  // rules the target cannot exhibit are counted, not listed (vmafuzz report says why); the rest are
  // the ones generation has not reached
  const cannot = v.rulesUnreachable ? `${v.rulesUnreachable} cannot fire here; ` : '';
  const missing = cannot + (v.rulesMissing.length ? `not yet: ${v.rulesMissing.join(', ')}` : 'every rule this target can exhibit has fired');
  rows.push(`│ ${c.dim}${pad(missing, w - 4)}${c.off} │`);
  rows.push(`└${'─'.repeat(w - 2)}┘`);
  rows.push(`${c.dim}output: ${v.dir}   (Ctrl-C stops, --resume ${v.dir} continues)${c.off}`);
  return rows;
}

/** Visible length without ANSI escapes. */
const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

function pad(s: string, n: number): string {
  const v = visible(s);
  if (v <= n) return s + ' '.repeat(n - v);
  // cut plain text; strings with escapes are short enough in practice
  return s.replace(/\x1b\[[0-9;]*m/g, '').slice(0, n - 1) + '…';
}

/** Redraws the panel in place: cursor up over the previous drawing, clear each line, draw. */
export class Panel {
  private drawn = 0;
  constructor(private readonly out: NodeJS.WriteStream) {}

  draw(v: ProgressView): void {
    // Every line must fit the terminal: a wrapped line takes two rows, the cursor-up below then
    // stops short and the rows above it stay behind in the scrollback. Likewise for a panel taller
    // than the window (its top scrolls out of reach), so it is cut to the window's height.
    const cols = this.out.columns ?? 100;
    const width = Math.max(60, Math.min(cols, 111) - 1);
    const lines = panelLines(v, true, width)
      .slice(0, Math.max(4, (this.out.rows ?? 50) - 1))
      .map((l) => (visible(l) > cols - 1 ? pad(l, cols - 1) : l));
    let text = this.drawn ? `\x1b[${this.drawn}F` : '\x1b[?25l';
    for (const l of lines) text += `\x1b[2K${l}\n`;
    this.out.write(text);
    this.drawn = lines.length;
  }

  /** Print a message above the panel (new findings) without breaking it. */
  message(s: string): void {
    const up = this.drawn ? `\x1b[${this.drawn}F\x1b[0J` : '';
    this.out.write(`${up}${s}\n`);
    this.drawn = 0;
  }

  close(): void {
    this.out.write('\x1b[?25h');
  }
}
