// userfaultfd: registration (merge-then-split, the context in the merge predicate), its errnos, and
// which touches raise which event (the harness resolves them: missing -> UFFDIO_ZEROPAGE, minor ->
// UFFDIO_CONTINUE).
import { describe, expect, it } from 'vitest';
import { makeProfile } from '../../src/model/index.js';
import { expectLayout, mmap, munmap, touch, world } from './helpers.js';
import { mseal } from './helpers-mem.js';
import { fmmap, memfd, pm, uffdCreate, uffdRegister, uffdUnregister, withFiles } from './helpers-files.js';

const EINVAL = 22;
const EPERM = 1;
const EBUSY = 16;
const EBADF = 9;
const SIGBUS = 7;

describe('UFFDIO_REGISTER / UNREGISTER', () => {
  it('registers a sub-range (split), leaves registered next to unregistered apart, and merges back on unregister', () => {
    //      0123
    //      ABBC   B registered (um)
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), uffdCreate(), uffdRegister(0, 1, 2, 'm'));
    expect(w.run(uffdCreate()).ret).toEqual({ kind: 'int', value: 1 }); // the handle
    expectLayout(w, 'ABBC', { A: '!um', B: 'um', C: '!um' });
    w.ok(uffdUnregister(0, 1, 2));
    expectLayout(w, 'AAAA');
  });

  it('the context is part of the merge predicate: two uffds with the same modes never merge', () => {
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), uffdCreate(), uffdCreate(), uffdRegister(0, 0, 2, 'm'), uffdRegister(1, 2, 2, 'm'));
    expectLayout(w, 'AABB', { A: 'um', B: 'um' });
    expect(w.hits).toContain('merge.uffd_ctx_differs');
  });

  it('errnos in kernel order: mode, range, no VMA, cannot, VM_MAYWRITE, another context', () => {
    const w = withFiles(world(8), memfd(4, true));
    w.ok(mmap(0, 2, 'rw', 'fixed'), fmmap(4, 2, 'r', 0, 0, 'shared', 'fixed'), uffdCreate(), uffdCreate());
    expect(w.errno(uffdRegister(0, 0, 2, ''))).toBe(EINVAL);
    expect(w.errno({ ...uffdRegister(0, 0, 2, 'm'), addr: { page: 0, off: 1 } })).toBe(EINVAL);
    expect(w.errno(uffdRegister(0, 2, 2, 'm'))).toBe(EINVAL); // nothing mapped
    expect(w.errno(uffdRegister(0, 0, 2, 'i'))).toBe(EINVAL); // MINOR on anonymous memory
    expect(w.errno(uffdRegister(0, 4, 2, 'm'))).toBe(EPERM); // shared mapping of an O_RDONLY file
    w.ok(uffdRegister(0, 0, 1, 'm'));
    expect(w.errno(uffdRegister(1, 0, 2, 'm'))).toBe(EBUSY);
    expect(w.errno(uffdUnregister(1, 0, 2))).toBe(EINVAL);
    expect(w.errno({ op: 'uffd_register', uffd: 3, addr: { page: 0, off: 0 }, len: 4096n, mode: 1 })).toBe(EBADF);
  });

  it('unregister through another context: 6.17+ EINVAL, before it clears that context\'s registration', () => {
    //      0123
    //      ABBC   B registered with uffd 0, C with uffd 1; uffd 0 unregisters 0-3
    const seq = [mmap(0, 4, 'rw', 'fixed'), uffdCreate(), uffdCreate(), uffdRegister(0, 1, 2, 'm'), uffdRegister(1, 3, 1, 'm')];
    const w = world(8, makeProfile('6.17.13', { base_map_count: '0' })).ok(...seq);
    expect(w.errno(uffdUnregister(0, 0, 4))).toBe(EINVAL);
    expectLayout(w, 'ABBC', { A: '!um', B: 'um', C: 'um' });
    //      AAAA   6.16: all cleared and merged back
    const old = world(8, makeProfile('6.16.12', { base_map_count: '0' })).ok(...seq, uffdUnregister(0, 0, 4));
    expectLayout(old, 'AAAA', { A: '!um' });
    expect(old.hits).toContain('uffd.unregister.other_ctx');
  });

  it('holes are fine: only the mapped VMAs of the range are registered', () => {
    const w = world(8).ok(mmap(0, 1, 'rw', 'fixed'), mmap(2, 1, 'rw', 'fixed'), uffdCreate(), uffdRegister(0, 0, 3, 'm'));
    expectLayout(w, 'A.B', { A: 'um', B: 'um' });
  });

  it('re-registering without WP: 7.3 EBUSY, 6.18 keeps the modes (a subset is a no-op)', () => {
    const seq = [mmap(0, 2, 'rw', 'fixed'), uffdCreate(), uffdRegister(0, 0, 2, 'mw')];
    const w = world(8, makeProfile('7.3.4', { base_map_count: '0' })).ok(...seq);
    expect(w.errno(uffdRegister(0, 0, 2, 'm'))).toBe(EBUSY);
    const old = world(8).ok(...seq, uffdRegister(0, 0, 2, 'm'));
    expectLayout(old, 'AA', { A: 'um uw' });
    expect(old.hits).toEqual(['uffd.register.skip']);
  });
});

