// mmap: errno paths (mm/mmap.c:do_mmap and callers, in kernel order), placement of non-fixed
// mappings (mm/mmap.c:__get_unmapped_area, mm/vma.c:unmapped_area_topdown, THP alignment),
// MAP_FIXED replacement, population.
import { describe, expect, it } from 'vitest';
import { makeProfile } from '../../src/model/index.js';
import { expectLayout, mmap, munmap, world } from './helpers.js';

const EPERM = 1;
const EBADF = 9;
const EAGAIN = 11;
const ENOMEM = 12;
const EEXIST = 17;
const EINVAL = 22;

describe('mmap errno', () => {
  it('offset, fd, length and map type checks', () => {
    const w = world(16).ok(mmap(0, 4, 'rw', 'fixed'));
    const cases: Array<[ReturnType<typeof mmap>, number, string]> = [
      [mmap(0, 0n, 'rw', 'noanon', 'offset=1'), EINVAL, 'errno.mmap.offset_unaligned'], // before everything
      [mmap(null, 1, 'rw', 'noanon'), EBADF, 'errno.mmap.ebadf'],
      [mmap(null, 0n, 'rw'), EINVAL, 'errno.mmap.len_zero'],
      [mmap(null, (1n << 64n) - 1n, 'rw'), ENOMEM, 'errno.mmap.len_overflow'],
      [mmap(null, 1n << 63n, 'rw'), ENOMEM, 'errno.mmap.len_task_size'],
      [mmap(6, 1, 'rw', 'fixed', 'off=10'), EINVAL, 'errno.mmap.fixed_unaligned'],
      [mmap(2, 4, 'rw', 'noreplace'), EEXIST, 'errno.mmap.fixed_noreplace'],
      [mmap(null, 1, 'rw', 'shared', 'growsdown'), EINVAL, 'errno.mmap.shared_growsdown'],
      [mmap(null, 1, 'rw', 'droppable', 'locked'), EINVAL, 'errno.mmap.droppable_locked'],
      [mmap(null, 1, 'rw', 'droppable', 'growsdown'), EINVAL, 'errno.mmap.droppable_growsdown'],
      [mmap(null, 1, 'rw', 'type=3'), EINVAL, 'errno.mmap.bad_type'], // MAP_SHARED_VALIDATE is not for anonymous memory
      [mmap(null, 1, 'rw', 'type=6'), EINVAL, 'errno.mmap.bad_type'],
      [mmap(null, 1, 'rw', 'type=0'), EINVAL, 'errno.mmap.bad_type'],
    ];
    for (const [c, e, rule] of cases) {
      expect(w.errno(c), rule).toBe(e);
      expect(w.hits, rule).toContain(rule);
    }
    expectLayout(w, 'AAAA'); // none of them changed anything
  });

  it('EEXIST is checked before the map type; MAP_FIXED_NOREPLACE into a free range works', () => {
    const w = world(16).ok(mmap(0, 4, 'rw', 'fixed'));
    expect(w.errno(mmap(2, 1, 'rw', 'noreplace', 'type=3'))).toBe(EEXIST);
    w.ok(mmap(4, 2, 'rw', 'noreplace'));
    expectLayout(w, 'AAAAAA');
  });

  it('unknown prot and flag bits are ignored by mmap', () => {
    const w = world(16).ok(mmap(0, 2, 0x10 | 0x3, 'fixed', 'flags=' + (0x40000000 | 0x32).toString(16)));
    expectLayout(w, 'AA', { A: 'rw-p ac' });
  });

  it('MAP_DROPPABLE is EINVAL before 6.11 (profile row)', () => {
    const w = world(8, makeProfile('6.1.158', { base_map_count: '0' }));
    expect(w.errno(mmap(0, 1, 'rw', 'droppable', 'fixed'))).toBe(EINVAL);
  });

  it('map_count: mmap fails only above the limit; MAP_FIXED inside one VMA fails at it', () => {
    const w = world(16, { maxMapCount: 2 }).ok(mmap(0, 1, 'rw', 'fixed'), mmap(2, 1, 'r', 'fixed'));
    w.ok(mmap(4, 1, 'rw', 'fixed')); // count 2 is not > 2: a third VMA is allowed
    expect(w.mm.mapCount).toBe(3);
    expect(w.errno(mmap(6, 1, 'rw', 'fixed'))).toBe(ENOMEM);
    expect(w.hits).toEqual(['errno.mmap.map_count']);
    const f = world(16, { maxMapCount: 1 }).ok(mmap(0, 8, 'rw', 'fixed'));
    expect(f.errno(mmap(2, 2, 'r', 'fixed'))).toBe(ENOMEM);
    expect(f.hits).toEqual(['errno.mmap.fixed_map_count']);
    expectLayout(f, 'AAAAAAAA', { A: 'rw-p' });
  });

  it('MAP_LOCKED without CAP_IPC_LOCK: EPERM with RLIMIT_MEMLOCK 0, EAGAIN beyond it', () => {
    expect(world(8, { memlockPages: 0 }).errno(mmap(0, 1, 'rw', 'fixed', 'locked'))).toBe(EPERM);
    const w = world(8, { memlockPages: 3 }).ok(mmap(0, 2, 'rw', 'fixed', 'locked'));
    expect(w.errno(mmap(4, 2, 'rw', 'fixed', 'locked'))).toBe(EAGAIN);
    expect(w.hits).toContain('errno.mmap.mlock_limit');
  });

  it('MAP_FIXED with a NULL address, and MAP_HUGETLB without a known pool, are reported as unsupported', () => {
    const w = world(8);
    expect(() => w.run(mmap(null, 1, 'rw', 'fixed'))).toThrow(/address 0/);
    // hugetlb is modelled (test/model/hugeshm.test.ts) only where the hugepages_free fact vouches for the pool
    expect(() => world(8, { hugepagesFree: undefined }).run(mmap(null, 1, 'rw', 'flags=40022'))).toThrow(/hugetlb pool/);
  });
});

