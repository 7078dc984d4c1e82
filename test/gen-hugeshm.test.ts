// The hugeshm family (src/gen/ops-hugeshm.ts): valid corpus files, and the shapes it is for.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, DEFAULT_WEIGHTS, generate, type Weights } from '../src/gen/generate.js';
import { expandOps } from '../src/gen/families.js';
import { MAP, MREMAP } from '../src/seq/consts.js';
import { privateHugetlbMmap } from '../src/gen/hugetlb-resv.js';
import { parseSequence, sequenceToJson } from '../src/seq/io.js';

const ops = expandOps('hugeshm');
const weights = Object.fromEntries(Object.entries(DEFAULT_WEIGHTS).map(([k, v]) => [k, ops.includes(k as never) ? v : 0])) as Weights;
const cfg = { ...DEFAULT_CONFIG, weights };

describe('hugeshm generation', () => {
  it('makes valid corpus files with segments, attaches, detaches, hugetlb mappings and hugetlb files', () => {
    let shmat = 0, shmdt = 0, huge = 0, hugeFile = 0, split = 0;
    for (let i = 0; i < 1500; i++) {
      const s = generate(11, i, cfg);
      expect(() => parseSequence(JSON.parse(sequenceToJson(s)), `case ${i}`)).not.toThrow();
      for (const c of s.calls) {
        if (c.op === 'shmat') shmat++;
        if (c.op === 'shmdt') shmdt++;
        if (c.op === 'mmap' && c.flags & MAP.MAP_HUGETLB) huge++;
        if (c.op === 'mmap' && c.fd !== undefined && s.files?.[c.fd]?.kind === 'hugetlb') hugeFile++;
      }
      // an attach split by mprotect right after it (the close-hook merge scenario)
      const k = s.calls.findIndex((c) => c.op === 'shmat' && c.addr !== null && c.addr.off === 0);
      if (k >= 0 && s.calls[k + 1]?.op === 'mprotect') split++;
    }
    expect(shmat).toBeGreaterThan(150);
    expect(shmdt).toBeGreaterThan(150);
    expect(huge).toBeGreaterThan(100);
    expect(hugeFile).toBeGreaterThan(20);
    expect(split).toBeGreaterThan(20);
  });

  it('with every op: mremap, mlock, mseal of hugetlb mappings, madvise/mremap of attaches, and never a reserved private hugetlb mapping in a sequence with mremap', () => {
    let remaps = 0, moves = 0, reserved = 0, lockSeal = 0, shmFollow = 0;
    for (let i = 0; i < 1500; i++) {
      const s = generate(12, i, { ...DEFAULT_CONFIG, weights: { ...DEFAULT_WEIGHTS, shmat: 2, shmdt: 1 } });
      const k = s.calls.findIndex((c) => c.op === 'shmat' && c.addr !== null && c.addr.off === 0);
      if (k >= 0 && (s.calls[k + 1]?.op === 'madvise' || s.calls[k + 1]?.op === 'mremap')) shmFollow++;
      const huge = s.calls.some((c) => c.op === 'mmap' && c.flags & MAP.MAP_HUGETLB);
      const hasRemap = s.calls.some((c) => c.op === 'mremap');
      for (const c of s.calls) {
        if (huge && c.op === 'mremap' && c.addr.page % 512 === 0) remaps++;
        if (huge && c.op === 'mremap' && c.flags & MREMAP.MREMAP_FIXED && c.newAddr && c.newAddr.page % 512 === 0) moves++;
        if (hasRemap && privateHugetlbMmap(c, s.files) && c.op === 'mmap' && !(c.flags & MAP.MAP_NORESERVE)) reserved++;
        if (huge && (c.op === 'mlock' || c.op === 'mlock2' || c.op === 'mseal') && c.addr.page % 512 === 0) lockSeal++;
      }
    }
    // (hugetlb needs the 1024-page arenas: about 6% of the sequences)
    expect(remaps).toBeGreaterThan(25);
    expect(moves).toBeGreaterThan(8);
    expect(reserved).toBe(0);
    expect(lockSeal).toBeGreaterThan(10);
    expect(shmFollow).toBeGreaterThan(20);
  });
});
