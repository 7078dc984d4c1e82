// fork {until: exit}: the child runs a block and exits (kernel/exit.c:do_exit -> exit_mmap), the
// parent goes on. What the parent sees afterwards: its own VMAs and pages untouched by whatever
// the child did (CoW, WIPEONFORK, guard markers, unmaps), its VMAs no fork children (they merge),
// its userfaultfd registration kept. Layouts as in tools/testing/vma.
import { describe, expect, it } from 'vitest';
import { MADV } from '../../src/seq/consts.js';
import type { Call } from '../../src/seq/schema.js';
import { hostProfile, predict } from '../../src/model/index.js';
import { expectLayout, mmap, mprotect, munmap, touch, world } from './helpers.js';
import { exit, fork, forkBlock, pm, uffdCreate, uffdRegister } from './helpers-files.js';

const madvise = (page: number, pages: number, advice: number): Call => ({ op: 'madvise', addr: { page, off: 0 }, len: BigInt(pages) * 4096n, advice });

describe('predict with fork {until: exit}', () => {
  it('the child shows its arena before it exits; the parent is observed at the end', () => {
    const calls = [mmap(0, 2, 'rw', 'fixed'), forkBlock(), touch(0, 'w'), exit(), touch(1, 'w')];
    const p = predict({ vmafuzz: 1, arenaPages: 8, calls }, hostProfile(), { snapshotEveryCall: false, layers: { pagemap: true } });
    expect(p.snapshots.map((s) => [s.after, s.proc, s.pagemap?.replace(/-+$/, '')])).toEqual([
      [-1, 0, ''],
      [2, 1, 'P'],
      [4, 0, '-P'],
    ]);
    expect(p.calls[3]).toEqual({ ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 });
  });

  it('every-call snapshots come from the process that ran the call: the exit call is the parent\'s', () => {
    const calls = [mmap(0, 2, 'rw', 'fixed'), forkBlock(), touch(0, 'w'), exit()];
    const p = predict({ vmafuzz: 1, arenaPages: 8, calls }, hostProfile(), { snapshotEveryCall: true });
    expect(p.snapshots.map((s) => [s.after, s.proc])).toEqual([[-1, 0], [0, 0], [1, 1], [2, 1], [3, 0]]);
  });

  it('a block left open (no exit) behaves as the plain fork: the parent waits to the end', () => {
    const calls = [mmap(0, 2, 'rw', 'fixed'), forkBlock(), touch(0, 'w')];
    const p = predict({ vmafuzz: 1, arenaPages: 8, calls }, hostProfile(), { snapshotEveryCall: false });
    expect(p.snapshots.map((s) => [s.after, s.proc])).toEqual([[-1, 0], [2, 1], [2, 0]]);
  });

  it('children are numbered in creation order across blocks', () => {
    const calls = [mmap(0, 2, 'rw', 'fixed'), forkBlock(), exit(), forkBlock(), exit(), fork(), touch(0, 'r')];
    const p = predict({ vmafuzz: 1, arenaPages: 8, calls }, hostProfile(), { snapshotEveryCall: true });
    expect(p.snapshots.map((s) => s.proc)).toEqual([0, 0, 1, 0, 2, 0, 3, 3, 0]);
  });
});

describe('the parent after its child exits', () => {
  it('keeps its CoW pages whatever the child wrote, zapped or unmapped', () => {
    //      0123
    //      AAAA   faulted before the fork; the child writes, DONTNEEDs and unmaps pieces
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), touch(0, 'w'), touch(1, 'w'), forkBlock());
    w.ok(touch(0, 'w'), madvise(1, 1, MADV.MADV_DONTNEED), munmap(2, 1));
    expectLayout(w, 'AA.B');
    w.ok(exit());
    expectLayout(w, 'AAAA');
    expect(pm(w)).toBe('PP');
  });

  it('its VMAs are no fork children: a new neighbour merges, unlike in the child', () => {
    //      012345
    //      AAABBB   child: B stays apart from the inherited faulted A;  parent: one VMA
    const w = world(8).ok(mmap(0, 3, 'rw', 'fixed'), touch(0, 'w'), forkBlock(), mmap(3, 3, 'rw', 'fixed'));
    expectLayout(w, 'AAABBB..');
    expect(w.hits).toContain('anon_vma.refuse.fork_child');
    w.ok(exit(), mmap(3, 3, 'rw', 'fixed'));
    expectLayout(w, 'AAAAAA..');
  });

  it('WIPEONFORK: the child gets an empty VMA, the parent keeps its pages', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), touch(0, 'w'), madvise(0, 2, MADV.MADV_WIPEONFORK), forkBlock());
    expect(w.cur.lookup(0)!.anonVma).toBe(0);
    expect(pm(w)).toBe('');
    w.ok(touch(0, 'r'), exit());
    expect(pm(w)).toBe('P');
  });

  it('guard markers are copied except into WIPEONFORK VMAs; the child removing them leaves the parent\'s', () => {
    //      0123
    //      AABB   A plain, B wipeonfork; a guard marker on every page
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), madvise(2, 2, MADV.MADV_WIPEONFORK), madvise(0, 4, MADV.MADV_GUARD_INSTALL), forkBlock());
    expect(pm(w)).toBe('GG');
    expect(w.run(touch(0, 'r')).signal).toBe(11);
    expect(w.run(touch(2, 'r')).signal).toBe(0);
    w.ok(madvise(0, 4, MADV.MADV_GUARD_REMOVE), exit());
    expect(pm(w)).toBe('GGGG');
  });

  it('a userfaultfd registration with EVENT_FORK: the parent reads a fork event, stays registered after the exit', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), uffdCreate('fork'), uffdRegister(0, 0, 2, 'm'));
    w.ok(forkBlock());
    expect(w.events).toEqual(['fork']);
    expect(w.cur.lookup(0)!.uffd).not.toBe(w.mm.lookup(0)!.uffd);
    w.ok(exit());
    expect(w.cur.lookup(0)!.uffd).toBe(1);
    w.run(touch(0, 'w'));
    expect(w.events).toEqual(['missing']);
  });

  it('locks stay with the parent: the child\'s copy is unlocked and may be reprotected freely', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed', 'locked'), forkBlock(), mprotect(0, 1, 'r'));
    expectLayout(w, 'AB......', { A: 'r--p !lo', B: '!lo' });
    w.ok(exit());
    expectLayout(w, 'AA......', { A: 'rw-p lo' });
  });
});

describe('descriptors after the child exits', () => {
  it('a userfaultfd the child created is not in the parent\'s table: EBADF there', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), forkBlock(), uffdCreate(), uffdRegister(0, 0, 1, 'm'), exit());
    expect(w.errno(uffdRegister(0, 1, 1, 'm'))).toBe(9);
    expect(w.hits).toContain('errno.uffd.handle_of_child');
    // one created by the parent before the fork is inherited by the child
    const v = world(8).ok(mmap(0, 2, 'rw', 'fixed'), uffdCreate(), forkBlock(), uffdRegister(0, 0, 1, 'm'), exit(), uffdRegister(0, 1, 1, 'm'));
    expect(v.cur.proc).toBe(0);
  });
});
