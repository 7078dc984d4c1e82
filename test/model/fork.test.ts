// fork: the child's address space (mm/mmap.c:dup_mmap) and the merges its inherited anon_vmas
// refuse (mm/vma.c:is_mergeable_anon_vma with vma_is_fork_child).
import { describe, expect, it } from 'vitest';
import { MADV } from '../../src/seq/consts.js';
import type { Call } from '../../src/seq/schema.js';
import { hostProfile, predict } from '../../src/model/index.js';
import { expectLayout, mmap, mprotect, touch, world } from './helpers.js';
import { fmmap, fork, memfd, pm, uffdCreate, uffdRegister, withFiles } from './helpers-files.js';

const madvise = (page: number, pages: number, advice: number): Call => ({ op: 'madvise', addr: { page, off: 0 }, len: BigInt(pages) * 4096n, advice });

describe('predict with fork', () => {
  it('snapshots carry the process; every waiting parent is observed after the last call, innermost first', () => {
    const seq = { vmafuzz: 1 as const, arenaPages: 8, calls: [mmap(0, 2, 'rw', 'fixed'), touch(0, 'w'), fork(), fork(), touch(1, 'w')] };
    const p = predict(seq, hostProfile(), { snapshotEveryCall: false, layers: { pagemap: true } });
    expect(p.snapshots.map((s) => [s.after, s.proc, s.pagemap?.replace(/-+$/, '')])).toEqual([
      [-1, 0, ''],
      [4, 2, 'PP'],
      [4, 1, 'P'],
      [4, 0, 'P'],
    ]);
    // without fork the harness prints no process: neither does the model
    expect(predict({ ...seq, calls: seq.calls.slice(0, 2) }, hostProfile(), { snapshotEveryCall: false }).snapshots[1]!.proc).toBeUndefined();
  });
});

describe('fork', () => {
  it('pieces of one anon_vma get distinct anon_vmas in the child: they never merge again there', () => {
    //      0123
    //      AABB   A rw, B r--, both faulted from one anon_vma X
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), touch(0, 'w'), touch(3, 'w'), mprotect(2, 2, 'r'), fork());
    expect(w.cur.proc).toBe(1);
    expect(w.anon(0)).not.toBe(w.anon(2));
    w.ok(mprotect(2, 2, 'rw'));
    expectLayout(w, 'AABB');
    expect(w.hits).toContain('anon_vma.refuse.distinct');
    // the parent keeps its single anon_vma (its chains stay singular)
    expect(w.mm.lookup(0)!.anonVma).toBe(w.mm.lookup(2)!.anonVma);
  });

  it('an inherited faulted VMA refuses an unfaulted neighbour: a new mapping next to it stays apart', () => {
    //      0123
    //      AABB   A faulted before the fork, B mapped by the child
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), touch(0, 'w'), fork(), mmap(2, 2, 'rw', 'fixed'));
    expectLayout(w, 'AABB');
    expect(w.hits).toContain('anon_vma.refuse.fork_child');
    // without the fork the same mapping merges
    const v = world(8).ok(mmap(0, 2, 'rw', 'fixed'), touch(0, 'w'), mmap(2, 2, 'rw', 'fixed'));
    expectLayout(v, 'AAAA');
  });

  it('a child VMA split after the fork re-merges with its own piece (same anon_vma)', () => {
    const w = world(8).ok(mmap(0, 4, 'rw', 'fixed'), touch(1, 'w'), fork(), mprotect(1, 1, 'r'));
    expectLayout(w, 'ABCC');
    w.ok(mprotect(1, 1, 'rw'));
    expectLayout(w, 'AAAA');
  });

  it('the child fault next to a fork child does not reuse its anon_vma', () => {
    //      AABB   A inherited faulted, B rw unfaulted but not mergeable (rwx): B's fault gets a new anon_vma
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), mmap(2, 2, 'rwx', 'fixed'), touch(0, 'w'), fork(), touch(2, 'w'));
    expect(w.hits).toContain('anon_vma.reuse.fork_child_refused');
    expect(w.anon(2)).not.toBe(w.anon(0));
  });

  it('DONTFORK VMAs are absent, WIPEONFORK ones have no anon_vma or pages, mlock is dropped without merging', () => {
    //      0123456
    //      AABBCCD   A dontfork, B wipeonfork (written), C locked rw, D rw
    const w = world(8).ok(
      mmap(0, 2, 'rw', 'fixed'), mmap(2, 2, 'rw', 'fixed'), mmap(4, 2, 'rw', 'fixed', 'locked'), mmap(6, 1, 'rw', 'fixed'),
      madvise(0, 2, MADV.MADV_DONTFORK), madvise(2, 2, MADV.MADV_WIPEONFORK), touch(2, 'w'), touch(6, 'w'),
    );
    expectLayout(w, 'AABBCCD', { A: 'dc', B: 'wf', C: 'lo' });
    w.ok(fork());
    //      ..BBCCD   C and D identical now, but not merged
    expectLayout(w, '..BBCCD', { B: 'wf', C: '!lo' });
    expect(w.vma(2).anonVma).toBe(0);
    expect(pm(w)).toBe('----PPP'); // C populated by MAP_LOCKED, D written; B wiped
    expect(w.hits).toEqual(expect.arrayContaining(['fork.dontcopy', 'fork.wipeonfork', 'fork.unlock']));
  });

  it('page tables are copied for VMAs with an anon_vma only: shared file pages are faulted in again', () => {
    const w = withFiles(world(8), memfd(4));
    w.ok(fmmap(0, 2, 'rw', 0, 0, 'shared', 'fixed'), mmap(4, 2, 'r', 'fixed'), touch(0, 'w'), touch(4, 'r'));
    expect(pm(w)).toBe('P---P');
    // the zero page of a read fault has no anon_vma: not copied either
    w.ok(fork());
    expect(pm(w)).toBe('');
    w.ok(touch(1, 'r'));
    expect(pm(w)).toBe('PP'); // fault-around finds page 0 in the page cache
  });

  it('uffd registration without UFFD_FEATURE_EVENT_FORK is dropped in the child, without merging', () => {
    //      ABC   B registered (um) in the parent; in the child A, B, C are identical but stay apart
    const w = world(8).ok(mmap(0, 3, 'rw', 'fixed'), uffdCreate(), uffdRegister(0, 1, 1, 'm'));
    expectLayout(w, 'ABC', { B: 'um' });
    w.ok(fork());
    expectLayout(w, 'ABC', { B: '!um' });
    expect(w.events).toEqual([]);
  });

  it('a handle names its creator\'s context: registering through it in the child changes the parent', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), uffdCreate(), fork(), uffdRegister(0, 0, 1, 'm'));
    expectLayout(w, 'AA', { A: '!um' }); // the child
    expect(w.mm.lookup(0)!.flags & 0x200).not.toBe(0); // the parent: VM_UFFD_MISSING on [0, 1)
    expect(w.mm.lookup(1)!.flags & 0x200).toBe(0);
  });

  it('with UFFD_FEATURE_EVENT_FORK the child keeps the registration (a new context) and the parent reads a fork event', () => {
    const w = world(8).ok(mmap(0, 3, 'rw', 'fixed'), uffdCreate('fork'), uffdRegister(0, 1, 1, 'm'), fork());
    expect(w.events).toEqual(['fork']);
    expectLayout(w, 'ABC', { B: 'um' });
    expect(w.vma(1).uffd).not.toBe(w.mm.lookup(1)!.uffd);
    // a fault there is a missing event for the child's context
    w.run(touch(1, 'r'));
    expect(w.events).toEqual(['missing']);
  });
});
