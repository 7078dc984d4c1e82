// `vmafuzz replay` of concurrent sequences: each file runs --runs times (a race shows on some runs
// only) and every run is judged by the linearizability oracle (src/linearize). One line per file;
// exit 1 when a run of some file has no linearization, 125 when every run was indeterminate.

import { judgeRace } from '../../linearize/index.js';
import { makeProfile } from '../../model/index.js';
import type { Runner } from '../../runner/types.js';
import { DETAIL_RUN } from '../../runner/types.js';
import type { Sequence } from '../../seq/schema.js';
import { EXIT } from '../../util/errors.js';
import { write } from '../common.js';

export async function replayConcurrent(runner: Runner, files: readonly { file: string; seq: Sequence }[], runs: number, setCode: (c: number) => void): Promise<void> {
  const target = await runner.start();
  const profile = makeProfile(target.release, target.facts);
  let failed = 0;
  let judgedAny = false;
  for (const { file, seq } of files) {
    const ks = await runner.run(Array(runs).fill(seq), DETAIL_RUN);
    const js = ks.map((k) => judgeRace(seq, k, profile));
    const fails = js.filter((j) => j.verdict === 'fail');
    const ind = js.filter((j) => j.verdict === 'indeterminate');
    if (ind.length < js.length) judgedAny = true;
    if (fails.length) {
      failed++;
      const f = fails[0]!;
      write(`NO LINEARIZATION ${file}: ${fails.length}/${runs} runs (${f.signatureText}, signature ${f.signature})\n  ${f.divergence!.detail}\n`);
    } else if (ind.length === js.length) write(`INDETERMINATE ${file}: ${ind[0]?.reason ?? 'no run'}\n`);
    else write(`LINEARIZABLE ${file}: ${js.length - ind.length}/${runs} runs${ind.length ? ` (${ind.length} indeterminate: ${ind[0]!.reason})` : ''}\n`);
  }
  setCode(failed ? EXIT.DIVERGENCE : judgedAny ? EXIT.OK : EXIT.CANNOT_TEST);
}
