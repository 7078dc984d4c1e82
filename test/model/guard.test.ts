// Guard regions: mm/madvise.c:madvise_guard_install / madvise_guard_remove, markers in the page
// tables (mm/memory.c:handle_pte_marker), VM_MAYBE_GUARD ("gu") as a sticky flag.
import { describe, expect, it } from 'vitest';
import { makeProfile } from '../../src/model/index.js';
import { expectLayout, mmap, mprotect, munmap, touch, world } from './helpers.js';
import { exec, madvise, mlock, pm } from './helpers-mem.js';

const ENOMEM = 12;
const EINVAL = 22;
const SIGSEGV = 11;

describe('MADV_GUARD_INSTALL', () => {
  it('flags the whole VMA without a split, prepares the anon_vma, zaps and marks the range', () => {
    //      01234567
    //      AAAAAAAA   written at 2 and 3, then guard(A+2p, 3p)
    // ->   AAAAAAAA   "gu" on all of A; pagemap --GGG---
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), touch(2, 'w'), touch(6, 'r'));
    w.ok(madvise(2, 3, 'MADV_GUARD_INSTALL'));
    expectLayout(w, 'AAAAAAAA', { A: 'gu' });
    expect(pm(w)).toBe('--GGG-P-');
    expect(w.hits).toEqual(expect.arrayContaining(['madvise.guard.flag', 'madvise.guard.install']));
    // installing again is idempotent
    w.ok(madvise(0, 8, 'MADV_GUARD_INSTALL'));
    expect(pm(w)).toBe('GGGGGGGG');
  });

  it('every access to a marker is SIGSEGV and changes nothing', () => {
    const w = world(4).ok(mmap(0, 4, 'rwx', 'fixed'), madvise(1, 1, 'MADV_GUARD_INSTALL'));
    const anon = w.anon(0);
    for (const c of [touch(1, 'r'), touch(1, 'w'), exec(1)]) {
      expect(w.run(c).signal).toBe(SIGSEGV);
      expect(w.hits).toEqual(['touch.segv.guard']);
    }
    expect(pm(w)).toBe('-G--');
    expect(w.anon(0)).toBe(anon);
  });

  it('markers survive DONTNEED, FREE, mprotect and splits; munmap and MAP_FIXED remove them', () => {
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), madvise(2, 4, 'MADV_GUARD_INSTALL'));
    w.ok(madvise(0, 8, 'MADV_DONTNEED'), madvise(0, 8, 'MADV_FREE'), mprotect(3, 2, 'none'));
    expectLayout(w, 'AAABBCCC', { A: 'gu rw-p', B: 'gu ---p', C: 'gu rw-p' });
    expect(pm(w)).toBe('--GGGG--');
    w.ok(mmap(2, 1, 'rw', 'fixed'), munmap(5, 1), mmap(5, 1, 'rw', 'fixed'));
    expect(pm(w)).toBe('---GG---');
  });

  it('VM_MAYBE_GUARD is sticky: kept after GUARD_REMOVE, ignored for merges, OR-ed into the result', () => {
    //      01234567
    //      AAAA....   guarded and cleaned again: still "gu"
    // ->   AAAAAAAA   a new mapping next to it merges (the flag is ignored) and carries "gu"
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), madvise(0, 1, 'MADV_GUARD_INSTALL'), madvise(0, 1, 'MADV_GUARD_REMOVE'));
    expect(pm(w)).toBe('--------');
    w.ok(mmap(4, 4, 'rw', 'fixed'));
    expectLayout(w, 'AAAAAAAA', { A: 'gu' });
    expect(w.hits).toContain('merge.new.prev');
  });

  it('VM_LOCKED refuses install, not remove; populating over a marker fails', () => {
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), madvise(4, 1, 'MADV_GUARD_INSTALL'));
    expect(w.errno(mlock(0, 8))).toBe(ENOMEM); // VM_LOCKED set, population stops at the marker
    expectLayout(w, 'AAAAAAAA', { A: 'lo gu' });
    expect(pm(w)).toBe('PPPPG---');
    expect(w.errno(madvise(0, 8, 'MADV_GUARD_INSTALL'))).toBe(EINVAL);
    w.ok(madvise(0, 8, 'MADV_GUARD_REMOVE'));
    expect(pm(w)).toBe('PPPP----');
  });

  it('shared memory: guarded on 6.15+ (fact guard=file), EINVAL where only anonymous VMAs can be', () => {
    const w = world(4).ok(mmap(0, 4, 'rw', 'fixed', 'shared'), madvise(0, 2, 'MADV_GUARD_INSTALL'));
    expect(pm(w)).toBe('GG--');
    expect(w.anon(0)).toBe(0); // no anon_vma for shmem since VM_MAYBE_GUARD
    const anonOnly = world(4, { guard: 'anon' }).ok(mmap(0, 4, 'rw', 'fixed', 'shared'));
    expect(anonOnly.errno(madvise(0, 2, 'MADV_GUARD_INSTALL'))).toBe(EINVAL);
    expect(anonOnly.hits).toContain('errno.madvise.guard_vma');
  });

  it('6.13 - 6.18.35: no "gu", and anon_vma_prepare() on every VMA kind', () => {
    const p = makeProfile('6.18.35', { thp: 'madvise', base_map_count: '0', guard: 'file', pm_guard: '1' });
    const w = world(4, p).ok(mmap(0, 4, 'rw', 'fixed', 'shared'), madvise(0, 2, 'MADV_GUARD_INSTALL'));
    expectLayout(w, 'AAAA', { A: '!gu' });
    expect(w.anon(0)).not.toBe(0);
  });

  it('pagemap shows a marker as PM_GUARD_REGION, or as PM_SWAP before 6.15 (fact pm_guard)', () => {
    const w = world(4, { pmGuard: false }).ok(mmap(0, 4, 'rw', 'fixed'), madvise(1, 2, 'MADV_GUARD_INSTALL'));
    expect(pm(w)).toBe('-SS-');
  });
});
