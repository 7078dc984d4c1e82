import type { Command } from 'commander';
import { loadSequenceFiles } from '../../seq/io.js';
import { makeProfile } from '../../model/index.js';
import { createRunner, runnerArgs } from '../../runner/index.js';
import { divergenceOf, predictAgainst, rulesAt } from '../../campaign/check.js';
import { signature, signatureText } from '../../compare/signature.js';
import { renderTextReport } from '../../report/text.js';
import { EXIT, UsageError } from '../../util/errors.js';
import { addRunnerOptions, log, runnerOptionsFrom, write } from '../common.js';
import { JSON_VERSION, printJson, replayJson } from '../json.js';
import type { z } from 'zod';
import { DETAIL_RUN } from '../../runner/types.js';
import { sweepFiles } from './fail-sweep-cli.js';

export function registerReplay(program: Command, setCode: (c: number) => void): void {
  const cmd = program
    .command('replay')
    .description('replay corpus files on the kernel and in the model (git bisect run friendly)')
    .argument('<files...>', 'corpus files (JSON)')
    .option('--json', 'print a machine-readable result')
    .option('--quiet', 'print only one line per file')
    .option('--runs <n>', 'concurrent sequences: runs of each file, every one judged', '8')
    .option('--fail-sweep <call>', 'inject an allocation failure into call CALL (0-based) at k = 1, 2, ... until it no longer fires; prints per k the errno, whether the mm is unchanged (fork: and no child) and the verdict (needs a kernel built --with fault-injection)')
    .option('--max-k <n>', 'with --fail-sweep: the largest k', '1000');
  addRunnerOptions(cmd).action(async (files: string[], o: Record<string, unknown>) => {
    // Validate every file before running anything. Each bad file is reported; the good ones are
    // still replayed, and the exit code is then 2 (bad input) whatever they gave.
    const loaded = loadSequenceFiles(files);
    const bad = loaded.bad.map((e) => ({ file: e.file, problem: e.message }));
    for (const b of bad) log(`vmafuzz: bad input: ${b.problem}`);
    const seqs = loaded.good.map((g) => g.seq);
    const good = loaded.good.map((g) => g.file);
    if (seqs.length === 0) {
      if (o.json) printJson(replayJson, { vmafuzz: JSON_VERSION, command: 'replay', target: null, results: [], badInput: bad });
      setCode(EXIT.USAGE);
      return;
    }
    files = good;
    const ropts = runnerOptionsFrom(o);
    const concurrent = loaded.good.filter((g) => g.seq.threads);
    if (concurrent.length) {
      if (concurrent.length !== loaded.good.length) throw new UsageError('replay concurrent sequences (threads) and sequential ones in separate commands');
      if (o.json && o.failSweep === undefined) throw new UsageError('replay --json does not cover concurrent sequences (threads) yet');
      const runner = await createRunner(ropts);
      try {
        if (o.failSweep !== undefined) {
          // a racing fork swept over k with its readers (src/cli/commands/fail-sweep-threads.ts)
          const target = await runner.start();
          const sweep = await import('./fail-sweep-threads.js');
          const code = await sweep.sweepConcurrentFiles(runner, makeProfile(target.release, target.facts), target.facts, concurrent, o);
          setCode(bad.length ? EXIT.USAGE : code);
          return;
        }
        return await (await import('./replay-threads.js')).replayConcurrent(runner, concurrent, Math.max(1, Number.parseInt(String(o.runs), 10) || 8), (c) => setCode(bad.length ? EXIT.USAGE : c));
      } finally {
        await runner.close();
      }
    }
    const runner = await createRunner(ropts);
    try {
      const target = await runner.start();
      const profile = makeProfile(target.release, target.facts);
      if (o.failSweep !== undefined) {
        setCode(await sweepFiles(runner, profile, target.facts, seqs, files, o));
        return;
      }
      const kernel = await runner.run(seqs, DETAIL_RUN);
      const results: z.input<typeof replayJson>['results'] = [];
      let anyDiverge = false;
      let anyIndeterminate = false;
      seqs.forEach((seq, i) => {
        const k = kernel[i]!;
        const m = predictAgainst(seq, k, profile, true);
        const d = divergenceOf(seq, m, k); // a crashed child diverges too (campaign/check.ts)
        const file = files[i]!;
        if (k.status !== 'ok' && !d) {
          anyIndeterminate = true;
          // e.g. a file on a filesystem the target has no directory for: the model says why
          const why = m.unsupported?.call === 0 ? `; the model declines it: ${m.unsupported.reason}` : '';
          results.push({ file, status: 'indeterminate', kernelStatus: `${k.status}${k.detail ? ` ${k.detail}` : ''}${why}` });
          if (!o.json) write(`INDETERMINATE ${file}: kernel run ${k.status}${k.detail ? ` (${k.detail})` : ''}${why}\n`);
          return;
        }
        if (!d && m.unsupported) {
          // Agreement up to a call the model cannot predict is no verdict on the whole file.
          anyIndeterminate = true;
          const why = `the model cannot predict call ${m.unsupported.call}: ${m.unsupported.reason}`;
          results.push({ file, status: 'indeterminate', kernelStatus: `${k.status} (${why})` });
          if (!o.json) write(`INDETERMINATE ${file}: ${why} (the calls before it match)\n`);
          return;
        }
        if (!d) {
          results.push({ file, status: 'match', kernelStatus: k.status });
          if (!o.json) write(`MATCH ${file}\n`);
          return;
        }
        anyDiverge = true;
        const sigIn = { divergence: d, calls: seq.calls, rules: rulesAt(m, d.call) };
        const sig = signature(sigIn);
        results.push({ file, status: 'diverge', signature: sig, signatureText: signatureText(sigIn), divergence: { call: d.call, layer: d.layer, kind: d.kind, detail: d.detail }, kernelStatus: k.status, ...(seq.known ? { known: seq.known.summary } : {}) });
        if (!o.json) {
          const known = seq.known ? ` — known kernel bug: ${seq.known.summary} (${seq.known.reference}${seq.known.fixedIn ? `; fixed in ${seq.known.fixedIn}` : ''})` : '';
          write(`DIVERGE ${file}: ${d.layer} at call ${d.call} (${d.kind}), signature ${sig}${known}\n`);
          if (!o.quiet)
            write(
              renderTextReport({ title: `vmafuzz replay ${file}`, seq, model: m, kernel: k, divergence: d, target: `${target.runner}, kernel ${target.release}`, replayCommand: `vmafuzz replay ${file}${runnerArgs(ropts)}` }) + '\n',
            );
        }
      });
      if (o.json) printJson(replayJson, { vmafuzz: JSON_VERSION, command: 'replay', target: { runner: target.runner, release: target.release, facts: target.facts }, results, ...(bad.length ? { badInput: bad } : {}) });
      setCode(bad.length ? EXIT.USAGE : anyDiverge ? EXIT.DIVERGENCE : anyIndeterminate ? EXIT.CANNOT_TEST : EXIT.OK);
      if (bad.length) log(`vmafuzz: ${bad.length} of ${bad.length + good.length} files refused as bad input (exit 2); the other ${good.length} replayed above`);
    } finally {
      await runner.close();
    }
  });
}
