import { printable } from '../util/text.js';
import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { RUNNERS, SECCOMP_PROFILES, type RunnerName, type RunnerOptions } from '../runner/index.js';
import { UsageError } from '../util/errors.js';
import { parseFsDirs } from '../runner/fsdirs.js';

export function addRunnerOptions(c: Command): Command {
  return c
    .addOption(new Option('--runner <name>', 'where sequences run').choices([...RUNNERS]).default('native'))
    .option('--kernel <version>', 'qemu: Debian kernel version to boot (e.g. 6.12, 7.3)')
    .option('--kernel-image <path>', 'qemu: boot this bzImage (e.g. your own build)')
    .option('--memory <size>', 'qemu: guest memory', '512M')
    .option('--append <args>', 'qemu: extra kernel command line')
    .option('--fs-dir <kind=dir>', 'native: directory on an ext4/xfs/btrfs filesystem for files of that kind (repeatable; default: a loop-mounted image of vmafuzz\'s own)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--seccomp <profile>', 'docker: seccomp profile: vmafuzz (docker/seccomp.json, default), default (the engine\'s), unconfined, or a JSON file');
}

export function runnerOptionsFrom(o: Record<string, unknown>): RunnerOptions {
  const r: RunnerOptions = { runner: (o.runner as RunnerName) ?? 'native' };
  if (typeof o.kernel === 'string') r.kernel = o.kernel;
  if (typeof o.kernelImage === 'string') r.kernelImage = o.kernelImage;
  if (typeof o.memory === 'string') r.memory = o.memory;
  if (typeof o.append === 'string') r.append = o.append;
  if (Array.isArray(o.fsDir)) {
    if (r.runner !== 'native') throw new UsageError(`--fs-dir: only the native runner takes filesystem directories (runner: ${r.runner})`);
    const d = parseFsDirs(o.fsDir as string[]);
    if (typeof d === 'string') throw new UsageError(d);
    r.fsDirs = d;
  }
  if (typeof o.seccomp === 'string') {
    if (r.runner !== 'docker') throw new UsageError(`--seccomp: only the docker runner has a seccomp profile (runner: ${r.runner})`);
    if (!(SECCOMP_PROFILES as readonly string[]).includes(o.seccomp) && !existsSync(o.seccomp)) {
      throw new UsageError(`--seccomp: ${JSON.stringify(o.seccomp)} is neither ${SECCOMP_PROFILES.join(', ')} nor an existing profile file`);
    }
    r.seccomp = o.seccomp;
  }
  return r;
}

/** Human output: to stderr (log) or stdout (write), always through printable() (src/util/text.ts). */
export const log = (s: string) => process.stderr.write(printable(s) + '\n');
export const write = (s: string) => process.stdout.write(printable(s));
