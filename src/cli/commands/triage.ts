// `vmafuzz triage FINDING_DIR|CAMPAIGN_DIR|FILE...`: replay each case on the host (the --runner
// target, native by default) and on reference Debian kernels in QEMU, and classify it (src/triage):
// host-specific, fixed upstream, present through the newest kernel, or indeterminate (retry).
// A finding directory (or every finding of a campaign directory) gets the result in finding.json
// and report.txt. Exit 1 when a case is present through the newest kernel, else 125 when one is
// indeterminate, else 0.

import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { FindingStore, readFinding } from '../../campaign/findings.js';
import { CAMPAIGN_FILE, readConfig } from '../../campaign/config.js';
import type { RunnerOptions } from '../../runner/index.js';
import { loadSequenceFile } from '../../seq/io.js';
import { refuseConcurrent } from '../../seq/threads.js';
import { triageFinding } from '../../triage/finding.js';
import { triageSequence, type TriageOptions } from '../../triage/run.js';
import { TRIAGE_CLASSES, triageText, type Triage, type TriageClass } from '../../triage/classify.js';
import { EXIT, UsageError } from '../../util/errors.js';
import { addRunnerOptions, log, runnerOptionsFrom, write } from '../common.js';
import { JSON_VERSION, printJson, triageJson } from '../json.js';
import type { z } from 'zod';

/** Options shared with `fuzz --triage`. */
export function triageOptionsFrom(o: Record<string, unknown>): Omit<TriageOptions, 'file' | 'target' | 'log'> {
  const kernels = typeof o.triageKernels === 'string' ? o.triageKernels.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
  if (kernels && !kernels.length) throw new UsageError('--kernels needs at least one kernel');
  const runs = Number.parseInt(String(o.triageRuns ?? '2'), 10);
  if (!(runs >= 1)) throw new UsageError(`--triage-runs expects a positive integer, got ${JSON.stringify(o.triageRuns)}`);
  return { ...(kernels ? { kernels } : {}), runs, ...(o.bisectFetch ? { bisectFetch: true } : {}) };
}

export const countClasses = (classes: readonly TriageClass[]) => Object.fromEntries(TRIAGE_CLASSES.map((c) => [c, classes.filter((x) => x === c).length])) as Record<TriageClass, number>;

export function registerTriage(program: Command, setCode: (c: number) => void): void {
  const cmd = program
    .command('triage')
    .description('classify findings across kernels: host-specific, fixed upstream, present through the newest kernel, or indeterminate (exit 1 present, 125 indeterminate, 0 otherwise)')
    .argument('<paths...>', 'finding directories (out/findings/<signature>), campaign directories (all their findings) or corpus files')
    .option('--kernels <list>', 'reference kernels (Debian versions or bzImage paths); default: the host\'s series and the newest series on the mirror (offline: the newest cached kernel)')
    .option('--bisect-fetch', 'name the first fixed kernel by fetching the mirror\'s series between the references too (default: cached kernels only)')
    .option('--triage-runs <n>', 'runs per kernel; kernels whose runs disagree count as untested', '2')
    .option('--json', 'print a machine-readable result');
  addRunnerOptions(cmd).action(async (paths: string[], o: Record<string, unknown>) => {
    const topts = triageOptionsFrom({ ...o, triageKernels: o.kernels === undefined ? undefined : o.kernels });
    // --kernel/--kernel-image select the host target (a QEMU kernel as "host"); --kernels the references
    const target = runnerOptionsFrom(o);
    const qemu = { ...(typeof o.memory === 'string' ? { memory: o.memory } : {}), ...(typeof o.append === 'string' ? { append: o.append } : {}) };
    const opts = { ...topts, target, qemu, log };
    // Resolve every path before running anything: bad input is exit 2 whatever else happens.
    type Item = { path: string; finding?: { store: FindingStore; dir: string }; file?: string };
    const items: Item[] = [];
    for (const p of paths) {
      if (!existsSync(p)) throw new UsageError(`${p}: no such file or directory`);
      if (statSync(p).isDirectory()) {
        if (existsSync(join(p, 'finding.json'))) {
          readFinding(p); // validates
          items.push({ path: p, finding: { store: new FindingStore(dirname(dirname(p))), dir: p } });
        } else if (existsSync(join(p, 'findings'))) {
          const store = new FindingStore(p);
          for (const f of store.list('divergence')) items.push({ path: store.dirOf(f.signature, 'divergence'), finding: { store, dir: store.dirOf(f.signature, 'divergence') } });
        } else throw new UsageError(`${p}: neither a finding directory (finding.json) nor a campaign directory (findings/)`);
      } else {
        refuseConcurrent(loadSequenceFile(p), p, 'triage');
        items.push({ path: p, file: p });
      }
    }
    const results: z.input<typeof triageJson>['results'] = [];
    for (const it of items) {
      let t: Triage;
      let signature: string | undefined;
      if (it.finding) {
        const f = readFinding(it.finding.dir);
        // the host of a campaign's finding is the campaign's target, unless --runner says otherwise
        const camp = it.finding.store.root;
        let host: RunnerOptions = target;
        if (cmd.getOptionValueSource('runner') !== 'cli' && existsSync(join(camp, CAMPAIGN_FILE))) {
          const c = readConfig(camp);
          if (c.kind === 'campaign') host = c.runner as RunnerOptions;
        }
        if (basename(dirname(it.finding.dir)) !== 'findings') throw new UsageError(`${it.finding.dir}: a finding directory lies in <campaign>/findings/`);
        signature = f.signature;
        t = (await triageFinding(it.finding.store, f, { ...opts, target: host })).triage;
      } else {
        t = await triageSequence(loadSequenceFile(it.file!), { ...opts, file: it.file! });
      }
      results.push({ path: it.path, ...(signature ? { signature } : {}), recorded: !!it.finding, triage: t });
      if (!o.json) write(`${it.path}: ${triageText(t)}\n`);
    }
    const counts = countClasses(results.map((r) => r.triage.class));
    const code = counts.present ? EXIT.DIVERGENCE : counts.indeterminate ? EXIT.CANNOT_TEST : EXIT.OK;
    if (o.json) printJson(triageJson, { vmafuzz: JSON_VERSION, command: 'triage', results, counts, exitCode: code });
    else log(`triage: ${TRIAGE_CLASSES.map((c) => `${counts[c]} ${c}`).join(', ')}`);
    setCode(code);
  });
}
