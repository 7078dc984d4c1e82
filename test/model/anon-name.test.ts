// PR_SET_VMA_ANON_NAME: mm/madvise.c:set_anon_vma_name / madvise_set_anon_name, names in
// fs/proc/task_mmu.c:get_vma_name, merges in mm/vma.c:is_mergeable_vma (anon_vma_name_eq).
import { describe, expect, it } from 'vitest';
import { makeProfile, renderMaps } from '../../src/model/index.js';
import { expectLayout, mmap, world } from './helpers.js';
import { anonName } from './helpers-mem.js';
import { fmmap, memfd, SHARED, tmpfs, withFiles } from './helpers-files.js';
import { declareShm } from '../../src/model/shm.js';
import type { Call } from '../../src/seq/schema.js';

const EAGAIN = 11;
const ENOMEM = 12;
const EINVAL = 22;
const EBADF = 9;

const names = (w: ReturnType<typeof world>) => renderMaps(w.mm).map((e) => e.name);

describe('anon_name', () => {
  it('CONFIG_ANON_VMA_NAME=n (fact anon_name=0): EINVAL for everything, clearing included', () => {
    const w = world(4, { anonVmaName: false }).ok(mmap(0, 4, 'rw', 'fixed'));
    expect(w.errno(anonName(0, 4, 'x'))).toBe(EINVAL);
    expect(w.errno(anonName(0, 4, null))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.anon_name.unsupported']);
  });

  it('validates the name first: < 80 bytes, printable ASCII without \\`$[]', () => {
    const w = world(4).ok(mmap(0, 4, 'rw', 'fixed'));
    for (const bad of ['x'.repeat(80), 'a$', 'a[', 'tab\t', 'é']) expect(w.errno(anonName(0, 4, bad, 1)), bad).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.anon_name.bad_name']);
    expect(w.errno(anonName(0, 4, 'x'.repeat(79), 1))).toBe(EINVAL);
    expect(w.hits).toEqual(['errno.anon_name.unaligned']);
    expect(w.errno(anonName(0, 4, 'ok\0$$$'))).toBe(0); // the kernel copies up to the NUL
    expect(names(w)).toEqual(['[anon:ok]']);
  });

  it('splits and merges by name: equal names merge, different names do not', () => {
    //      01234567
    //      AAAAAAAA   name(A+0p, 2p, "a"), name(A+4p, 2p, "b")
    // ->   BBCCDDEE   [anon:a] | - | [anon:b] | -
    const w = world(8).ok(mmap(0, 8, 'rw', 'fixed'), anonName(0, 2, 'a'), anonName(4, 2, 'b'));
    expectLayout(w, 'AABBCCDD');
    expect(names(w)).toEqual(['[anon:a]', '', '[anon:b]', '']);
    w.ok(anonName(2, 2, 'a'));
    expectLayout(w, 'AAAABBCC');
    expect(w.hits).toContain('anon_name.set');
    w.ok(anonName(0, 8, null)); // clearing merges everything back
    expectLayout(w, 'AAAAAAAA');
    expect(names(w)).toEqual(['']);
  });

  it('holes: the mapped parts are named, then ENOMEM; a split at the limit is EAGAIN', () => {
    const w = world(8).ok(mmap(0, 2, 'rw', 'fixed'), mmap(4, 2, 'rw', 'fixed'));
    expect(w.errno(anonName(0, 8, 'h'))).toBe(ENOMEM);
    expect(names(w)).toEqual(['[anon:h]', '[anon:h]']);
    const full = world(8, { maxMapCount: 1 }).ok(mmap(0, 8, 'rw', 'fixed'));
    expect(full.errno(anonName(2, 2, 'x'))).toBe(EAGAIN);
  });

  it('anonymous shmem shows [anon_shmem:NAME]; 6.1 refuses any file VMA with EBADF', () => {
    const w = world(4).ok(mmap(0, 4, 'rw', 'fixed', 'shared'), anonName(0, 4, 's'));
    expect(renderMaps(w.mm)[0]).toMatchObject({ name: '[anon_shmem:s]', dev: '00:01' });
    const old = world(4, makeProfile('6.1.158', { base_map_count: '0', thp: 'madvise', anon_name: '1' })).ok(mmap(0, 4, 'rw', 'fixed', 'shared'));
    expect(old.errno(anonName(0, 4, 's'))).toBe(EBADF);
  });

  it('an unlinked memfd or tmpfs file is anonymous shmem too, private or shared (mm/shmem.c:shmem_mmap_prepare)', () => {
    //      012345
    //      AB.CD.   A = memfd private, B = memfd shared, C = tmpfs shared, D = ext4 shared
    //      name(A+0p, 2p), name(A+3p, 1p): all three shmem VMAs named; name(A+4p) is EBADF
    const w = withFiles(world(6, { fsKinds: ['ext4'] }), memfd(4), tmpfs(4), { kind: 'ext4', size: 4n * 4096n }).ok(
      fmmap(0, 1, 'rw', 0, 0, 'fixed'),
      { ...fmmap(1, 1, 'rw', 0, 1, 'fixed'), flags: SHARED | 0x10 } as Call,
      { ...fmmap(3, 1, 'rw', 1, 0, 'fixed'), flags: SHARED | 0x10 } as Call,
      { ...fmmap(4, 1, 'rw', 2, 0, 'fixed'), flags: SHARED | 0x10 } as Call,
    );
    w.ok(anonName(0, 2, 'm'), anonName(3, 1, 't'));
    expect(names(w).slice(0, 3)).toEqual(['[anon_shmem:m]', '[anon_shmem:m]', '[anon_shmem:t]']);
    expect(w.errno(anonName(4, 1, 'd'))).toBe(EBADF);
    // the memfd's private VMA named, then the hole: ENOMEM (the kernel's answer in the
    // 7.3.4-vmafuzz campaign, where the model had said EBADF)
    const hole = withFiles(world(2), memfd(4)).ok(fmmap(0, 1, '', 0, 0, 'fixed'));
    expect(hole.errno(anonName(0, 2, 'x'))).toBe(ENOMEM);
    expect(names(hole)).toEqual(['[anon_shmem:x]']);
    // 6.1: EBADF for the memfd as for any file
    const old = withFiles(world(4, makeProfile('6.1.158', { base_map_count: '0', thp: 'madvise', anon_name: '1' })), memfd(4)).ok(fmmap(0, 1, 'rw', 0, 0, 'fixed'));
    expect(old.errno(anonName(0, 1, 'm'))).toBe(EBADF);
  });

  it('a SysV attach is not anonymous shmem: shm_mmap replaces the vm_ops (ipc/shm.c)', () => {
    const w = world(4);
    declareShm(w.mm.sys, [{ size: 2n * 4096n }]);
    w.ok({ op: 'shmat', shm: 0, addr: { page: 0, off: 0 }, flags: 0 } as Call);
    expect(w.errno(anonName(0, 2, 's'))).toBe(EBADF);
  });
});
