// Page contents (src/model/content.ts) and files on disk filesystems (src/model/realfs.ts): which
// byte a `probe` sees - the page cache, a private CoW copy, the zero page - and where the page
// cache state is the kernel's choice. Layouts are drawn as in tools/testing/vma: one letter per
// page of the arena, one letter per VMA.
import { describe, expect, it } from 'vitest';
import { MADV } from '../../src/seq/consts.js';
import type { Call } from '../../src/seq/schema.js';
import { expectLayout, mmap, touch, world } from './helpers.js';
import { fmmap, fork, ftruncate, memfd, mremap, pm, withFiles } from './helpers-files.js';
import { ext4, FS, probe } from './rules-content.scenarios.js';

const SIGSEGV = 11;
const SIGBUS = 7;
const madvise = (page: number, pages: number, advice: number): Call => ({ op: 'madvise', addr: { page, off: 0 }, len: BigInt(pages) * 4096n, advice });
/** the byte a probe reads, or -signal */
const read = (w: ReturnType<typeof world>, page: number, off = 0): number => {
  const o = w.run(probe(page, off));
  return o.signal ? -o.signal : o.ret.kind === 'int' ? o.ret.value : NaN;
};
/** harness-c/fill.h: page k of file i */
const fill = (i: number, k: number) => 0x80 | ((16 * i + k) & 0x7f);

