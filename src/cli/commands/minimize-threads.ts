// `vmafuzz minimize FILE` for a concurrent sequence (src/linearize/minimize.ts): the file is run
// until a run shows no linearization (at most --runs x 4 runs), then minimized keeping that
// signature; the result is written with its hit rate. Exit 1 minimized, 0 every run was
// linearizable (nothing written), 125 only indeterminate runs.

import { minimizeRace } from '../../linearize/minimize.js';
import { judgeRace } from '../../linearize/index.js';
import { makeProfile } from '../../model/index.js';
import type { Runner } from '../../runner/types.js';
import { FAST_LAYERS_RUN } from '../../runner/types.js';
import { writeSequenceFile } from '../../seq/io.js';
import type { Sequence } from '../../seq/schema.js';
import { EXIT } from '../../util/errors.js';
import { parseDuration } from '../../campaign/fuzz.js';
import { log, write } from '../common.js';

export async function minimizeConcurrent(runner: Runner, file: string, seq: Sequence, out: string, o: Record<string, unknown>, setCode: (c: number) => void): Promise<void> {
  const target = await runner.start();
  const profile = makeProfile(target.release, target.facts);
  const runs = Math.max(1, Number.parseInt(String(o.runs ?? '8'), 10) || 8);
  const confirmRuns = Math.max(1, Number.parseInt(String(o.confirm), 10) || 3) * 5;
  const ks = await runner.run(Array(runs * 4).fill(seq), FAST_LAYERS_RUN);
  const judged = ks.map((k) => judgeRace(seq, k, profile));
  const bad = judged.find((j) => j.verdict === 'fail');
  if (!bad) {
    const ind = judged.filter((j) => j.verdict === 'indeterminate').length;
    write(ind === judged.length ? `INDETERMINATE ${file}: ${judged[0]?.reason ?? 'no run judged'}\n` : `MATCH ${file}: ${judged.length - ind} of ${judged.length} runs linearizable, none failed; nothing to minimize\n`);
    setCode(ind === judged.length ? EXIT.CANNOT_TEST : EXIT.OK);
    return;
  }
  const hitsBefore = judged.filter((j) => j.signature === bad.signature).length;
  const timeMs = o.time !== undefined ? parseDuration(String(o.time)) : 120_000;
  const r = await minimizeRace(runner, profile, seq, bad.signature!, { runs, confirmRuns, timeMs, log: o.quiet ? undefined : log });
  writeSequenceFile(out, r.seq);
  write(`MINIMIZED ${file} -> ${out}: ${r.callsBefore} -> ${r.callsAfter} calls, signature ${r.signature} (${r.outcome.signatureText}), hit rate ${hitsBefore}/${judged.length} before, ${r.hits}/${r.runs} after; ${r.candidates} candidates x ${runs} runs\n`);
  if (r.outcome.divergence) write(`${r.outcome.divergence.detail}\n`);
  setCode(r.hits > 0 ? EXIT.DIVERGENCE : EXIT.CANNOT_TEST);
}
