import { describe, expect, it } from 'vitest';
import { generate, DEFAULT_CONFIG, parseWeights } from '../src/gen/generate.js';
import { parseSequence, sequenceToJson } from '../src/seq/io.js';
import { arenaProblem, OPS } from '../src/seq/schema.js';

describe('generator', () => {
  it('regenerates any case from (seed, index) alone', () => {
    for (const i of [0, 1, 17, 999]) expect(sequenceToJson(generate(42, i))).toBe(sequenceToJson(generate(42, i)));
    expect(sequenceToJson(generate(42, 1))).not.toBe(sequenceToJson(generate(42, 2)));
    expect(sequenceToJson(generate(42, 1))).not.toBe(sequenceToJson(generate(43, 1)));
  });

  it('only produces valid corpus files that stay inside their arena', () => {
    for (let i = 0; i < 500; i++) {
      const s = generate(7, i);
      for (const c of s.calls) expect(arenaProblem(c, s.arenaPages)).toBeNull();
      expect(() => parseSequence(JSON.parse(sequenceToJson(s)), `case ${i}`)).not.toThrow();
    }
  });

  it('reuses earlier ranges so that calls overlap', () => {
    let overlapping = 0;
    let total = 0;
    for (let i = 0; i < 300; i++) {
      const s = generate(3, i);
      const seen: Array<[number, number]> = [];
      for (const c of s.calls) {
        if (!('len' in c) || !c.addr || c.len === 0n || c.len > 1n << 40n) continue;
        const a = c.addr.page;
        const b = a + Number(c.len / 4096n);
        total++;
        if (seen.some(([x, y]) => a < y && x < b)) overlapping++;
        seen.push([a, b]);
      }
    }
    expect(overlapping / total).toBeGreaterThan(0.4);
  });

  it('honours op weights', () => {
    const cfg = { ...DEFAULT_CONFIG, weights: parseWeights(OPS.filter((o) => o !== 'mmap').map((o) => `${o}=0`).join(',')) };
    for (let i = 0; i < 50; i++) expect(generate(1, i, cfg).calls.every((c) => c.op === 'mmap')).toBe(true);
    expect(() => parseWeights('bogus=1')).toThrow(/bogus/);
  });
});
