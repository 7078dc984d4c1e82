#!/usr/bin/env node
// vmafuzz command line. Exit codes: 0 no divergence, 1 divergence, 2 bad usage or bad input,
// 125 cannot test (also `git bisect run`'s "skip"). The commands (and zod, the model, the runners)
// load only when a command runs: `vmafuzz --version` answers without them.

import { EXIT } from '../util/errors.js';
import { exitAfterFlush, exitQuietlyOnEpipe } from './exit.js';
import { VERSION } from './version.js';

exitQuietlyOnEpipe();
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(VERSION + '\n');
  await exitAfterFlush(EXIT.OK);
}
const { main } = await import('./program.js');
main(argv).then(
  (c) => exitAfterFlush(c),
  async (e) => {
    const { log } = await import('./common.js');
    log(`vmafuzz: internal error: ${(e as Error).stack ?? e}`);
    return exitAfterFlush(EXIT.CANNOT_TEST);
  },
);
