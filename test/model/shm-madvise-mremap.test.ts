// madvise and mremap of SysV attaches (ipc/shm.c shm_vm_ops over one shmem inode per segment), in
// the style of tools/testing/vma: one character per page.
import { describe, expect, it } from 'vitest';
import { SHM, type ShmSeg } from '../../src/seq/schema-sysv.js';
import { UFFD_FEATURE } from '../../src/seq/consts.js';
import type { Call } from '../../src/seq/schema.js';
import { declareShm } from '../../src/model/shm.js';
import { expectLayout, mmap, touch, world, type World } from './helpers.js';
import { madvise } from './helpers-mem.js';
import { mremap, uffdCreate, uffdRegister, uffdUnregister } from './helpers-files.js';
import { Unsupported } from '../../src/model/index.js';

const EINVAL = 22;
const EACCES = 13;
const EFAULT = 14;

function shmat(shm: number, page: number, flags = 0): Call {
  return { op: 'shmat', shm, addr: { page, off: 0 }, flags };
}
const shmdt = (page: number): Call => ({ op: 'shmdt', addr: { page, off: 0 } });

function segWorld(arena: number, ...pages: number[]): World {
  const w = world(arena);
  const segs: ShmSeg[] = pages.map((p) => ({ size: BigInt(p) * 4096n }));
  declareShm(w.mm.sys, segs);
  return w;
}
const present = (w: World, from: number, to: number) => [...w.mm.pte.slice(from, to)].map((e) => (e ? 'P' : '-')).join('');

describe('madvise on SysV attaches', () => {
  it('MADV_REMOVE punches the segment: the page goes from every attach', () => {
    //      0123456789012345
    //      AAAAAA....BBBBBB     two attaches of one 6-page segment; page 1 mapped in both
    const w = segWorld(16, 6).ok(shmat(0, 0), shmat(0, 10), touch(1, 'w'), touch(11, 'r'));
    expect(present(w, 0, 16)).toBe('-P--------' + '-P----');
    w.ok(madvise(1, 1, 'MADV_REMOVE'));
    expect(w.hits).toContain('madvise.remove');
    expect(present(w, 0, 16)).toBe('-'.repeat(16));
    expect(w.mm.sys.shm[0]!.cache.has(1)).toBe(false);
  });

  it('MADV_DONTNEED zaps this attach only; the page stays in the segment', () => {
    const w = segWorld(16, 6).ok(shmat(0, 0), shmat(0, 10), touch(1, 'w'), touch(11, 'r'), madvise(10, 6, 'MADV_DONTNEED'));
    expect(present(w, 0, 16)).toBe('-P--------' + '------');
    expect(w.mm.sys.shm[0]!.cache.has(1)).toBe(true);
  });

  it('not anonymous: MADV_FREE and WIPEONFORK are EINVAL, MERGEABLE is ignored', () => {
    const w = segWorld(16, 6).ok(shmat(0, 0));
    expect(w.errno(madvise(0, 2, 'MADV_FREE'))).toBe(EINVAL);
    expect(w.hits).toContain('errno.madvise.free_not_anon');
    expect(w.errno(madvise(0, 2, 'MADV_WIPEONFORK'))).toBe(EINVAL);
    w.ok(madvise(0, 6, 'MADV_MERGEABLE'));
    expect(w.hits).toContain('madvise.ksm.ignored');
    expectLayout(w, 'AAAAAA', { A: 'rw-s !mg' });
  });

  it('DONTFORK splits the attach; DOFORK of part merges it back into prev (the close hook forbids only removal)', () => {
    //      012345
    //      AAAAAA   DONTFORK [3,5)  -> AAABBC
    //               DOFORK   [3,4)  -> AAAABC   prev extended, B shrinks
    //               DOFORK   [4,5)  -> AAAABC   B would be removed whole: stays (flags equal)
    const w = segWorld(8, 6).ok(shmat(0, 0), madvise(3, 2, 'MADV_DONTFORK'));
    expectLayout(w, 'AAABBC', { B: 'dc' });
    w.ok(madvise(3, 1, 'MADV_DOFORK'));
    expectLayout(w, 'AAAABC', { A: '!dc', B: 'dc' });
    w.ok(madvise(4, 1, 'MADV_DOFORK'));
    expectLayout(w, 'AAAABC', { B: '!dc' });
    expect(w.hits).toContain('merge.close_hook_middle');
  });

  it('SHM_RDONLY attach: REMOVE is EACCES, POPULATE_WRITE EINVAL, POPULATE_READ maps the pages', () => {
    const w = segWorld(8, 6).ok(shmat(0, 0, SHM.SHM_RDONLY));
    expect(w.errno(madvise(0, 1, 'MADV_REMOVE'))).toBe(EACCES);
    expect(w.errno(madvise(0, 1, 'MADV_POPULATE_WRITE'))).toBe(EINVAL);
    w.ok(madvise(0, 6, 'MADV_POPULATE_READ'));
    expect(present(w, 0, 6)).toBe('PPPPPP');
  });

  it('guard markers on an attach: SIGSEGV until removed', () => {
    const w = segWorld(8, 6).ok(shmat(0, 0), touch(2, 'w'), madvise(2, 2, 'MADV_GUARD_INSTALL'));
    expect(w.run(touch(3, 'r')).signal).toBe(11);
    w.ok(madvise(2, 2, 'MADV_GUARD_REMOVE'), touch(3, 'r'));
  });
});

