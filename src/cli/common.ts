import { printable } from '../util/text.js';
import { Option, type Command } from 'commander';
import { RUNNERS, type RunnerName, type RunnerOptions } from '../runner/index.js';

export function addRunnerOptions(c: Command): Command {
  return c
    .addOption(new Option('--runner <name>', 'where sequences run').choices([...RUNNERS]).default('native'))
    .option('--kernel <version>', 'qemu: Debian kernel version to boot (e.g. 6.12, 7.3)')
    .option('--kernel-image <path>', 'qemu: boot this bzImage (e.g. your own build)')
    .option('--memory <size>', 'qemu: guest memory', '512M')
    .option('--append <args>', 'qemu: extra kernel command line');
}

export function runnerOptionsFrom(o: Record<string, unknown>): RunnerOptions {
  const r: RunnerOptions = { runner: (o.runner as RunnerName) ?? 'native' };
  if (typeof o.kernel === 'string') r.kernel = o.kernel;
  if (typeof o.kernelImage === 'string') r.kernelImage = o.kernelImage;
  if (typeof o.memory === 'string') r.memory = o.memory;
  if (typeof o.append === 'string') r.append = o.append;
  return r;
}

/** Human output: to stderr (log) or stdout (write), always through printable() (src/util/text.ts). */
export const log = (s: string) => process.stderr.write(printable(s) + '\n');
export const write = (s: string) => process.stdout.write(printable(s));
