// `vmafuzz kernels list|fetch`: the Debian kernel images the QEMU runner boots.

import type { Command } from 'commander';
import { z } from 'zod';
import { DEFAULT_FLAVOUR, fetchKernel, kernelSeries, listKernels, type KernelPackage } from '../../kernels/index.js';
import { CannotTestError, EXIT, InputError, UsageError } from '../../util/errors.js';
import { registerKernelsBuild } from './kernels-build.js';
import { log, write } from '../common.js';

const JSON_VERSION = 2;
const pkgJson = z.strictObject({
  release: z.string(),
  version: z.string(),
  package: z.string(),
  series: z.string(),
  suites: z.array(z.string()),
  bytes: z.number().int(),
  cached: z.boolean(),
  fetchable: z.boolean(),
  /** the config comes with it (image package or linux-base on the mirror) */
  config: z.boolean(),
  /** split packages the image depends on that the mirror lacks */
  missing: z.array(z.string()),
});
const listJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('kernels list'),
  /** per upstream series: the newest fetchable package, and the release cached (newest), if any */
  series: z.array(z.strictObject({ series: z.string(), newest: pkgJson, packages: z.number().int(), cachedRelease: z.string().nullable() })),
  kernels: z.array(pkgJson),
});
const fetchJson = z.strictObject({
  vmafuzz: z.literal(JSON_VERSION),
  command: z.literal('kernels fetch'),
  kernels: z.array(
    z.union([
      z.strictObject({ query: z.string(), ok: z.literal(true), release: z.string(), version: z.string(), vmlinuz: z.string(), config: z.string().nullable(), seconds: z.number() }),
      z.strictObject({ query: z.string(), ok: z.literal(false), error: z.string(), exitCode: z.number().int(), seconds: z.number() }),
    ]),
  ),
  exitCode: z.number().int(),
});

const pkgDoc = (p: KernelPackage): z.input<typeof pkgJson> => ({
  release: p.release,
  version: p.version,
  package: p.package,
  series: p.series,
  suites: p.suites,
  bytes: p.size,
  cached: p.cached,
  fetchable: p.fetchable,
  config: p.hasConfig,
  missing: p.missing,
});
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

/** The exit code an error of one fetch stands for (anything unexpected is rethrown). */
function codeOf(e: unknown): number {
  if (e instanceof CannotTestError) return EXIT.CANNOT_TEST;
  if (e instanceof UsageError || e instanceof InputError) return EXIT.USAGE;
  throw e;
}

export function registerKernels(program: Command, setCode: (c: number) => void): void {
  const k = program.command('kernels').description('list, fetch and build kernels for --runner qemu (Debian images and linux-source packages, from the Debian mirror this machine uses)');
  k.command('list')
    .description('what the mirror offers per kernel series: the newest fetchable package, its suites, and whether a kernel of the series is cached')
    .option('--all', 'every package of the flavour instead of one line per series ("*" = cached)')
    .option('--flavour <name>', 'Debian kernel flavour', DEFAULT_FLAVOUR)
    .option('--refresh', 'update the package lists even if they are recent')
    .option('--json', 'machine-readable output')
    .action(async (o: { all?: boolean; flavour: string; refresh?: boolean; json?: boolean }) => {
      const l = await listKernels({ flavour: o.flavour, refresh: o.refresh ?? false });
      const series = kernelSeries(l);
      if (o.json) {
        const doc = listJson.parse({
          vmafuzz: JSON_VERSION,
          command: 'kernels list',
          series: series.map((s) => ({ series: s.series, newest: pkgDoc(s.newest), packages: s.count, cachedRelease: s.cached?.release ?? null })),
          kernels: l.map(pkgDoc),
        });
        process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
      } else if (o.all) {
        const rows = [['', 'release', 'version', 'suites', 'download', 'notes']];
        for (const p of l) {
          const notes = [...(p.fetchable ? [] : ['stub, no vmlinuz on the mirror']), ...(p.fetchable && !p.hasConfig ? ['no config'] : [])].join('; ');
          rows.push([p.cached ? '*' : ' ', p.release, p.version, p.suites.join(',') || '?', mb(p.size), notes]);
        }
        write(table(rows));
      } else {
        const rows = [['series', 'newest release', 'version', 'suites', 'download', 'config', 'cached']];
        for (const s of series) {
          const cached = s.cached ? (s.cached.release === s.newest.release ? 'yes' : `${s.cached.release} (older)`) : 'no';
          rows.push([s.series, s.newest.release, s.newest.version, s.newest.suites.join(',') || '?', mb(s.newest.size), s.newest.hasConfig ? 'yes' : 'none', cached]);
        }
        write(table(rows));
        process.stdout.write(`(vmafuzz kernels fetch SERIES; --all lists all ${l.length} packages)\n`);
      }
      setCode(EXIT.OK);
    });
  k.command('fetch')
    .description('download the newest package matching each version ("6.1", "6.12", "7.3", "6.12.107+deb13") into the cache; each independently')
    .argument('<versions...>')
    .option('--flavour <name>', 'Debian kernel flavour', DEFAULT_FLAVOUR)
    .option('--json', 'machine-readable output')
    .action(async (versions: string[], o: { flavour: string; json?: boolean }) => {
      const got: z.input<typeof fetchJson>['kernels'] = [];
      let code: number = EXIT.OK;
      for (const v of versions) {
        const t0 = Date.now();
        try {
          const img = await fetchKernel(v, { flavour: o.flavour, log: (m) => log(`vmafuzz: ${v}: ${m}`) });
          const seconds = (Date.now() - t0) / 1000;
          got.push({ query: v, ok: true, release: img.release, version: img.version, vmlinuz: img.vmlinuz, config: img.config, seconds });
          if (!o.json) write(`${v}: ${img.release} (${img.version}) ${img.vmlinuz}${img.config ? '' : ' [no config]'} [${seconds.toFixed(1)} s]\n`);
        } catch (e) {
          const c = codeOf(e);
          code = Math.max(code, c);
          const seconds = (Date.now() - t0) / 1000;
          got.push({ query: v, ok: false, error: (e as Error).message, exitCode: c, seconds });
          if (!o.json) write(`${v}: FAILED: ${(e as Error).message}\n`);
        }
      }
      if (o.json) process.stdout.write(JSON.stringify(fetchJson.parse({ vmafuzz: JSON_VERSION, command: 'kernels fetch', kernels: got, exitCode: code }), null, 2) + '\n');
      else if (versions.length > 1) process.stdout.write(`${got.filter((g) => g.ok).length} of ${versions.length} fetched\n`);
      setCode(code);
    });
  registerKernelsBuild(k, setCode);
}
