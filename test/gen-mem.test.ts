// Generation of madvise / mlock / mseal / anon_name calls and exec probes (src/gen/ops-mem.ts), and
// the --ops families (src/gen/families.ts).
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, generate, parseWeights } from '../src/gen/generate.js';
import { expandOps, FAMILIES } from '../src/gen/families.js';
import { MEM_OPS } from '../src/gen/ops-mem.js';
import { parseSequence, sequenceToJson } from '../src/seq/io.js';
import { arenaProblem, OPS } from '../src/seq/schema.js';

describe('mem ops generation', () => {
  const weights = parseWeights(OPS.map((o) => `${o}=${(MEM_OPS as readonly string[]).includes(o) ? 4 : o === 'mmap' ? 2 : 0}`).join(','));
  const seqs = Array.from({ length: 400 }, (_, i) => generate(5, i, { ...DEFAULT_CONFIG, weights }));
  const calls = seqs.flatMap((s) => s.calls.map((c) => ({ c, arena: s.arenaPages })));

  it('produces every op of the family, inside the arena, and survives the corpus text form', () => {
    for (const op of MEM_OPS) expect(calls.some(({ c }) => c.op === op), op).toBe(true);
    for (const { c, arena } of calls) expect(arenaProblem(c, arena)).toBeNull();
    for (const s of seqs.slice(0, 50)) expect(parseSequence(JSON.parse(sequenceToJson(s)), 'gen')).toEqual(s);
  });

  it('never asks for MADV_HWPOISON or MADV_SOFT_OFFLINE, and reaches guard and populate advice', () => {
    const advice = calls.flatMap(({ c }) => (c.op === 'madvise' ? [c.advice] : []));
    expect(advice.some((a) => a === 100 || a === 101)).toBe(false);
    for (const a of [102, 103, 22, 23, 4, 8]) expect(advice, String(a)).toContain(a);
  });

  it('touch includes exec probes', () => {
    const w = parseWeights(OPS.map((o) => `${o}=${o === 'mmap' || o === 'touch' ? 1 : 0}`).join(','));
    const acc = Array.from({ length: 200 }, (_, i) => generate(9, i, { ...DEFAULT_CONFIG, weights: w })).flatMap((s) => s.calls.flatMap((c) => (c.op === 'touch' ? [c.access] : [])));
    expect(new Set(acc)).toEqual(new Set(['read', 'write', 'exec']));
  });
});

describe('--ops families', () => {
  it('expand to their ops plus the core calls; op names still work; unknown names are refused', () => {
    expect(expandOps('mlock')).toEqual(['mmap', 'munmap', 'mprotect', 'touch', 'mlock', 'mlock2', 'munlock']);
    expect(expandOps('mlock2')).toEqual(['mlock2']); // an op that is no family: just the op
    expect(expandOps('madvise,mseal').sort()).toEqual(['madvise', 'mmap', 'mprotect', 'mseal', 'munmap', 'touch']);
    expect(expandOps('mem')).toEqual(FAMILIES.mem);
    expect(() => expandOps('mmap,bogus')).toThrow(/unknown op "bogus"/);
  });
});
