// `vmafuzz kernels build VERSION --with kasan,fault-injection`: an instrumented kernel from Debian's
// linux-source package (src/kernels/build.ts), named "7.3+kasan+fault-injection" for --kernel.

import type { Command } from 'commander';
import { z } from 'zod';
import { INSTRUMENT_NAMES, parseInstruments } from '../../kernels/build-config.js';
import { buildKernel, builtSchema } from '../../kernels/build.js';
import { EXIT, UsageError } from '../../util/errors.js';
import { log, write } from '../common.js';

const JSON_VERSION = 1;
// the manifest's fields (src/kernels/build.ts), plus what this command adds
const buildJson = builtSchema
  .pick({ name: true, release: true, sourceVersion: true, key: true, bzImage: true, config: true, bytes: true, buildSeconds: true, cpuSeconds: true, jobs: true, objects: true, load: true })
  .extend({
    vmafuzz: z.literal(JSON_VERSION),
    command: z.literal('kernels build'),
    cached: z.boolean(),
    /** optional options this version does not define */
    skipped: z.array(z.string()),
  });

export function registerKernelsBuild(k: Command, setCode: (c: number) => void): void {
  k.command('build')
    .description(`build a kernel from Debian's linux-source-VERSION with a minimal guest config and instrumentation; use it as --kernel VERSION+INSTR (e.g. 7.3+kasan+fault-injection)`)
    .argument('<version>', 'kernel series, e.g. 7.3')
    .option('--with <list>', `comma-separated instrumentation: ${INSTRUMENT_NAMES.join(', ')}`, '')
    .option('-j, --jobs <n>', 'make -j', '2')
    .option('--force', 'rebuild even when the cache has this configuration')
    .option('--json', 'machine-readable output')
    .action(async (version: string, o: { with: string; jobs: string; force?: boolean; json?: boolean }) => {
      let instruments: string[];
      try {
        instruments = parseInstruments(o.with);
      } catch (e) {
        throw new UsageError(`--with: ${(e as Error).message}`);
      }
      const jobs = Number(o.jobs);
      if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs: expected a positive integer, got "${o.jobs}"`);
      const r = await buildKernel(version, { instruments, jobs, force: o.force ?? false, log: (m) => log(`vmafuzz: kernels build: ${m}`) });
      const m = r.manifest;
      if (o.json) {
        const doc = buildJson.parse({ vmafuzz: JSON_VERSION, command: 'kernels build', name: m.name, release: m.release, sourceVersion: m.sourceVersion, key: m.key, bzImage: r.image.vmlinuz, config: r.image.config, bytes: m.bytes, buildSeconds: m.buildSeconds, cpuSeconds: m.cpuSeconds, jobs: m.jobs, ...(m.objects !== undefined ? { objects: m.objects } : {}), ...(m.load ? { load: m.load } : {}), cached: r.cached, skipped: r.skipped });
        process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
      } else {
        const took = `${m.buildSeconds} s wall, ${m.cpuSeconds} s CPU, -j${m.jobs}${m.objects !== undefined ? `, ${m.objects} objects` : ''}${m.load ? `, load ${m.load[0]} -> ${m.load[1]}` : ''}`;
        const how = r.cached ? `cached (built in ${took})` : `built in ${took}`;
        write(`${m.name}: ${m.release} from linux-source-${m.series} ${m.sourceVersion}, ${(m.bytes / 1e6).toFixed(1)} MB bzImage, ${how}\n${r.image.vmlinuz}\n(use --kernel ${m.name})\n`);
      }
      setCode(EXIT.OK);
    });
}
