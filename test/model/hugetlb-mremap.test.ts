// mremap of hugetlb VMAs (mm/mremap.c:check_prep_vma -> align_hugetlb, move_hugetlb_page_tables),
// in the style of tools/testing/vma. Diagrams have one character per 2 MiB block (512 pages):
// hugetlb VMAs only ever start and end on that grid.
import { describe, expect, it } from 'vitest';
import { MAP } from '../../src/seq/consts.js';
import type { Call } from '../../src/seq/schema.js';
import { makeProfile, Unsupported, type Mm } from '../../src/model/index.js';
import { mmap, touch, world } from './helpers.js';
import { mremap } from './helpers-files.js';

const HP = 512;
const EINVAL = 22;
const EFAULT = 14;

function huge(block: number, blocks: number, prot: string, ...words: string[]): Call {
  const c = mmap(block * HP, blocks * HP, prot, 'fixed', ...words);
  return { ...c, flags: (c.flags | MAP.MAP_HUGETLB) >>> 0 } as Call;
}

/** One character per 2 MiB block: the VMA covering it (letters in address order), '.' none; a
 *  VMA off the grid (the 4 KiB ones) is shown by its first block in lower case. */
function blocks(mm: Mm): string {
  const out = Array.from({ length: mm.arenaPages / HP }, () => '.');
  let letter = 0;
  for (const v of mm.arenaVmas()) {
    const ch = String.fromCharCode(65 + letter++);
    if (v.start % HP || v.end % HP) out[Math.floor(v.start / HP)] = ch.toLowerCase();
    else for (let b = v.start / HP; b < v.end / HP; b++) out[b] = ch;
  }
  return out.join('');
}

/** Present blocks of the pagemap: 'P' where the whole block is present, '-' none, '?' mixed. */
function present(mm: Mm): string {
  let s = '';
  for (let b = 0; b < mm.arenaPages / HP; b++) {
    const n = mm.pte.slice(b * HP, (b + 1) * HP).filter((e) => e !== 0).length;
    s += n === HP ? 'P' : n === 0 ? '-' : '?';
  }
  return s;
}

const p612 = () => makeProfile('6.12.117', { base_map_count: '0', thp: 'madvise', hugepages_free: '20' });

