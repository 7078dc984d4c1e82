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
import { log } from './common.js';
import { addExitCodeHelp } from './help.js';
import { VERSION } from './version.js';
import { printable } from '../util/text.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('vmafuzz')
    .description('differential fuzzer for the Linux memory-mapping subsystem')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(printable(s)), writeOut: (s) => process.stdout.write(printable(s)) });
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
  addExitCodeHelp(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    if (e instanceof InputError) {
      log(`vmafuzz: bad input: ${e.message}`);
      return EXIT.USAGE;
    }
    if (e instanceof CannotTestError) {
      log(`vmafuzz: cannot test: ${e.message}`);
      return EXIT.CANNOT_TEST;
    }
    if (e instanceof UsageError) {
      log(`vmafuzz: ${e.message}`);
      return EXIT.USAGE;
    }
    // A path the user named that cannot be used (--out /dev/null/x, a read-only directory):
    // bad usage, said in one line, not a stack.
    const fe = e as NodeJS.ErrnoException & { dest?: string };
    if (fe instanceof Error && typeof fe.code === 'string' && typeof fe.path === 'string' && FS_USAGE.has(fe.code)) {
      log(`vmafuzz: cannot use ${fe.path}${fe.dest ? ` -> ${fe.dest}` : ''}: ${fe.code} (${fe.syscall ?? 'fs'})`);
      return EXIT.USAGE;
    }
    throw e;
  }
}

/** errno codes of a file-system call on a path the user chose. */
const FS_USAGE = new Set(['ENOTDIR', 'EISDIR', 'ENOENT', 'EACCES', 'EPERM', 'EROFS', 'EEXIST', 'ENAMETOOLONG', 'ELOOP', 'ENOTEMPTY', 'EXDEV']);
