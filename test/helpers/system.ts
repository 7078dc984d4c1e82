// Test setup that installs what the real-kernel tests need (they must run in CI, not skip):
// Debian packages through apt-get, and a dockerd started on demand.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { aptInstall, onPath } from '../../src/util/ensure.js';

export { onPath };

let installing: Promise<void> = Promise.resolve();

/** apt-get install the packages unless `cmd` is already on PATH (src/util/ensure.ts aptInstall). */
export function ensureCommand(cmd: string, packages: string[]): Promise<void> {
  installing = installing.then(async () => {
    if (onPath(cmd)) return;
    const r = await aptInstall(packages);
    if (r.exitCode !== 0 || !onPath(cmd)) throw new Error(`installing ${packages.join(' ')} failed:\n${r.all}`);
  });
  return installing;
}

export interface Dockerd {
  /** set when this process started the daemon (stop() ends it) */
  pid: number | null;
  stop(): Promise<void>;
}

async function engineUp(): Promise<boolean> {
  const r = await execa('docker', ['version', '--format', '{{.Server.Version}}'], { reject: false });
  return r.exitCode === 0 && r.stdout.trim() !== '';
}

/** A running Docker engine: the one already there, or a dockerd started (and later stopped) here. */
export async function ensureDockerd(): Promise<Dockerd> {
  await ensureCommand('docker', ['docker.io']);
  if (await engineUp()) return { pid: null, stop: async () => {} };
  await ensureCommand('dockerd', ['docker.io']);
  const logDir = mkdtempSync(join(tmpdir(), 'vmafuzz-dockerd-'));
  const log = join(logDir, 'dockerd.log');
  const proc = spawn('dockerd', [], { stdio: ['ignore', openSync(log, 'a'), openSync(log, 'a')] });
  const exited = new Promise<void>((res) => proc.once('exit', () => res()));
  for (let i = 0; i < 120 && proc.exitCode === null; i++) {
    if (await engineUp()) {
      return {
        pid: proc.pid!,
        stop: async () => {
          proc.kill('SIGTERM');
          await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
          if (proc.exitCode === null) proc.kill('SIGKILL');
          rmSync(logDir, { recursive: true, force: true });
        },
      };
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  proc.kill('SIGKILL');
  throw new Error(`dockerd did not come up; its log (${log}):\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}`);
}
