// A command a vmafuzz feature needs at run time, installed with apt-get when that is plainly possible
// (root on a Debian-like system); otherwise a message naming the package. Used by triage for QEMU,
// whose reference kernels are the point of the command; the runners themselves never install.

import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';

/** The first `cmd` on PATH, or null. */
export function findOnPath(cmd: string): string | null {
  return (process.env.PATH ?? '').split(delimiter).map((d) => d && join(d, cmd)).find((p) => p && existsSync(p)) || null;
}

export const onPath = (cmd: string): boolean => findOnPath(cmd) !== null;

const canApt = () => process.getuid?.() === 0 && existsSync('/etc/debian_version') && onPath('apt-get');

/** apt-get install (non-interactive); on failure once more after `apt-get update` (stale lists are
 *  the usual cause). Also the tests' installer (test/helpers/system.ts). */
export async function aptInstall(packages: string[]): Promise<{ exitCode: number | undefined; all: string }> {
  const install = () =>
    execa('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '--no-install-recommends', ...packages], {
      env: { DEBIAN_FRONTEND: 'noninteractive' },
      reject: false,
      all: true,
    });
  let r = await install();
  if (r.exitCode !== 0) {
    await execa('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'update'], { reject: false });
    r = await install();
  }
  return { exitCode: r.exitCode, all: String(r.all ?? '') };
}

/**
 * null when `cmd` is on PATH (installing `pkg` first when running as root on Debian), else why not.
 * `log` gets one line when an installation starts.
 */
export async function ensureCommand(cmd: string, pkg: string, log: (line: string) => void): Promise<string | null> {
  if (onPath(cmd)) return null;
  if (!canApt()) return `${cmd} is not on PATH: install the ${pkg} package`;
  log(`${cmd} is not on PATH; installing ${pkg} with apt-get`);
  const r = await aptInstall([pkg]);
  if (r.exitCode === 0 && onPath(cmd)) return null;
  const last = r.all.trim().split('\n').at(-1) ?? '';
  return `${cmd} is not on PATH and installing the ${pkg} package failed (apt-get exit ${r.exitCode}${last ? `: ${last}` : ''})`;
}