describe('mmap placement', () => {
  it('NULL: top of the highest gap that fits; consecutive mappings stack down and merge', () => {
    const w = world(16).ok(mmap(null, 2, 'rw'));
    expectLayout(w, '..............AA');
    w.ok(mmap(null, 3, 'rw'));
    expectLayout(w, '...........AAAAA');
    expect(w.hits).toContain('mmap.place.topdown');
  });

  it('skips gaps that are too small', () => {
    //      0123456789abcdef
    //      ..........A..BBB    a 2-page gap at c-d, a 10-page gap below A
    const w = world(16).ok(mmap(10, 1, 'r', 'fixed'), mmap(13, 3, 'r', 'fixed'), mmap(null, 3, 'rw'));
    expectLayout(w, '.......CCCA..BBB');
  });

  it('a hint is used iff the range is free, else the ordinary search', () => {
    const w = world(16).ok(mmap(4, 2, 'rw'));
    expectLayout(w, '....AA');
    expect(w.hits).toContain('mmap.place.hint');
    w.ok(mmap(5, 2, 'rw'));
    expect(w.hits).toContain('mmap.place.hint_taken');
    expectLayout(w, '....AA........BB');
    // an unaligned hint is rounded down
    const r = world(16).run(mmap(3, 1, 'rw', 'off=800'));
    expect(r.ret).toEqual({ kind: 'addr', page: 3, off: 0 });
  });

  it('no room in the arena: outside', () => {
    const w = world(8).ok(mmap(0, 6, 'rw', 'fixed'));
    expect(w.run(mmap(null, 3, 'rw')).ret.kind).toBe('outside');
    expect(w.hits).toContain('mmap.place.outside');
    expect(w.mm.mapCount).toBe(2); // the outside VMA counts
  });

  it('len a multiple of 2 MiB without hint: 2 MiB-aligned, padded search (6.12+)', () => {
    //  arena 2048 pages, 4 pages taken at the top: the aligned 512 pages sit at 1024, not 1532
    const w = world(2048).ok(mmap(2044, 4, 'rw', 'fixed'), mmap(null, 512, 'rw'));
    expect(w.vma(1024).start).toBe(1024);
    expect(w.hits).toContain('mmap.place.thp_aligned');
    // no THP alignment: with a hint, for shared memory, other lengths, 6.1, CONFIG_TRANSPARENT_HUGEPAGE=n
    expect(world(2048).ok(mmap(2044, 4, 'rw', 'fixed'), mmap(null, 513, 'rw')).vma(1531).start).toBe(1531);
    expect(world(2048).ok(mmap(2044, 4, 'rw', 'fixed'), mmap(null, 512, 'rw', 'shared')).vma(1532).start).toBe(1532);
    expect(world(2048, makeProfile('6.1.158', { base_map_count: '0' })).ok(mmap(2044, 4, 'rw', 'fixed'), mmap(null, 512, 'rw')).vma(1532).start).toBe(1532);
    expect(world(2048, { thp: 'none' }).ok(mmap(2044, 4, 'rw', 'fixed'), mmap(null, 512, 'rw')).vma(1532).start).toBe(1532);
    // thp=never still aligns: the decision is CONFIG_TRANSPARENT_HUGEPAGE, not the run-time mode
    expect(world(2048, { thp: 'never' }).ok(mmap(2044, 4, 'rw', 'fixed'), mmap(null, 512, 'rw')).vma(1024).start).toBe(1024);
  });

  it('the padded THP search needs len + 2 MiB inside the arena, else the mapping goes outside', () => {
    const w = world(1024).ok(mmap(1020, 4, 'rw', 'fixed'));
    expect(w.run(mmap(null, 512, 'rw')).ret.kind).toBe('outside');
    expect(w.hits).toContain('mmap.place.thp_outside');
  });

  it('keeps stack_guard_gap free below a VM_GROWSDOWN VMA', () => {
    // growsdown VMA at 1000: the gap right below it is shortened by 256 pages
    const w = world(1024).ok(mmap(1000, 24, 'rw', 'fixed', 'growsdown'), mmap(null, 10, 'rw'));
    expect(w.vma(734).start).toBe(734);
    expect(w.hits).toContain('mmap.place.stack_guard_gap');
    // a hint inside the guard gap is not used
    const h = world(1024).ok(mmap(1000, 24, 'rw', 'fixed', 'growsdown'), mmap(900, 10, 'rw'));
    expect(h.hits).toContain('mmap.place.hint_taken');
  });

  it('MAP_32BIT without MAP_FIXED always lands below 2 GiB, outside the arena', () => {
    const w = world(16);
    expect(w.run(mmap(null, 1, 'rw', '32bit')).ret.kind).toBe('outside');
    expect(w.run(mmap(4, 1, 'rw', '32bit', 'fixed')).ret).toEqual({ kind: 'addr', page: 4, off: 0 });
  });
});

