// Reusable sequence children (harness-c/persist.c) must not change a verdict: the same generated
// sequences, run natively with and without persistence, give the same observations (up to the
// kernel's own choices: shmem inode numbers, pages khugepaged may collapse at any time) and the
// same findings. The sequences are the campaign's default mix, so most of them run in reused
// children (userfaultfd ones with a resolver of their own each) and the rest (fork, mseal) fork
// afresh in between. The same in a
// QEMU guest, where the harness is PID 1 (`vmafuzz.persist=0` on the kernel command line).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fetchKernel, type KernelImage } from '../src/kernels/index.js';
import { QemuRunner } from '../src/runner/qemu.js';
import type { Runner, RunOptions } from '../src/runner/types.js';
import { ensureCommand } from './helpers/system.js';
import { generate } from '../src/gen/generate.js';
import { NativeRunner } from '../src/runner/native.js';
import { DETAIL_RUN, FAST_LAYERS_RUN, FAST_RUN } from '../src/runner/types.js';
import { makeProfile } from '../src/model/index.js';
import { judgeWith, predictAgainst } from '../src/campaign/check.js';
import type { SeqObservation } from '../src/seq/observation.js';
import type { Sequence } from '../src/seq/schema.js';

const SEED = 20261206;
const N = 1200;

/** Observations without what differs between two harness processes: the arena's absolute address
 *  (ASLR: `base`, `rawMaps`; outside placements relative to it), the harness's tmpfs directory, and the inode numbers the kernel
 *  hands out machine-wide and the device numbers (renumbered in order of appearance). */
