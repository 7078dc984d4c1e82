// `vmafuzz repro FILE --c out.c` for a concurrent sequence: run it (up to --runs times) until a
// run no linearization explains, and write the looping C reproducer of that run
// (src/findings/repro-c-threads.ts). Exit 0 written, 125 no failing run to reproduce.

import { renderRaceReproC } from '../../findings/repro-c-threads.js';
import { judgeRace } from '../../linearize/index.js';
import { makeProfile } from '../../model/index.js';
import type { Runner } from '../../runner/types.js';
import { FAST_RUN } from '../../runner/types.js';
import type { Sequence } from '../../seq/schema.js';
import { EXIT } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { write } from '../common.js';

export async function reproConcurrent(runner: Runner, file: string, seq: Sequence, out: string, runs: number, setCode: (c: number) => void): Promise<void> {
  const target = await runner.start();
  const profile = makeProfile(target.release, target.facts);
  const ks = await runner.run(Array(runs).fill(seq), FAST_RUN);
  const judged = ks.map((k) => judgeRace(seq, k, profile));
  const bad = judged.find((j) => j.verdict === 'fail');
  if (!bad) {
    write(`no run of ${runs} showed a failure of ${file} on ${target.runner} ${target.release}; nothing written\n`);
    setCode(EXIT.CANNOT_TEST);
    return;
  }
  const hits = judged.filter((j) => j.signature === bad.signature).length;
  writeFileAtomic(out, renderRaceReproC(bad, file));
  write(`wrote ${out} (the failing run ${bad.signatureText}, seen in ${hits}/${runs} runs on ${target.runner} ${target.release})\n`);
  write(`build and run: cc -static -O2 -pthread -o repro ${out} && ./repro 60\n`);
  setCode(EXIT.OK);
}
