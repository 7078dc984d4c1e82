import { unfiredText } from '../../campaign/coverage.js';
import { knownText } from '../../findings/known.js';
import { triageCounts, triageText } from '../../triage/classify.js';
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { mergeCampaigns } from '../../campaign/merge.js';
import { loadReport, rulesHit } from '../../report/load.js';
import { renderHtml } from '../../report/html.js';
import { renderJunit } from '../../report/junit.js';
import { writeFileAtomic } from '../../util/fs.js';
import { EXIT, UsageError } from '../../util/errors.js';
import { log } from '../common.js';
import { JSON_VERSION, printJson, reportJson } from '../json.js';

export function registerReport(program: Command, setCode: (c: number) => void): void {
  program
    .command('report')
    .description('report on a campaign directory (HTML, JUnit XML, JSON), or merge several (--merge DIR... --out DIR); exit 1 when it holds findings')
    .argument('<dirs...>', 'campaign directory (several with --merge)')
    .option('--html <file>', 'write a self-contained HTML report')
    .option('--junit <file>', 'write JUnit XML (one testcase per finding)')
    .option('--json', 'print a machine-readable summary')
    .addOption(new Option('--fail-on <which>', 'exit 1 for any finding, or only for findings triaged present through the newest kernel').choices(['any', 'present']).default('any'))
    .option('--merge', 'merge the campaign directories into --out (findings deduplicated, counts summed)')
    .option('--out <dir>', 'with --merge: the merged directory to create')
    .action(async (dirs: string[], o: Record<string, unknown>) => {
      let dir: string;
      if (o.merge) {
        if (typeof o.out !== 'string') throw new UsageError('--merge needs --out DIR');
        const r = mergeCampaigns(dirs, o.out);
        for (const w of r.warnings) log(`warning: ${w}`);
        log(`merged ${r.sources} campaign(s) into ${r.out}: ${r.sequences} sequences, ${r.findings} findings, ${r.flaky} flaky`);
        dir = r.out;
      } else {
        if (dirs.length !== 1) throw new UsageError('report takes one directory (use --merge --out DIR to combine several)');
        if (o.out !== undefined) throw new UsageError('--out is only for --merge');
        dir = dirs[0]!;
      }
      const data = loadReport(dir);
      const now = new Date();
      const html = typeof o.html === 'string' ? resolve(o.html) : undefined;
      const junit = typeof o.junit === 'string' ? resolve(o.junit) : undefined;
      if (html) writeFileAtomic(html, renderHtml(data, now));
      if (junit) writeFileAtomic(junit, renderJunit(data, now));
      const t = data.totals;
      if (o.json) {
        const view = (v: (typeof data.findings)[number]) => ({
          signature: v.finding.signature,
          signatureText: v.finding.signatureText,
          kind: v.finding.kind,
          layer: v.finding.layer,
          op: v.finding.op,
          diff: v.finding.diff,
          count: v.finding.count,
          firstSeen: v.finding.firstSeen,
          lastSeen: v.finding.lastSeen,
          samples: v.finding.samples,
          dir: v.dir,
          ...(v.finding.stability ? { stability: v.finding.stability } : {}),
          ...(v.finding.minimized ? { minimized: v.finding.minimized } : {}),
          ...(v.finding.known ? { known: v.finding.known } : {}),
          ...(v.finding.triage ? { triage: v.finding.triage } : {}),
          ...(v.detail ? { replay: v.replay ?? v.detail.replay, divergence: v.detail.divergence } : {}),
        });
        printJson(reportJson, {
          vmafuzz: JSON_VERSION,
          command: 'report',
          dir: data.dir,
          kind: data.kind,
          sources: data.sources.map((s) => ({ dir: s.dir, seed: s.config.seed, shard: s.config.shard, target: s.config.target ? { runner: s.config.target.runner, release: s.config.target.release } : null })),
          totals: { sequences: t.sequences, calls: t.calls, divergences: t.divergences, flaky: t.flaky, timeout: t.timeout, crash: t.crash, infra: t.infra, partial: t.partial, chunks: t.chunks, ops: t.ops },
          rulesHit: rulesHit(t),
          rulesTotal: Object.keys(t.rules).length,
          rules: t.rules,
          rulesUnfired: data.unfired,
          findings: data.findings.map(view),
          flaky: data.flaky.map(view),
          html: html ?? null,
          junit: junit ?? null,
        });
      } else {
        const triaged = triageCounts(data.findings.map((v) => v.finding.triage?.class));
        log(`${data.dir}: ${t.sequences} sequences, ${data.findings.length} findings${triaged ? ` (triage: ${triaged})` : ''}, ${data.flaky.length} flaky, model rules ${rulesHit(t)}/${Object.keys(t.rules).length}`);
        for (const v of data.findings) log(`  ${v.finding.signature}  ${v.finding.count}x  ${v.finding.signatureText}${v.finding.known ? `\n    ${knownText(v.finding.known)}` : ''}${v.finding.triage ? `\n    ${triageText(v.finding.triage)}` : ''}`);
        if (data.unfired.length) log(`model rules never fired (${data.unfired.length}):`);
        for (const u of data.unfired) log(`  ${unfiredText(u)}`);
        if (html) log(`html: ${html}`);
        if (junit) log(`junit: ${junit}`);
      }
      const failing = o.failOn === 'present' ? data.findings.filter((v) => v.finding.triage?.class === 'present') : data.findings;
      setCode(failing.length > 0 ? EXIT.DIVERGENCE : EXIT.OK);
    });
}
