// `vmafuzz matrix FILE… --kernels 6.1,6.12,7.3`: replay corpus files on several kernels (one VM
// each) and print a table, rows = files, columns = kernels. Exit 1 if a cell diverges (or the
// kernel crashed), 125 if a kernel cannot be tested or a run was indeterminate, 2 bad usage, else 0.

import { Option, type Command } from 'commander';
import { matrixExitCode, runMatrix } from '../../matrix/matrix.js';
import { matrixDocument, renderMatrix } from '../../matrix/render.js';
import { parseRelease } from '../../model/index.js';
import { KnownBugs, type KnownLookup } from '../../findings/known.js';
import { projectRoot } from '../../runner/harness-build.js';
import { join } from 'node:path';
import { loadSequenceFiles } from '../../seq/io.js';
import { refuseConcurrent } from '../../seq/threads.js';
import { UsageError } from '../../util/errors.js';
import { log, write } from '../common.js';
import { matrixJson, printJson } from '../json.js';

export function registerMatrix(program: Command, setCode: (c: number) => void): void {
  program
    .command('matrix')
    .description('replay corpus files on several kernels, each judged against its own model profile, and print a files x kernels table')
    .argument('<files...>', 'corpus files (JSON)')
    .requiredOption('--kernels <list>', 'comma-separated kernels: Debian versions (6.1,6.12,7.3) or bzImage paths')
    .addOption(new Option('--runner <name>', 'runner that boots a given kernel').choices(['qemu']).default('qemu'))
    .option('--profile <release>', "judge every kernel against the model of this release (e.g. 7.3) instead of its own profile")
    .option('--jobs <n>', 'kernels tested at once (one VM each)', '1')
    .option('--memory <size>', 'qemu: guest memory', '512M')
    .option('--append <args>', 'qemu: extra kernel command line')
    .option('--json', 'print a machine-readable result')
    .action(async (files: string[], o: Record<string, string | boolean | undefined>) => {
      // Validate every file before booting anything: bad input is exit 2 whatever else happens,
      // and every bad file is named (the last one by the error that ends the command).
      const loaded = loadSequenceFiles(files);
      for (const g of loaded.good) refuseConcurrent(g.seq, g.file, 'matrix');
      for (const e of loaded.bad.slice(0, -1)) log(`vmafuzz: bad input: ${e.message}`);
      if (loaded.bad.length) throw loaded.bad[loaded.bad.length - 1]!;
      const seqs = loaded.good.map((g) => g.seq);
      const kernels = String(o.kernels).split(',').map((s) => s.trim()).filter(Boolean);
      if (kernels.length === 0) throw new UsageError('--kernels needs at least one kernel');
      if (new Set(kernels).size !== kernels.length) throw new UsageError(`--kernels lists a kernel twice: ${kernels.join(',')}`);
      const jobs = Number(o.jobs);
      if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs expects a positive integer, got ${JSON.stringify(o.jobs)}`);
      const profile = typeof o.profile === 'string' ? o.profile : undefined;
      if (profile !== undefined && !parseRelease(profile)) throw new UsageError(`--profile: not a kernel release: ${JSON.stringify(profile)}`);
      const base = { runner: 'qemu' as const, ...(typeof o.memory === 'string' ? { memory: o.memory } : {}), ...(typeof o.append === 'string' ? { append: o.append } : {}) };
      log(`vmafuzz: matrix of ${files.length} files on ${kernels.join(', ')} (${jobs} at a time)`);
      const knownBugs = KnownBugs.load(join(projectRoot(), 'corpus', 'regression'), projectRoot());
      const known: KnownLookup = (f, release) => knownBugs.lookup(f, release);
      const r = await runMatrix(files, seqs, kernels, { runner: base, jobs, known, ...(profile ? { profileRelease: profile } : {}), log: (l) => log(`vmafuzz: ${l}`) });
      if (o.json) printJson(matrixJson, matrixDocument(r, base, profile ?? null));
      else write(renderMatrix(r, base));
      setCode(matrixExitCode(r));
    });
}