describe('fault events', () => {
  it('missing: only where nothing is mapped; the answer (zero page) prepares an anon_vma even for a read', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), touch(1, 'r'), uffdCreate(), uffdRegister(0, 0, 2, 'm'));
    w.ok(touch(1, 'w')); // the zero page is present: a CoW write fault, no event
    expect(w.events).toEqual([]);
    w.ok(touch(0, 'r'));
    expect(w.events).toEqual(['missing']);
    expect(w.anon(0)).not.toBe(0);
    w.ok(touch(0, 'w'));
    expect(w.events).toEqual([]);
    expect(pm(w)).toBe('PP');
  });

  it('UFFD_FEATURE_SIGBUS answers a missing fault with SIGBUS and no event', () => {
    const w = world(8).ok(mmap(0, 1, 'rw', 'fixed'), uffdCreate('sigbus'), uffdRegister(0, 0, 1, 'm'));
    expect(w.run(touch(0, 'w')).signal).toBe(SIGBUS);
    expect(w.events).toEqual([]);
    expect(pm(w)).toBe('');
  });

  it('minor: a shmem page in the page cache but not mapped here; missing: not in the page cache', () => {
    //      0123 4567   f0 shared at A+0 (page 1 written) and at A+4 (MINOR|MISSING registered)
    const w = withFiles(world(8), memfd(4));
    w.ok(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'), touch(1, 'w'), fmmap(4, 4, 'rw', 0, 0, 'shared', 'fixed'), uffdCreate(), uffdRegister(0, 4, 4, 'mi'));
    w.ok(touch(5, 'r'));
    expect(w.events).toEqual(['minor']);
    w.ok(touch(6, 'w'));
    expect(w.events).toEqual(['missing']);
    // minor tracking disables fault-around: only the touched pages are mapped
    expect(pm(w)).toBe('-P---PP');
  });

  it('munmap of a registered range with UFFD_FEATURE_EVENT_UNMAP reads one unmap event per context', () => {
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), uffdCreate('unmap'), uffdRegister(0, 0, 1, 'm'), uffdRegister(0, 2, 1, 'm'), munmap(0, 4));
    expect(w.events).toEqual(['unmap']);
  });

  it('a munmap or MAP_FIXED mmap that fails unmaps nothing and reads no unmap event', () => {
    //      0123
    //      AABB   A registered (um), B sealed
    // munmap(A+0p, 4p) -> EPERM, layout unchanged, no event (6.12+ kernels post one: a kernel bug,
    // corpus/regression/munmap-failed-uffd-unmap-event-sealed.json)
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), uffdCreate('unmap'), uffdRegister(0, 0, 2, 'm'), mseal(2, 2));
    expect(w.errno(munmap(0, 4))).toBe(EPERM);
    expect(w.hits).toContain('errno.munmap.sealed');
    expectLayout(w, 'AABB', { A: 'um', B: 'sl' });
    expect(w.events).toEqual([]);
    expect(w.errno(mmap(0, 4, 'r', 'fixed'))).toBe(EPERM);
    expect(w.events).toEqual([]);
    // the same range without the seal: one event
    w.ok(munmap(0, 2));
    expect(w.events).toEqual(['unmap']);
  });
});
