// Runner selection for the CLI. Each runner lives in its own module and is loaded on demand so
// that `vmafuzz fuzz` on the host does not pay for QEMU or Docker code.

import type { FsDirs } from './fsdirs.js';
import type { Runner } from './types.js';

export const RUNNERS = ['native', 'docker', 'qemu'] as const;
export type RunnerName = (typeof RUNNERS)[number];
/** docker --seccomp names (anything else is a profile file) */
export const SECCOMP_PROFILES = ['vmafuzz', 'default', 'unconfined'] as const;

export interface RunnerOptions {
  runner: RunnerName;
  /** qemu: Debian kernel version to fetch/boot (e.g. "6.12"), or a bzImage path */
  kernel?: string;
  kernelImage?: string;
  memory?: string;
  append?: string;
  /** docker: seccomp profile, "vmafuzz" (docker/seccomp.json), "default", "unconfined" or a file */
  seccomp?: string;
  /** native: `--fs-dir KIND=DIR` directories for real-filesystem files (src/runner/fsdirs.ts) */
  fsDirs?: FsDirs;
  /** qemu: guest CPUs (default 1; concurrent campaigns want their threads to really run at once) */
  cpus?: number;
}

export async function createRunner(o: RunnerOptions): Promise<Runner> {
  switch (o.runner) {
    case 'native': {
      const { NativeRunner } = await import('./native.js');
      return new NativeRunner(o.fsDirs ? { fsDirs: o.fsDirs } : {});
    }
    default: {
      const m = (await import(`./${o.runner}.js`)) as { createRunnerFromOptions?: (o: RunnerOptions) => Promise<Runner> };
      if (!m.createRunnerFromOptions) throw new Error(`runner ${o.runner} is not available in this build`);
      return m.createRunnerFromOptions(o);
    }
  }
}

/** The extra command-line words that select the same runner again (for printed replay commands). */
export function runnerArgs(o: RunnerOptions): string {
  const a: string[] = [];
  if (o.runner !== 'native') a.push(`--runner ${o.runner}`);
  if (o.kernel) a.push(`--kernel ${o.kernel}`);
  if (o.kernelImage) a.push(`--kernel-image ${o.kernelImage}`);
  if (o.seccomp) a.push(`--seccomp ${o.seccomp}`);
  for (const [k, d] of Object.entries(o.fsDirs ?? {})) a.push(`--fs-dir ${k}=${d}`);
  return a.length ? ' ' + a.join(' ') : '';
}
