// Generation of page-content checks (src/gen/ops-content.ts): declared files on every backing,
// often pre-filled; probes; and the scenario that maps one file shared and privately at the same
// offset, writes through one and reads through the other.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, generate } from '../src/gen/generate.js';
import { sequenceSchema } from '../src/seq/schema.js';
import { sequenceToInput } from '../src/seq/io.js';
import { MAP } from '../src/seq/consts.js';

const seqs = Array.from({ length: 1500 }, (_, i) => generate(4242, i, DEFAULT_CONFIG));

describe('content generation', () => {
  it('declares files of every kind, pre-filled or not, and probes', () => {
    const kinds = new Set(seqs.flatMap((s) => s.files ?? []).map((f) => f.kind));
    expect([...kinds].sort()).toEqual(['btrfs', 'ext4', 'hugetlb', 'memfd', 'tmpfs', 'xfs']);
    const files = seqs.flatMap((s) => s.files ?? []);
    expect(files.some((f) => f.fill === 'pattern')).toBe(true);
    expect(files.some((f) => f.fill === undefined)).toBe(true);
    expect(seqs.filter((s) => s.calls.some((c) => c.op === 'probe')).length).toBeGreaterThan(300);
    for (const s of seqs.slice(0, 300)) expect(sequenceSchema.safeParse(sequenceToInput(s)).success).toBe(true);
  });

  it('maps a file shared and privately at the same offset, then writes and probes across them', () => {
    const hits = seqs.filter((s) =>
      s.calls.some((c, i) => {
        if (c.op !== 'mmap' || c.fd === undefined || (c.flags & 0x0f) !== MAP.MAP_SHARED) return false;
        const next = s.calls[i + 1];
        return next?.op === 'mmap' && next.fd === c.fd && next.offset === c.offset && (next.flags & 0x0f) === MAP.MAP_PRIVATE && s.calls.slice(i + 2).some((x) => x.op === 'probe');
      }),
    );
    expect(hits.length).toBeGreaterThan(20);
  });
});
