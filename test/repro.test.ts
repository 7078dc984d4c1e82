// C reproducers: generated, compiled with `cc -static` and run on the host kernel. They exit 0
// where the model matches the kernel, and 1 (printing the first difference) where the embedded
// expectation is wrong: findings of a deliberately wrong model, minimized first (the whole
// pipeline), and the expectation of an older kernel's profile.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predictAgainst } from '../src/campaign/check.js';
import { judge, modelPredictor, type Judgement, type Predictor } from '../src/findings/judge.js';
import { minimizeJudgement } from '../src/findings/minimize.js';
import { cString, renderReproC } from '../src/findings/repro-c.js';
import { generate } from '../src/gen/generate.js';
import { makeProfile, type Prediction, type Profile } from '../src/model/index.js';
import { findCompiler } from '../src/runner/harness-build.js';
import { NativeRunner } from '../src/runner/native.js';
import type { TargetInfo } from '../src/runner/types.js';
import { loadSequenceFile, parseSequence } from '../src/seq/io.js';
import type { Sequence } from '../src/seq/schema.js';
import { reproJson } from '../src/cli/json.js';
import { wrongMerge, wrongNoEnomem } from './helpers/wrong-model.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-repro-'));
let n = 0;

/** Write, compile with cc -static -Wall -Werror, run; the exit code and output. */
async function buildAndRun(source: string, extraFiles: Record<string, string> = {}): Promise<{ exitCode: number; stdout: string }> {
  const d = join(dir, String(n++), 'mm');
  mkdirSync(d, { recursive: true });
  for (const [f, text] of Object.entries(extraFiles)) writeFileSync(join(d, f), text);
  writeFileSync(join(d, 'repro.c'), source);
  const [ccBin, ...ccArgs] = findCompiler() ?? ['cc'];
  const cc = await execa(ccBin!, [...ccArgs, '-static', '-O2', '-Wall', '-Werror', '-o', join(d, 'repro'), join(d, 'repro.c')], { reject: false, all: true });
  expect(cc.all, 'compiler output').toBe('');
  expect(cc.exitCode).toBe(0);
  const r = await execa(join(d, 'repro'), [], { reject: false });
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
afterAll(() => runner.close());

async function predicted(s: Sequence, p: Predictor = modelPredictor, prof = profile): Promise<Prediction> {
  const [k] = await runner.run([s], { snapshotEveryCall: true });
  return p(s, k!, prof, true);
}

describe('C reproducer', () => {
  it('exits 0 for every seed corpus file on the host, where the model matches', async () => {
    const files = readdirSync('corpus/seed').filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(5);
    for (const f of files) {
      const s = loadSequenceFile(join('corpus/seed', f));
      const r = await buildAndRun(renderReproC({ seq: s, model: await predicted(s), profile, target, source: f }));
      expect(r.stdout, f).toContain('OK: the kernel behaves as the model expects');
      expect(r.exitCode, f).toBe(0);
      expect(r.stdout.split('\n').filter((l) => /^(>>|  ) {0,3}\d+ {2}/.test(l))).toHaveLength(s.calls.length);
    }
  }, 300_000);

  it('exits 1 where the expectation is an older kernel\'s (6.1 keeps VM_ACCOUNT after mprotect)', async () => {
    const s = parseSequence(
      {
        vmafuzz: 1,
        arenaPages: 8,
        calls: [
          { op: 'mmap', addr: 'A+0p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
          { op: 'mmap', addr: 'A+2p', len: '2p', prot: 'PROT_READ', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
          { op: 'mprotect', addr: 'A+0p', len: '2p', prot: 'PROT_READ' },
        ],
      },
      'test',
    );
    const old = makeProfile('6.1.158', target.facts);
    const r = await buildAndRun(renderReproC({ seq: s, model: await predicted(s, modelPredictor, old), profile: old, target }));
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('FAIL: the kernel differs from the model at call 2 (maps)');
    expect(r.stdout).toMatch(/kernel maps after call 2:\n {4}A\+0p-A\+4p r--p\nmodel maps after call 2:\n {4}A\+0p-A\+2p r--p\n {4}A\+2p-A\+4p r--p/);
    const ok = await buildAndRun(renderReproC({ seq: s, model: await predicted(s), profile, target }));
    expect(ok.exitCode).toBe(0);
  }, 120_000);

  for (const [name, wrong, layer] of [['merges look-alike VMAs', wrongMerge, 'maps'], ['drops ENOMEM', wrongNoEnomem, 'result']] as const) {
    it(`pipeline: a model that ${name} -> findings -> minimized -> C program that shows the divergence`, async () => {
      const seqs = Array.from({ length: 200 }, (_, i) => generate(777, i));
      const kernel = await runner.run(seqs, { snapshotEveryCall: true });
      const found = seqs.map((s, i) => judge(wrong, profile, s, kernel[i]!)).filter((j): j is Judgement & { signature: string } => j.kernel.status === 'ok' && j.signature !== undefined);
      expect(found.length).toBeGreaterThan(0);
      const f = found.sort((a, b) => b.seq.calls.length - a.seq.calls.length)[0]!;
      const t0 = Date.now();
      const m = await minimizeJudgement(runner, profile, f, { predictor: wrong });
      console.log(`[${name}] ${f.seq.calls.length} -> ${m.seq.calls.length} calls in ${Date.now() - t0} ms; ${m.signatureText}`);
      expect(m.confirmed).toBe(true);
      expect(m.seq.calls.length).toBeLessThanOrEqual(5);
      const d = m.judgement.divergence!;
      const bad = await buildAndRun(renderReproC({ seq: m.seq, model: await predicted(m.seq, wrong), profile, target, observed: m.signatureText }));
      expect(bad.stdout).toContain(`FAIL: the kernel differs from the model at call ${d.call} (${layer})`);
      expect(bad.stdout.split('\n').find((l) => l.startsWith('>>'))).toMatch(new RegExp(`^>> {0,3}${d.call} `));
      expect(bad.exitCode).toBe(1);
      // the same program with the real model's expectation: the kernel matches
      const good = await buildAndRun(renderReproC({ seq: m.seq, model: await predicted(m.seq), profile, target }));
      expect(good.exitCode).toBe(0);
    }, 300_000);
  }

  it('--kselftest emits a TEST() that builds against a stand-in kselftest_harness.h and fails only on a difference', async () => {
    // Not the kernel's header (not available here): the few macros the TEST uses, to check the
    // generated code compiles and behaves; the real header runs the TEST in a forked child the same way.
    const shim = [
      '#include <stdio.h>',
      '#define TEST(name) static void name(int *failed_); static const char *test_name_ = #name; static void (*test_)(int *) = name; static void name(int *failed_)',
      '#define SKIP(statement, fmt, ...) do { printf("# SKIP " fmt "\\n", ##__VA_ARGS__); statement; } while (0)',
      '#define ASSERT_EQ(expected, seen) do { if ((expected) != (seen)) { *failed_ = 1; return; } } while (0)',
      '#define TEST_HARNESS_MAIN int main(void) { int failed = 0; test_(&failed); printf("%s %s\\n", failed ? "not ok" : "ok", test_name_); return failed; }',
    ].join('\n');
    const s = loadSequenceFile('corpus/seed/mprotect-split-and-remerge.json');
    const src = renderReproC({ seq: s, model: await predicted(s), profile, target, kselftest: true });
    expect(src).toContain('#include "../kselftest_harness.h"');
    expect(src).toMatch(/^TEST\(vmafuzz_mprotect_split_and_remerge\)$/m);
    expect(src).not.toMatch(/^int main/m);
    const files = { '../kselftest_harness.h': shim };
    const ok = await buildAndRunKself(src, files);
    expect(ok.stdout).toMatch(/^# vmafuzz reproducer:/m);
    expect(ok.stdout).toContain('ok vmafuzz_mprotect_split_and_remerge');
    expect(ok.exitCode).toBe(0);
    // two faulted look-alike VMAs that the wrong model merges
    const t = loadSequenceFile('corpus/seed/anon-vma-distinct-refuse-merge.json');
    const wrong = renderReproC({ seq: t, model: await predicted(t, wrongMerge), profile, target, kselftest: true });
    const bad = await buildAndRunKself(wrong, files);
    expect(bad.stdout).toContain('not ok vmafuzz_anon_vma_distinct_refuse_merge');
    expect(bad.stdout).toMatch(/^# FAIL: the kernel differs from the model at call \d+ \(maps\)/m);
    expect(bad.exitCode).toBe(1);
  }, 120_000);

  it('escapes strings and comments so that no input can break the program', () => {
    expect(cString('a"b\\c\n\u00e9??=')).toBe('"a\\"b\\\\c\\012\\303\\251?\\077="');
  });

  it('vmafuzz repro writes the program and says what the target showed', async () => {
    const out = join(dir, 'cli.c');
    const r = await execa(process.execPath, [CLI, 'repro', 'corpus/seed/munmap-hole-and-faults.json', '--c', out, '--json'], { reject: false });
    expect(r.exitCode).toBe(0);
    const doc = reproJson.parse(JSON.parse(r.stdout));
    expect(doc.status).toBe('match');
    const run = await buildAndRun(readFileSync(out, 'utf8'));
    expect(run.exitCode).toBe(0);
    expect((await execa(process.execPath, [CLI, 'repro', 'corpus/seed/munmap-hole-and-faults.json'], { reject: false })).exitCode).toBe(2); // --c is required
  }, 120_000);
});

/** The kselftest variant lives in a subdirectory, next to "../kselftest_harness.h". */
async function buildAndRunKself(source: string, files: Record<string, string>) {
  const d = join(dir, String(n++));
  mkdirSync(join(d, 'mm'), { recursive: true });
  writeFileSync(join(d, 'kselftest_harness.h'), files['../kselftest_harness.h']!);
  writeFileSync(join(d, 'mm', 'test.c'), source);
  const [ccBin, ...ccArgs] = findCompiler() ?? ['cc'];
  const cc = await execa(ccBin!, [...ccArgs, '-static', '-O2', '-Wall', '-o', join(d, 'mm', 'test'), join(d, 'mm', 'test.c')], { reject: false, all: true });
  expect(cc.exitCode, cc.all).toBe(0);
  const r = await execa(join(d, 'mm', 'test'), [], { reject: false });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout };
}