describe('align_hugetlb: lengths rounded to 2 MiB, addresses on the grid, no growth', () => {
  it('same size after rounding is a no-op', () => {
    // blocks  0123
    //         AA..    mremap(A, 1p, 2p): both round to 2 MiB, nothing happens, returns A
    const w = world(4 * HP).ok(huge(0, 2, 'rw'));
    const o = w.run(mremap(0, 1, 2));
    expect(o.errno).toBe(0);
    expect(o.ret).toEqual({ kind: 'addr', page: 0, off: 0 });
    expect(w.hits).toEqual(expect.arrayContaining(['mremap.hugetlb.len_rounded', 'mremap.noop']));
    expect(blocks(w.mm)).toBe('AA..');
  });

  it('the new_addr argument must be on the grid even without MREMAP_FIXED', () => {
    const w = world(4 * HP).ok(huge(0, 2, 'rw'));
    expect(w.errno(mremap(0, 1, 1, [], 1))).toBe(EINVAL);
    expect(w.hits).toContain('errno.mremap.hugetlb_unaligned');
    expect(w.errno(mremap(0, 1, 1, [], 2 * HP))).toBe(0);
    // and so must addr: A+1p is inside the VMA but off the grid
    expect(w.errno(mremap(1, 1, 1))).toBe(EINVAL);
    // no VMA at all: EFAULT first (the lookup precedes the hugetlb checks)
    expect(w.errno(mremap(3 * HP + 1, 1, 1))).toBe(EFAULT);
  });

  it('growth is EINVAL, in place or moving, even into free space', () => {
    // blocks  0123
    //         A...    mremap(A, 2 MiB, 4 MiB, MAYMOVE): EINVAL, not a move
    const w = world(4 * HP).ok(huge(0, 1, 'rw'));
    expect(w.errno(mremap(0, HP, 2 * HP, ['maymove']))).toBe(EINVAL);
    expect(w.errno(mremap(0, HP, HP + 1))).toBe(EINVAL);
    expect(w.hits).toContain('errno.mremap.hugetlb_grow');
    expect(blocks(w.mm)).toBe('A...');
  });

  it('an old_len near 2^64 rounds (wraps) to 0, so any new_len is growth', () => {
    const w = world(4 * HP).ok(huge(0, 1, 'rw'));
    const c = { ...mremap(0, 1, 1), oldLen: (1n << 64n) - 4096n } as Call;
    expect(w.errno(c)).toBe(EINVAL);
    expect(w.hits).toContain('errno.mremap.hugetlb_grow');
  });

  it('MREMAP_DONTUNMAP is EINVAL (VM_DONTEXPAND), with or without a destination', () => {
    // blocks  0123
    //         A..B    DONTUNMAP|FIXED to block 3: refused before B is unmapped (7.3)
    const w = world(4 * HP).ok(huge(0, 1, 'rw'), huge(3, 1, 'r'));
    expect(w.errno(mremap(0, HP, HP, ['maymove', 'dontunmap']))).toBe(EINVAL);
    expect(w.hits).toContain('errno.mremap.dontunmap_special');
    expect(w.errno(mremap(0, HP, HP, ['maymove', 'dontunmap', 'fixed'], 3 * HP))).toBe(EINVAL);
    expect(blocks(w.mm)).toBe('A..B');
  });

  it('6.12: DONTUNMAP|FIXED unmaps the destination before vma_to_resize refuses it', () => {
    // blocks  0123
    //         A..B -> A...
    const w = world(4 * HP, p612()).ok(huge(0, 1, 'rw'), huge(3, 1, 'r'));
    expect(w.errno(mremap(0, HP, HP, ['maymove', 'dontunmap', 'fixed'], 3 * HP))).toBe(EINVAL);
    expect(w.hits).toEqual(expect.arrayContaining(['errno.mremap.dontunmap_special', 'mremap.to_unmapped_then_failed']));
    expect(blocks(w.mm)).toBe('A...');
    // and the same alignment rules as 7.3
    expect(w.errno(mremap(0, 1, 1, [], 1))).toBe(EINVAL);
    expect(w.errno(mremap(0, HP, 2 * HP, ['maymove']))).toBe(EINVAL);
  });
});

