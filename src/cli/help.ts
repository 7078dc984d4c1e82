// Every command's --help ends with its exit codes (the same table as README "Exit codes").

import type { Command } from 'commander';

const BAD = '  2    bad usage or bad input (the message names the file, the JSON path and the problem)';
const SKIP = '  125  cannot test (no compiler, runner or kernel; the kernel run ended early); `git bisect run` skip';

const CODES: Record<string, string[]> = {
  fuzz: ['  0    no divergence found (with --fail-on present: none triaged present)', '  1    at least one divergence (a finding); with --fail-on present, one present through the newest kernel', BAD, SKIP + '; also a campaign that judged nothing'],
  replay: [
    '  0    every file matches the model',
    '  1    a divergence in at least one file',
    `${BAD};`,
    '       with several files, each bad one is reported, the good ones are still replayed, then exit 2',
    `${SKIP}; also when the model cannot predict a call of a file`,
  ],
  report: ['  0    the campaign holds no findings (with --fail-on present: none triaged present)', '  1    it holds findings', BAD + ' (also a damaged campaign record)', SKIP],
  minimize: ['  0    no divergence on this target: nothing to minimize', '  1    minimized (a divergence reproduces)', BAD, SKIP + '; also a divergence that does not reproduce on every run'],
  repro: ['  0    the reproducer was written', BAD, SKIP],
  bisect: ['  0    decided (changed or unchanged)', BAD, SKIP + '; also undecided'],
  matrix: ['  0    every cell matches', '  1    a divergence or crash in some cell', BAD, SKIP + '; also a kernel that could not be tested'],
  kernels: ['  0    done', BAD + ' (also an unknown --with instrumentation)', SKIP + ' (no mirror, download failed; with several versions, any failed; build: a missing tool, a config option that did not stick, a failed make)'],
  triage: ['  0    every finding host-specific or fixed upstream', '  1    a finding present through the newest kernel', BAD, SKIP + '; also a finding triaged indeterminate'],
};

export function addExitCodeHelp(program: Command): void {
  for (const c of program.commands) {
    const lines = CODES[c.name()];
    if (!lines) throw new Error(`no exit-code help for command ${c.name()}`);
    const text = `\nExit codes:\n${lines.join('\n')}\n`;
    c.addHelpText('after', text);
    for (const sub of c.commands) sub.addHelpText('after', text);
  }
  program.addHelpText('after', '\nExit codes: 0 no divergence, 1 divergence, 2 bad usage or input, 125 cannot test (see `vmafuzz <command> --help`).\n');
}
