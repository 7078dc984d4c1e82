// `vmafuzz kernels list|fetch`: the Debian kernel images the QEMU runner boots.

import type { Command } from 'commander';
import { z } from 'zod';
import { DEFAULT_FLAVOUR, fetchKernel, listKernels } from '../../kernels/index.js';
import { EXIT } from '../../util/errors.js';
import { log, write } from '../common.js';

const JSON_VERSION = 1;
const listJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('kernels list'),
  kernels: z.array(z.strictObject({ release: z.string(), version: z.string(), package: z.string(), bytes: z.number().int(), cached: z.boolean() })),
});
const fetchJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('kernels fetch'),
  kernels: z.array(z.strictObject({ query: z.string(), release: z.string(), version: z.string(), vmlinuz: z.string(), config: z.string().nullable(), seconds: z.number() })),
});

export function registerKernels(program: Command, setCode: (c: number) => void): void {
  const k = program.command('kernels').description('list and fetch Debian kernel images for --runner qemu (from the Debian mirror this machine uses)');
  k.command('list')
    .description('kernel packages of a flavour on the mirror, oldest first ("*" = cached)')
    .option('--flavour <name>', 'Debian kernel flavour', DEFAULT_FLAVOUR)
    .option('--refresh', 'update the package lists even if they are recent')
    .option('--json', 'machine-readable output')
    .action(async (o: { flavour: string; refresh?: boolean; json?: boolean }) => {
      const l = await listKernels({ flavour: o.flavour, refresh: o.refresh ?? false });
      if (o.json) {
        const doc = listJson.parse({ vmafuzz: JSON_VERSION, command: 'kernels list', kernels: l.map((p) => ({ release: p.release, version: p.version, package: p.package, bytes: p.size, cached: p.cached })) });
        process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
      } else {
        const w = Math.max(...l.map((p) => p.release.length), 7);
        write(`  ${'release'.padEnd(w)}  ${'version'.padEnd(18)}  download\n`);
        for (const p of l) write(`${p.cached ? '*' : ' '} ${p.release.padEnd(w)}  ${p.version.padEnd(18)}  ${(p.size / 1e6).toFixed(1)} MB\n`);
      }
      setCode(EXIT.OK);
    });
  k.command('fetch')
    .description('download the newest package matching each version ("6.1", "6.12", "7.3", "6.12.107+deb13") into the cache')
    .argument('<versions...>')
    .option('--flavour <name>', 'Debian kernel flavour', DEFAULT_FLAVOUR)
    .option('--json', 'machine-readable output')
    .action(async (versions: string[], o: { flavour: string; json?: boolean }) => {
      const got: z.input<typeof fetchJson>['kernels'] = [];
      for (const v of versions) {
        const t0 = Date.now();
        const img = await fetchKernel(v, { flavour: o.flavour, log: (m) => log(`vmafuzz: ${m}`) });
        const seconds = (Date.now() - t0) / 1000;
        got.push({ query: v, release: img.release, version: img.version, vmlinuz: img.vmlinuz, config: img.config, seconds });
        if (!o.json) write(`${v}: ${img.release} (${img.version}) ${img.vmlinuz} [${seconds.toFixed(1)} s]\n`);
      }
      if (o.json) process.stdout.write(JSON.stringify(fetchJson.parse({ vmafuzz: JSON_VERSION, command: 'kernels fetch', kernels: got }), null, 2) + '\n');
      setCode(EXIT.OK);
    });
}
