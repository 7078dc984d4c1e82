// The self-contained HTML report of a campaign directory: summary, stats over time, findings (calls
// with model and kernel results, the arena's VMAs drawn before and after the divergent call, maps
// side by side), flaky results and model-rule coverage. One file, inline CSS and SVG; the only
// script is an optional one-liner that notes how many VMA bars the browser laid out.

import { knownText } from '../findings/known.js';
import { CLASS_NAMES, triageText } from '../triage/classify.js';
import { basename } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PAGE_SIZE } from '../seq/consts.js';
import { mapsEntryToString } from '../seq/maps.js';
import type { CallObs, MapsEntry } from '../seq/observation.js';
import { callToString, resultToString } from '../seq/render.js';
import type { Call, Sequence } from '../seq/schema.js';
import { RULES, unusualFacts } from '../model/index.js';
import type { Detail } from '../campaign/findings.js';
import { rulesHit, type FindingView, type ReportData } from './load.js';
import { pagemapDiffers, pagemapLegend, pagemapSvg, procName, snapOf, vmflagsDiffers, vmflagsTable } from './layers.js';
import { unfiredText } from '../campaign/coverage.js';
import { arenaSvg, differing, esc, fmtSecs, lineChartSvg, PALETTE, type ArenaRow, type Series } from './svg.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 8px;border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
code,pre,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace;font-size:12.5px}
pre{background:#fff;border:1px solid #ddd;padding:8px;overflow-x:auto}
.finding{background:#fff;border:1px solid #ddd;border-radius:6px;padding:8px 16px 16px;margin:18px 0}
.finding.flaky{border-style:dashed}
tr.div td{background:#ffebee;font-weight:600}tr.same td{color:#555}
td.diff,tr.diff td{background:#ffebee}tr.div td.diff{background:#ffcdd2;outline:2px solid #d50000;outline-offset:-2px}
b.flagdiff,td.flagdiff{color:#b71c1c;font-weight:700}svg.pagemap{background:#fff;border:1px solid #ddd;margin:6px 0}.tag{display:inline-block;padding:0 6px;border-radius:3px;background:#eee;font-size:12px;margin-right:4px}
.tag.bad{background:#d32f2f;color:#fff}.tag.warn{background:#f9a825}.tag.ok{background:#388e3c;color:#fff}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{background:#fff;border:1px solid #ddd}
svg.arena{background:#fff;border:1px solid #ddd;margin:6px 0}
.known{background:#fff8e1;padding:4px 8px;border-left:3px solid #f9a825}.muted{color:#777}.rules td{font-size:12.5px}.rules tr.miss td{color:#999}
.legend span{display:inline-block;width:12px;height:12px;vertical-align:middle;margin:0 4px 0 10px}
`;

/** Pages the call names: its range, or the page a touch or a placed mmap hit. */
export function callBand(c: Call, kernelRet?: CallObs['ret']): { from: number; to: number } | null {
  if (!('addr' in c)) return null;
  const len = 'len' in c ? c.len : 'oldLen' in c ? (c as { oldLen: bigint }).oldLen : BigInt(PAGE_SIZE);
  let page = c.addr?.page;
  if (page === undefined && kernelRet?.kind === 'addr') page = kernelRet.page;
  if (page === undefined || len <= 0n || len >= 1n << 40n) return page === undefined ? null : { from: page, to: page + 1 };
  return { from: page, to: page + Math.max(1, Number((len + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE))) };
}

function pairRows(labelA: string, a: MapsEntry[] | undefined, labelB: string, b: MapsEntry[] | undefined): ArenaRow[] {
  const ma = a ?? [];
  const mb = b ?? [];
  return [
    { label: labelA, maps: ma, differs: differing(ma, mb) },
    { label: labelB, maps: mb, differs: differing(mb, ma) },
  ];
}

/** The pages around the divergence (its call's range and the VMAs that differ), when the arena is much larger. */
function zoomOn(rows: ArenaRow[], band: { from: number; to: number } | null, arenaPages: number): { from: number; to: number } | null {
  let lo = band?.from ?? Infinity;
  let hi = band?.to ?? -Infinity;
  for (const r of rows) for (const i of r.differs ?? []) {
    lo = Math.min(lo, r.maps[i]!.start);
    hi = Math.max(hi, r.maps[i]!.end);
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  const pad = Math.max(4, Math.ceil((hi - lo) / 2));
  const from = Math.max(0, lo - pad);
  const to = Math.min(arenaPages, hi + pad);
  return (to - from) * 3 <= arenaPages ? { from, to } : null;
}

function mapsTable(title: string, m: MapsEntry[] | undefined, k: MapsEntry[] | undefined): string {
  const ml = (m ?? []).map(mapsEntryToString);
  const kl = (k ?? []).map(mapsEntryToString);
  const rows: string[] = [];
  for (let i = 0; i < Math.max(ml.length, kl.length); i++) {
    const a = ml[i] ?? '';
    const b = kl[i] ?? '';
    const cls = a === b ? '' : ' class="diff"';
    rows.push(`<tr><td class="mono"${cls}>${esc(a)}</td><td class="mono"${cls}>${esc(b)}</td></tr>`);
  }
  if (!rows.length) rows.push('<tr><td class="muted">(nothing mapped)</td><td class="muted">(nothing mapped)</td></tr>');
  return `<h3>${esc(title)}</h3><table class="maps"><tr><th>model</th><th>kernel</th></tr>${rows.join('')}</table>`;
}

function callsTable(seq: Sequence, d: Detail): string {
  const rows = seq.calls.map((c, i) => {
    const m = d.model.calls[i] as CallObs | undefined;
    const k = d.kernel.calls[i] as CallObs | undefined;
    // the uffd events a call raised belong to its result (the probe layer compares them)
    const res = (o: CallObs | undefined) => (o ? resultToString(c, o) + (o.event ? ` [uffd ${o.event}]` : '') : '(not run)');
    const rm = res(m);
    const rk = res(k);
    const cls = i === d.divergence.call ? 'div' : rm === rk ? 'same' : '';
    const dc = rm === rk ? '' : ' diff';
    const rules = (d.rules[i] ?? []).map((r) => `<span class="tag" title="${esc((RULES as Record<string, string>)[r] ?? '')}">${esc(r)}</span>`).join('');
    return `<tr class="${cls}"><td class="num">${i}</td><td class="mono">${esc(callToString(c))}</td><td class="mono${dc}">${esc(rm)}</td><td class="mono${dc}">${esc(rk)}</td><td>${rules}</td></tr>`;
  });
  return `<table class="calls"><tr><th>#</th><th>call</th><th>model</th><th>kernel</th><th>model rules that fired</th></tr>${rows.join('')}</table>`;
}

function findingSection(v: FindingView, idx: number): string {
  const f = v.finding;
  const out: string[] = [];
  const tags = [
    `<span class="tag ${f.kind === 'flaky' ? 'warn' : 'bad'}">${esc(f.kind)}</span>`,
    `<span class="tag">${esc(f.layer)}</span>`,
    `<span class="tag">${esc(f.op)}</span>`,
    `<span class="tag">${esc(f.diff)}</span>`,
    f.stability ? `<span class="tag ${f.stability.same === f.stability.runs ? 'ok' : 'warn'}">stable ${f.stability.same}/${f.stability.runs}</span>` : '',
    f.minimized ? `<span class="tag ok">minimized: ${f.minimized.calls} calls</span>` : '',
    f.known ? `<span class="tag warn">known kernel bug${f.known.afterFix ? ', past its fix' : ''}</span>` : '',
    f.triage ? `<span class="tag ${f.triage.class === 'present' ? 'bad' : f.triage.class === 'indeterminate' ? 'warn' : 'ok'}" data-triage="${esc(f.triage.class)}">${esc(CLASS_NAMES[f.triage.class])}</span>` : '',
  ].join('');
  out.push(`<section class="finding${f.kind === 'flaky' ? ' flaky' : ''}" id="f-${esc(f.signature)}" data-signature="${esc(f.signature)}">`);
  out.push(`<h2>${idx + 1}. <code>${esc(f.signature)}</code></h2><div>${tags}</div>`);
  out.push(`<p class="mono">${esc(f.signatureText)}</p>`);
  if (f.known) out.push(`<p class="known">${esc(knownText(f.known))}</p>`);
  if (f.triage) out.push(`<p class="triage">${esc(triageText(f.triage))}</p>`);
  out.push(`<table><tr><th>seen</th><td class="num">${f.count}×</td><th>first</th><td>${esc(f.firstSeen)}</td><th>last</th><td>${esc(f.lastSeen)}</td></tr>`);
  const facts = f.target.facts ? `; ${Object.entries(f.target.facts).map(([k, v]) => `${k}=${v}`).join(' ')}` : '';
  out.push(`<tr><th>target</th><td colspan="5">${esc(f.target.runner)}, kernel ${esc(f.target.release)}${esc(facts)}</td></tr>`);
  out.push(`<tr><th>samples</th><td colspan="5" class="mono">${f.samples.map((s) => esc(s.file)).join(', ')}</td></tr></table>`);
  const d = v.detail;
  const seq = v.sequence;
  if (!d || !seq) {
    out.push(`<p class="muted">No picture: ${esc(v.problem ?? 'no detail')}</p>`);
    if (v.reportText) out.push(`<pre>${esc(v.reportText)}</pre>`);
    out.push('</section>');
    return out.join('\n');
  }
  const call = d.divergence.call;
  const layer = d.divergence.layer;
  const forks = seq.calls.some((x) => x.op === 'fork');
  const proc = d.divergence.proc ?? 0;
  const who = procName(proc, forks);
  const theWho = (p: number) => (proc === 0 || p === 0 ? 'the parent' : procName(p, forks));
  const inWho = who ? ` of ${theWho(proc)}` : '';
  out.push(`<p>Divergence in the <b>${esc(layer)}</b> layer ${call < 0 ? 'before the first call' : `at call <b>${call}</b>`}${who ? ` in <b>${esc(theWho(proc))}</b>` : ''}: ${esc(d.divergence.detail)}</p>`);
  out.push(replayLine(v));
  const c = call >= 0 ? seq.calls[call] : undefined;
  const band = c ? callBand(c, (d.kernel.calls[call] as CallObs | undefined)?.ret) : null;
  const beforeAt = call - 1;
  const mBefore = call >= 0 ? snapOf(d.model.snapshots, beforeAt, proc) : undefined;
  const kBefore = call >= 0 ? snapOf(d.kernel.snapshots, beforeAt, proc) : undefined;
  const mAfter = snapOf(d.model.snapshots, call, proc);
  const kAfter = snapOf(d.kernel.snapshots, call, proc);
  const tagOf = (s: { after: number; proc?: number } | undefined, fallback: string) =>
    !s ? fallback : `${s.after === call ? (call < 0 ? 'initial' : `after #${call}`) : s.after === beforeAt ? `before #${call}` : `after #${s.after}`}${forks ? `, ${s.proc ? `child ${s.proc}` : 'parent'}` : ''}`;
  const rows: ArenaRow[] = [];
  const groups: number[] = [];
  if (call >= 0) {
    groups.push(rows.length);
    rows.push(...pairRows(`model, ${tagOf(mBefore, `before #${call}`)}`, mBefore?.maps, `kernel, ${tagOf(kBefore, `before #${call}`)}`, kBefore?.maps));
  }
  groups.push(rows.length);
  const after = pairRows(`model, ${tagOf(mAfter, `after #${call}`)}`, mAfter?.maps, `kernel, ${tagOf(kAfter, `after #${call}`)}`, kAfter?.maps);
  if (layer === 'vmflags') {
    const fd = vmflagsDiffers(after[0]!.maps as MapsEntry[], after[1]!.maps as MapsEntry[]);
    after[0]!.notes = fd.model;
    after[1]!.notes = fd.kernel;
  }
  rows.push(...after);
  const pic = {
    title: `Arena${inWho} (${seq.arenaPages} pages) before and after call ${call}: model vs kernel`,
    arenaPages: seq.arenaPages,
    rows,
    groupStarts: groups,
    ...(band && c ? { band: { ...band, label: `#${call} ${c.op} A+${band.from}p..A+${band.to}p` } } : {}),
  };
  out.push(arenaSvg(pic));
  // a zoom only where VMAs differ: the other layers have their own pictures (pagemap strip, VmFlags
  // table, results outlined in the calls table)
  const zoom = rows.some((r) => r.differs?.size) ? zoomOn(rows, band, seq.arenaPages) : null;
  if (zoom) out.push(arenaSvg({ ...pic, title: `Zoom on A+${zoom.from}p..A+${zoom.to}p: ${pic.title}`, view: zoom }));
  out.push(legend());
  if (mAfter?.pagemap !== undefined && kAfter?.pagemap !== undefined && (layer === 'pagemap' || pagemapDiffers(mAfter.pagemap, kAfter.pagemap).length)) {
    out.push(`<h3>pagemap${esc(inWho)} after call ${call}: model vs kernel</h3>`);
    out.push(pagemapSvg(`pagemap${inWho} after call ${call}: model vs kernel`, mAfter.pagemap, kAfter.pagemap));
    out.push(pagemapLegend());
  }
  if (layer === 'vmflags' || (mAfter && kAfter && vmflagsDiffers(mAfter.maps, kAfter.maps).model.size)) {
    out.push(vmflagsTable(`VmFlags${inWho} after call ${call} (smaps): model vs kernel`, mAfter?.maps ?? [], kAfter?.maps ?? []));
  }
  out.push(callsTable(seq, d));
  const ofBefore = forks && (kBefore ?? mBefore) ? ` of ${theWho((kBefore ?? mBefore)!.proc ?? 0)}` : '';
  if (call >= 0) out.push(mapsTable(call === 0 ? 'maps before the first call' : `maps${ofBefore} before call ${call}`, mBefore?.maps, kBefore?.maps));
  out.push(mapsTable(call < 0 ? 'maps before the first call' : `maps${inWho} after call ${call}`, mAfter?.maps, kAfter?.maps));
  const ri = kAfter ? d.kernel.snapshots.indexOf(kAfter as (typeof d.kernel.snapshots)[number]) : -1;
  const raw = ri >= 0 ? d.kernel.rawMaps?.[ri] : undefined;
  if (raw?.length) out.push(`<details><summary>kernel /proc/self/maps${esc(inWho)} after call ${kAfter!.after} (arena base ${esc(d.kernel.base ?? '?')})</summary><pre>${esc(raw.join('\n'))}</pre></details>`);
  if (v.minimized) out.push(`<details open><summary>minimized reproducer (${v.minimized.calls.length} calls, ${v.minimized.arenaPages}-page arena)</summary><pre>${esc(v.minimized.calls.map((x, i) => `${i}: ${callToString(x)}`).join('\n'))}</pre></details>`);
  if (v.reportText) out.push(`<details><summary>report.txt</summary><pre>${esc(v.reportText)}</pre></details>`);
  out.push('</section>');
  return out.join('\n');
}

/** The replay command, runnable from any directory (or explained when no absolute form is known). */
function replayLine(v: FindingView): string {
  const d = v.detail!;
  const out: string[] = [];
  if (v.replay) out.push(`<p>Replay (from any directory): <code class="replay">${esc(v.replay)}</code></p>`);
  else out.push(`<p>Replay: <code class="replay">${esc(d.replay)}</code> <span class="muted">(its file is relative to the directory the campaign ran in; the sample is <code>${esc(v.dir)}/${esc(d.sample)}</code>)</span></p>`);
  if (v.minimizedReplay) out.push(`<p>Replay the minimized form: <code class="replay">${esc(v.minimizedReplay)}</code></p>`);
  return out.join('');
}

function legend(): string {
  const items: Array<[string, string]> = [['rw-', '#4e79a7'], ['r--', '#59a14f'], ['---', '#bab0ac'], ['r-x', '#f28e2b'], ['rwx', '#e15759']];
  return `<div class="legend muted">${items.map(([p, col]) => `<span style="background:${col}"></span>${p}`).join('')} · hatched: shared · <span style="border:2px solid #d50000;width:10px;height:10px"></span>differs from the other side · yellow band: the divergent call's range</div>`;
}

function charts(data: ReportData): string {
  const bySource = new Map<number, ReportData['stats']>();
  for (const s of data.stats) {
    const k = s.source ?? 0;
    bySource.set(k, [...(bySource.get(k) ?? []), s]);
  }
  if (bySource.size === 0) return '<p class="muted">No stats.ndjson lines yet.</p>';
  const name = (k: number) => {
    const c = data.sources[k]?.config;
    return c ? `seed ${c.seed}${c.shard.count > 1 ? ` shard ${c.shard.index}/${c.shard.count}` : ''}` : `source ${k}`;
  };
  const series = (f: (s: ReportData['stats'][number]) => number): Series[] =>
    [...bySource.entries()].map(([k, lines], i) => ({ name: name(k), color: PALETTE[i % PALETTE.length]!, points: lines.map((s) => [s.elapsed, f(s)] as [number, number]) }));
  return `<div class="charts">${[
    lineChartSvg('sequences per second', 'sequences/s', series((s) => s.sequencesPerSec)),
    lineChartSvg('unique findings', 'signatures', series((s) => s.unique)),
    lineChartSvg('model rules hit', 'rules', series((s) => s.rulesHit)),
    lineChartSvg('sequences (cumulative)', 'sequences', series((s) => s.sequences)),
  ].join('')}</div>`;
}

function rulesTable(data: ReportData): string {
  const entries = Object.entries(data.totals.rules).sort((a, b) => (a[1] === 0) !== (b[1] === 0) ? (a[1] === 0 ? 1 : -1) : a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  // an unfired rule says why: what the target lacks, or that generation has not reached it
  const why = new Map(data.unfired.map((u) => [u.rule, unfiredText(u).slice(u.rule.length + 2)]));
  const rows = entries.map(([r, n]) => `<tr class="${n ? '' : 'miss'}"><td class="mono">${esc(r)}</td><td class="num">${n ? n.toLocaleString('en-US') : '—'}</td><td>${esc((RULES as Record<string, string>)[r] ?? '(rule of another model version)')}${why.has(r) ? `<br><i>${esc(why.get(r)!)}</i>` : ''}</td></tr>`);
  return `<p>${rulesHit(data.totals)} of ${entries.length} model rules fired (rarest first; a rule counts once per call it fired on).</p><table class="rules"><tr><th>rule</th><th>calls</th><th>what and where</th></tr>${rows.join('')}</table>`;
}

const RANK: Record<string, number> = { present: 0, none: 1, indeterminate: 2, 'fixed-upstream': 3, 'host-specific': 4 };
const triageRank = (v: FindingView) => RANK[v.finding.triage?.class ?? 'none']!;

function triageCell(v: FindingView): string {
  const t = v.finding.triage;
  if (!t) return '<span class="muted">not triaged</span>';
  const cls = t.class === 'present' ? 'bad' : t.class === 'indeterminate' ? 'warn' : 'ok';
  const more = t.class === 'fixed-upstream' && t.firstMatching ? ` (in ${t.firstMatching})` : '';
  return `<span class="tag ${cls}" title="${esc(t.reason)}">${esc(CLASS_NAMES[t.class])}</span>${esc(more)}`;
}

function knownCell(v: FindingView): string {
  const k = v.finding.known;
  if (!k) return '';
  const file = v.knownFile ? `<a class="mono" href="${esc(pathToFileURL(v.knownFile).href)}">${esc(k.file)}</a>` : `<span class="mono">${esc(k.file)}</span>`;
  return `${esc(k.summary)}${k.afterFix ? ' <span class="tag warn">past its fix</span>' : ''}<br>${file}`;
}

export function renderHtml(data: ReportData, now = new Date()): string {
  const t = data.totals;
  const runTime = data.sources.map((_, k) => data.stats.filter((s) => (s.source ?? 0) === k).at(-1)?.elapsed ?? 0);
  const srcRows = data.sources.map((s, k) => {
    const c = s.config;
    // the environment facts that differ from upstream defaults (e.g. zero_page=0), as report.txt names them
    const facts = c.target ? Object.entries(unusualFacts(c.target.facts)).map(([k, v]) => `${k}=${v}`).join(' ') : '';
    const tgt = c.target ? `${c.target.runner}, kernel ${c.target.release}${facts ? `; ${facts}` : ''}` : c.runner.runner;
    return `<tr><td class="mono">${esc(s.dir)}</td><td class="num">${c.seed}</td><td>${c.shard.index}/${c.shard.count}</td><td>${esc(tgt)}</td><td>${c.count === null ? esc(`${fmtSecs((c.timeMs ?? 0) / 1000)} budget`) : `${c.count.toLocaleString('en-US')} cases`}</td><td>${esc(fmtSecs(runTime[k]!))}</td><td>${c.guidance.enabled ? 'guided' : 'unguided'}</td></tr>`;
  });
  // findings a person must look at first: present through the newest kernel, then the untriaged
  // and indeterminate ones, then those explained by the host or fixed upstream
  const findings = [...data.findings].sort((a, b) => triageRank(a) - triageRank(b));
  const shown = [...findings, ...data.flaky];
  const idx = shown.map(
    (v, i) => `<tr data-triage="${esc(v.finding.triage?.class ?? 'none')}"><td class="num">${i + 1}</td><td><a href="#f-${esc(v.finding.signature)}"><code>${esc(v.finding.signature)}</code></a></td><td>${esc(v.finding.kind)}</td><td>${esc(v.finding.layer)}</td><td>${esc(v.finding.op)}</td><td class="mono">${esc(v.finding.diff)}</td><td class="num">${v.finding.count}</td><td class="triage">${triageCell(v)}</td><td class="knownbug">${knownCell(v)}</td></tr>`,
  );
  const summary = [
    ['sequences', t.sequences],
    ['calls', t.calls],
    ['divergences (stable)', t.divergences],
    ['unique findings', data.findings.length],
    ['flaky', `${t.flaky} (${data.flaky.length} signatures kept)`],
    ['indeterminate', `${t.timeout + t.crash + t.infra} (${t.crash} crash, ${t.timeout} timeout, ${t.infra} infra)`],
    ['judged up to an unmodelled call', `${t.partial} (${t.sequences ? ((100 * t.partial) / t.sequences).toFixed(1) : '0.0'}%)`],
    ['model rules hit', `${rulesHit(t)} / ${Object.keys(t.rules).length}`],
    ['calls per op', Object.entries(t.ops).filter(([, n]) => n > 0).map(([o, n]) => `${o} ${n.toLocaleString('en-US')}`).join(', ')],
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>vmafuzz report: ${esc(basename(data.dir))}</title><style>${CSS}</style></head>
<body data-findings="${data.findings.length}"><main>
<h1>vmafuzz report: ${esc(basename(data.dir))}</h1>
<p class="muted">${esc(data.dir)} · ${data.kind === 'merged' ? `merged from ${data.sources.length} campaigns` : 'one campaign'} · generated ${esc(now.toISOString())}</p>
<table><tr><th>directory</th><th>seed</th><th>shard</th><th>target</th><th>range</th><th>run time</th><th>generation</th></tr>${srcRows.join('')}</table>
<table>${summary.map(([k, v]) => `<tr><th>${esc(String(k))}</th><td class="num">${esc(typeof v === 'number' ? v.toLocaleString('en-US') : String(v))}</td></tr>`).join('')}</table>
<h2>Over time</h2>${charts(data)}
<h2>Findings (${data.findings.length})</h2>
${idx.length ? `<p class="muted">Triaged present through the newest kernel first, then untriaged and indeterminate, fixed upstream, host-specific.</p><table class="findings"><tr><th>#</th><th>signature</th><th>kind</th><th>layer</th><th>op</th><th>difference</th><th>seen</th><th>triage</th><th>known bug</th></tr>${idx.join('')}</table>` : '<p>No divergence: the kernel behaved as the model predicts for every sequence run.</p>'}
${findings.map((v, i) => findingSection(v, i)).join('\n')}
${data.flaky.length ? `<h2>Flaky (${data.flaky.length})</h2><p class="muted">Divergences that did not reproduce on every stability re-run.</p>${data.flaky.map((v, i) => findingSection(v, data.findings.length + i)).join('\n')}` : ''}
<h2>Model-rule coverage</h2>${rulesTable(data)}
</main>
<script>addEventListener('load',function(){var n=0;document.querySelectorAll('svg.arena g.vma rect').forEach(function(r){if(r.getBBox().width>0)n++});document.body.setAttribute('data-rendered-vmas',String(n));document.body.setAttribute('data-height',String(document.documentElement.scrollHeight))})</script>
</body></html>
`;
}
