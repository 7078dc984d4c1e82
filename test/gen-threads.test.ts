// The generator of concurrent sequences (src/gen/threads.ts): valid corpus files, replayable from
// (seed, index), racing calls that share ranges, and no populating call in a racing thread.
import { describe, expect, it } from 'vitest';
import { generateConcurrent, DEFAULT_RACE_CONFIG } from '../src/gen/threads.js';
import { MADV, MAP } from '../src/seq/consts.js';
import { parseSequence, sequenceToJson } from '../src/seq/io.js';
import { racingCalls } from '../src/seq/threads.js';

const N = 500;
const cases = Array.from({ length: N }, (_, i) => generateConcurrent(3, i));

describe('concurrent sequence generator', () => {
  it('makes valid corpus files that round-trip, and the same case from (seed, index)', () => {
    for (const s of cases) expect(sequenceToJson(parseSequence(JSON.parse(sequenceToJson(s)), 'gen'))).toBe(sequenceToJson(s));
    expect(sequenceToJson(generateConcurrent(3, 17))).toBe(sequenceToJson(cases[17]!));
    expect(sequenceToJson(generateConcurrent(4, 17))).not.toBe(sequenceToJson(cases[17]!));
  });

  it('gives private hugetlb mappings MAP_NORESERVE when the case has an mremap (a partial move would leak the pool)', () => {
    const seqs = Array.from({ length: 4000 }, (_, i) => generateConcurrent(5, i));
    const all = (s: (typeof seqs)[number]) => [...s.calls, ...(s.threads ?? []).flatMap((t) => t.calls)];
    const privHuge = (c: ReturnType<typeof all>[number]) => c.op === 'mmap' && (c.flags & MAP.MAP_HUGETLB) !== 0 && (c.flags & 0x0f) === MAP.MAP_PRIVATE;
    const withMove = seqs.filter((s) => all(s).some((c) => c.op === 'mremap') && all(s).some(privHuge));
    expect(withMove.length).toBeGreaterThan(0); // the case this guards arises
    for (const s of withMove) for (const c of all(s).filter(privHuge)) expect(c.op === 'mmap' && (c.flags & MAP.MAP_NORESERVE) !== 0, `case ${s.origin?.index}`).toBe(true);
  });

  it('never puts a call that cannot race into a thread (case 511 of this seed once had a byte probe there)', () => {
    const seqs = Array.from({ length: 1000 }, (_, i) => generateConcurrent(262836563, i));
    for (const [i, s] of seqs.entries()) expect(() => parseSequence(JSON.parse(sequenceToJson(s)), `case ${i}`)).not.toThrow();
  });

  it('races on shared ranges: most cases have two threads acting on a common page', () => {
    const pages = (c: ReturnType<typeof racingCalls>[number]['call']) => {
      if (c.op === 'touch') return [c.addr.page];
      if ('addr' in c && c.addr && 'len' in c && c.len < 1n << 40n) return Array.from({ length: Math.max(1, Number(c.len / 4096n)) }, (_, k) => c.addr!.page + k);
      return [];
    };
    const shared = cases.filter((s) => {
      const byThread = new Map<number, Set<number>>();
      for (const r of racingCalls(s)) for (const p of pages(r.call)) (byThread.get(r.thread) ?? byThread.set(r.thread, new Set()).get(r.thread)!).add(p);
      const sets = [...byThread.values()];
      return sets.some((a, i) => sets.slice(i + 1).some((b) => [...a].some((p) => b.has(p))));
    }).length;
    expect(shared / N).toBeGreaterThan(0.5);
  });

  it('has threads, barriers, readers and racing forks, and no populating racing call', () => {
    expect(cases.every((s) => s.threads!.length === DEFAULT_RACE_CONFIG.threads)).toBe(true);
    expect(cases.some((s) => s.readers === 1)).toBe(true);
    expect(cases.some((s) => s.threads!.some((t) => t.calls.some((c) => c.op === 'sync')))).toBe(true);
    const racing = cases.flatMap((s) => racingCalls(s).map((r) => r.call));
    expect(racing.some((c) => c.op === 'fork')).toBe(true);
    for (const c of racing) {
      expect(['mlock', 'mlock2', 'uffd_create', 'uffd_register', 'uffd_unregister']).not.toContain(c.op);
      if (c.op === 'mmap') {
        expect(c.flags & (MAP.MAP_POPULATE | MAP.MAP_LOCKED)).toBe(0);
        expect(c.flags).toBeGreaterThanOrEqual(0);
      }
      if (c.op === 'madvise') expect([MADV.MADV_POPULATE_READ, MADV.MADV_POPULATE_WRITE]).not.toContain(c.advice);
      if (c.op === 'touch') expect(c.access).not.toBe('exec');
    }
  });
});
