// JUnit XML for CI: one <testcase> per finding (a failure for a divergence, skipped for a flaky
// one) plus one passing "campaign" testcase that carries the totals, so a clean night shows up
// as a green test rather than an empty suite.

import { knownText } from '../findings/known.js';
import { CLASS_NAMES, triageText } from '../triage/classify.js';
import type { ReportData, FindingView } from './load.js';
import { rulesHit } from './load.js';

const x = (s: string | number): string =>
  String(s)
    // XML 1.0 forbids most control characters even escaped
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

function testcase(v: FindingView): string {
  const f = v.finding;
  const name = `${f.signature} ${f.layer} ${f.op} ${f.diff}`;
  const cls = `vmafuzz.${f.kind}.${f.op}`;
  const body = v.reportText ?? f.signatureText;
  const known = f.known ? ` - ${knownText(f.known)}` : '';
  const triage = f.triage ? ` - ${triageText(f.triage)}` : '';
  const msg = `${f.layer} divergence in ${f.op}: ${f.diff} (seen ${f.count}x; ${f.signatureText})${known}${triage}`;
  const inner = f.kind === 'flaky' ? `<skipped message="${x(`flaky: ${msg}`)}"/>` : `<failure message="${x(msg)}" type="${x(f.layer)}">${x(body)}</failure>`;
  // the triage class as a property too, so a CI job can filter on it (e.g. only "present")
  const props = f.triage ? `<properties><property name="triage" value="${x(f.triage.class)}"/><property name="triage-text" value="${x(CLASS_NAMES[f.triage.class])}"/></properties>\n      ` : '';
  return `    <testcase classname="${x(cls)}" name="${x(name)}" time="0">\n      ${props}${inner}\n      <system-out>${x(`${v.dir}\n${v.replay ?? v.detail?.replay ?? ''}`)}</system-out>\n    </testcase>`;
}

export function renderJunit(data: ReportData, now = new Date()): string {
  const t = data.totals;
  const failures = data.findings.length;
  const skipped = data.flaky.length;
  const elapsed = data.sources.reduce((a, _, k) => a + (data.stats.filter((s) => (s.source ?? 0) === k).at(-1)?.elapsed ?? 0), 0);
  const summary = `${t.sequences} sequences, ${t.calls} calls, ${t.divergences} divergences (${failures} unique), ${t.flaky} flaky, ${t.timeout + t.crash + t.infra} indeterminate, model rules ${rulesHit(t)}/${Object.keys(t.rules).length}`;
  const cases = [
    `    <testcase classname="vmafuzz.campaign" name="campaign ${x(data.dir)}" time="${elapsed.toFixed(1)}">\n      <system-out>${x(summary)}</system-out>\n    </testcase>`,
    ...data.findings.map(testcase),
    ...data.flaky.map(testcase),
  ];
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="vmafuzz" tests="${cases.length}" failures="${failures}" skipped="${skipped}" errors="0" time="${elapsed.toFixed(1)}">\n` +
    `  <testsuite name="vmafuzz" tests="${cases.length}" failures="${failures}" skipped="${skipped}" errors="0" time="${elapsed.toFixed(1)}" timestamp="${now.toISOString().slice(0, 19)}">\n` +
    cases.join('\n') +
    `\n  </testsuite>\n</testsuites>\n`
  );
}