function canonical(o: SeqObservation, tmpfsDir: string): string {
  const ino = new Map<number, number>();
  const devs = new Map<string, string>();
  const base = BigInt((o as { base?: string }).base ?? 0);
  return JSON.stringify(o, (k, v: unknown) => {
    if (k === 'base' || k === 'rawMaps') return undefined;
    // a mapping placed outside the arena: where, relative to the arena
    if (k === 'hex' && typeof v === 'string' && v) return `base${BigInt(v) - base >= 0n ? '+' : ''}${BigInt(v) - base}`;
    if (k === 'inode' && typeof v === 'number' && v !== 0) return ino.get(v) ?? (ino.set(v, ino.size + 1), ino.size);
    // and the device numbers: a guest's NVMe namespaces get their minors in probe order, which varies from boot to boot
    if (k === 'dev' && typeof v === 'string' && v !== '00:00') return devs.get(v) ?? (devs.set(v, `dev${devs.size + 1}`), `dev${devs.size}`);
    // each harness makes its own private directories: tmpfs, and vmafuzz-<pid>-<kind>-XXXXXX on disk filesystems
    if (k === 'name' && typeof v === 'string') return v.split(tmpfsDir).join('<tmpfs>').replace(/\/vmafuzz-\d+-(ext4|xfs|btrfs)-[A-Za-z0-9]{6}\//g, '/<$1>/');
    return typeof v === 'bigint' ? String(v) : v;
  });
}

async function runAll(runner: Runner, seqs: Sequence[], opts: RunOptions): Promise<{ obs: SeqObservation[]; release: string; facts: Record<string, string> }> {
  const t = await runner.start();
  try {
    const obs: SeqObservation[] = [];
    for (let i = 0; i < seqs.length; i += 64) obs.push(...(await runner.run(seqs.slice(i, i + 64), opts)));
    return { obs, release: t.release, facts: t.facts };
  } finally {
    await runner.close();
  }
}

/** Both runs observed the same and the model judges them the same; returns the divergent count. */
function expectSame(seqs: Sequence[], fresh: Awaited<ReturnType<typeof runAll>>, reused: Awaited<ReturnType<typeof runAll>>, every: boolean): number {
  const profile = makeProfile(fresh.release, fresh.facts);
  let differ = 0, verdicts = 0, findings = 0;
  const notes: string[] = [];
  for (let i = 0; i < seqs.length; i++) {
    const a = fresh.obs[i]!, b = reused.obs[i]!;
    const ca = canonical(a, fresh.facts['tmpfs_dir']!), cb = canonical(b, reused.facts['tmpfs_dir']!);
    if (ca !== cb) {
      differ++;
      if (notes.length < 3) {
        let k = 0;
        while (ca[k] === cb[k]) k++;
        notes.push(`#${i}: ...${ca.slice(Math.max(0, k - 150), k + 150)}\n   vs ...${cb.slice(Math.max(0, k - 150), k + 150)}`);
      }
    }
    const va = judgeWith(predictAgainst, profile, seqs[i]!, a, every);
    const vb = judgeWith(predictAgainst, profile, seqs[i]!, b, every);
    if (va.signature) findings++;
    if (va.signature !== vb.signature) verdicts++;
  }
  expect(verdicts, notes.join('\n')).toBe(0);
  expect(differ, notes.join('\n')).toBe(0);
  expect(fresh.obs.filter((o) => o.status === 'ok').length).toBeGreaterThan(seqs.length * 0.9);
  return findings;
}

// what harness-c/persist.c:persist_wanted refuses: a fork (blocks too), mseal
const reusableCount = (seqs: Sequence[]) => seqs.filter((s) => !s.calls.some((c) => c.op === 'fork' || c.op === 'mseal')).length;

describe('persistent sequence children', () => {
  const seqs = Array.from({ length: N }, (_, i) => generate(SEED, i));
  const reusable = reusableCount(seqs);

  for (const [name, opts] of [['maps only', FAST_RUN], ['every layer after every call', DETAIL_RUN], ['layers at the end', FAST_LAYERS_RUN]] as const) {
    it(`give the same observations and verdicts as fresh children (${name})`, async () => {
      expect(reusable).toBeGreaterThan(N / 3); // the test exercises reuse, interleaved with fresh forks
      const fresh = await runAll(new NativeRunner({ persist: false }), seqs, opts);
      const reused = await runAll(new NativeRunner({ persist: true }), seqs, opts);
      expect([fresh.facts['persist'], reused.facts['persist']]).toEqual(['0', '1']);
      const findings = expectSame(seqs, fresh, reused, opts.snapshotEveryCall);
      console.log(`native, ${name}: ${N} sequences (${reusable} reusable), ${findings} divergent, observations identical`);
    }, 300_000);
  }

  it('runs reusable sequences in one child and forks afresh for the others', async () => {
    // The harness's children (/proc/<pid>/task/<pid>/children): an idle reusable child stays
    // between batches, the same process for every reusable sequence; a sequence with fork
    // retires nothing but runs in a fresh child of its own; --no-persist leaves no child behind.
    const plain = seqs.filter((s) => s.calls.every((c) => ['mmap', 'munmap', 'mprotect', 'touch'].includes(c.op)) && !s.files).slice(0, 20);
    const forking = seqs.find((s) => s.calls.some((c) => c.op === 'fork'))!;
    expect(plain.length).toBe(20);
    const children = (r: NativeRunner) => {
      const pid = (r as unknown as { proc: { pid: number } }).proc.pid;
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    };
    const r = new NativeRunner({ persist: true });
    await r.start();
    try {
      await r.run(plain.slice(0, 10), FAST_RUN);
      const first = children(r);
      expect(first).toMatch(/^\d+$/);
      await r.run(plain.slice(10), FAST_RUN);
      expect(children(r)).toBe(first);
      await r.run([forking, plain[0]!], FAST_RUN);
      expect(children(r)).toBe(first);
      // A failed baseline check retires the child: an 80 MiB non-fixed mapping lands below the
      // 64 MiB window (no room in it), the reset leaves it there, map_count differs, the child ends
      // after its (ok) sequence; the next one gets a new child.
      const [big] = await r.runWire([{ arenaPages: 4, lines: [`mmap - 0 5000000 3 22 ffffffffffffffff 0`], returnsAddr: [true] }], FAST_RUN);
      expect(big!.status).toBe('ok');
      expect(big!.calls[0]!.ret.kind).toBe('outside');
      await r.run(plain.slice(0, 2), FAST_RUN);
      const second = children(r);
      expect(second).toMatch(/^\d+$/);
      expect(second).not.toBe(first);
    } finally {
      await r.close();
    }
    const f = new NativeRunner({ persist: false });
    await f.start();
    try {
      await f.run(plain, FAST_RUN);
      expect(children(f)).toBe('');
    } finally {
      await f.close();
    }
  });
});

describe('persistent sequence children in QEMU (Debian 6.12, the harness as PID 1)', () => {
  let image: KernelImage;
  beforeAll(async () => {
    await ensureCommand('qemu-system-x86_64', ['qemu-system-x86']);
    image = await fetchKernel('6.12');
  }, 600_000);

  it('give the same observations and verdicts as fresh children (vmafuzz.persist=0)', async () => {
    // disk files of every kind: xfs and btrfs are mounted by the guest on their first file, after
    // the reused child was forked (it must find them through the directory named before the fork)
    const seqs = Array.from({ length: 400 }, (_, i) => generate(SEED + 1, i));
    for (const k of ['ext4', 'xfs', 'btrfs']) expect(seqs.some((s) => s.files?.some((f) => f.kind === k)), k).toBe(true);
    const logs = mkdtempSync(join(tmpdir(), 'vmafuzz-persist-qemu-'));
    try {
      const fresh = await runAll(new QemuRunner({ image, logDir: join(logs, 'a'), append: 'vmafuzz.persist=0' }), seqs, FAST_LAYERS_RUN);
      const reused = await runAll(new QemuRunner({ image, logDir: join(logs, 'b') }), seqs, FAST_LAYERS_RUN);
      expect([fresh.facts['persist'], reused.facts['persist']]).toEqual(['0', '1']);
      const findings = expectSame(seqs, fresh, reused, false);
      // the lazily mounted kinds really ran (a missing directory is an infra error in both runs alike)
      const late = seqs.flatMap((s, i) => (s.files?.some((f) => f.kind === 'xfs' || f.kind === 'btrfs') ? [i] : []));
      for (const r of [fresh, reused]) expect(late.filter((i) => r.obs[i]!.status === 'ok').length).toBeGreaterThan(late.length * 0.9);
      console.log(`QEMU ${fresh.release}: ${seqs.length} sequences (${reusableCount(seqs)} reusable, ${late.length} with xfs/btrfs files), ${findings} divergent, observations identical`);
    } finally {
      rmSync(logs, { recursive: true, force: true });
    }
  }, 600_000);
});
