// `vmafuzz repro FILE --c out.c [--kselftest]`: write a standalone C reproducer (or a
// kselftest_harness TEST) for a corpus file. The sequence runs once on the target first: the
// expectation embedded in the program is the model's for that target's kernel and facts, and the
// kernel's legal choices of non-fixed mmap addresses are followed. Exit 0 when the program was
// written (whatever the sequence does), 2 bad input (or a sequence too large for the program's
// shared state), 125 cannot test.

import type { Command } from 'commander';
import { predictAgainst, rulesAt } from '../../campaign/check.js';
import { firstDivergence } from '../../compare/compare.js';
import { signature } from '../../compare/signature.js';
import { renderReproC } from '../../findings/repro-c.js';
import { makeProfile } from '../../model/index.js';
import { createRunner } from '../../runner/index.js';
import { loadSequenceFile } from '../../seq/io.js';
import { EXIT } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { addRunnerOptions, runnerOptionsFrom, write } from '../common.js';
import { JSON_VERSION, printJson, reproJson } from '../json.js';
import type { z } from 'zod';
import { DETAIL_RUN } from '../../runner/types.js';

export function registerRepro(program: Command, setCode: (c: number) => void): void {
  const cmd = program
    .command('repro')
    .description('write a standalone C reproducer (libc only, cc -static) that exits 1 when the kernel differs from the model')
    .argument('<file>', 'corpus file (JSON)')
    .requiredOption('--c <out.c>', 'where to write the C program')
    .option('--kselftest', 'emit a kselftest_harness TEST() for tools/testing/selftests/mm instead of main()')
    .option('--json', 'print a machine-readable result')
    .option('--runs <n>', 'concurrent sequences: runs to find a failing one to reproduce', '32');
  addRunnerOptions(cmd).action(async (file: string, o: Record<string, unknown>) => {
    const seq = loadSequenceFile(file);
    const out = String(o.c);
    const runner = await createRunner(runnerOptionsFrom(o));
    if (seq.threads) {
      try {
        return await (await import('./repro-threads.js')).reproConcurrent(runner, file, seq, out, Math.max(1, Number.parseInt(String(o.runs), 10) || 32), setCode);
      } finally {
        await runner.close();
      }
    }
    try {
      const target = await runner.start();
      const profile = makeProfile(target.release, target.facts);
      const [k] = await runner.run([seq], DETAIL_RUN);
      const model = predictAgainst(seq, k!, profile, true);
      const d = firstDivergence(model, k!);
      const sig = d ? signature({ divergence: d, calls: seq.calls, rules: rulesAt(model, d.call) }) : undefined;
      const status = d ? 'diverge' : k!.status !== 'ok' ? 'indeterminate' : 'match';
      const observed = d
        ? `the kernel differed at call ${d.call} (${d.layer}: ${d.kind}; vmafuzz signature ${sig}), so this program exits 1 there.`
        : status === 'match'
          ? 'the kernel behaved as the model expects, so this program exits 0 there.'
          : `the run ended early (${k!.status}${k!.detail ? `: ${k!.detail}` : ''}).`;
      const text = renderReproC({ seq, model, profile, target, source: file, observed, kselftest: o.kselftest === true });
      writeFileAtomic(out, text);
      if (o.json) {
        const doc: z.input<typeof reproJson> = { vmafuzz: JSON_VERSION, command: 'repro', target: { runner: target.runner, release: target.release, facts: target.facts }, file, out, kselftest: o.kselftest === true, status };
        if (d) Object.assign(doc, { signature: sig, divergence: { call: d.call, layer: d.layer, kind: d.kind, detail: d.detail } });
        printJson(reproJson, doc);
      } else {
        write(`wrote ${out} (${seq.calls.length} calls; on ${target.runner} ${target.release}: ${status}${d ? ` at call ${d.call}, ${d.layer} ${d.kind}` : ''})\n`);
        if (o.kselftest !== true) write(`build and run: cc -static -O2 -Wall -o repro ${out} && ./repro\n`);
      }
      setCode(EXIT.OK);
    } finally {
      await runner.close();
    }
  });
}
