// touch: arch/x86/mm/fault.c:access_error, mm/mmap_lock.c:lock_mm_and_find_vma, mm/vma.c:expand_downwards.
import { describe, expect, it } from 'vitest';
import { expectLayout, mmap, touch, world } from './helpers.js';

const SIGSEGV = 11;

describe('touch', () => {
  it('SIGSEGV for unmapped pages and for accesses the protection forbids', () => {
    const w = world(10).ok(mmap(0, 1, 'none', 'fixed'), mmap(2, 1, 'r', 'fixed'), mmap(4, 1, 'w', 'fixed'), mmap(6, 1, 'x', 'fixed'));
    const sig = (p: number, a: 'r' | 'w') => w.run(touch(p, a)).signal;
    expect([sig(8, 'r'), sig(8, 'w')]).toEqual([SIGSEGV, SIGSEGV]);
    expect(w.hits).toEqual(['touch.segv.unmapped']);
    expect([sig(0, 'r'), sig(0, 'w')]).toEqual([SIGSEGV, SIGSEGV]);
    expect([sig(2, 'r'), sig(2, 'w')]).toEqual([0, SIGSEGV]);
    expect(w.hits).toEqual(['touch.segv.write_protected']);
    // x86: write permission implies read, and so does exec (without protection keys)
    expect([sig(4, 'r'), sig(4, 'w')]).toEqual([0, 0]);
    expect([sig(6, 'r'), sig(6, 'w')]).toEqual([0, SIGSEGV]);
  });

  it('a fault below a MAP_GROWSDOWN VMA grows it (and prepares its anon_vma, even for a read)', () => {
    const w = world(1024).ok(mmap(1000, 4, 'rw', 'fixed', 'growsdown'));
    expect(w.run(touch(990, 'r')).signal).toBe(0);
    expect(w.hits).toEqual(expect.arrayContaining(['touch.stack_expand', 'anon_vma.new']));
    expectLayout(w, '.'.repeat(990) + 'G'.repeat(14), { G: 'gd' });
    expect(w.vma(990).pgoff).toBe(990);
    // the growth happens before the access check: a write to a read-only stack grows it, then faults
    const r = world(1024).ok(mmap(1000, 4, 'r', 'fixed', 'growsdown'));
    expect(r.run(touch(995, 'w')).signal).toBe(SIGSEGV);
    expect(r.vma(995).start).toBe(995);
  });

  it('growth stops at stack_guard_gap from an accessible VMA below, and at RLIMIT_STACK', () => {
    const w = world(1024).ok(mmap(700, 10, 'r', 'fixed'), mmap(1000, 4, 'rw', 'fixed', 'growsdown'));
    expect(w.run(touch(900, 'w')).signal).toBe(SIGSEGV); // 900 - 710 < 256
    expect(w.hits).toContain('touch.stack_guard_gap');
    // a PROT_NONE VMA below does not count
    const n = world(1024).ok(mmap(700, 10, 'none', 'fixed'), mmap(1000, 4, 'rw', 'fixed', 'growsdown'));
    expect(n.run(touch(900, 'w')).signal).toBe(0);
    // RLIMIT_STACK: the anon_vma is prepared before the limit check refuses
    const s = world(4096, { rlimitStackPages: 2048 }).ok(mmap(4000, 1, 'rw', 'fixed', 'growsdown'));
    expect(s.run(touch(1000, 'w')).signal).toBe(SIGSEGV);
    expect(s.hits).toContain('touch.stack_rlimit');
    expect(s.anon(4000)).not.toBe(0);
    expectLayout(s, '.'.repeat(4000) + 'G');
  });

  it('an ordinary VMA does not grow', () => {
    const w = world(10).ok(mmap(5, 2, 'rw', 'fixed'));
    expect(w.run(touch(4, 'w')).signal).toBe(SIGSEGV);
    expectLayout(w, '.....AA');
  });
});
