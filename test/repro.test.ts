// C reproducers: generated, compiled with `cc -static -Wall -Werror` and run on the host kernel.
// They must reach the same verdict as vmafuzz itself (the harness run judged by src/compare): exit
// 0 where the model matches the kernel, 1 at the same call, layer and process where it does not —
// for the seed corpus, the known kernel bugs of the regression corpus, expectations altered on
// every layer, findings of deliberately wrong models (the whole pipeline) and an older kernel's
// expectation.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { firstDivergence, type Divergence } from '../src/compare/compare.js';
import { judge, modelPredictor, type Judgement, type Predictor } from '../src/findings/judge.js';
import { minimizeJudgement } from '../src/findings/minimize.js';
import { cString, renderReproC } from '../src/findings/repro-c.js';
import { generate } from '../src/gen/generate.js';
import { makeProfile, parseRelease, type Prediction, type Profile } from '../src/model/index.js';
import { findCompiler } from '../src/runner/harness-build.js';
import { NativeRunner } from '../src/runner/native.js';
import { resolveFsDirs, type FsDirs } from '../src/runner/fsdirs.js';
import { DETAIL_RUN, type TargetInfo } from '../src/runner/types.js';
import type { SeqObservation } from '../src/seq/observation.js';
import { loadSequenceFile, parseSequence } from '../src/seq/io.js';
import type { Sequence } from '../src/seq/schema.js';
import { reproJson } from '../src/cli/json.js';
import { UsageError } from '../src/util/errors.js';
import { wrongMerge, wrongNoEnomem } from './helpers/wrong-model.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-repro-'));
let n = 0;
const compileMs: number[] = [];

/** Write, compile with cc -static -Wall -Werror, run; the exit code and output. */
async function buildAndRun(source: string): Promise<{ exitCode: number; stdout: string }> {
  const d = join(dir, String(n++));
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'repro.c'), source);
  const [ccBin, ...ccArgs] = findCompiler() ?? ['cc'];
  const t0 = Date.now();
  const cc = await execa(ccBin!, [...ccArgs, '-static', '-O2', '-Wall', '-Werror', '-o', join(d, 'repro'), join(d, 'repro.c')], { reject: false, all: true });
  compileMs.push(Date.now() - t0);
  expect(cc.all, 'compiler output').toBe('');
  expect(cc.exitCode).toBe(0);
  // generated sequences may declare disk files: the reproducer makes them where the harness does
  const env = Object.fromEntries(Object.entries(fsDirs).map(([k, v]) => [`VMAFUZZ_${k.toUpperCase()}_DIR`, v]));
  const r = await execa(join(d, 'repro'), [], { reject: false, timeout: 60_000, env });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout };
}

let runner: NativeRunner;
let fsDirs: FsDirs = {};
let target: TargetInfo;
let profile: Profile;
beforeAll(async () => {
  runner = new NativeRunner();
  target = await runner.start();
  fsDirs = await resolveFsDirs({}, () => {});
  profile = makeProfile(target.release, target.facts);
});
afterAll(async () => {
  await runner.close();
  if (compileMs.length) console.log(`[repro] ${compileMs.length} programs compiled, ${Math.round(compileMs.reduce((a, b) => a + b, 0) / compileMs.length)} ms each on average, ${Math.max(...compileMs)} ms at most`);
});

/**
 * The harness run (every layer after every call) and a prediction for it. A run the harness could
 * not finish has no snapshots past where it stopped, so firstDivergence() finds nothing in it: it
 * must fail here, naming the harness's reason, not pass for "the kernel matches the model" (a
 * harness of a build before 124e520 started in another PID namespace removed this harness's
 * private /dev/shm directory: every later sequence with a tmpfs file ended `error
 * file-setup-failed private-dir-removed`, and a known kernel bug and a mutation test "did not
 * diverge").
 */
async function predicted(s: Sequence, p: Predictor = modelPredictor, prof = profile): Promise<{ model: Prediction; kernel: SeqObservation }> {
  const [k] = await runner.run([s], DETAIL_RUN);
  if (k!.status !== 'ok') throw new Error(`the harness did not run ${s.name ?? 'the sequence'} to its end (${k!.status}: ${k!.detail ?? ''}): the environment, not a verdict`);
  return { model: p(s, k!, prof, true), kernel: k! };
}

