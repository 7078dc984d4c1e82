// Reusable sequence children (harness-c/persist.c) must not change a verdict: the same generated
// sequences, run natively with and without persistence, give the same observations (up to the
// kernel's own choices: shmem inode numbers, pages khugepaged may collapse at any time) and the
// same findings. The sequences are the campaign's default mix, so about half of them run in
// reused children and the rest (fork, userfaultfd, mseal) fork afresh in between.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
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
 *  hands out machine-wide (renumbered in order of appearance). */
function canonical(o: SeqObservation, tmpfsDir: string): string {
  const ino = new Map<number, number>();
  const base = BigInt((o as { base?: string }).base ?? 0);
  return JSON.stringify(o, (k, v: unknown) => {
    if (k === 'base' || k === 'rawMaps') return undefined;
    // a mapping placed outside the arena: where, relative to the arena
    if (k === 'hex' && typeof v === 'string' && v) return `base${BigInt(v) - base >= 0n ? '+' : ''}${BigInt(v) - base}`;
    if (k === 'inode' && typeof v === 'number' && v !== 0) return ino.get(v) ?? (ino.set(v, ino.size + 1), ino.size);
    if (k === 'name' && typeof v === 'string') return v.split(tmpfsDir).join('<tmpfs>');
    return typeof v === 'bigint' ? String(v) : v;
  });
}

async function runAll(persist: boolean, seqs: Sequence[], opts: typeof FAST_RUN): Promise<{ obs: SeqObservation[]; release: string; facts: Record<string, string> }> {
  const runner = new NativeRunner({ persist });
  const t = await runner.start();
  try {
    const obs: SeqObservation[] = [];
    for (let i = 0; i < seqs.length; i += 64) obs.push(...(await runner.run(seqs.slice(i, i + 64), opts)));
    return { obs, release: t.release, facts: t.facts };
  } finally {
    await runner.close();
  }
}

describe('persistent sequence children', () => {
  const seqs = Array.from({ length: N }, (_, i) => generate(SEED, i));
  const reusable = seqs.filter((s) => !s.calls.some((c) => c.op === 'fork' || c.op.startsWith('uffd') || c.op === 'mseal')).length;

  for (const [name, opts] of [['maps only', FAST_RUN], ['every layer after every call', DETAIL_RUN], ['layers at the end', FAST_LAYERS_RUN]] as const) {
    it(`give the same observations and verdicts as fresh children (${name})`, async () => {
      expect(reusable).toBeGreaterThan(N / 3); // the test exercises reuse, interleaved with fresh forks
      const fresh = await runAll(false, seqs, opts);
      const reused = await runAll(true, seqs, opts);
      const profile = makeProfile(fresh.release, fresh.facts);
      const every = opts.snapshotEveryCall;
      let differ = 0, verdicts = 0, findings = 0;
      const notes: string[] = [];
      for (let i = 0; i < N; i++) {
        const a = fresh.obs[i]!, b = reused.obs[i]!;
        const ca = canonical(a, fresh.facts['tmpfs_dir']!), cb = canonical(b, reused.facts['tmpfs_dir']!);
        if (ca !== cb) {
          differ++;
          // the only difference the kernel itself may make between two runs: pages khugepaged
          // collapsed meanwhile, which the model leaves open ('?') and never judges
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
      expect(fresh.obs.filter((o) => o.status === 'ok').length).toBeGreaterThan(N * 0.9);
      console.log(`${name}: ${N} sequences (${reusable} reusable), ${findings} divergent, observations identical`);
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
