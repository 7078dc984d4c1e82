// mlock / mlock2 / munlock: mm/mlock.c:do_mlock, apply_vma_lock_flags, mlock_fixup, __mm_populate.
import { describe, expect, it } from 'vitest';
import { expectLayout, mmap, world } from './helpers.js';
import { mlock, mlock2, munlock, pm } from './helpers-mem.js';

const EPERM = 1;
const ENOMEM = 12;
const EINVAL = 22;
const MLOCK_ONFAULT = 1;

describe('mlock', () => {
  it('locks by merge-then-split and populates; munlock merges back without unmapping', () => {
    //      01234567
    //      AAAAAAAA   mlock(A+2p, 2p)
    // ->   AABBCCCC   B "lo", pages 2-3 written (private writable: FOLL_WRITE)
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), mlock(2, 2));
    expectLayout(w, 'AABBCCCC', { A: '!lo', B: 'lo', C: '!lo' });
    expect(pm(w)).toBe('--PP----');
    expect(w.anon(2)).not.toBe(0);
    w.ok(munlock(0, 8));
    expectLayout(w, 'AAAAAAAA', { A: '!lo' });
    expect(pm(w)).toBe('--PP----');
  });

  it('rounds an unaligned start down and grows the length by the offset', () => {
    const w = world(8).ok(mmap(0, 8, 'r', 'fixed'), mlock(2, 4096n, 0x10));
    expect(w.hits).toContain('mlock.unaligned_start');
    //      01234567
    //      AABBCCCC   mlock(A+2p+0x10, 4096): start A+2p, PAGE_ALIGN(4096 + 0x10) = 2 pages
    expectLayout(w, 'AABBCCCC', { B: 'lo' });
    expect(pm(w)).toBe('--PP----'); // read-only: read faults, the zero page
  });

  it('MLOCK_ONFAULT: "lo lf" and nothing populated; plain mlock over it populates', () => {
    const w = world(4).ok(mmap(0, 4, 'rw', 'fixed'), mlock2(0, 4, MLOCK_ONFAULT));
    expectLayout(w, 'AAAA', { A: 'lo lf' });
    expect(pm(w)).toBe('----');
    w.ok(mlock(0, 4));
    expectLayout(w, 'AAAA', { A: 'lo !lf' });
    expect(pm(w)).toBe('PPPP');
    expect(w.errno(mlock2(0, 4, 2))).toBe(EINVAL);
  });

  it('a hole is ENOMEM after the VMAs before it are locked', () => {
    //      01234567
    //      AAA..BBB   mlock(A+1p, 6p) -> ENOMEM, A's tail locked, B untouched
    const w = world(8).ok(mmap(0, 3, 'rw', 'fixed'), mmap(5, 3, 'rw', 'fixed'));
    expect(w.errno(mlock(1, 6))).toBe(ENOMEM);
    expectLayout(w, 'ACC..BBB', { A: '!lo', C: 'lo', B: '!lo' });
    expect(pm(w)).toBe('--------'); // no population after a failure
    expect(w.errno(mlock(3, 2))).toBe(ENOMEM); // starts in the hole
  });

  it('PROT_NONE: locked, but population fails: ENOMEM', () => {
    const w = world(4).ok(mmap(0, 4, 'none', 'fixed'));
    expect(w.errno(mlock(0, 4))).toBe(ENOMEM);
    expect(w.hits).toContain('errno.mlock.populate');
    expectLayout(w, 'AAAA', { A: 'lo' });
  });

  it('MAP_DROPPABLE is never locked but still populated', () => {
    const w = world(4).ok(mmap(0, 4, 'rw', 'fixed', 'droppable'), mlock(0, 4));
    expect(w.hits).toContain('mlock.unsupported_vma');
    expectLayout(w, 'AAAA', { A: '!lo dp' });
    expect(pm(w)).toBe('PPPP');
  });

  it('RLIMIT_MEMLOCK without CAP_IPC_LOCK: EPERM at 0, ENOMEM beyond it (pages already locked count once)', () => {
    expect(world(4, { memlockPages: 0 }).ok(mmap(0, 4, 'rw', 'fixed')).errno(mlock(0, 1))).toBe(EPERM);
    const w = world(8, { memlockPages: 4 }).ok(mmap(0, 8, 'rw', 'fixed'), mlock(0, 3));
    expect(w.errno(mlock(0, 4))).toBe(0); // 3 locked + 4 - 3 already in range
    expect(w.errno(mlock(4, 2))).toBe(ENOMEM);
    expect(w.hits).toEqual(['errno.mlock.limit']);
    expect(w.errno(munlock(0, 8))).toBe(0); // munlock has no limit
  });

  it('a length that wraps is EINVAL; one that PAGE_ALIGN wraps to 0 locks nothing and succeeds', () => {
    const w = world(4).ok(mmap(0, 4, 'rw', 'fixed'));
    expect(w.errno(mlock(0, (1n << 64n) - 8192n))).toBe(EINVAL);
    expect(w.errno(mlock(0, (1n << 64n) - 1n))).toBe(0);
    expect(w.hits).toContain('mlock.len_zero');
    expectLayout(w, 'AAAA', { A: '!lo' });
  });
});
