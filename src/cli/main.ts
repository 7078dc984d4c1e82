#!/usr/bin/env node
// vmafuzz command line. Exit codes: 0 no divergence, 1 divergence, 2 bad usage or bad input,
// 125 cannot test (also `git bisect run`'s "skip").

import { Command, CommanderError } from 'commander';
import { CannotTestError, EXIT, InputError, UsageError } from '../util/errors.js';
import { registerFuzz } from './commands/fuzz.js';
import { registerReplay } from './commands/replay.js';
import { registerReport } from './commands/report.js';
import { registerMinimize } from './commands/minimize.js';
import { registerRepro } from './commands/repro.js';
import { registerBisect } from './commands/bisect.js';
import { registerKernels } from './commands/kernels.js';
import { registerMatrix } from './commands/matrix.js';
import { registerTriage } from './commands/triage.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('vmafuzz')
    .description('differential fuzzer for the Linux memory-mapping subsystem')
    .version('0.1.0')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  let code: number = EXIT.OK;
  const setCode = (c: number) => (code = c);
  registerFuzz(program, setCode);
  registerReplay(program, setCode);
  registerReport(program, setCode);
  registerMinimize(program, setCode);
  registerRepro(program, setCode);
  registerBisect(program, setCode);
  registerKernels(program, setCode);
  registerMatrix(program, setCode);
  registerTriage(program, setCode);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (e instanceof InputError) {
      process.stderr.write(`vmafuzz: bad input: ${e.message}\n`);
      return EXIT.USAGE;
    }
    if (e instanceof CannotTestError) {
      process.stderr.write(`vmafuzz: cannot test: ${e.message}\n`);
      return EXIT.CANNOT_TEST;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`vmafuzz: ${e.message}\n`);
      return EXIT.USAGE;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (c) => process.exit(c),
  (e) => {
    process.stderr.write(`vmafuzz: internal error: ${(e as Error).stack ?? e}\n`);
    process.exit(EXIT.CANNOT_TEST);
  },
);
