// hugetlb and SysV shm in the style of tools/testing/vma: VMA layouts as diagrams. hugetlb
// diagrams have one character per 2 MiB block (512 pages), since hugetlb VMAs only ever start and
// end on that grid; shm diagrams one character per page.
import { describe, expect, it } from 'vitest';
import { MAP } from '../../src/seq/consts.js';
import { SHM } from '../../src/seq/schema-sysv.js';
import type { Call } from '../../src/seq/schema.js';
import { declareShm } from '../../src/model/shm.js';
import { makeProfile, Unsupported, type Mm } from '../../src/model/index.js';
import { expectLayout, mmap, mprotect, munmap, touch, world } from './helpers.js';

const HP = 512;
const EINVAL = 22;

function huge(block: number | null, blocks: number, prot: string, ...words: string[]): Call {
  const c = mmap(block === null ? null : block * HP, blocks * HP, prot, ...words);
  return { ...c, flags: (c.flags | MAP.MAP_HUGETLB) >>> 0 } as Call;
}

/** One character per 2 MiB block: the VMA starting in it (letters in address order), '.' none. */
function blocks(mm: Mm): string {
  let s = '';
  let letter = 0;
  for (const v of mm.arenaVmas()) {
    expect(v.start % HP, 'hugetlb VMAs start on the 2 MiB grid').toBe(0);
    s = s.padEnd(v.start / HP, '.') + String.fromCharCode(65 + letter++).repeat(Math.ceil((v.end - v.start) / HP));
  }
  return s.padEnd(mm.arenaPages / HP, '.');
}

function shmat(shm: number, page: number | null, flags = 0, off = 0): Call {
  return { op: 'shmat', shm, addr: page === null ? null : { page, off }, flags };
}
const shmdt = (page: number, off = 0): Call => ({ op: 'shmdt', addr: { page, off } });