describe('mremap of SysV attaches', () => {
  it('grows in place past the segment (a fault there is SIGBUS), shrinks, moves when blocked', () => {
    //      0123456789012345
    //      AAAAAA..........     grow to 8: AAAAAAAA, page 6 is beyond the 6-page segment
    const w = segWorld(16, 6).ok(shmat(0, 0));
    expect(w.errno(mremap(0, 6, 8))).toBe(0);
    expect(w.hits).toContain('mremap.expand');
    expectLayout(w, 'AAAAAAAA');
    expect(w.run(touch(6, 'r')).signal).toBe(7);
    w.ok(mremap(0, 8, 5));
    expectLayout(w, 'AAAAA');
  });

  it('MREMAP_FIXED and DONTUNMAP moves keep the file and pgoff: shmdt finds the copy and the emptied source', () => {
    //      0123456789012345
    //      AAAAAA..........  FIXED to 8        -> ........AAAAAA..
    //                        DONTUNMAP to 0    -> BBBBBB..AAAAAA   (A emptied, B = the copy)
    const w = segWorld(16, 6).ok(shmat(0, 0), touch(1, 'w'), mremap(0, 6, 6, ['maymove', 'fixed'], 8));
    expectLayout(w, '........AAAAAA');
    expect(w.vma(8).pgoff).toBe(0);
    expect(present(w, 0, 16)).toBe('---------P------');
    w.ok(mremap(8, 6, 6, ['maymove', 'dontunmap'], 0));
    expectLayout(w, 'AAAAAA..BBBBBB');
    expect(w.vma(0).file).toBe(w.vma(8).file);
    expect(present(w, 0, 16)).toBe('-P--------------');
    w.ok(shmdt(0), shmdt(8));
    expectLayout(w, '');
  });

  it('7.3: a multi-VMA move may not take an attach together with another VMA (vma_multi_allowed)', () => {
    //      0123456789012345
    //      AAAAAAb.........   mremap(A, 7p, 7p, FIXED, 8): the attach is first and more follows: EFAULT
    const w = segWorld(16, 6).ok(shmat(0, 0), mmap(6, 1, 'rw', 'fixed'));
    expect(w.errno(mremap(0, 7, 7, ['maymove', 'fixed'], 8))).toBe(EFAULT);
    expect(w.hits).toContain('errno.mremap.multi_shm');
    expectLayout(w, 'AAAAAAB');
    // the attach alone moves
    w.ok(mremap(0, 6, 6, ['maymove', 'fixed'], 8));
    expectLayout(w, '......A.BBBBBB');
  });
});

describe('userfaultfd on SysV attaches', () => {
  it('registering or unregistering a range with an attach is EINVAL (no uffd_ops); WP-only async is declined', () => {
    //      0123456789
    //      AAAAb.....   A: attach, b: private anonymous
    const w = segWorld(10, 4).ok(shmat(0, 0), mmap(4, 1, 'rw', 'fixed'), uffdCreate(), uffdCreate(String(UFFD_FEATURE.UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE.UFFD_FEATURE_WP_UNPOPULATED)));
    expect(w.errno(uffdRegister(0, 0, 5, 'm'))).toBe(EINVAL);
    expect(w.hits).toContain('errno.uffd.shm');
    expect(w.errno(uffdRegister(0, 4, 1, 'm'))).toBe(0);
    expect(w.errno(uffdUnregister(0, 0, 5))).toBe(EINVAL);
    expect(() => w.run(uffdRegister(1, 0, 4, 'w'))).toThrow(Unsupported);
  });
});
