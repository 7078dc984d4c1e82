// memfd seals (mm/memfd.c): the seals a memfd starts with, F_ADD_SEALS and its errno, and what
// write seals do to later mmap/mprotect (no VM_MAYWRITE), ftruncate and MADV_REMOVE. Layouts
// as in tools/testing/vma: one letter per VMA, '.' unmapped.
import { describe, expect, it } from 'vitest';
import { MADV } from '../../src/seq/consts.js';
import type { Call, FileDecl } from '../../src/seq/schema.js';
import { makeProfile, type Profile } from '../../src/model/index.js';
import { initSeals } from '../../src/model/seals.js';
import { expectLayout, mprotect, munmap, touch, world } from './helpers.js';
import { addSeals, exit, fmmap, forkBlock, ftruncate, memfd, sealable, tmpfs } from './helpers-files.js';

const EPERM = 1, EBUSY = 16, EACCES = 13, EINVAL = 22;
const madvise = (page: number, pages: number, advice: number): Call => ({ op: 'madvise', addr: { page, off: 0 }, len: BigInt(pages) * 4096n, advice });

/** A world with the files declared as the harness creates them (memfd_create flags applied). */
function files(decls: FileDecl[], profile: Partial<Profile> | Profile = {}) {
  const w = world(16, profile);
  w.mm.sys.declareFiles(decls);
  initSeals(w.mm.sys, decls, w.mm.profile);
  return w;
}

describe('memfd seals: what a file starts with', () => {
  it('without MFD_ALLOW_SEALING, and any tmpfs file, is born sealed against sealing', () => {
    const w = files([memfd(4), tmpfs(4), sealable(4, 'seal')]);
    expect(w.errno(addSeals(0, 'shrink'))).toBe(EPERM);
    expect(w.errno(addSeals(1, 'shrink'))).toBe(EPERM);
    expect(w.errno(addSeals(2, 'shrink'))).toBe(0);
  });

  it('MFD_NOEXEC_SEAL allows sealing and starts with F_SEAL_EXEC, so F_SEAL_EXEC implies nothing more', () => {
    const w = files([sealable(4, 'noexec')]);
    w.ok(addSeals(0, 'exec'), ftruncate(0, 8), fmmap(0, 2, 'rw', 0, 0, 'shared', 'fixed'));
  });

  it('vm.memfd_noexec=1 turns a memfd without MFD_EXEC into an MFD_NOEXEC_SEAL one', () => {
    const w = files([memfd(4)], { memfdNoexec: 1 });
    expect(w.errno(addSeals(0, 'shrink'))).toBe(0);
  });

  it('6.1 knows neither F_SEAL_EXEC (EINVAL) nor the MFD_EXEC flags (the file cannot be created)', () => {
    const p61 = makeProfile('6.1.176', { base_map_count: '0', thp: 'madvise' });
    const w = files([sealable(4, 'seal')], p61);
    expect(w.errno(addSeals(0, 'exec'))).toBe(EINVAL);
    expect(() => files([sealable(4, 'noexec')], p61)).toThrow(/6\.3/);
  });
});

describe('F_ADD_SEALS', () => {
  it('checks FMODE_WRITE, then unknown bits, then F_SEAL_SEAL', () => {
    expect(files([memfd(4, true)]).errno(addSeals(0, '64'))).toBe(EPERM);
    const w = files([sealable(4, 'seal')]);
    w.ok(addSeals(0, 'seal'));
    expect(w.errno(addSeals(0, '64'))).toBe(EINVAL);
    expect(w.errno(addSeals(0, 'grow'))).toBe(EPERM);
  });

  it('F_SEAL_WRITE is EBUSY while any VM_SHARED|VM_MAYWRITE mapping exists, read-only ones included', () => {
    //      0123
    //      AABB   A shared r-- (still "mw"), B private rw: only A pins i_mmap_writable
    const w = files([sealable(4, 'seal')]).ok(fmmap(0, 2, 'r', 0, 0, 'shared', 'fixed'), fmmap(2, 2, 'rw', 0, 2, 'fixed'));
    expectLayout(w, 'AABB', { A: 'r--s mw', B: 'rw-p' });
    expect(w.errno(addSeals(0, 'write'))).toBe(EBUSY);
    w.ok(addSeals(0, 'shrink')); // other seals are fine
    w.ok(munmap(0, 2), addSeals(0, 'write'));
    expect(w.errno(ftruncate(0, 1))).toBe(EPERM);
  });

  it('F_SEAL_EXEC on an executable memfd adds the write seals (and so may be EBUSY)', () => {
    const w = files([sealable(4, 'exec', 'seal')]).ok(fmmap(0, 2, 'rw', 0, 0, 'shared', 'fixed'));
    expect(w.errno(addSeals(0, 'exec'))).toBe(EBUSY);
    w.ok(munmap(0, 2), addSeals(0, 'exec'));
    expect(w.hits).toContain('add_seals.exec_implies_write');
    expect(w.errno(ftruncate(0, 8))).toBe(EPERM);
    expect(w.errno(fmmap(0, 2, 'rw', 0, 0, 'shared', 'fixed'))).toBe(EPERM);
  });
});