describe('MAP_HUGETLB (fs/hugetlbfs/inode.c, mm/hugetlb.c)', () => {
  it('rounds the length up to 2 MiB, sets ht/de, never ac, and never merges', () => {
    // blocks  0123
    //         AB..    two adjacent private writable hugetlb mappings: a file each, VM_DONTEXPAND
    const w = world(4 * HP).ok(huge(0, 1, 'rw', 'fixed'), { ...huge(1, 1, 'rw', 'fixed'), len: 4096n } as Call);
    expect(blocks(w.mm)).toBe('AB..');
    expect(w.hits).toEqual(expect.arrayContaining(['mmap.hugetlb.len_rounded', 'mmap.hugetlb', 'merge.special']));
    expectLayout(w, 'A'.repeat(HP) + 'B'.repeat(HP), { A: 'rw-p ht de !ac', B: 'rw-p ht de !ac' });
  });

  it('refuses a fixed address or an offset off the 2 MiB grid, and an unknown MAP_HUGE_* size', () => {
    const w = world(4 * HP);
    expect(w.errno(mmap(1, HP, 'rw', 'fixed', 'flags=' + (MAP.MAP_PRIVATE | MAP.MAP_ANONYMOUS | MAP.MAP_FIXED | MAP.MAP_HUGETLB).toString(16)))).toBe(EINVAL);
    expect(w.hits).toContain('errno.mmap.hugetlb_fixed_unaligned');
    expect(w.errno({ ...huge(0, 1, 'rw', 'fixed'), offset: 4096n } as Call)).toBe(EINVAL);
    expect(w.hits).toContain('errno.mmap.hugetlb_pgoff');
    expect(w.errno({ ...huge(0, 1, 'rw', 'fixed'), flags: (huge(0, 1, 'rw', 'fixed').flags | (20 << 26)) >>> 0 } as Call)).toBe(EINVAL);
    expect(w.hits).toContain('errno.mmap.hugetlb_size');
    expect(blocks(w.mm)).toBe('....');
  });

  it('places a non-fixed mapping on the 2 MiB grid, top-down', () => {
    // blocks  0123
    //         A..B    a 4 KiB VMA at page 0, the hugetlb mapping at the highest aligned gap
    const w = world(4 * HP).ok(mmap(0, 1, 'rw', 'fixed'), huge(null, 1, 'rw'));
    expect(w.mm.arenaVmas().map((v) => v.start)).toEqual([0, 3 * HP]);
    expect(w.hits).toContain('mmap.place.hugetlb');
    // a hint is first rounded down to a page (do_mmap round_hint_to_min), then up to 2 MiB:
    // A+0p+0x10 stays at block 0, A+1p goes to block 1
    const h = world(4 * HP).ok(huge(null, 1, 'rw'));
    expect(h.mm.arenaVmas().map((v) => v.start)).toEqual([3 * HP]);
    const w2 = world(4 * HP).ok({ ...huge(0, 1, 'rw'), addr: { page: 0, off: 0x10 } } as Call, { ...huge(0, 1, 'rw'), addr: { page: 1, off: 0 } } as Call);
    expect(w2.mm.arenaVmas().map((v) => v.start)).toEqual([0, HP]);
  });

  it('a touch maps the whole huge page', () => {
    const w = world(2 * HP).ok(huge(0, 2, 'rw', 'fixed'), touch(HP + 7, 'w'));
    expect(w.hits).toContain('fault.hugetlb');
    const present = [...w.mm.pte].map((e, p) => (e ? p : -1)).filter((p) => p >= 0);
    expect(present).toEqual(Array.from({ length: HP }, (_, i) => HP + i));
  });

  it('munmap/mprotect off the grid is EINVAL (hugetlb_vm_op_split); a split already made stays', () => {
    // blocks  0123
    //         AAA.    munmap(A+5p, 1p): the start split at page 5 is refused, nothing changes
    const w = world(4 * HP).ok(huge(0, 3, 'rw', 'fixed'));
    expect(w.errno(munmap(5, 1))).toBe(EINVAL);
    expect(w.hits).toContain('split.hugetlb_unaligned');
    expect(blocks(w.mm)).toBe('AAA.');
    //      -> ABB.    mprotect(A+1 block, 1p): the head split at block 1 succeeds, the tail split
    //                 at block 1 + 1 page is refused: EINVAL, the head split stays (vma_modify)
    expect(w.errno(mprotect(HP, 1, 'r'))).toBe(EINVAL);
    expect(blocks(w.mm)).toBe('ABB.');
    //      -> ABC.    munmap(A+2 blocks, 1p): start split at block 2 made, end split refused
    expect(w.errno(munmap(2 * HP, 1))).toBe(EINVAL);
    expect(blocks(w.mm)).toBe('ABC.');
    // on the grid: mprotect works, and putting it back does not merge (VM_DONTEXPAND)
    w.ok(mprotect(2 * HP, HP, 'r'), mprotect(2 * HP, HP, 'rw'));
    expect(blocks(w.mm)).toBe('ABC.');
    expect(w.hits).toContain('merge.special');
    w.ok(munmap(HP, 2 * HP));
    expect(blocks(w.mm)).toBe('A...');
  });

  it('MAP_LOCKED populates but VM_LOCKED is dropped (vma_supports_mlock)', () => {
    const w = world(HP).ok(huge(0, 1, 'rw', 'fixed', 'locked'));
    expectLayout(w, 'A'.repeat(HP), { A: 'rw-p ht !lo' });
    expect(w.mm.pte.every((e) => e !== 0)).toBe(true);
    expect(w.hits).toContain('mmap.hugetlb.locked_dropped');
  });

  it('a hugetlb file: SIGBUS beyond i_size until a writable mapping grows it; mappings of it never merge', () => {
    // blocks  0123
    //         AB..    A = file page 0 (shared rw), B = file page 1 (private r): beyond i_size (1 block)
    //         ABC.    C = file page 1 again, shared rw: grows i_size to 2 blocks, B faults in now
    const w = world(4 * HP);
    w.mm.sys.declareFiles([{ kind: 'hugetlb', size: BigInt(HP) * 4096n }]);
    const fmap = (block: number, prot: string, pgoffBlocks: number, ...words: string[]) =>
      ({ ...mmap(block * HP, HP, prot, 'fixed', 'noanon', ...words, `offset=${(pgoffBlocks * HP * 4096).toString(16)}`), fd: 0 }) as Call;
    w.ok(fmap(0, 'rw', 0, 'shared'), fmap(1, 'r', 1));
    expect(blocks(w.mm)).toBe('AB..');
    expect(w.run(touch(HP + 3, 'r')).signal).toBe(7);
    expect(w.hits).toContain('fault.hugetlb.sigbus');
    w.ok(fmap(2, 'rw', 1, 'shared'));
    expect(w.hits).toContain('mmap.hugetlb.isize_grown');
    expect(w.run(touch(HP + 3, 'r')).signal).toBe(0);
    expect(blocks(w.mm)).toBe('ABC.');
    expect(w.vma(0).file).toBe(w.vma(2 * HP).file); // one struct file, still three VMAs
  });

  it('declines MADV_COLLAPSE on hugetlb, and a pool the fact does not vouch for', () => {
    const w = world(HP).ok(huge(0, 1, 'rw', 'fixed', 'shared'));
    expect(() => w.run({ op: 'madvise', addr: { page: 0, off: 0 }, len: 4096n, advice: 25 })).toThrow(Unsupported); // MADV_COLLAPSE
    const dry = world(HP, { hugepagesFree: 2 });
    expect(() => dry.run(huge(0, 1, 'rw', 'fixed'))).toThrow(/hugetlb pool/);
  });
});

