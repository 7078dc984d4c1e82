// Semantic bisection: the search itself against fake kernels (every case, counting probes), then
// once for real: a sequence whose behaviour changed between Debian kernels, booted in QEMU, found
// in one `vmafuzz bisect` command.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bisectKernels, kernelRunnerOptions, kernelTester, type Verdict } from '../src/findings/bisect.js';
import { bisectJson } from '../src/cli/json.js';
import { NativeRunner } from '../src/runner/native.js';
import { parseSequence } from '../src/seq/io.js';
import { CannotTestError } from '../src/util/errors.js';
import { wrongMerge } from './helpers/wrong-model.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const match: Verdict = { kind: 'match', detail: '' };
const div = (signature: string): Verdict => ({ kind: 'diverge', signature, detail: '' });
const skip: Verdict = { kind: 'skip', detail: 'does not boot' };

/** Fake kernels k0..k(n-1) with the given verdicts; records the probes. */
function fake(verdicts: Verdict[]) {
  const kernels = verdicts.map((_, i) => `k${i}`);
  const probes: string[] = [];
  const test = async (k: string) => {
    probes.push(k);
    return verdicts[Number(k.slice(1))]!;
  };
  return { kernels, probes, test };
}

describe('bisectKernels', () => {
  it('finds the first kernel that diverges, in a logarithmic number of probes', async () => {
    for (let n = 2; n <= 40; n++) {
      for (let change = 1; change < n; change++) {
        const f = fake(Array.from({ length: n }, (_, i) => (i < change ? match : div('s1'))));
        const r = await bisectKernels(f.kernels, f.test);
        expect(r.status).toBe('changed');
        expect(r.lastSame).toBe(`k${change - 1}`);
        expect(r.firstChanged).toBe(`k${change}`);
        expect(r.skipped).toEqual([]);
        expect(new Set(f.probes).size).toBe(f.probes.length); // nothing probed twice
        expect(f.probes.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(n - 1)));
      }
    }
  });

  it('tells divergences apart by signature, and finds where a divergence goes away', async () => {
    const f = fake([div('old'), div('old'), div('old'), div('new'), div('new'), match]);
    const r = await bisectKernels(f.kernels, f.test);
    expect([r.lastSame, r.firstChanged]).toEqual(['k2', 'k3']);
    const g = fake([div('a'), div('a'), match, match, match]);
    const s = await bisectKernels(g.kernels, g.test);
    expect([s.lastSame, s.firstChanged]).toEqual(['k1', 'k2']);
    expect(s.message).toMatch(/between k1 \(diverges, signature a\) and k2 \(matches the model\)/);
  });

  it('steps around kernels that cannot be tested, and reports them when the change may hide there', async () => {
    const f = fake([match, match, skip, match, skip, skip, div('x'), div('x')]);
    const r = await bisectKernels(f.kernels, f.test);
    expect([r.lastSame, r.firstChanged]).toEqual(['k3', 'k6']);
    expect(r.skipped).toEqual(['k4', 'k5']);
    expect(r.message).toContain('untestable in between: k4, k5');
    // untestable ends: the oldest and newest testable kernels are the ends
    const g = fake([skip, match, match, div('x'), skip]);
    const s = await bisectKernels(g.kernels, g.test);
    expect([s.status, s.lastSame, s.firstChanged]).toEqual(['changed', 'k2', 'k3']);
  });

  it('says so when nothing changed or too little could be tested', async () => {
    const f = fake([div('x'), match, div('x')]);
    const r = await bisectKernels(f.kernels, f.test);
    expect(r.status).toBe('unchanged');
    expect(f.probes).toEqual(['k0', 'k2']); // only the ends: a change and its revert are not looked for
    expect((await bisectKernels(['a', 'b'], async () => skip)).status).toBe('undecided');
    expect((await bisectKernels(['a', 'b', 'c'], async (k) => (k === 'b' ? match : skip))).message).toBe('only b could be tested');
    expect((await bisectKernels(['a'], async () => match)).status).toBe('undecided');
  });
});

