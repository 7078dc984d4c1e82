// mprotect: mm/mprotect.c:do_mprotect_pkey / mprotect_fixup - errno order, partial effects.
import { describe, expect, it } from 'vitest';
import { VM_MAYWRITE } from '../../src/model/flags.js';
import { expectLayout, mmap, mprotect, world } from './helpers.js';

const EINVAL = 22;
const ENOMEM = 12;
const EACCES = 13;
const PROT_GROWSDOWN = 0x01000000;
const PROT_GROWSUP = 0x02000000;

describe('mprotect errno', () => {
  it('checks in kernel order: grows-both, alignment, len 0, wrap, prot bits, no VMA', () => {
    const w = world(10).ok(mmap(2, 4, 'rw', 'fixed'));
    expect(w.errno(mprotect(2, 1, 0x1 | PROT_GROWSDOWN | PROT_GROWSUP, 0x10))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.mprotect.grows_both']);
    expect(w.errno(mprotect(2, 1, 'r', 0x10))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.mprotect.unaligned']);
    expect(w.errno(mprotect(2, 0n, 0x7777))).toBe(0); // len 0 wins over bad prot
    expect(w.hits).toEqual(['mprotect.len_zero']);
    expect(w.errno(mprotect(2, (1n << 64n) - 1n, 0x7777))).toBe(ENOMEM);
    expect(w.hits).toEqual(['errno.mprotect.wrap']);
    expect(w.errno(mprotect(2, 1, 0x10))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.mprotect.bad_prot']);
    expect(w.errno(mprotect(8, 1, 'r'))).toBe(ENOMEM);
    expect(w.hits).toEqual(['errno.mprotect.no_vma']);
    expect(w.errno(mprotect(1, 2, 'r'))).toBe(ENOMEM); // starts in a hole: nothing changes
    expectLayout(w, '..AAAA', { A: 'rw-p' });
  });

  it('PROT_SEM is accepted and ignored; an unaligned length is rounded up', () => {
    const w = world(10).ok(mmap(0, 4, 'rw', 'fixed'), mprotect(0, 4097n, 0x1 | 0x8));
    expectLayout(w, 'AABB', { A: 'r--p', B: 'rw-p' });
  });

  it('PROT_GROWSDOWN extends the range down to the VMA start, and needs VM_GROWSDOWN', () => {
    const w = world(10).ok(mmap(0, 2, 'rw', 'fixed'), mmap(4, 4, 'rw', 'fixed', 'growsdown'));
    expect(w.errno(mprotect(1, 1, 0x1 | PROT_GROWSDOWN))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.mprotect.growsdown']);
    w.ok(mprotect(6, 1, 0x1 | PROT_GROWSDOWN));
    expectLayout(w, 'AA..BBBC', { B: 'r--p gd', C: 'rw-p gd' });
    expect(w.errno(mprotect(6, 1, 0x1 | PROT_GROWSUP))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.mprotect.growsup']);
  });

  it('a hole inside the range: ENOMEM, the VMAs before it stay changed', () => {
    //      0123456789
    //      AAAA.BBBBB      mprotect(A+2p, 6p, READ)
    // ->   AACC.BBBBB      A split and changed, then the hole
    const w = world(10).ok(mmap(0, 4, 'rw', 'fixed'), mmap(5, 5, 'rw', 'fixed'));
    expect(w.errno(mprotect(2, 6, 'r'))).toBe(ENOMEM);
    expect(w.hits).toContain('errno.mprotect.hole');
    expectLayout(w, 'AACC.BBBBB', { A: 'rw-p', C: 'r--p', B: 'rw-p' });
    // a hole at the end of the range as well
    expect(w.errno(mprotect(5, 5, 'r'))).toBe(0);
    const v = world(10).ok(mmap(0, 4, 'rw', 'fixed'));
    expect(v.errno(mprotect(0, 6, 'r'))).toBe(ENOMEM);
    expectLayout(v, 'AAAA', { A: 'r--p' });
  });

  it('EACCES when prot exceeds VM_MAY* (left-to-right partial effect)', () => {
    const w = world(10).ok(mmap(0, 2, 'r', 'fixed'), mmap(2, 2, 'r', 'fixed', 'noreserve'));
    w.vma(2).flags &= ~VM_MAYWRITE; // as for a MAP_SHARED mapping of a read-only file
    expect(w.errno(mprotect(0, 4, 'rw'))).toBe(EACCES);
    expectLayout(w, 'AABB', { A: 'rw-p', B: 'r--p' });
  });

  it('split at the map_count limit: ENOMEM and the head split stays (two identical VMAs)', () => {
    // count 1 (one arena VMA), limit 2: the head split reaches the limit, the tail split fails
    const w = world(14, { maxMapCount: 2 }).ok(mmap(0, 14, 'rw', 'fixed'));
    expect(w.errno(mprotect(4, 4, 'r'))).toBe(ENOMEM);
    expect(w.hits).toEqual(expect.arrayContaining(['split.head', 'split.map_count']));
    expectLayout(w, 'AAAABBBBBBBBBB', { A: 'rw-p', B: 'rw-p' });
    // a change that merges instead of splitting needs no new VMA
    const m = world(14, { maxMapCount: 2 }).ok(mmap(0, 4, 'r', 'fixed'), mmap(4, 10, 'rw', 'fixed'), mprotect(4, 2, 'r'));
    expectLayout(m, 'AAAAAABBBBBBBB');
    // at the limit even the head split fails and nothing changes
    const f = world(14, { maxMapCount: 1 }).ok(mmap(0, 14, 'rw', 'fixed'));
    expect(f.errno(mprotect(4, 4, 'r'))).toBe(ENOMEM);
    expectLayout(f, 'A'.repeat(14), { A: 'rw-p' });
  });

  it('mprotect(+W) of a locked private VMA populates it (gives it an anon_vma)', () => {
    const w = world(10).ok(mmap(0, 4, 'r', 'fixed', 'locked'), mprotect(0, 4, 'rw'));
    expect(w.hits).toContain('mprotect.locked_populate');
    expect(w.anon(0)).not.toBe(0);
  });

  it('the execute-only pkey (CPU with pkeys): PROT_EXEC alone sets it, other prot drops it', () => {
    const w = world(10, { execOnlyPkey: true }).ok(mmap(0, 4, 'x', 'fixed'), mmap(4, 2, 'x', 'fixed'));
    expect(w.run({ op: 'touch', addr: { page: 0, off: 0 }, access: 'read' }).signal).toBe(11);
    expect(w.hits).toEqual(['touch.segv.pkey']);
    w.ok(mprotect(0, 2, 'rx'));
    expectLayout(w, 'AABBBB');
    expect(w.run({ op: 'touch', addr: { page: 0, off: 0 }, access: 'read' }).signal).toBe(0);
    // without pkeys, PROT_EXEC memory is readable on x86
    expect(world(4).ok(mmap(0, 1, 'x', 'fixed')).run({ op: 'touch', addr: { page: 0, off: 0 }, access: 'read' }).signal).toBe(0);
  });
});