describe('MAP_FIXED replacement and population', () => {
  it('replaces the interior of a VMA, merging with the split-off pieces when compatible', () => {
    const w = world(10).ok(mmap(0, 10, 'rw', 'fixed'), mmap(3, 3, 'r', 'fixed'));
    expectLayout(w, 'AAABBBCCCC', { B: 'r--p !ac' });
    expect(w.hits).toEqual(expect.arrayContaining(['munmap.split_start', 'munmap.split_end', 'mmap.fixed_replace']));
    w.ok(mmap(3, 3, 'rw', 'fixed'));
    expectLayout(w, 'AAAAAAAAAA');
  });

  it('MAP_POPULATE on a private writable mapping write-faults it (anon_vma)', () => {
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed', 'populate'));
    expect(w.hits).toEqual(expect.arrayContaining(['mmap.populate', 'populate.write']));
    expect(w.anon(0)).not.toBe(0);
    expect(world(8).ok(mmap(0, 4, 'r', 'fixed', 'populate')).anon(0)).toBe(0);
    expect(world(8).ok(mmap(0, 4, 'rw', 'fixed', 'populate', 'nonblock')).anon(0)).toBe(0);
    expect(world(8).ok(mmap(0, 4, 'none', 'fixed', 'locked')).hits).toContain('populate.prot_none');
  });

  it('population of a merged range gives the whole VMA an anon_vma', () => {
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), mmap(4, 2, 'rw', 'fixed', 'populate'));
    expectLayout(w, 'AAAAAA');
    expect(w.anon(0)).not.toBe(0);
    w.ok(munmap(0, 6));
    expectLayout(w, '');
  });
});