describe('shrink and move', () => {
  it('a shrink unmaps whole huge pages (old_len rounded up)', () => {
    // blocks  0123
    //         AAA.    mremap(A, 3 blocks - 1p, 1 block + 1p): old 3 blocks, new 2 blocks
    //      -> AA..
    const w = world(4 * HP).ok(huge(0, 3, 'rw'));
    const o = w.run(mremap(0, 3 * HP - 1, HP + 1));
    expect(o.errno).toBe(0);
    expect(w.hits).toContain('mremap.shrink');
    expect(blocks(w.mm)).toBe('AA..');
  });

  it('a shrink may run past the VMA end and unmap what follows', () => {
    // blocks  0123
    //         AAb.    b: a 4 KiB VMA in block 2; mremap(A+1 block, 3 blocks, 1p): old 3 blocks,
    //      -> A...    new 1 block: [block 2, block 4) is unmapped, b with it
    const w = world(4 * HP).ok(huge(0, 2, 'rw'), mmap(2 * HP, 1, 'r', 'fixed'));
    expect(blocks(w.mm)).toBe('AAb.');
    expect(w.errno(mremap(HP, 3 * HP, 1))).toBe(0);
    expect(blocks(w.mm)).toBe('AA..');
  });

  it('MREMAP_FIXED of one page moves the whole huge page, its page tables with it', () => {
    // blocks  0123
    //         AA..    block 0 touched; mremap(A, 1p, 1p, FIXED, block 3)
    //      -> .A.B    B: pgoff 0 of the same file, present; A keeps block 1 (pgoff 1 block)
    const w = world(4 * HP).ok(huge(0, 2, 'rw', 'shared'), touch(5, 'w'));
    expect(present(w.mm)).toBe('P---');
    const o = w.run(mremap(0, 1, 1, ['maymove', 'fixed'], 3 * HP));
    expect(o.errno).toBe(0);
    expect(o.ret).toEqual({ kind: 'addr', page: 3 * HP, off: 0 });
    expect(blocks(w.mm)).toBe('.A.B');
    expect(present(w.mm)).toBe('---P');
    expect(w.vma(3 * HP).pgoff).toBe(0);
    expect(w.vma(HP).pgoff).toBe(HP);
    expect(w.vma(3 * HP).file).toBe(w.vma(HP).file);
    expect(w.hits).toEqual(expect.arrayContaining(['mremap.move', 'merge.special']));
  });

  it('MREMAP_FIXED with a shrink: the tail goes, the rest moves; the destination is unmapped first', () => {
    // blocks  0123
    //         AA.B    mremap(A, 2 blocks, 1p, FIXED, block 3): old 2 blocks, new 1 block
    //      -> ...A    block 1 unmapped (shrink), block 0 moved over B
    const w = world(4 * HP).ok(huge(0, 2, 'rw'), huge(3, 1, 'r'));
    expect(w.errno(mremap(0, 2 * HP, 1, ['maymove', 'fixed'], 3 * HP))).toBe(0);
    expect(blocks(w.mm)).toBe('...A');
    expect(w.vma(3 * HP).flags & 1).toBe(1);
  });

  it('an unaligned MREMAP_FIXED destination is EINVAL and unmaps nothing', () => {
    const w = world(4 * HP).ok(huge(0, 1, 'rw'), huge(2, 1, 'r'));
    expect(w.errno(mremap(0, HP, HP, ['maymove', 'fixed'], 2 * HP + 1))).toBe(EINVAL);
    expect(blocks(w.mm)).toBe('A.B.');
  });

  it('7.3: a multi-VMA move takes each hugetlb VMA on its own, keeping the gap', () => {
    // blocks  012345
    //         A.B...  mremap(A, 3 blocks, 3 blocks, FIXED, block 3)
    //      -> ...A.B
    const w = world(6 * HP).ok(huge(0, 1, 'rw'), huge(2, 1, 'r', 'shared'));
    expect(w.errno(mremap(0, 3 * HP, 3 * HP, ['maymove', 'fixed'], 3 * HP))).toBe(0);
    expect(w.hits).toContain('mremap.multi');
    expect(blocks(w.mm)).toBe('...A.B');
  });

  it('7.3: a multi-VMA move whose range ends inside a hugetlb VMA moves its whole huge page', () => {
    // blocks  012345
    //         aBB...  a: 4 KiB VMA at page 0; mremap(A, 1 block + 1p, same, FIXED, block 3)
    //      -> ..AbC.  a moves to block 3; B's first block (1p rounded up) goes to block 4, the
    //                 gap of 511 pages after a kept; B's second block stays (A)
    const w = world(6 * HP).ok(mmap(0, 1, 'rw', 'fixed'), huge(1, 2, 'rw', 'noreserve'));
    expect(blocks(w.mm)).toBe('aBB...');
    expect(w.errno(mremap(0, HP + 1, HP + 1, ['maymove', 'fixed'], 3 * HP))).toBe(0);
    expect(blocks(w.mm)).toBe('..AbC.');
    expect(w.mm.arenaVmas().map((v) => [v.start, v.end])).toEqual([
      [2 * HP, 3 * HP],
      [3 * HP, 3 * HP + 1],
      [4 * HP, 5 * HP],
    ]);
  });

  it('declines moving part of a private hugetlb VMA with a reservation (the rest\'s reservation leaks)', () => {
    // blocks  0123
    //         AA..    private, reserved: moving block 0 alone would leave block 1 without its
    //                 reservation (clear_vma_resv_huge_pages); the whole VMA, shared or
    //                 MAP_NORESERVE ones move
    const w = world(4 * HP).ok(huge(0, 2, 'rw'));
    expect(() => w.run(mremap(0, HP, HP, ['maymove', 'fixed'], 3 * HP))).toThrow(Unsupported);
    const whole = world(4 * HP).ok(huge(0, 2, 'rw'));
    expect(whole.errno(mremap(0, 2 * HP, 2 * HP, ['maymove', 'fixed'], 2 * HP))).toBe(0);
    expect(blocks(whole.mm)).toBe('..AA');
    for (const kind of ['shared', 'noreserve']) {
      const w2 = world(4 * HP).ok(huge(0, 2, 'rw', kind));
      expect(w2.errno(mremap(0, HP, HP, ['maymove', 'fixed'], 3 * HP))).toBe(0);
      expect(blocks(w2.mm)).toBe('.A.B');
    }
  });
});
