// C reproducers of memfd seals and forks whose child exits: generated from selftest-derived
// scenarios, compiled with `cc -static -Wall -Werror` and run on the host. They pass where the
// model matches, and where an expectation is altered (in the child, in the parent after the exit,
// on a seal's errno) they fail at the call, layer and process src/compare names.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstDivergence } from '../src/compare/compare.js';
import { modelPredictor } from '../src/findings/judge.js';
import { renderReproC } from '../src/findings/repro-c.js';
import { makeProfile, type Prediction, type Profile } from '../src/model/index.js';
import { findCompiler } from '../src/runner/harness-build.js';
import { NativeRunner } from '../src/runner/native.js';
import { DETAIL_RUN, type TargetInfo } from '../src/runner/types.js';
import type { SeqObservation } from '../src/seq/observation.js';
import { loadSequenceFile } from '../src/seq/io.js';
import type { Sequence } from '../src/seq/schema.js';

const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-repro-sf-'));
let n = 0;
async function buildAndRun(source: string): Promise<{ exitCode: number; stdout: string }> {
  const d = join(dir, String(n++));
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'repro.c'), source);
  const [ccBin, ...ccArgs] = findCompiler() ?? ['cc'];
  const cc = await execa(ccBin!, [...ccArgs, '-static', '-O2', '-Wall', '-Werror', '-o', join(d, 'repro'), join(d, 'repro.c')], { reject: false, all: true });
  expect(cc.all, 'compiler output').toBe('');
  const r = await execa(join(d, 'repro'), [], { reject: false, timeout: 60_000 });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout };
}

let runner: NativeRunner;
let target: TargetInfo;
let profile: Profile;
beforeAll(async () => {
  runner = new NativeRunner();
  target = await runner.start();
  profile = makeProfile(target.release, target.facts);
});
afterAll(async () => {
  await runner.close();
});

async function predicted(s: Sequence): Promise<{ model: Prediction; kernel: SeqObservation }> {
  const [k] = await runner.run([s], DETAIL_RUN);
  return { model: modelPredictor(s, k!, profile, true), kernel: k! };
}
function reported(stdout: string): { call: number; layer: string; proc: number } | null {
  const m = /^FAIL: the kernel differs from the model at call (\d+) \((\w+)\)(?: \(process (\d+)\))?$/m.exec(stdout);
  return m ? { call: Number(m[1]), layer: m[2]!, proc: Number(m[3] ?? 0) } : null;
}
const scenario = (name: string) => loadSequenceFile(join('corpus', 'selftest', `${name}.json`));

describe('C reproducer: seals and fork blocks', () => {
  for (const name of ['memfd-share-fork-child-mapping-busy', 'fork-guard-anon', 'fork-uffd-event-fork', 'memfd-seal-exec-implies-write', 'fork-block-then-plain']) {
    it(`exits 0 on the host for ${name}`, async () => {
      const s = scenario(name);
      const { model, kernel } = await predicted(s);
      expect(firstDivergence(model, kernel)).toBeNull();
      const r = await buildAndRun(renderReproC({ seq: s, model, profile, target, source: name }));
      expect(r.stdout).toContain('OK: the kernel behaves as the model expects');
      expect(r.exitCode).toBe(0);
    }, 120_000);
  }

  const mutations: [string, string, (m: Prediction, s: Sequence) => void][] = [
    ['a seal errno in the parent after the exit', 'memfd-share-fork-child-mapping-busy', (m) => {
      m.calls[6]!.errno = 0; // EBUSY expected: make the model say 0
      m.calls[6]!.ret = { kind: 'int', value: 0 };
    }],
    ['the pagemap of the block child', 'fork-guard-anon', (m) => {
      const snap = m.snapshots.find((x) => x.proc === 1 && (x.pagemap ?? '').includes('G'))!;
      snap.pagemap = snap.pagemap!.replace('G', '-');
    }],
    ['the parent\'s maps after the exit', 'fork-merge-forked-target-parent-resumes', (m, s) => {
      const last = s.calls.length - 1;
      const snap = m.snapshots.find((x) => x.after === last && (x.proc ?? 0) === 0)!;
      snap.maps[0]!.perms = 'r--p';
    }],
  ];
  for (const [what, name, mutate] of mutations) {
    it(`fails where src/compare does: ${what}`, async () => {
      const s = scenario(name);
      const { model, kernel } = await predicted(s);
      const wrong = structuredClone(model);
      mutate(wrong, s);
      const d = firstDivergence(wrong, kernel);
      expect(d).not.toBeNull();
      const r = await buildAndRun(renderReproC({ seq: s, model: wrong, profile, target }));
      expect(reported(r.stdout), r.stdout).toEqual({ call: d!.call, layer: d!.layer, proc: d!.proc ?? 0 });
      expect(r.exitCode).toBe(1);
    }, 120_000);
  }
});
