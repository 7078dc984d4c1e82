// `vmafuzz bisect FILE --kernels 6.1,6.12,7.3`: boot each kernel (QEMU) as the binary search
// needs it and report between which two kernels the sequence's behaviour (match, or divergence
// with its signature) changes. Exit 0 when the search completed (changed or unchanged), 125 when
// too few kernels could be tested, 2 bad usage.

import { Option, type Command } from 'commander';
import { bisectKernels, kernelTester } from '../../findings/bisect.js';
import { parseRelease } from '../../model/index.js';
import { loadSequenceFile } from '../../seq/io.js';
import { refuseConcurrent } from '../../seq/threads.js';
import { EXIT, UsageError } from '../../util/errors.js';
import { log, write } from '../common.js';
import { bisectJson, JSON_VERSION, printJson } from '../json.js';

export function registerBisect(program: Command, setCode: (c: number) => void): void {
  program
    .command('bisect')
    .description('find between which two kernels (oldest first) a sequence starts or stops diverging from the model')
    .argument('<file>', 'corpus file (JSON)')
    .requiredOption('--kernels <list>', 'comma-separated kernels, oldest first: Debian versions (6.1,6.12,7.3) or bzImage paths')
    .option('--profile <release>', 'judge every kernel against the model of this release (e.g. 7.3) instead of its own; finds where the kernel\'s behaviour changed')
    .option('--runs <n>', 'runs per kernel; kernels whose runs disagree are skipped', '2')
    .addOption(new Option('--runner <name>', 'runner that boots a given kernel').choices(['qemu']).default('qemu'))
    .option('--memory <size>', 'qemu: guest memory', '512M')
    .option('--append <args>', 'qemu: extra kernel command line')
    .option('--json', 'print a machine-readable result')
    .action(async (file: string, o: Record<string, string | boolean | undefined>) => {
      const seq = loadSequenceFile(file);
      refuseConcurrent(seq, file, 'bisect');
      const kernels = String(o.kernels).split(',').map((s) => s.trim()).filter(Boolean);
      if (kernels.length < 2) throw new UsageError('--kernels needs at least two kernels, oldest first');
      const profile = typeof o.profile === 'string' ? o.profile : undefined;
      if (profile !== undefined && !parseRelease(profile)) throw new UsageError(`--profile: not a kernel release: ${JSON.stringify(profile)}`);
      const runs = Number.parseInt(String(o.runs), 10);
      if (!(runs >= 1)) throw new UsageError(`--runs expects a positive integer, got ${JSON.stringify(o.runs)}`);
      const runner = { runner: 'qemu' as const, ...(typeof o.memory === 'string' ? { memory: o.memory } : {}), ...(typeof o.append === 'string' ? { append: o.append } : {}) };
      const print = o.json ? log : (l: string) => write(l + '\n');
      print(`bisect ${file} over ${kernels.join(', ')}${profile ? ` against the model of ${profile}` : ' (each against its own model profile)'}`);
      const r = await bisectKernels(kernels, kernelTester(seq, { runs, runner, ...(profile ? { profileRelease: profile } : {}) }), print);
      if (o.json) {
        printJson(bisectJson, {
          vmafuzz: JSON_VERSION,
          command: 'bisect',
          file,
          profile: profile ?? null,
          kernels,
          steps: r.steps.map((s) => ({ kernel: s.kernel, verdict: s.verdict.kind, detail: s.verdict.detail, ...(s.verdict.release ? { release: s.verdict.release } : {}), ...(s.verdict.kind === 'diverge' ? { signature: s.verdict.signature } : {}) })),
          result: { status: r.status, skipped: r.skipped, message: r.message, ...(r.lastSame ? { lastSame: r.lastSame } : {}), ...(r.firstChanged ? { firstChanged: r.firstChanged } : {}) },
        });
      } else {
        print(`${r.status === 'changed' ? 'CHANGED' : r.status === 'unchanged' ? 'UNCHANGED' : 'UNDECIDED'}: ${r.message}`);
        if (r.status === 'changed') print(`last like the oldest: ${r.lastSame}\nfirst different:      ${r.firstChanged}`);
      }
      setCode(r.status === 'undecided' ? EXIT.CANNOT_TEST : EXIT.OK);
    });
}
