// New-range merges: mm/vma.c:vma_merge_new_range via mmap(MAP_FIXED) into a gap.
import { describe, expect, it } from 'vitest';
import { makeProfile } from '../../src/model/index.js';
import { expectLayout, mmap, munmap, mprotect, touch, world } from './helpers.js';

describe('vma_merge_new_range', () => {
  it('merges with prev', () => {
    //      0123456789
    // prev PPPP
    // new      NN          mmap(A+4p, 2p, RW, FIXED)
    // ->   PPPPPP
    const w = world(10).ok(mmap(0, 4, 'rw', 'fixed'), mmap(4, 2, 'rw', 'fixed'));
    expectLayout(w, 'PPPPPP', { P: 'rw-p ac' });
    expect(w.hits).toContain('merge.new.prev');
  });

  it('merges with next', () => {
    //      0123456789
    // next     NNNN
    // new    **            mmap(A+2p, 2p, RW, FIXED)
    // ->     NNNNNN
    const w = world(10).ok(mmap(4, 4, 'rw', 'fixed'), mmap(2, 2, 'rw', 'fixed'));
    expectLayout(w, '..NNNNNN');
    expect(w.hits).toContain('merge.new.next');
    expect(w.vma(2).pgoff).toBe(2); // pgoff taken back by the merge: next.pgoff - pglen
  });

  it('merges with both and removes next', () => {
    //      0123456789
    //      PPPP  NNNN
    // new      **          mmap(A+4p, 2p, RW, FIXED)
    // ->   PPPPPPPPPP
    const w = world(10).ok(mmap(0, 4, 'rw', 'fixed'), mmap(6, 4, 'rw', 'fixed'), mmap(4, 2, 'rw', 'fixed'));
    expectLayout(w, 'PPPPPPPPPP');
    expect(w.hits).toContain('merge.new.both');
  });

  it('does not merge with incompatible neighbours', () => {
    //      0123456789
    //      PPPP  NNNN      P is read-only, N is shared
    // ->   PPPPMMNNNN
    const w = world(10).ok(mmap(0, 4, 'r', 'fixed'), mmap(6, 4, 'rw', 'fixed', 'shared'), mmap(4, 2, 'rw', 'fixed'));
    expectLayout(w, 'PPPPMMNNNN', { P: 'r--p !ac', M: 'rw-p ac', N: 'rw-s !ac' });
    expect(w.hits).toContain('merge.new.none');
  });

  it('a faulted neighbour merges (the new range has no anon_vma) and the survivor keeps its anon_vma', () => {
    //      0123456789
    //      PPPP  NNNN      N written (anon_vma), P not
    // ->   PPPPPPPPPP      3-way: prev has no anon_vma, so prev/next are compatible
    const w = world(10).ok(mmap(0, 4, 'rw', 'fixed'), mmap(6, 4, 'rw', 'fixed'), touch(7, 'w'));
    const n = w.anon(7);
    w.ok(mmap(4, 2, 'rw', 'fixed'));
    expectLayout(w, 'PPPPPPPPPP');
    expect(w.anon(0)).toBe(n);
    expect(w.hits).toContain('anon_vma.dup');
  });

  it('distinct anon_vmas on both sides: only the left merge is done', () => {
    //      0123456789
    //      PPPP  NNNN      both written separately: two anon_vmas
    // ->   PPPPPPNNNN
    const w = world(10).ok(mmap(0, 4, 'rw', 'fixed'), mmap(6, 4, 'rw', 'fixed'), touch(0, 'w'), touch(9, 'w'));
    expect(w.anon(0)).not.toBe(w.anon(9));
    w.ok(mmap(4, 2, 'rw', 'fixed'));
    expectLayout(w, 'PPPPPPNNNN');
    expect(w.hits).toContain('merge.both_anon_vma_incompatible');
  });

  it('6.1 tried next first: unfaulted prev + faulted next merges only with next (profile row)', () => {
    const p61 = makeProfile('6.1.158', { thp: 'madvise', base_map_count: '0' });
    const setup = [mmap(0, 4, 'rw', 'fixed'), mmap(6, 4, 'rw', 'fixed'), touch(9, 'w'), mmap(4, 2, 'rw', 'fixed')];
    expectLayout(world(10, p61).ok(...setup), 'PPPPNNNNNN');
    expectLayout(world(10).ok(...setup), 'PPPPPPPPPP');
    // two different anon_vmas: 6.1 merges next, 7.3 merges prev
    const two = [mmap(0, 4, 'rw', 'fixed'), mmap(6, 4, 'rw', 'fixed'), touch(0, 'w'), touch(9, 'w'), mmap(4, 2, 'rw', 'fixed')];
    expectLayout(world(10, p61).ok(...two), 'PPPPNNNNNN');
    expectLayout(world(10).ok(...two), 'PPPPPPNNNN');
  });

  it('MAP_NORESERVE refuses to merge with an accounted neighbour', () => {
    //      PPPP            rw ac
    //          NN          rw nr (no ac)
    const w = world(10).ok(mmap(0, 4, 'rw', 'fixed'), mmap(4, 2, 'rw', 'fixed', 'noreserve'));
    expectLayout(w, 'PPPPNN', { P: 'ac !nr', N: 'nr !ac' });
    // but read-only mappings carry no VM_ACCOUNT: only VM_NORESERVE differs
    expectLayout(world(10).ok(mmap(0, 4, 'r', 'fixed'), mmap(4, 2, 'r', 'fixed', 'noreserve')), 'PPPPNN');
    expectLayout(world(10).ok(mmap(0, 4, 'r', 'fixed', 'noreserve'), mmap(4, 2, 'r', 'fixed', 'noreserve')), 'PPPPPP');
  });

  it('MAP_STACK sets VM_NOHUGEPAGE and refuses to merge with a plain neighbour (6.7+)', () => {
    const setup = [mmap(0, 4, 'rw', 'fixed'), mmap(4, 2, 'rw', 'fixed', 'stack')];
    expectLayout(world(10).ok(...setup), 'PPPPSS', { S: 'nh', P: '!nh' });
    // 6.1 ignores MAP_STACK; CONFIG_TRANSPARENT_HUGEPAGE=n too
    expectLayout(world(10, makeProfile('6.1.158', { base_map_count: '0' })).ok(...setup), 'PPPPPP', { P: '!nh' });
    expectLayout(world(10, { thp: 'none' }).ok(...setup), 'PPPPPP');
  });

  it('MAP_GROWSDOWN, MAP_LOCKED, MAP_SYNC, MAP_DROPPABLE show in VmFlags and split VMAs', () => {
    const w = world(16).ok(
      mmap(0, 2, 'rw', 'fixed'),
      mmap(2, 2, 'rw', 'fixed', 'growsdown'),
      mmap(4, 2, 'rw', 'fixed', 'locked'),
      mmap(6, 2, 'rw', 'fixed', 'sync'),
      mmap(8, 2, 'rw', 'fixed', 'droppable'),
      mmap(10, 2, 'rw', 'fixed'),
    );
    expectLayout(w, 'AABBCCDDEEFF', {
      A: 'rw-p ac', B: 'gd ac', C: 'lo ac', D: 'sf ac', E: 'dp nr wf dd !ac', F: 'rw-p ac !gd !lo !sf !dp',
    });
  });

  it('shared anonymous mappings are separate shmem files and never merge', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed', 'shared'), mmap(2, 2, 'rw', 'fixed', 'shared'));
    expectLayout(w, 'AABB', { A: 'rw-s', B: 'rw-s' });
    expect(w.vma(0).file).not.toBe(w.vma(2).file);
    // a private neighbour does not merge with shared memory either
    w.ok(mmap(4, 2, 'rw', 'fixed'));
    expectLayout(w, 'AABBCC', { C: 'rw-p' });
  });

  it('pgoff: a shmem piece keeps its file offset after munmap of the head', () => {
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed', 'shared'), munmap(0, 1));
    expect(w.vma(1).pgoff).toBe(1);
    // mprotect of the middle splits, the pieces' pgoffs stay linear
    w.ok(mprotect(2, 1, 'r'));
    expect([w.vma(1).pgoff, w.vma(2).pgoff, w.vma(3).pgoff]).toEqual([1, 2, 3]);
  });
});
