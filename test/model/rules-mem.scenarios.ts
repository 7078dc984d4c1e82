// One scenario per rule of src/model/rules-mem.ts, for test/model/rules.test.ts (rule reachability).
import { makeProfile, type Profile } from '../../src/model/index.js';
import type { RULES_MEM } from '../../src/model/rules-mem.js';
import type { Call } from '../../src/seq/schema.js';
import { mmap, mprotect, munmap, touch, type World } from './helpers.js';
import { anonName, exec, madvise, mlock, mlock2, munlock, mseal } from './helpers-mem.js';

export interface MemScenario {
  arena?: number;
  profile?: Partial<Profile> | Profile;
  setup?: Call[];
  tweak?: (w: World) => void;
  call: Call;
}

const rw8 = mmap(0, 8, 'rw', 'fixed');
const p61 = () => makeProfile('6.1.158', { base_map_count: '0', thp: 'madvise' });

export const S_MEM: Record<keyof typeof RULES_MEM, MemScenario> = {
  'errno.madvise.bad_advice': { call: madvise(0, 1, 26) },
  'errno.madvise.unaligned': { call: madvise(0, 1, 'MADV_DONTNEED', 1) },
  'errno.madvise.len_wrap': { call: madvise(0, (1n << 64n) - 1n, 'MADV_DONTNEED') },
  'madvise.len_zero': { call: madvise(0, 0n, 'MADV_DONTNEED') },
  'errno.madvise.hole': { call: madvise(0, 1, 'MADV_DONTNEED') },
  'errno.madvise.sealed': { setup: [mmap(0, 1, 'r', 'fixed'), mseal(0, 1)], call: madvise(0, 1, 'MADV_DONTNEED') },
  'errno.madvise.split_eagain': { profile: { maxMapCount: 1 }, setup: [rw8], call: madvise(2, 2, 'MADV_DONTFORK') },
  'errno.madvise.wipeonfork_shared': { setup: [mmap(0, 1, 'rw', 'fixed', 'shared')], call: madvise(0, 1, 'MADV_WIPEONFORK') },
  'errno.madvise.keeponfork_droppable': { setup: [mmap(0, 1, 'rw', 'fixed', 'droppable')], call: madvise(0, 1, 'MADV_KEEPONFORK') },
  'errno.madvise.dodump_droppable': { setup: [mmap(0, 1, 'rw', 'fixed', 'droppable')], call: madvise(0, 1, 'MADV_DODUMP') },
  'errno.madvise.locked': { setup: [mmap(0, 1, 'rw', 'fixed', 'locked')], call: madvise(0, 1, 'MADV_DONTNEED') },
  'errno.madvise.free_not_anon': { setup: [mmap(0, 1, 'rw', 'fixed', 'shared')], call: madvise(0, 1, 'MADV_FREE') },
  'errno.madvise.remove_no_file': { setup: [rw8], call: madvise(0, 1, 'MADV_REMOVE') },
  'errno.madvise.remove_not_shared': {
    setup: [mmap(0, 1, 'r', 'fixed', 'shared')],
    tweak: (w) => (w.vma(0).flags &= ~0x20), // no VM_MAYWRITE, as for an O_RDONLY file
    call: madvise(0, 1, 'MADV_REMOVE'),
  },
  'errno.madvise.guard_vma': { profile: { guard: 'anon' }, setup: [mmap(0, 1, 'rw', 'fixed', 'shared')], call: madvise(0, 1, 'MADV_GUARD_INSTALL') },
  'errno.madvise.populate_hole': { call: madvise(0, 1, 'MADV_POPULATE_READ') },
  'errno.madvise.populate_prot': { setup: [mmap(0, 1, 'none', 'fixed')], call: madvise(0, 1, 'MADV_POPULATE_READ') },
  'errno.madvise.populate_guard': { setup: [rw8, madvise(0, 1, 'MADV_GUARD_INSTALL')], call: madvise(0, 1, 'MADV_POPULATE_READ') },
  'errno.madvise.collapse': { setup: [rw8], call: madvise(0, 1, 'MADV_COLLAPSE') },
  'madvise.flags.update': { setup: [rw8], call: madvise(0, 1, 'MADV_DONTFORK') },
  'madvise.flags.unchanged': { setup: [rw8], call: madvise(0, 1, 'MADV_NORMAL') },
  'madvise.ksm.ignored': { setup: [rw8], call: madvise(0, 1, 'MADV_UNMERGEABLE') },
  'madvise.dontneed': { setup: [rw8], call: madvise(0, 1, 'MADV_DONTNEED') },
  'madvise.free': { setup: [rw8], call: madvise(0, 1, 'MADV_FREE') },
  'madvise.cold': { setup: [rw8], call: madvise(0, 1, 'MADV_COLD') },
  'madvise.pageout': { setup: [rw8], call: madvise(0, 1, 'MADV_PAGEOUT') },
  'madvise.willneed': { setup: [rw8], call: madvise(0, 1, 'MADV_WILLNEED') },
  'madvise.remove': { setup: [mmap(0, 1, 'rw', 'fixed', 'shared')], call: madvise(0, 1, 'MADV_REMOVE') },
  'madvise.guard.install': { setup: [rw8], call: madvise(0, 1, 'MADV_GUARD_INSTALL') },
  'madvise.guard.flag': { setup: [rw8], call: madvise(0, 1, 'MADV_GUARD_INSTALL') },
  'madvise.guard.anon_vma': { setup: [rw8], call: madvise(0, 1, 'MADV_GUARD_INSTALL') },
  'madvise.guard.remove': { setup: [rw8], call: madvise(0, 1, 'MADV_GUARD_REMOVE') },
  'madvise.populate': { setup: [rw8], call: madvise(0, 1, 'MADV_POPULATE_WRITE') },
  'madvise.collapse.nothing': { arena: 1024, setup: [mmap(0, 1024, 'rw', 'fixed'), touch(0, 'w')], call: madvise(0, 1, 'MADV_COLLAPSE') },
  'pgtable.reclaimed': { arena: 1024, setup: [mmap(0, 1024, 'rw', 'fixed'), touch(0, 'w')], call: madvise(0, 512, 'MADV_DONTNEED') },
  'touch.segv.guard': { setup: [rw8, madvise(0, 1, 'MADV_GUARD_INSTALL')], call: touch(0, 'r') },
  'touch.segv.exec_nx': { setup: [rw8], call: exec(0) },
  'touch.exec': { setup: [mmap(0, 1, 'rx', 'fixed')], call: exec(0) },
  'populate.guard': { setup: [rw8, madvise(1, 1, 'MADV_GUARD_INSTALL')], call: mlock(0, 2) },
  'errno.mlock.bad_flags': { setup: [rw8], call: mlock2(0, 1, 2) },
  'errno.mlock.perm': { profile: { memlockPages: 0 }, setup: [rw8], call: mlock(0, 1) },
  'errno.mlock.limit': { profile: { memlockPages: 1 }, setup: [rw8], call: mlock(0, 2) },
  'errno.mlock.wrap': { setup: [rw8], call: mlock(0, (1n << 64n) - 8192n) },
  'errno.mlock.hole': { call: mlock(0, 1) },
  'errno.mlock.populate': { setup: [mmap(0, 1, 'none', 'fixed')], call: mlock(0, 1) },
  'mlock.unaligned_start': { setup: [rw8], call: mlock(0, 1, 1) },
  'mlock.len_zero': { setup: [rw8], call: mlock(0, 0n) },
  'mlock.fixup': { setup: [rw8], call: mlock(0, 1) },
  'mlock.unchanged': { setup: [rw8], call: munlock(0, 1) },
  'mlock.unsupported_vma': { setup: [mmap(0, 1, 'rw', 'fixed', 'droppable')], call: mlock(0, 1) },
  'mlock.populate': { setup: [rw8], call: mlock(0, 1) },
  'mlock.onfault': { setup: [rw8], call: mlock2(0, 1, 1) },
  'errno.mseal.nosys': { profile: p61(), setup: [rw8], call: mseal(0, 1) },
  'errno.mseal.flags': { setup: [rw8], call: mseal(0, 1, 1) },
  'errno.mseal.unaligned': { setup: [rw8], call: mseal(0, 1, 0, 1) },
  'errno.mseal.wrap': { setup: [rw8], call: mseal(0, (1n << 64n) - 1n) },
  'errno.mseal.hole': { call: mseal(0, 1) },
  'errno.mseal.split': { profile: { maxMapCount: 1 }, setup: [rw8], call: mseal(2, 2) },
  'mseal.len_zero': { call: mseal(0, 0n) },
  'mseal.seal': { setup: [rw8], call: mseal(0, 1) },
  'mseal.already': { setup: [rw8, mseal(0, 1)], call: mseal(0, 1) },
  'errno.munmap.sealed': { setup: [rw8, mseal(0, 1)], call: munmap(0, 1) },
  'errno.mmap.fixed_sealed': { setup: [rw8, mseal(0, 1)], call: mmap(0, 1, 'r', 'fixed') },
  'errno.mprotect.sealed': { setup: [rw8, mseal(0, 1)], call: mprotect(0, 1, 'r') },
  'errno.anon_name.unsupported': { profile: { anonVmaName: false }, setup: [rw8], call: anonName(0, 1, 'x') },
  'errno.anon_name.bad_name': { setup: [rw8], call: anonName(0, 1, '$') },
  'errno.anon_name.unaligned': { setup: [rw8], call: anonName(0, 1, 'x', 1) },
  'errno.anon_name.wrap': { setup: [rw8], call: anonName(0, (1n << 64n) - 1n, 'x') },
  'errno.anon_name.file': { profile: p61(), setup: [mmap(0, 1, 'rw', 'fixed', 'shared')], call: anonName(0, 1, 'x') },
  'errno.anon_name.hole': { call: anonName(0, 1, 'x') },
  'errno.anon_name.split': { profile: { maxMapCount: 1 }, setup: [rw8], call: anonName(2, 2, 'x') },
  'anon_name.len_zero': { call: anonName(0, 0n, 'x') },
  'anon_name.set': { setup: [rw8], call: anonName(0, 1, 'x') },
  'anon_name.unchanged': { setup: [rw8], call: anonName(0, 1, null) },
};