/** The first difference the program reports (its FAIL line), in src/compare's terms. */
function reported(stdout: string): { call: number; layer: string; proc: number } | null {
  if (/^FAIL: the arena is not as the model expects before the first call/m.test(stdout)) {
    return { call: -1, layer: 'maps', proc: Number(/before the first call \(process (\d+)\)/.exec(stdout)?.[1] ?? 0) };
  }
  const m = /^FAIL: the kernel differs from the model at call (\d+) \((\w+)\)(?: \(process (\d+)\))?$/m.exec(stdout);
  return m ? { call: Number(m[1]), layer: m[2]!, proc: Number(m[3] ?? 0) } : null;
}
const where = (d: Divergence) => ({ call: d.call, layer: d.layer, proc: d.proc ?? 0 });
const callLines = (stdout: string) => stdout.split('\n').filter((l) => /^(>>|  ) {0,3}\d+ {2}/.test(l));

const older = (a: number[], b: number[]) => {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) < (b[i] ?? 0);
  return false;
};

describe('C reproducer', () => {
  it('exits 0 for every seed corpus file on the host, checking every layer', async () => {
    const files = readdirSync('corpus/seed').filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(30);
    const ops = new Set<string>();
    for (const f of files) {
      const s = loadSequenceFile(join('corpus/seed', f));
      s.calls.forEach((c) => ops.add(c.op === 'touch' ? `touch:${c.access}` : c.op));
      const { model, kernel } = await predicted(s);
      expect(firstDivergence(model, kernel), `${f}: the harness run matches the model`).toBeNull();
      const src = renderReproC({ seq: s, model, profile, target, source: f });
      expect(src, f).toMatch(/^#define CHECK_VMFLAGS 1\b/m);
      expect(src, f).toMatch(/^#define CHECK_PAGEMAP 1\b/m);
      const r = await buildAndRun(src);
      expect(r.stdout, f).toContain('OK: the kernel behaves as the model expects');
      expect(r.exitCode, f).toBe(0);
      expect(callLines(r.stdout), f).toHaveLength(s.calls.length);
    }
    // the seeds exercise every call of the sequence language
    for (const op of ['mmap', 'munmap', 'mprotect', 'touch:read', 'touch:write', 'touch:exec', 'madvise', 'mremap', 'mlock', 'mlock2', 'munlock', 'mseal', 'anon_name', 'ftruncate', 'uffd_create', 'uffd_register', 'uffd_unregister', 'fork', 'shmat', 'shmdt']) {
      expect(ops, op).toContain(op);
    }
  }, 600_000);

  it('exits 1 for the known kernel bugs of the regression corpus, where vmafuzz reports them', async () => {
    const files = readdirSync('corpus/regression').filter((f) => f.endsWith('.json'));
    const host = parseRelease(target.release)!;
    let known = 0;
    for (const f of files) {
      const s = loadSequenceFile(join('corpus/regression', f));
      const { model, kernel } = await predicted(s);
      const d = firstDivergence(model, kernel);
      // a kernel older than the fix has the bug, unless the fix may have reached its stable series
      // after the release the bug was seen in (seenIn 6.18.15, host 6.18.44: a backport can sit between)
      const seenOlderInSeries = (s.known?.seenIn ?? []).some((v) => {
        const sv = parseRelease(v)!;
        return sv[0] === host[0] && sv[1] === host[1] && older(sv, host);
      });
      if (s.known && older(host, parseRelease(s.known.fixedIn ?? '999.0')!) && !seenOlderInSeries) {
        known++;
        expect(d, `${f} is a known kernel bug on ${target.release}`).not.toBeNull();
      }
      // every regression file: the program's verdict is vmafuzz's
      const r = await buildAndRun(renderReproC({ seq: s, model, profile, target, source: f }));
      expect(r.exitCode, `${f}\n${r.stdout}`).toBe(d ? 1 : 0);
      expect(reported(r.stdout), f).toEqual(d ? where(d) : null);
    }
    expect(known).toBeGreaterThan(0);
  }, 300_000);

  // Expectations altered on one layer: the program must find the difference where src/compare does.
  type Mutation = [string, string, (m: Prediction) => void];
  const firstSnap = (m: Prediction, ok: (s: Prediction['snapshots'][number]) => boolean) => {
    const s = m.snapshots.find(ok);
    if (!s) throw new Error('no snapshot to alter');
    return s;
  };
  const mutations: Mutation[] = [
    ['result: an errno', 'madvise-errnos', (m) => void (m.calls[m.calls.findIndex((c) => c.errno !== 0)] = { ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 })],
    ['probe: an exec probe\'s signal', 'exec-probes', (m) => void (m.calls.find((c) => c.signal === 11)!.signal = 0)],
    ['probe: a userfaultfd event', 'uffd-events', (m) => void delete m.calls.find((c) => c.event === 'missing')!.event],
    ['maps: the arena before the first call', 'merge-new-prev-next', (m) => void firstSnap(m, (s) => s.after === -1).maps.push({ start: 0, end: 1, perms: 'rw-p', offset: 0, dev: '00:00', inode: 0, name: '' })],
    ['maps: a VMA of a fork child', 'fork-anon-vma-children', (m) => void (firstSnap(m, (s) => (s.proc ?? 0) === 1 && s.maps.length > 0).maps[0]!.perms = '---p')],
    ['maps: the parent\'s final snapshot', 'fork-dontfork-wipeonfork-unlock', (m) => void firstSnap(m, (s) => s.after === m.calls.length - 1 && (s.proc ?? 0) === 0).maps.pop()],
    ['maps: a file\'s identity', 'file-merge-pgoff', (m) => void (firstSnap(m, (s) => s.maps.filter((e) => e.inode !== 0).length > 1).maps.filter((e) => e.inode !== 0).pop()!.inode = 99)],
    ['maps: a tmpfs file\'s name', 'file-rdonly', (m) => void (firstSnap(m, (s) => s.maps.some((e) => e.name.includes('<tmpfs>'))).maps.find((e) => e.name.includes('<tmpfs>'))!.name = '<tmpfs>/f1 (deleted)')],
    ['vmflags: a missing mnemonic', 'mlock-onfault', (m) => {
      const e = firstSnap(m, (s) => s.maps.some((x) => / lf\b/.test(x.vmflags ?? ''))).maps.find((x) => / lf\b/.test(x.vmflags ?? ''))!;
      e.vmflags = e.vmflags!.replace(/ lf\b/, '');
    }],
    ['pagemap: a present page', 'madvise-discard', (m) => {
      const s = firstSnap(m, (x) => (x.pagemap ?? '').includes('P'));
      s.pagemap = s.pagemap!.replace('P', '-');
    }],
    ['pagemap of a fork child', 'fork-anon-vma-children', (m) => {
      const s = firstSnap(m, (x) => (x.proc ?? 0) === 1);
      s.pagemap = s.pagemap!.replace(/^./, (c) => (c === 'P' ? '-' : 'P'));
    }],
  ];
  for (const [what, file, mutate] of mutations) {
    it(`reports an altered expectation where src/compare does (${what})`, async () => {
      const s = loadSequenceFile(`corpus/seed/${file}.json`);
      const { model, kernel } = await predicted(s);
      const wrong = structuredClone(model);
      mutate(wrong);
      const d = firstDivergence(wrong, kernel);
      expect(d).not.toBeNull();
      const r = await buildAndRun(renderReproC({ seq: s, model: wrong, profile, target }));
      expect(reported(r.stdout), r.stdout).toEqual(where(d!));
      expect(r.exitCode).toBe(1);
    }, 60_000);
  }

  it('treats the order of VmFlags and a "?" page as the comparison does', async () => {
    const s = loadSequenceFile('corpus/seed/madvise-discard.json');
    const { model, kernel } = await predicted(s);
    const loose = structuredClone(model);
    for (const x of loose.snapshots) {
      x.pagemap = x.pagemap!.replace(/./g, '?');
      for (const e of x.maps) e.vmflags = e.vmflags!.split(' ').reverse().join(' ');
    }
    expect(firstDivergence(loose, kernel)).toBeNull();
    expect(loose.snapshots.some((x) => x.maps.length > 1 && x.maps[0]!.vmflags !== model.snapshots.find((y) => y.after === x.after)!.maps[0]!.vmflags)).toBe(true);
    const r = await buildAndRun(renderReproC({ seq: s, model: loose, profile, target }));
    expect(r.exitCode, r.stdout).toBe(0);
  }, 60_000);

  it("exits 1 where the expectation is an older kernel's (6.1 keeps VM_ACCOUNT after mprotect)", async () => {
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
    const r = await buildAndRun(renderReproC({ seq: s, model: (await predicted(s, modelPredictor, old)).model, profile: old, target }));
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('FAIL: the kernel differs from the model at call 2 (maps)');
    expect(r.stdout).toMatch(/kernel maps after call 2:\n {4}A\+0p-A\+4p r--p\n {4}pagemap: -{8}\nmodel maps after call 2:\n {4}A\+0p-A\+2p r--p\n {4}A\+2p-A\+4p r--p/);
    const ok = await buildAndRun(renderReproC({ seq: s, model: (await predicted(s)).model, profile, target }));
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
      const bad = await buildAndRun(renderReproC({ seq: m.seq, model: (await predicted(m.seq, wrong)).model, profile, target, observed: m.signatureText }));
      expect(bad.stdout).toContain(`FAIL: the kernel differs from the model at call ${d.call} (${layer})`);
      expect(bad.stdout.split('\n').find((l) => l.startsWith('>>'))).toMatch(new RegExp(`^>> {0,3}${d.call} `));
      expect(bad.exitCode).toBe(1);
      // the same program with the real model's expectation: the kernel matches
      const good = await buildAndRun(renderReproC({ seq: m.seq, model: (await predicted(m.seq)).model, profile, target }));
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
    // every part of the runtime: files (tmpfs), userfaultfd, fork, exec probes
    for (const file of ['mprotect-split-and-remerge', 'file-rdonly', 'fork-uffd', 'uffd-events', 'exec-probes']) {
      const s = loadSequenceFile(`corpus/seed/${file}.json`);
      const src = renderReproC({ seq: s, model: (await predicted(s)).model, profile, target, kselftest: true });
      const name = `vmafuzz_${file.replace(/-/g, '_')}`;
      expect(src).toContain('#include "../kselftest_harness.h"');
      expect(src).toMatch(new RegExp(`^TEST\\(${name}\\)$`, 'm'));
      expect(src).not.toMatch(/^int main/m);
      const ok = await buildAndRunKself(src, shim);
      expect(ok.stdout).toMatch(/^# vmafuzz reproducer:/m);
      expect(ok.stdout, file).toContain(`\nok ${name}`);
      expect(ok.exitCode).toBe(0);
    }
    // two faulted look-alike VMAs that the wrong model merges
    const t = loadSequenceFile('corpus/seed/anon-vma-distinct-refuse-merge.json');
    const wrong = renderReproC({ seq: t, model: (await predicted(t, wrongMerge)).model, profile, target, kselftest: true });
    const bad = await buildAndRunKself(wrong, shim);
    expect(bad.stdout).toContain('not ok vmafuzz_anon_vma_distinct_refuse_merge');
    expect(bad.stdout).toMatch(/^# FAIL: the kernel differs from the model at call \d+ \(maps\)/m);
    expect(bad.exitCode).toBe(1);
  }, 120_000);

  it('refuses a sequence whose snapshots do not fit the shared state (exit 2 in the CLI)', () => {
    const s = parseSequence({ vmafuzz: 1, arenaPages: 4096, calls: [{ op: 'mmap', addr: 'A+0p', len: '4096p', prot: 'PROT_READ', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' }] }, 'test');
    const vmas = Array.from({ length: 2000 }, (_, i) => ({ start: 2 * i, end: 2 * i + 1, perms: 'r--p', offset: 0, dev: '00:00', inode: 0, name: '' }));
    const model: Prediction = { calls: [{ ret: { kind: 'addr', page: 0, off: 0 }, errno: 0, signal: 0 }], snapshots: [{ after: -1, maps: [] }, { after: 0, maps: vmas }], status: 'ok', rules: [[]] };
    expect(() => renderReproC({ seq: s, model, profile, target })).toThrow(UsageError);
    expect(() => renderReproC({ seq: s, model: { ...model, snapshots: [{ after: 0, maps: vmas.slice(0, 100) }] }, profile, target })).toThrow(/no maps snapshot after call -1/);
    expect(renderReproC({ seq: s, model: { ...model, snapshots: [{ after: -1, maps: [] }, { after: 0, maps: vmas.slice(0, 1000) }] }, profile, target })).toMatch(/^#define MAX_VMAS \d+$/m);
  });

  it('escapes strings and comments so that no input can break the program', () => {
    expect(cString('a"b\\c\n\u00e9??=')).toBe('"a\\"b\\\\c\\012\\303\\251?\\077="');
  });

  it('vmafuzz repro writes the program and says what the target showed', async () => {
    const out = join(dir, 'cli.c');
    const r = await execa(process.execPath, [CLI, 'repro', 'corpus/seed/uffd-register.json', '--c', out, '--json'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = reproJson.parse(JSON.parse(r.stdout));
    expect(doc.status).toBe('match');
    const run = await buildAndRun(readFileSync(out, 'utf8'));
    expect(run.exitCode, run.stdout).toBe(0);
    expect((await execa(process.execPath, [CLI, 'repro', 'corpus/seed/munmap-hole-and-faults.json'], { reject: false })).exitCode).toBe(2); // --c is required
  }, 120_000);
});

/** The kselftest variant lives in a subdirectory, next to "../kselftest_harness.h". */
async function buildAndRunKself(source: string, header: string) {
  const d = join(dir, String(n++));
  mkdirSync(join(d, 'mm'), { recursive: true });
  writeFileSync(join(d, 'kselftest_harness.h'), header);
  writeFileSync(join(d, 'mm', 'test.c'), source);
  const [ccBin, ...ccArgs] = findCompiler() ?? ['cc'];
  const cc = await execa(ccBin!, [...ccArgs, '-static', '-O2', '-Wall', '-Werror', '-o', join(d, 'mm', 'test'), join(d, 'mm', 'test.c')], { reject: false, all: true });
  expect(cc.exitCode, cc.all).toBe(0);
  const r = await execa(join(d, 'mm', 'test'), [], { reject: false });
  return { exitCode: r.exitCode ?? -1, stdout: r.stdout };
}
