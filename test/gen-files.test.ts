// Generation of file mappings, ftruncate, fork, mremap and userfaultfd calls: valid corpus files,
// every op and the scenarios actually produced, families for --ops.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, generate, parseWeights } from '../src/gen/generate.js';
import { expandOps, FAMILIES } from '../src/gen/families.js';
import { sequenceToInput } from '../src/seq/io.js';
import { sequenceSchema } from '../src/seq/schema.js';

describe('file/process generation', () => {
  const cfg = { ...DEFAULT_CONFIG, weights: parseWeights('ftruncate=3,mremap=3,fork=2,uffd_create=2,uffd_register=3,uffd_unregister=2') };
  const seqs = Array.from({ length: 1500 }, (_, i) => generate(5, i, cfg));

  it('produces valid corpus files (files declared, handles created before use, <= 4 forks)', () => {
    for (const s of seqs) {
      const r = sequenceSchema.safeParse(sequenceToInput(s));
      expect(r.success, JSON.stringify(r.error?.issues?.[0])).toBe(true);
    }
  });

  it('exercises every op, file mmaps, and the multi-call scenarios', () => {
    const ops = new Map<string, number>();
    let fileMmaps = 0;
    let minorRegs = 0;
    for (const s of seqs) {
      for (const c of s.calls) {
        ops.set(c.op, (ops.get(c.op) ?? 0) + 1);
        if (c.op === 'mmap' && c.fd !== undefined) fileMmaps++;
        if (c.op === 'uffd_register' && c.mode & 4) minorRegs++;
      }
    }
    for (const op of ['ftruncate', 'mremap', 'fork', 'uffd_create', 'uffd_register', 'uffd_unregister']) expect(ops.get(op) ?? 0, op).toBeGreaterThan(50);
    expect(fileMmaps).toBeGreaterThan(200);
    expect(minorRegs).toBeGreaterThan(20);
    expect(seqs.filter((s) => s.files?.length).length).toBeGreaterThan(300);
  });

  it('has --ops families for the new calls', () => {
    for (const f of ['files', 'mremap', 'fork', 'uffd', 'proc']) expect(FAMILIES[f]).toBeDefined();
    expect(expandOps('uffd')).toEqual(expect.arrayContaining(['uffd_create', 'uffd_register', 'uffd_unregister', 'mmap']));
  });
});

describe('generated sequences are always valid corpus files', () => {
  it('never asks for MAP_FIXED at NULL, whatever the family (campaign seeds 21 and 5 once did)', async () => {
    const { generate, DEFAULT_CONFIG } = await import('../src/gen/generate.js');
    const { sequenceSchema } = await import('../src/seq/schema.js');
    const { sequenceToInput } = await import('../src/seq/io.js');
    for (let i = 0; i < 3000; i++) {
      const s = generate(21, i, DEFAULT_CONFIG);
      const r = sequenceSchema.safeParse(sequenceToInput(s));
      expect(r.success, r.success ? '' : `case ${i}: ${JSON.stringify(r.error.issues[0])}`).toBe(true);
    }
  });
});
