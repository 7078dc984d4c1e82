// C reproducers with failNth: every call that carries one is injected, a fork's (plain or of a
// fork block) around the fork syscall alone (harness-c/repro/fail-nth.c:fail_nth_fork), a call in
// a fork block's child in that child. Compiled with `cc -static -Wall -Werror` and run on the host,
// which may lack /proc/thread-self/fail-nth (then the program cannot test: exit 125).
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelPredictor } from '../src/findings/judge.js';
import { renderReproC } from '../src/findings/repro-c.js';
import { makeProfile, type Profile } from '../src/model/index.js';
import { findCompiler } from '../src/runner/harness-build.js';
import { NativeRunner } from '../src/runner/native.js';
import { DETAIL_RUN, type TargetInfo } from '../src/runner/types.js';
import { parseSequence } from '../src/seq/io.js';

const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-repro-fn-'));
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

/** Build the program with -Wall -Werror (the compiler must say nothing); its directory. */
async function compile(src: string, name: string): Promise<string> {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'repro.c'), src);
  const [cc, ...ccArgs] = findCompiler() ?? ['cc'];
  const built = await execa(cc!, [...ccArgs, '-static', '-O2', '-Wall', '-Werror', '-o', join(d, 'repro'), join(d, 'repro.c')], { reject: false, all: true });
  expect(built.all, 'compiler output').toBe('');
  return d;
}

const RW = 'PROT_READ|PROT_WRITE';
const ANON = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';

describe('C reproducer: failNth', () => {
  it('injects the failNth of a fork block, of a call in its child and of a plain fork', async () => {
    const seq = parseSequence(
      {
        vmafuzz: 1,
        arenaPages: 16,
        calls: [
          { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
          { op: 'fork', until: 'exit', failNth: 5 },
          { op: 'munmap', addr: 'A+1p', len: '1p', failNth: 2 },
          { op: 'exit' },
          { op: 'fork', failNth: 3 },
          { op: 'mprotect', addr: 'A+0p', len: '1p', prot: 'PROT_READ' },
        ],
      },
      'test',
    );
    const [k] = await runner.run([seq], DETAIL_RUN);
    const src = renderReproC({ seq, model: modelPredictor(seq, k!, profile, true), profile, target, source: 'test' });
    const body = src.slice(src.indexOf('static void run_sequence(void)'));
    // the fork's failNth right before the fork block, the child's call armed inside it
    expect(body).toMatch(/\tnext_fork_nth = 5;[^\n]*\n\tif \(fork_block\(1, 3\) == 0\) \{/);
    expect(body).toMatch(/\t\tfail_nth_arm\(2\);\n\t\t[^\n]*SYS_munmap/);
    expect(body).toMatch(/\tnext_fork_nth = 3;[^\n]*\n\tdo_fork\(4\);/);
    expect(src).not.toMatch(/not injected/);
    expect(src).toMatch(/^#define HAVE_FAIL_NTH 1$/m);
    expect(src).toMatch(/^#define PLAIN_FORK 1/m);

    const d = await compile(src, 'a');
    const r = await execa(join(d, 'repro'), [], { reject: false, timeout: 60_000 });
    if (!existsSync('/proc/thread-self/fail-nth')) {
      expect(r.exitCode).toBe(125);
      expect(r.stderr).toMatch(/cannot arm \/proc\/thread-self\/fail-nth/);
    } else {
      expect([0, 1]).toContain(r.exitCode); // the verdict of a kernel with fault injection
    }
  }, 120_000);

  it('a failNth uffd_create hands its descriptor to the resolver after fail-nth is read back', async () => {
    // as the harness does (harness-c/uffd.c:uffd_handoff): the count userfaultfd + UFFDIO_API left
    // must not fire in the reproducer's own sendmsg to its resolver
    const seq = parseSequence({ vmafuzz: 1, arenaPages: 8, calls: [{ op: 'uffd_create', features: '0', failNth: 3 }, { op: 'uffd_create', features: '0' }] }, 'test');
    const [k] = await runner.run([seq], DETAIL_RUN);
    const src = renderReproC({ seq, model: modelPredictor(seq, k!, profile, true), profile, target, source: 'test' });
    const body = src.slice(src.indexOf('static void run_sequence(void)'));
    expect(body).toMatch(/\tuffd_defer = 1;\n\tfail_nth_arm\(3\);\n\tuffd_create\(0, 0, [^\n]*\n\tif \(!fail_nth_fired\(\)\)\n[^\n]*\n\tuffd_handoff\(\);\n/);
    expect(body).toMatch(/\n\tuffd_create\(1, 1, /); // the second, without failNth, hands over at once
    await compile(src, 'c');
  }, 120_000);

  it('a fork block alone compiles without do_fork', async () => {
    const seq = parseSequence({ vmafuzz: 1, arenaPages: 8, calls: [{ op: 'fork', until: 'exit', failNth: 1 }, { op: 'exit' }] }, 'test');
    const [k] = await runner.run([seq], DETAIL_RUN);
    const src = renderReproC({ seq, model: modelPredictor(seq, k!, profile, true), profile, target, source: 'test' });
    expect(src).toMatch(/^#define PLAIN_FORK 0/m);
    await compile(src, 'b');
  }, 120_000);
});