describe('probe: page cache versus private copy', () => {
  it('a private file mapping reads the file until CoW, and again after MADV_DONTNEED', () => {
    //      0123....89ab
    //      PPPP    SSSS   P: MAP_PRIVATE of file pages 0-3, S: MAP_SHARED of the same pages
    const w = withFiles(world(16, FS), ext4(4));
    w.ok(fmmap(0, 4, 'rw', 0, 0, 'fixed'), fmmap(8, 4, 'rw', 0, 0, 'shared', 'fixed'));
    expectLayout(w, 'AAAA....BBBB');
    expect(read(w, 1)).toBe(fill(0, 1));
    // a write through the shared mapping is in the page cache: the private mapping sees it too
    w.ok(touch(9, 'w'));
    expect(read(w, 1)).toBe(0x5a);
    // CoW (mm/memory.c:do_wp_page -> wp_page_copy) copies the page as it is now, then the write
    w.ok(touch(2, 'w'));
    expect(w.hits).toContain('fault.cow_present');
    expect(read(w, 2)).toBe(0x5a);
    expect(read(w, 10)).toBe(fill(0, 2)); // the file did not change
    expect(read(w, 2, 1)).toBe(fill(0, 2)); // the rest of the copy is the file's byte
    // MADV_DONTNEED zaps the copy: the private mapping sees the file again
    w.ok(madvise(0, 4, MADV.MADV_DONTNEED));
    expect(read(w, 2)).toBe(fill(0, 2));
    expect(w.hits).toContain('probe.page_cache');
  });

  it('anonymous memory reads zeroes (zero page), then what was written; fork shares the copy', () => {
    const w = world(8);
    w.ok(mmap(0, 2, 'rw', 'fixed'));
    expect(read(w, 0)).toBe(0);
    expect(w.hits).toContain('probe.zero');
    w.ok(touch(1, 'w'), fork());
    expect(read(w, 1)).toBe(0x5a); // the child reads the parent's page (CoW-shared)
    expect(w.hits).toContain('probe.private');
    w.ok(madvise(1, 1, MADV.MADV_DONTNEED));
    expect(read(w, 1)).toBe(0);
  });

  it('private copies move with mremap; a MADV_FREE page with contents is declined', () => {
    //      AA......  ->  ......AA
    const w = world(8);
    w.ok(mmap(0, 2, 'rw', 'fixed'), touch(0, 'w'), mremap(0, 2, 2, ['maymove', 'fixed'], 6));
    expectLayout(w, '......AA');
    expect(read(w, 6)).toBe(0x5a);
    expect(read(w, 7)).toBe(0);
    w.ok(madvise(6, 2, MADV.MADV_FREE));
    expect(() => w.run(probe(6))).toThrow(/MADV_FREE/);
  });

  it('truncation frees the pages beyond EOF (SIGBUS) and zeroes the tail of the EOF page; growing reads holes', () => {
    //      AAAA   one shared mapping of a 4-page file, truncated to 1.5 pages, grown back
    const w = withFiles(world(8, FS), ext4(4));
    w.ok(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'));
    w.ok(ftruncate(0, 6144n));
    expect(read(w, 1, 100)).toBe(fill(0, 1));
    expect(read(w, 1, 2048)).toBe(0); // truncate_inode_partial_folio zeroed it
    expect(read(w, 2)).toBe(-SIGBUS);
    w.ok(ftruncate(0, 16384n));
    expect(read(w, 2)).toBe(0);
    expect(read(w, 0)).toBe(fill(0, 0));
  });

  it('a byte written past EOF inside the EOF page is unknown to the model (writeback may zero it)', () => {
    const w = withFiles(world(8, FS), { ...ext4(1), size: 100n });
    w.ok(fmmap(0, 1, 'rw', 0, 0, 'shared', 'fixed'), touch(0, 'w'));
    expect(read(w, 0)).toBe(0x5a); // below EOF: known
    expect(read(w, 0, 50)).toBe(fill(0, 0));
    expect(read(w, 0, 200)).toBe(0);
    w.ok({ op: 'touch', addr: { page: 0, off: 300 }, access: 'write' });
    expect(() => w.run(probe(0, 300))).toThrow(/past EOF/);
  });

  it('guard markers answer SIGSEGV on a read-only file mapping; removal shows the file again', () => {
    //      AAAA   MAP_SHARED PROT_READ of an O_RDONLY file, markers on pages 1-2
    const w = withFiles(world(8, FS), ext4(4, true, true));
    w.ok(fmmap(0, 4, 'r', 0, 0, 'shared', 'fixed'), madvise(1, 2, MADV.MADV_GUARD_INSTALL));
    expect(pm(w)).toBe('-GG');
    expect(read(w, 1)).toBe(-SIGSEGV);
    expect(read(w, 3)).toBe(fill(0, 3));
    w.ok(madvise(0, 4, MADV.MADV_GUARD_REMOVE));
    expect(read(w, 1)).toBe(fill(0, 1));
  });
});

describe('disk files: readahead and the page cache', () => {
  it('a miss reads ahead: neighbouring pages of the VMA may now be present (finish_fault maps a large folio)', () => {
    //      AAAAAAAA   MAP_SHARED of an 8-page ext4 file that was never written (holes)
    const w = withFiles(world(8, FS), ext4(8, false));
    w.ok(fmmap(0, 8, 'r', 0, 0, 'shared', 'fixed'));
    expect(read(w, 3)).toBe(0);
    expect(w.hits).toContain('realfs.readahead');
    // fault-around found nothing cached before ->fault; afterwards the kernel may have mapped more
    expect(pm(w)).toBe('???P????');
  });

  it('a read of a maybe-present page faults around only maybe: if the large folio mapped it, no fault', () => {
    //      AAAA   MAP_SHARED of an xfs file never written; read A+3p (readahead, a large folio
    //             may map 0-2), MADV_DONTNEED A+3p, read A+0p: present already -> no fault-around,
    //             page 3 stays unmapped; not present -> fault-around maps 3 again
    const w = withFiles(world(4, FS), ext4(8, false));
    w.ok(fmmap(0, 4, 'r', 0, 0, 'shared', 'fixed'));
    expect(read(w, 3)).toBe(0);
    w.ok(madvise(3, 1, MADV.MADV_DONTNEED));
    expect(pm(w)).toBe('???'); // (trailing absent pages are not drawn)
    expect(read(w, 0)).toBe(0);
    expect(pm(w)).toBe('P???');
  });

  it('MADV_REMOVE on btrfs: punched over data, declined where a page may be a hole (btrfs_punch_hole skips holes)', () => {
    //      AAAA   MAP_SHARED of a 4-page btrfs file, pre-filled (data on disk): the ordinary punch
    const btrfs = (fill: boolean) => ({ ...ext4(4, fill), kind: 'btrfs' as const });
    const w = withFiles(world(4, FS), btrfs(true));
    w.ok(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'));
    expect(read(w, 1)).toBe(fill(0, 1));
    w.ok(madvise(1, 1, MADV.MADV_REMOVE));
    expect(read(w, 1)).toBe(0);
    //      never written: all hole on disk, "Already in a large hole" keeps the cached page mapped
    const h = withFiles(world(4, FS), btrfs(false));
    h.ok(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'));
    expect(read(h, 1)).toBe(0);
    expect(() => h.run(madvise(1, 1, MADV.MADV_REMOVE))).toThrow(/may hold a hole/);
  });

  it('pre-filled pages are cached: fault-around maps the window, no readahead', () => {
    const w = withFiles(world(8, FS), ext4(8));
    w.ok(fmmap(0, 8, 'r', 0, 0, 'shared', 'fixed'));
    expect(read(w, 3)).toBe(fill(0, 3));
    expect(w.hits).not.toContain('realfs.readahead');
    expect(pm(w)).toBe('PPPPPPPP');
  });

  it('shmem has no readahead: a miss maps only the faulting page', () => {
    const w = withFiles(world(8), memfd(8 * 4096));
    w.ok(fmmap(0, 8, 'r', 0, 0, 'shared', 'fixed'));
    expect(read(w, 3)).toBe(0);
    expect(pm(w)).toBe('---P');
  });

  it('MADV_WILLNEED of a disk file may cache its range; of shmem it changes nothing', () => {
    const w = withFiles(world(8, FS), ext4(8, false), memfd(8 * 4096));
    w.ok(fmmap(0, 4, 'r', 0, 0, 'shared', 'fixed'), fmmap(4, 4, 'r', 1, 0, 'shared', 'fixed'));
    w.ok(madvise(0, 8, MADV.MADV_WILLNEED));
    expect(w.hits).toContain('realfs.willneed');
    w.ok(touch(4, 'r'), touch(0, 'r'));
    //      AAAABBBB   fault-around over A maps what readahead may have cached: maybe present
    expect(pm(w)).toBe('P???P');
  });

  it('userfaultfd cannot register a disk-file VMA (no vm_uffd_ops); MADV_COLLAPSE and VM_HUGEPAGE misses are declined', () => {
    const w = withFiles(world(8, FS), ext4(4, false));
    w.ok(fmmap(0, 4, 'rw', 0, 0, 'fixed'), { op: 'uffd_create', features: 0 });
    expect(w.errno({ op: 'uffd_register', uffd: 0, addr: { page: 0, off: 0 }, len: 4n * 4096n, mode: 1 })).toBe(22);
    expect(w.hits).toContain('errno.uffd.realfs');
    expect(() => w.run(madvise(0, 4, MADV.MADV_COLLAPSE))).toThrow(/READ_ONLY_THP_FOR_FS/);
    w.ok(madvise(0, 4, MADV.MADV_HUGEPAGE));
    expect(() => w.run(probe(0))).toThrow(/VM_HUGEPAGE/);
  });

  it('MAP_SYNC of a private ext4 mapping is declined too: calc_vm_flag_bits makes it VM_SYNC for every map type', () => {
    // the 6.18.44 host answers mmap(NULL, 1p, PROT_NONE, MAP_PRIVATE|MAP_SYNC, ext4 file) with
    // EOPNOTSUPP from ->mmap_prepare (daxdev_mapping_supported); btrfs has no such check
    const w = withFiles(world(8, FS), ext4(4, false));
    const c = fmmap(null, 1, 'r', 0, 0); // MAP_PRIVATE by default
    expect(() => w.run({ ...c, flags: (c as { flags: number }).flags | 0x80000 } as Call)).toThrow(/MAP_SYNC on a non-DAX ext4\/xfs file/);
  });

  it('a non-fixed mremap move of 2 MiB of an ext4 file is declined like such an mmap (thp_get_unmapped_area)', () => {
    // the 6.18.44 host put this DONTUNMAP copy outside the arena instead of at its free hint
    const w = withFiles(world(1024, FS), ext4(512, false));
    w.ok(fmmap(0, 512, 'none', 0, 0, 'shared', 'fixed'));
    expect(() => w.run(mremap(0, 512, 512, ['maymove', 'dontunmap'], 512))).toThrow(/thp_get_unmapped_area/);
    // 511 pages span no aligned 2 MiB of the file: the hint is taken
    const v = withFiles(world(1024, FS), ext4(512, false));
    v.ok(fmmap(0, 511, 'none', 0, 0, 'shared', 'fixed'), mremap(0, 511, 511, ['maymove', 'dontunmap'], 512));
  });

  it('a disk filesystem on a noexec mount (fact fs_noexec) refuses PROT_EXEC file mappings and clears VM_MAYEXEC', () => {
    const w = withFiles(world(8, { ...FS, fsNoexec: ['xfs'] }), { kind: 'xfs', size: 4n * 4096n }, ext4(4));
    expect(w.errno(fmmap(0, 1, 'rx', 0, 0, 'fixed'))).toBe(1); // EPERM (mm/mmap.c:do_mmap path_noexec)
    w.ok(fmmap(0, 1, 'r', 0, 0, 'fixed'), fmmap(1, 1, 'rx', 1, 0, 'fixed'));
    expect(w.errno({ op: 'mprotect', addr: { page: 0, off: 0 }, len: 4096n, prot: 5 })).toBe(13); // EACCES: no VM_MAYEXEC
  });

  it('a sequence needing a filesystem the target lacks is declined; non-fixed placement spanning 2 MiB of the file too', () => {
    const w = withFiles(world(1024, { fsKinds: ['ext4'] }), ext4(1024, false), { kind: 'xfs', size: 4096n });
    expect(() => w.run(fmmap(null, 512, 'r', 0, 0, 'shared'))).toThrow(/thp_get_unmapped_area/);
    expect(() => w.run(fmmap(0, 1, 'r', 1, 0, 'shared', 'fixed'))).toThrow(/no xfs directory/);
    w.ok(fmmap(0, 511, 'r', 0, 0, 'shared'));
  });
});
