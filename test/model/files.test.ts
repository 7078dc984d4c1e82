// File mappings (memfd and tmpfs files: shmem), ftruncate and access past EOF.
import { describe, expect, it } from 'vitest';
import { makeProfile, renderMaps } from '../../src/model/index.js';
import { expectLayout, mprotect, touch, world } from './helpers.js';
import { fmmap, ftruncate, memfd, mremap, pm, tmpfs, withFiles } from './helpers-files.js';

const SIGBUS = 7;

describe('file mmap', () => {
  it('mappings of one file merge when pgoff lines up; another file or a gap in pgoff does not', () => {
    //      0123456789
    //      AAAAAAAA..   f0 pages 0-3 at A+0 and 4-7 at A+4: one VMA (one struct file per declared file)
    const w = withFiles(world(16), memfd(16), memfd(16));
    w.ok(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'), fmmap(4, 4, 'rw', 0, 4, 'shared', 'fixed'));
    expectLayout(w, 'AAAAAAAA', { A: 'rw-s sh mw ms' });
    //      AAAAAAAABBCC   f0 page 9 (gap in pgoff) and f1 page 10 next to it: no merge
    w.ok(fmmap(8, 2, 'rw', 0, 9, 'shared', 'fixed'), fmmap(10, 2, 'rw', 1, 10, 'shared', 'fixed'));
    expectLayout(w, 'AAAAAAAABBCC');
    expect(w.hits).toContain('merge.new.none');
  });

  it('a read-only file: MAP_SHARED|PROT_WRITE is EACCES, a shared read mapping has no VM_MAYWRITE', () => {
    const w = withFiles(world(8), tmpfs(4, true));
    expect(w.errno(fmmap(0, 2, 'rw', 0, 0, 'shared', 'fixed'))).toBe(13);
    w.ok(fmmap(0, 2, 'r', 0, 0, 'shared', 'fixed'), fmmap(2, 2, 'rw', 0, 2, 'fixed'));
    //      AABB   A r--s without mw/sh (VM_MAYSHARE only), B private writable: VM_ACCOUNT
    expectLayout(w, 'AABB', { A: 'r--s ms !mw !sh', B: 'rw-p mw ac' });
    expect(w.errno(mprotect(0, 2, 'rw'))).toBe(13); // EACCES: beyond VM_MAY*
    expect(renderMaps(w.mm)[0]!.name).toBe('<tmpfs>/f0 (deleted)');
  });

  it('maps names: /memfd:f<n> (deleted) and the tmpfs path, file offset in bytes', () => {
    const w = withFiles(world(8), memfd(8), tmpfs(8));
    w.ok(fmmap(0, 2, 'r', 0, 3, 'shared', 'fixed'), fmmap(4, 2, 'r', 1, 1, 'fixed'));
    const m = renderMaps(w.mm);
    expect(m.map((e) => [e.name, e.offset])).toEqual([['/memfd:f0 (deleted)', 3 * 4096], ['<tmpfs>/f1 (deleted)', 4096]]);
  });

  it('errnos of do_mmap for files: EOVERFLOW, EOPNOTSUPP (MAP_SHARED_VALIDATE), EINVAL (growsdown, type), offset alignment', () => {
    const w = withFiles(world(8), memfd(8));
    expect(w.errno({ ...fmmap(0, 1, 'r', 0, 0, 'shared', 'fixed'), offset: 1n << 63n })).toBe(75);
    expect(w.errno(fmmap(0, 1, 'r', 0, 0, 'type=3', 'fixed', 'sync'))).toBe(95);
    expect(w.errno(fmmap(0, 1, 'r', 0, 0, 'fixed', 'growsdown'))).toBe(22);
    expect(w.errno(fmmap(0, 1, 'r', 0, 0, 'type=8', 'fixed'))).toBe(22);
    expect(w.errno({ ...fmmap(0, 1, 'r', 0, 0, 'fixed'), offset: 1n })).toBe(22);
    // MAP_SHARED silently drops MAP_SYNC from the checks but VM_SYNC is already set
    w.ok(fmmap(0, 1, 'r', 0, 0, 'shared', 'fixed', 'sync'));
    expectLayout(w, 'A', { A: 'sf' });
  });
});

describe('a tmpfs directory on a noexec mount (fact tmpfs_noexec, mm/mmap.c:do_mmap path_noexec)', () => {
  for (const noexec of [false, true]) {
    it(`${noexec ? 'noexec' : 'exec'} mount: PROT_EXEC of a tmpfs file ${noexec ? 'EPERM, and no VM_MAYEXEC to mprotect to' : 'allowed'}; memfds never noexec`, () => {
      //      AABBCC   A tmpfs shared r, B tmpfs private r, C memfd private r-x
      const w = withFiles(world(8, { tmpfsNoexec: noexec }), tmpfs(4), memfd(4));
      expect(w.errno(fmmap(0, 2, 'rx', 0, 0, 'shared', 'fixed'))).toBe(noexec ? 1 : 0);
      expect(w.errno(fmmap(2, 2, 'rx', 0, 0, 'fixed'))).toBe(noexec ? 1 : 0);
      w.ok(fmmap(0, 2, 'r', 0, 0, 'shared', 'fixed'), fmmap(2, 2, 'r', 0, 0, 'fixed'), fmmap(4, 2, 'rx', 1, 0, 'fixed'));
      expectLayout(w, 'AABBCC', { A: noexec ? 'r--s !me' : 'r--s me', B: noexec ? 'r--p !me' : 'r--p me', C: 'r-xp me' });
      expect(w.errno(mprotect(0, 4, 'rx'))).toBe(noexec ? 13 : 0);
    });
  }
});

describe('faults on file mappings', () => {
  it('a read fault maps the cached pages of its 16-page window (fault-around); a write maps one page', () => {
    //      page 41 starts a private mapping of file pages 2..21; pages 3, 5 and 17 are cached
    const w = withFiles(world(64), memfd(40));
    w.ok(fmmap(0, 40, 'rw', 0, 0, 'shared', 'fixed'), touch(3, 'w'), touch(5, 'w'), touch(17, 'w'), touch(30, 'w'));
    expect(pm(w)).toBe('---P-P-----------P------------P');
    w.ok(fmmap(41, 20, 'r', 0, 2, 'fixed'), touch(42, 'r'));
    // window: ALIGN_DOWN(42, 16) = 32 clamped to the VMA start 41, 16 pages: [41, 57) -> 42, 44, 56
    expect(pm(w).slice(41)).toBe('-P-P-----------P');
    expect(w.hits).toContain('fault.file.around');
  });

  it('access at or past EOF is SIGBUS, read or write, shared or private; a private write still gets an anon_vma', () => {
    const w = withFiles(world(8), memfd(0x1800n));
    w.ok(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'), fmmap(4, 4, 'rw', 0, 0, 'fixed'));
    expect(w.run(touch(1, 'r')).signal).toBe(0); // the partial page is inside i_size
    expect(w.run(touch(2, 'r')).signal).toBe(SIGBUS);
    expect(w.run(touch(3, 'w')).signal).toBe(SIGBUS);
    expect(w.run(touch(6, 'w')).signal).toBe(SIGBUS);
    expect(w.hits).toContain('fault.file.cow_sigbus_anon_vma');
    expect(w.anon(4)).not.toBe(0);
  });

  it('ftruncate shrink unmaps every mapping of the cut pages, private copies too; grow does not map anything', () => {
    //      0123 4567       shared f0 at A+0, private f0 at A+4; everything written
    const w = withFiles(world(8), memfd(4));
    w.ok(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'), fmmap(4, 4, 'rw', 0, 0, 'fixed'));
    for (let p = 0; p < 8; p++) w.ok(touch(p, 'w'));
    expect(pm(w)).toBe('PPPPPPPP');
    w.ok(ftruncate(0, 0x1001n)); // holebegin = 2 pages
    expect(pm(w)).toBe('PP--PP');
    expect(w.hits).toContain('ftruncate.shrink');
    expect(w.run(touch(7, 'r')).signal).toBe(SIGBUS);
    w.ok(ftruncate(0, 8));
    expect(pm(w)).toBe('PP--PP');
    expect(w.run(touch(7, 'r')).signal).toBe(0);
  });

  it('ftruncate errnos: negative length, read-only descriptor', () => {
    const w = withFiles(world(8), memfd(4), memfd(4, true));
    expect(w.errno(ftruncate(0, 1n << 63n))).toBe(22);
    expect(w.errno(ftruncate(1, 1))).toBe(22);
  });
});

describe('anon_pgoff of MAP_PRIVATE file VMAs (profile row merge.anon_pgoff)', () => {
  // A faulted private file VMA at file page 5 moved right after an unfaulted VMA of pages 0-4:
  // pgoff lines up; the moved VMA keeps its anonymous page offset (its address before the move).
  const seq = [fmmap(0, 5, 'rw', 0, 0, 'fixed'), fmmap(20, 3, 'rw', 0, 5, 'fixed'), touch(20, 'w'), mremap(20, 3, 3, ['maymove', 'fixed'], 5)];
  it('7.3 refuses the merge: anon_pgoff does not continue', () => {
    const w = withFiles(world(32, makeProfile('7.3.4', { base_map_count: '0' })), memfd(16));
    w.ok(...seq);
    //      01234567
    //      AAAAABBB
    expectLayout(w, 'AAAAABBB');
    expect(w.hits).toContain('merge.anon_pgoff_refused');
  });
  it('6.18 merges (file pgoff only)', () => {
    const w = withFiles(world(32), memfd(16));
    w.ok(...seq);
    expectLayout(w, 'AAAAAAAA');
  });
});