describe('write seals and later mappings', () => {
  it('a read-only shared mapping of a write-sealed file has no VM_MAYWRITE: mprotect EACCES, MADV_REMOVE EACCES', () => {
    //      0123
    //      AAAA   shared r-- without "mw"
    const w = files([sealable(4, 'seal')]).ok(addSeals(0, 'write'), fmmap(0, 4, 'r', 0, 0, 'shared', 'fixed'));
    expectLayout(w, 'AAAA', { A: 'r--s !mw' });
    expect(w.errno(mprotect(0, 4, 'rw'))).toBe(EACCES);
    expect(w.errno(madvise(0, 4, MADV.MADV_REMOVE))).toBe(EACCES);
    expect(w.run(touch(0, 'w')).signal).toBe(11);
    expect(w.errno(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'))).toBe(EPERM);
    expectLayout(w, 'AAAA'); // the refused MAP_FIXED left the old mapping alone
  });

  it('before 6.12 a refused MAP_FIXED under F_SEAL_FUTURE_WRITE has already unmapped the old range (F_SEAL_WRITE has not)', () => {
    //      0123
    //      AAAA   private r-- mapping of the file, replaced by a refused shared rw one
    const p61 = makeProfile('6.1.176', { base_map_count: '0', thp: 'madvise' });
    const w = files([sealable(4, 'seal'), sealable(4, 'seal')], p61).ok(fmmap(0, 4, 'r', 0, 0, 'fixed'), addSeals(0, 'future'));
    expect(w.errno(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'))).toBe(EPERM);
    expect(w.hits).toContain('mmap.file.sealed_after_unmap');
    expectLayout(w, '................');
    const v = files([sealable(4, 'seal')], p61).ok(fmmap(0, 4, 'r', 0, 0, 'fixed'), addSeals(0, 'write'));
    expect(v.errno(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'))).toBe(EPERM);
    expectLayout(v, 'AAAA............');
  });

  it('F_SEAL_FUTURE_WRITE leaves older mappings writable: they differ from new ones and do not merge', () => {
    //      0123
    //      AABB   A shared r-- made before the seal ("mw"), B after it (no "mw")
    const w = files([sealable(4, 'seal')]).ok(fmmap(0, 2, 'r', 0, 0, 'shared', 'fixed'), addSeals(0, 'future'), fmmap(2, 2, 'r', 0, 2, 'shared', 'fixed'));
    expectLayout(w, 'AABB', { A: 'mw', B: '!mw' });
    w.ok(mprotect(0, 2, 'rw'), touch(0, 'w'));
    expect(w.errno(mprotect(2, 2, 'rw'))).toBe(EACCES);
    // the hole punch behind MADV_REMOVE is refused by the seal itself
    expect(w.errno(madvise(0, 2, MADV.MADV_REMOVE))).toBe(EPERM);
    expect(w.hits).toContain('errno.madvise.remove_sealed');
  });
});

describe('seals across a fork whose child exits', () => {
  it('the child\'s mappings pin the file only while it lives', () => {
    const w = files([sealable(4, 'seal')]).ok(forkBlock(), fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'));
    expect(w.errno(addSeals(0, 'write'))).toBe(EBUSY);
    w.ok(exit());
    expect(w.cur.proc).toBe(0);
    expectLayout(w, '................');
    w.ok(addSeals(0, 'write'));
  });

  it('a mapping inherited from the parent pins it in both; unmapping in the child is not enough', () => {
    const w = files([sealable(4, 'seal')]).ok(fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'), forkBlock(), munmap(0, 4));
    expect(w.errno(addSeals(0, 'write'))).toBe(EBUSY);
    w.ok(exit());
    expect(w.errno(addSeals(0, 'write'))).toBe(EBUSY);
    w.ok(munmap(0, 4), addSeals(0, 'write'));
  });
});

describe('mappings outside the arena', () => {
  it('a shared writable mapping placed outside the arena pins the file until its process exits', () => {
    //      0123
    //      AAAA   the arena is full: the child's non-fixed mmap lands outside it
    const decls = [sealable(4, 'seal')];
    const w = world(4);
    w.mm.sys.declareFiles(decls);
    initSeals(w.mm.sys, decls, w.mm.profile);
    w.ok(fmmap(0, 4, 'r', 0, 0, 'fixed'), forkBlock(), fmmap(null, 1, 'rw', 0, 0, 'shared'));
    expect(w.cur.outside).toBe(1);
    expect(w.errno(addSeals(0, 'write'))).toBe(EBUSY);
    w.ok(exit(), munmap(0, 4), addSeals(0, 'write'));
  });
});
