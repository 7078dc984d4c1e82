// `vmafuzz minimize FILE`: shrink a divergent corpus file to the smallest sequence with the same
// signature on the same target (src/findings/minimize.ts). Exit codes: 1 minimized (a confirmed
// divergence, written to --out), 0 the file does not diverge here (nothing written), 125 the run
// or the divergence is not reproducible (nothing written), 2 bad input.

import type { Command } from 'commander';
import { makeProfile } from '../../model/index.js';
import { createRunner, runnerArgs } from '../../runner/index.js';
import { minimizeSequence } from '../../findings/minimize.js';
import { renderTextReport } from '../../report/text.js';
import { loadSequenceFile, writeSequenceFile } from '../../seq/io.js';
import { EXIT } from '../../util/errors.js';
import { addRunnerOptions, log, runnerOptionsFrom, write } from '../common.js';
import { JSON_VERSION, minimizeJson, printJson } from '../json.js';
import type { z } from 'zod';
import { hasConsole, minimizeCrash } from '../../findings/minimize-crash.js';
import type { Runner } from '../../runner/types.js';
import type { Sequence } from '../../seq/schema.js';
import { UsageError } from '../../util/errors.js';

/** `minimize FILE --crash SIG`: 1 minimized (written to `out`), 125 the report does not reproduce. */
async function minimizeCrashFile(runner: Runner, seq: Sequence, signature: string, out: string, log?: (l: string) => void): Promise<number> {
  if (!/^[0-9a-f]{16}$/.test(signature)) throw new UsageError(`--crash: expected a 16-hex-digit crash signature (crashes/<signature>/), got ${JSON.stringify(signature)}`);
  if (!hasConsole(runner)) throw new UsageError('--crash needs a runner with a kernel console: --runner qemu');
  const r = await minimizeCrash(runner, seq, signature, { ...(log ? { log } : {}) });
  if (!r.confirmed) {
    write(`INDETERMINATE: the report ${signature} does not reproduce (${r.runs} runs)\n`);
    return EXIT.CANNOT_TEST;
  }
  writeSequenceFile(out, r.seq);
  write(`MINIMIZED crash ${signature}: ${seq.calls.length} -> ${r.seq.calls.length} call(s) in ${r.runs} runs, written to ${out}\n`);
  return EXIT.DIVERGENCE;
}

export function defaultMinimizedPath(file: string): string {
  return file.endsWith('.json') ? `${file.slice(0, -5)}.min.json` : `${file}.min.json`;
}

export function registerMinimize(program: Command, setCode: (c: number) => void): void {
  const cmd = program
    .command('minimize')
    .description('shrink a divergent corpus file to the smallest sequence with the same signature; exit 1 minimized, 0 no divergence, 125 not reproducible')
    .argument('<file>', 'corpus file (JSON) that diverges on the target')
    .option('--out <file>', 'where to write the minimized sequence (default: FILE with .min.json)')
    .option('--confirm <n>', 're-runs that must all reproduce the result', '3')
    .option('--json', 'print a machine-readable result')
    .option('--quiet', 'print only the summary line')
    .option('--runs <n>', 'concurrent sequences: runs per candidate (a race shows on some runs only)', '8')
    .option('--time <duration>', 'concurrent sequences: time limit of the minimization', '2m')
    .option('--crash <signature>', 'minimize for a kernel report (crashes/<signature>/ of a campaign) instead of a divergence: the smallest sequence whose run prints a report with that signature (--runner qemu)');
  addRunnerOptions(cmd).action(async (file: string, o: Record<string, unknown>) => {
    const seq = loadSequenceFile(file);
    const out = typeof o.out === 'string' ? o.out : defaultMinimizedPath(file);
    const confirmRuns = Math.max(1, Number.parseInt(String(o.confirm), 10) || 3);
    const ropts = runnerOptionsFrom(o);
    const runner = await createRunner(ropts);
    if (seq.threads) {
      try {
        return await (await import('./minimize-threads.js')).minimizeConcurrent(runner, file, seq, out, o, setCode);
      } finally {
        await runner.close();
      }
    }
    try {
      const target = await runner.start();
      if (typeof o.crash === 'string') {
        setCode(await minimizeCrashFile(runner, seq, o.crash, out, o.quiet || o.json ? undefined : log));
        return;
      }
      const profile = makeProfile(target.release, target.facts);
      const t0 = Date.now();
      const rep = await minimizeSequence(runner, profile, seq, { confirmRuns, log: o.json || o.quiet ? undefined : log });
      const seconds = (Date.now() - t0) / 1000;
      const doc: z.input<typeof minimizeJson> = {
        vmafuzz: JSON_VERSION,
        command: 'minimize',
        target: { runner: target.runner, release: target.release, facts: target.facts },
        file,
        status: rep.status,
        before: { calls: seq.calls.length, arenaPages: seq.arenaPages },
        candidates: 0,
        batches: 0,
        seconds,
        phases: [],
      };
      if (!('result' in rep)) {
        const k = rep.original.kernel;
        if (!o.json) write(rep.status === 'match' ? `MATCH ${file}: no divergence on this target, nothing to minimize\n` : `INDETERMINATE ${file}: kernel run ${k.status}${k.detail ? ` (${k.detail})` : ''}\n`);
        setCode(rep.status === 'match' ? EXIT.OK : EXIT.CANNOT_TEST);
      } else {
        const r = rep.result;
        const d = r.judgement.divergence!;
        Object.assign(doc, {
          signature: r.signature,
          signatureText: r.signatureText,
          divergence: { call: d.call, layer: d.layer, kind: d.kind, detail: d.detail },
          after: { calls: r.stats.callsAfter, arenaPages: r.stats.arenaAfter },
          confirm: r.confirm,
          candidates: r.stats.candidates,
          batches: r.stats.batches,
          phases: r.stats.phases,
        });
        const summary = `${r.stats.callsBefore} -> ${r.stats.callsAfter} calls, ${r.stats.arenaBefore} -> ${r.stats.arenaAfter} pages, signature ${r.signature} (${r.signatureText}), reproduced ${r.confirm.same}/${r.confirm.runs}, ${r.stats.candidates} candidates in ${r.stats.batches} batches, ${seconds.toFixed(1)} s`;
        if (rep.status === 'unstable') {
          if (!o.json) write(`UNSTABLE ${file}: the divergence does not reproduce on every run; nothing written (${summary})\n`);
          setCode(EXIT.CANNOT_TEST);
        } else {
          writeSequenceFile(out, r.seq);
          doc.out = out;
          if (!o.json) {
            write(`MINIMIZED ${file} -> ${out}: ${summary}\n`);
            if (!o.quiet) {
              const j = r.judgement;
              write(
                renderTextReport({ title: `vmafuzz minimize ${file}`, seq: r.seq, model: j.model, kernel: j.kernel, divergence: d, target: `${target.runner}, kernel ${target.release}`, replayCommand: `vmafuzz replay ${out}${runnerArgs(ropts)}` }) + '\n',
              );
            }
          }
          setCode(EXIT.DIVERGENCE);
        }
      }
      if (o.json) printJson(minimizeJson, doc);
    } finally {
      await runner.close();
    }
  });
}