describe('SysV shm (ipc/shm.c) and merges next to vm_ops->close (mm/vma.c)', () => {
  const shmWorld = (pages: number, segPages: number, profile = {}) => {
    const w = world(pages, profile);
    declareShm(w.mm.sys, [{ size: BigInt(segPages) * 4096n }]);
    return w;
  };

  it('an attach is its own file: two attaches of one segment never merge; same inode', () => {
    //      0123456789
    //      ..AAABBB..     shmat(A+2p), shmat(A+5p): adjacent, pgoff 0 both
    const w = shmWorld(10, 3).ok(shmat(0, 2), shmat(0, 5));
    expectLayout(w, '..AAABBB..', { A: 'rw-s sh ms', B: 'rw-s' });
    expect(w.mm.sys.file(w.vma(2).file).inode).toBe(w.mm.sys.file(w.vma(5).file).inode);
    expect(w.vma(2).file).not.toBe(w.vma(5).file);
  });

  it('7.3: a fragment merges into prev when nothing with a close hook is removed', () => {
    //      0123456789
    //      ..AABBAA..     shmat, mprotect(A+4p, 2p, READ): three fragments of one attach
    // mprotect(A+4p, 1p, RW): the head of B merges into A (A grows, B shrinks)
    //   ->  ..AAABCC..
    // mprotect(A+5p, 1p, RW): B would be removed entirely: can_merge_remove_vma refuses
    //   ->  ..AAABCC..    (unchanged layout, B now rw as well)
    const w = shmWorld(10, 6).ok(shmat(0, 2), mprotect(4, 2, 'r'));
    expectLayout(w, '..AABBCC..', { B: 'r--s' });
    w.ok(mprotect(4, 1, 'rw'));
    expect(w.hits).toContain('merge.existing.prev_partial');
    expectLayout(w, '..AAABCC..');
    w.ok(mprotect(5, 1, 'rw'));
    expect(w.hits).toContain('merge.close_hook_middle');
    expectLayout(w, '..AAABCC..', { A: 'rw-s', B: 'rw-s', C: 'rw-s' });
  });

  it('6.1: a neighbour with a close hook is never mergeable (is_mergeable_vma)', () => {
    //      0123456789
    //      ..AABBCC..  -> mprotect(A+4p, 1p, RW) splits instead: ..AABCDD..
    const w = shmWorld(10, 6, makeProfile('6.1.176', { thp: 'madvise', base_map_count: '0', hugepages_free: '20', sysv_shm: '1' })).ok(shmat(0, 2), mprotect(4, 2, 'r'));
    w.ok(mprotect(4, 1, 'rw'));
    expect(w.hits).toContain('merge.close_hook_any');
    expectLayout(w, '..AABCDD..');
  });

  it('kernels between the anchors decline the close-hook merge', () => {
    const w = shmWorld(10, 6, makeProfile('6.6.0', { thp: 'madvise', base_map_count: '0', sysv_shm: '1' })).ok(shmat(0, 2), mprotect(4, 2, 'r'));
    expect(() => w.run(mprotect(4, 1, 'rw'))).toThrow(Unsupported);
  });

  it('shmat errnos: unaligned without SHM_RND, SHM_REMAP without address, overlap without SHM_REMAP', () => {
    const w = shmWorld(10, 2);
    expect(w.errno(shmat(0, 2, 0, 0x10))).toBe(EINVAL);
    expect(w.errno(shmat(0, null, SHM.SHM_REMAP))).toBe(EINVAL);
    w.ok(shmat(0, 2, SHM.SHM_RND, 0x10));
    expect(w.hits).toContain('shmat.rnd');
    expect(w.errno(shmat(0, 3))).toBe(EINVAL);
    expect(w.hits).toContain('errno.shmat.overlap');
    //      0123456789
    //      ..AB......     SHM_REMAP|SHM_RDONLY at A+3p replaces the second page: r--s, no mw
    w.ok(shmat(0, 3, SHM.SHM_REMAP | SHM.SHM_RDONLY));
    expectLayout(w, '..ABB.....', { A: 'rw-s', B: 'r--s !mw !sh' });
  });

  it('shmdt unmaps every fragment of the attach that starts where its pgoff says', () => {
    //      0123456789
    //      ..ABC.DD..     an attach of 6 pages split by mprotect and a munmap hole; shmdt(A+2p)
    //   -> ..........     removes A, B and D (pgoff = page - 2); a touch-free read
    const w = shmWorld(10, 6).ok(shmat(0, 2), mprotect(3, 1, 'r'), munmap(5, 1));
    expectLayout(w, '..ABC.DD..');
    w.ok(shmdt(2));
    expect(w.hits).toEqual(expect.arrayContaining(['shmdt.detach', 'shmdt.fragment']));
    expectLayout(w, '..........');
    expect(w.errno(shmdt(2))).toBe(EINVAL);
    expect(w.hits).toContain('errno.shmdt.none');
  });

  it('shmdt ignores a fragment it cannot unmap (sealed) and goes on to the next (ipc/shm.c:ksys_shmdt)', () => {
    //      0123456789
    //      ..ABCD....     an attach of 4 pages in 4 fragments (alternating prot), C sealed
    //   -> ....C.....     shmdt(A+2p) returns 0: "Errors from do_munmap are ignored"
    const w = shmWorld(10, 4).ok(shmat(0, 2), mprotect(3, 1, 'r'), mprotect(5, 1, 'r'), { op: 'mseal', addr: { page: 4, off: 0 }, len: 4096n, flags: 0 } as Call);
    expectLayout(w, '..ABCD....');
    w.ok(shmdt(2));
    expect(w.hits).toContain('errno.munmap.sealed');
    expectLayout(w, '....A.....');
  });

  it('a read fault on an attach maps only its own page (no ->map_pages: no fault-around)', () => {
    const w = shmWorld(16, 8).ok(shmat(0, 0), touch(1, 'w'), shmat(0, 8), touch(8, 'r'));
    expect(w.hits).toContain('fault.shm.no_fault_around');
    expect([...w.mm.pte].map((e) => (e ? 'P' : '-')).join('')).toBe('-P------P-------');
  });
});