describe('kernelTester', () => {
  const s = parseSequence(
    {
      vmafuzz: 1,
      arenaPages: 16,
      calls: [
        { op: 'mmap', addr: 'A+0p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
        { op: 'mmap', addr: 'A+4p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
        { op: 'touch', addr: 'A+0p', access: 'write' },
        { op: 'touch', addr: 'A+4p', access: 'write' },
        { op: 'mmap', addr: 'A+2p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
      ],
    },
    'test',
  );

  it('turns runs into verdicts (with a runner factory standing in for QEMU) and skips what cannot boot', async () => {
    const made: unknown[] = [];
    const native = async (o: unknown) => {
      made.push(o);
      return new NativeRunner();
    };
    expect(await kernelTester(s, { makeRunner: native })('6.12')).toMatchObject({ kind: 'match' });
    const d = await kernelTester(s, { makeRunner: native, predictor: wrongMerge })('7.3');
    expect(d).toMatchObject({ kind: 'diverge', detail: expect.stringMatching(/^maps at call 4: kernel-split/) });
    expect(made).toEqual([{ runner: 'qemu', kernel: '6.12' }, { runner: 'qemu', kernel: '7.3' }]);
    const noBoot = kernelTester(s, { makeRunner: async () => Promise.reject(new CannotTestError('cannot boot')) });
    expect(await noBoot('6.1')).toEqual({ kind: 'skip', detail: 'cannot boot' });
    expect(kernelRunnerOptions('/boot/vmlinuz-x')).toEqual({ runner: 'qemu', kernelImage: '/boot/vmlinuz-x' });
  }, 60_000);
});

describe('vmafuzz bisect on Debian kernels (QEMU)', () => {
  // A faulted VMA mprotect()ed to match an unfaulted neighbour: 7.3 merges it (the survivor
  // inherits the anon_vma), 6.1 and 6.12 refuse (profile row anon_vma.merge_faulted_into_unfaulted).
  const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-bisect-'));
  const file = join(dir, 'faulted-into-unfaulted.json');
  const NR = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED|MAP_NORESERVE';
  writeFileSync(
    file,
    JSON.stringify({
      vmafuzz: 1,
      arenaPages: 16,
      calls: [
        { op: 'mmap', addr: 'A+0p', len: '2p', prot: 'PROT_READ', flags: NR },
        { op: 'mmap', addr: 'A+2p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: NR },
        { op: 'touch', addr: 'A+2p', access: 'write' },
        { op: 'mprotect', addr: 'A+2p', len: '2p', prot: 'PROT_READ' },
      ],
    }),
  );

  it('finds the pair of kernels where the behaviour changed, in one command', async () => {
    const r = await execa(process.execPath, [CLI, 'bisect', file, '--kernels', '6.1,6.12,7.3', '--profile', '7.3', '--json'], { reject: false });
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = bisectJson.parse(JSON.parse(r.stdout));
    expect(doc.result.status).toBe('changed');
    expect([doc.result.lastSame, doc.result.firstChanged]).toEqual(['6.12', '7.3']);
    expect(doc.steps.map((s) => [s.kernel, s.verdict])).toEqual([
      ['6.1', 'diverge'],
      ['7.3', 'match'],
      ['6.12', 'diverge'],
    ]);
    expect(doc.steps[0]!.detail).toMatch(/^maps at call 3: kernel-split/);
    expect(doc.steps[0]!.signature).toBe(doc.steps[2]!.signature);
    expect(doc.steps[2]!.release).toMatch(/^6\.12\./);
    // each kernel against its own profile: the model knows the change, all three match
    const own = await execa(process.execPath, [CLI, 'bisect', file, '--kernels', '6.1,6.12,7.3'], { reject: false });
    expect(own.exitCode, own.stderr).toBe(0);
    expect(own.stdout).toMatch(/^UNCHANGED: 6\.1 and 7\.3 behave the same \(matches the model/m);
  }, 600_000);
});
