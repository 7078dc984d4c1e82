// One scenario per rule of src/model/rules-files.ts (files, ftruncate, fork, mremap, userfaultfd),
// for test/model/rules.test.ts (rule reachability). `files` are declared before the setup runs.
import { makeProfile, type Profile } from '../../src/model/index.js';
import type { RULES_FILES } from '../../src/model/rules-files.js';
import { MADV } from '../../src/seq/consts.js';
import type { Call, FileDecl } from '../../src/seq/schema.js';
import { mmap, mprotect, munmap, touch, type World } from './helpers.js';
import { mlock } from './helpers-mem.js';
import { fmmap, fork, ftruncate, memfd, mremap, tmpfs, uffdCreate, uffdRegister, uffdUnregister } from './helpers-files.js';

export interface FilesScenario {
  arena?: number;
  profile?: Partial<Profile> | Profile;
  files?: FileDecl[];
  setup?: Call[];
  tweak?: (w: World) => void;
  call: Call;
}

const p73 = () => makeProfile('7.3.4', { base_map_count: '0', thp: 'madvise' });
const p612 = () => makeProfile('6.12.117', { base_map_count: '0', thp: 'madvise' });
const madvise = (page: number, pages: number, advice: number): Call => ({ op: 'madvise', addr: { page, off: 0 }, len: BigInt(pages) * 4096n, advice });
const f4 = [memfd(4)];
const rw2 = mmap(0, 2, 'rw', 'fixed');
const reg = [rw2, uffdCreate(), uffdRegister(0, 0, 2, 'm')];

export const S_FILES: Record<keyof typeof RULES_FILES, FilesScenario> = {
  'anon_vma.refuse.fork_child': { setup: [rw2, touch(0, 'w'), fork()], call: mmap(2, 1, 'rw', 'fixed') },
  'anon_vma.reuse.fork_child_refused': { setup: [rw2, mmap(2, 1, 'rwx', 'fixed'), touch(0, 'w'), fork()], call: touch(2, 'w') },
  'merge.uffd_ctx_differs': { setup: [mmap(0, 4, 'rw', 'fixed'), uffdCreate(), uffdCreate(), uffdRegister(0, 0, 2, 'm')], call: uffdRegister(1, 2, 2, 'm') },
  'merge.anon_pgoff_refused': {
    arena: 32,
    profile: p73(),
    files: [memfd(16)],
    setup: [fmmap(0, 5, 'rw', 0, 0, 'fixed'), fmmap(20, 3, 'rw', 0, 5, 'fixed'), touch(20, 'w')],
    call: mremap(20, 3, 3, ['maymove', 'fixed'], 5),
  },
  'errno.mmap.file_hugetlb': { files: f4, call: fmmap(0, 1, 'r', 0, 0, 'fixed', 'flags=40012') },
  'errno.mmap.file_overflow': { files: f4, call: { ...fmmap(0, 1, 'r', 0, 0, 'fixed'), offset: 1n << 63n } as Call },
  'errno.mmap.file_validate': { files: f4, call: fmmap(0, 1, 'r', 0, 0, 'type=3', 'fixed', 'sync') },
  'errno.mmap.file_shared_rdonly': { files: [memfd(4, true)], call: fmmap(0, 1, 'rw', 0, 0, 'shared', 'fixed') },
  'errno.mmap.file_noexec': { files: [tmpfs(4)], profile: { tmpfsNoexec: true }, call: fmmap(0, 1, 'rx', 0, 0, 'fixed') },
  'mmap.file.noexec': { files: [tmpfs(4)], profile: { tmpfsNoexec: true }, call: fmmap(0, 1, 'r', 0, 0, 'fixed') },
  'errno.mmap.file_growsdown': { files: f4, call: fmmap(0, 1, 'r', 0, 0, 'fixed', 'growsdown') },
  'errno.mmap.file_bad_type': { files: f4, call: fmmap(0, 1, 'r', 0, 0, 'type=8', 'fixed') },
  'mmap.file.shared': { files: f4, call: fmmap(0, 1, 'rw', 0, 0, 'shared', 'fixed') },
  'mmap.file.shared_rdonly': { files: [memfd(4, true)], call: fmmap(0, 1, 'r', 0, 0, 'shared', 'fixed') },
  'mmap.file.private': { files: f4, call: fmmap(0, 1, 'rw', 0, 0, 'fixed') },
  'mmap.file.anon_ignores_fd': { files: f4, call: { ...mmap(0, 1, 'rw', 'fixed'), fd: 0 } as Call },
  'fault.file.sigbus': { files: [memfd(1)], setup: [fmmap(0, 2, 'r', 0, 0, 'shared', 'fixed')], call: touch(1, 'r') },
  'fault.file.cow_sigbus_anon_vma': { files: [memfd(1)], setup: [fmmap(0, 2, 'rw', 0, 0, 'fixed')], call: touch(1, 'w') },
  'fault.file.read': { files: f4, setup: [fmmap(0, 2, 'r', 0, 0, 'shared', 'fixed')], call: touch(0, 'r') },
  'fault.file.around': { files: f4, setup: [fmmap(0, 4, 'rw', 0, 0, 'shared', 'fixed'), touch(1, 'w'), fmmap(4, 4, 'r', 0, 0, 'fixed')], call: touch(4, 'r') },
  'fault.file.cow': { files: f4, setup: [fmmap(0, 2, 'rw', 0, 0, 'fixed')], call: touch(0, 'w') },
  'fault.file.shared_write': { files: f4, setup: [fmmap(0, 2, 'rw', 0, 0, 'shared', 'fixed')], call: touch(0, 'w') },
  'fault.cow_present': { files: f4, setup: [fmmap(0, 2, 'rw', 0, 0, 'fixed'), touch(0, 'r')], call: touch(0, 'w') },
  'errno.ftruncate.negative': { files: f4, call: ftruncate(0, 1n << 63n) },
  'errno.ftruncate.rdonly': { files: [memfd(4, true)], call: ftruncate(0, 1) },
  'ftruncate.shrink': { files: f4, call: ftruncate(0, 1) },
  'ftruncate.grow': { files: f4, call: ftruncate(0, 8) },
  'fork.dontcopy': { setup: [rw2, madvise(0, 2, MADV.MADV_DONTFORK)], call: fork() },
  'fork.wipeonfork': { setup: [rw2, madvise(0, 2, MADV.MADV_WIPEONFORK)], call: fork() },
  'fork.anon_vma': { setup: [rw2, touch(0, 'w')], call: fork() },
  'fork.unlock': { setup: [mmap(0, 1, 'rw', 'fixed', 'locked')], call: fork() },
  'fork.uffd_reset': { setup: reg, call: fork() },
  'fork.uffd_event': { setup: [rw2, uffdCreate('fork'), uffdRegister(0, 0, 2, 'm')], call: fork() },
  'fork.copy_ptes': { setup: [rw2, touch(0, 'w')], call: fork() },
  'fork.no_ptes': { setup: [rw2, touch(0, 'r')], call: fork() },
  'errno.uffd.unavailable': { profile: { uffdFeatures: null, uffdErrno: 1 }, call: uffdCreate() },
  'errno.uffd.event_fork_perm': { profile: { capSysPtrace: false }, call: uffdCreate('fork') },
  'errno.uffd.features': { call: uffdCreate(String(1 << 30)) },
  'errno.uffd.bad_handle': { tweak: (w) => void w.run(uffdCreate(String(1 << 30))), call: uffdRegister(0, 0, 1, 'm') },
  'errno.uffd.mode': { setup: [uffdCreate()], call: uffdRegister(0, 0, 1, '') },
  'errno.uffd.range': { setup: [uffdCreate()], call: uffdRegister(0, 0, 0n, 'm') },
  'errno.uffd.no_vma': { setup: [uffdCreate()], call: uffdRegister(0, 0, 1, 'm') },
  'errno.uffd.cannot': { setup: [rw2, uffdCreate()], call: uffdRegister(0, 0, 1, 'i') },
  'errno.uffd.maywrite': { files: [memfd(4, true)], setup: [fmmap(0, 1, 'r', 0, 0, 'shared', 'fixed'), uffdCreate()], call: uffdRegister(0, 0, 1, 'm') },
  'errno.uffd.busy': { setup: [...reg, uffdCreate()], call: uffdRegister(1, 0, 1, 'm') },
  'errno.uffd.drop_wp': { profile: p73(), setup: [rw2, uffdCreate(), uffdRegister(0, 0, 2, 'mw')], call: uffdRegister(0, 0, 2, 'm') },
  'errno.uffd.unregister_other': { setup: [...reg, uffdCreate()], call: uffdUnregister(1, 0, 1) },
  'uffd.unregister.other_ctx': { profile: p612(), setup: [...reg, uffdCreate()], call: uffdUnregister(1, 0, 1) },
  'uffd.create': { call: uffdCreate() },
  'uffd.register': { setup: [rw2, uffdCreate()], call: uffdRegister(0, 0, 1, 'm') },
  'uffd.register.skip': { setup: reg, call: uffdRegister(0, 0, 2, 'm') },
  'uffd.unregister': { setup: reg, call: uffdUnregister(0, 0, 1) },
  'uffd.event.missing': { setup: reg, call: touch(0, 'r') },
  'uffd.zeropage.no_zero_page': { profile: { zeroPage: false }, setup: reg, call: touch(0, 'r') },
  'uffd.event.minor': {
    files: f4,
    setup: [fmmap(0, 2, 'rw', 0, 0, 'shared', 'fixed'), touch(0, 'w'), fmmap(4, 2, 'rw', 0, 0, 'shared', 'fixed'), uffdCreate(), uffdRegister(0, 4, 2, 'i')],
    call: touch(4, 'r'),
  },
  'uffd.sigbus': { setup: [rw2, uffdCreate('sigbus'), uffdRegister(0, 0, 2, 'm')], call: touch(0, 'w') },
  'uffd.event.remove': { setup: [rw2, uffdCreate('remove'), uffdRegister(0, 0, 2, 'm'), touch(0, 'w')], call: madvise(0, 2, MADV.MADV_DONTNEED) },
  'uffd.event.unmap': { setup: [rw2, uffdCreate('unmap'), uffdRegister(0, 0, 2, 'm')], call: munmap(0, 2) },
  'uffd.no_fault_around': { files: f4, setup: [fmmap(0, 2, 'rw', 0, 0, 'shared', 'fixed'), uffdCreate(), uffdRegister(0, 0, 2, 'w')], call: touch(0, 'r') },
  'errno.mremap.flags': { call: mremap(0, 1, 1, ['8']) },
  'errno.mremap.unaligned': { call: { ...mremap(0, 1, 1), addr: { page: 0, off: 1 } } as Call },
  'errno.mremap.new_len_zero': { call: mremap(0, 1, 0) },
  'errno.mremap.overlap': { call: mremap(0, 2, 2, ['maymove', 'fixed'], 1) },
  'errno.mremap.task_size': { call: mremap(0, 1, 1n << 48n) },
  'errno.mremap.no_vma': { call: mremap(0, 1, 2, ['maymove']) },
  'errno.mremap.sealed': { setup: [rw2, { op: 'mseal', addr: { page: 0, off: 0 }, len: 8192n, flags: 0 }], call: mremap(0, 1, 1) },
  'errno.mremap.old_len_zero': { setup: [rw2], call: mremap(0, 0, 1, ['maymove']) },
  'errno.mremap.span': { setup: [rw2], call: mremap(0, 3, 4, ['maymove']) },
  'errno.mremap.nomove': { setup: [rw2, mmap(2, 1, 'r', 'fixed')], call: mremap(0, 2, 3) },
  'errno.mremap.map_count': { profile: { ...p73(), maxMapCount: 3 }, setup: [rw2], call: mremap(0, 1, 1, ['maymove', 'fixed'], 4) },
  'errno.mremap.multi_vma': { setup: [mmap(1, 1, 'rw', 'fixed')], call: mremap(0, 2, 2, ['maymove', 'fixed'], 4) },
  'mremap.shrink': { setup: [rw2], call: mremap(0, 2, 1) },
  'mremap.noop': { setup: [rw2], call: mremap(0, 2, 2) },
  'mremap.expand': { setup: [rw2], call: mremap(0, 2, 3) },
  'mremap.move': { setup: [rw2], call: mremap(0, 2, 2, ['maymove', 'fixed'], 4) },
  'mremap.populate_outside': { arena: 5, setup: [mmap(0, 5, 'x', 'fixed', 'shared'), mlock(1, 2)], call: mremap(2, 1, 3, ['maymove']) },
  'mremap.move.pgoff_reset': { setup: [rw2], call: mremap(0, 2, 2, ['maymove', 'fixed'], 4) },
  'mremap.move.pgoff_kept': { setup: [rw2, touch(0, 'w')], call: mremap(0, 2, 2, ['maymove', 'fixed'], 4) },
  'mremap.fixed_unmap': { setup: [rw2, mmap(4, 2, 'r', 'fixed')], call: mremap(0, 2, 2, ['maymove', 'fixed'], 4) },
  'mremap.to_unmapped_then_failed': { profile: p612(), setup: [mmap(0, 1, 'rw', 'fixed'), mmap(4, 2, 'r', 'fixed')], call: mremap(0, 2, 2, ['maymove', 'fixed'], 4) },
  'mremap.dontunmap': { setup: [rw2], call: mremap(0, 2, 2, ['maymove', 'fixed', 'dontunmap'], 4) },
  'mremap.dontunmap.presplit': { setup: [mmap(0, 4, 'rw', 'fixed', 'locked')], call: mremap(3, 1, 1, ['maymove', 'fixed', 'dontunmap'], 6) },
  // a read fault in block 0 makes a page table (thp=madvise: no VM_HUGEPAGE, the 4 KiB zero page);
  // a PMD-aligned move takes it along
  'mremap.dontunmap.pmd_moved': { arena: 1536, setup: [mmap(0, 512, 'rw', 'fixed'), touch(0, 'r')], call: mremap(0, 512, 512, ['maymove', 'fixed', 'dontunmap'], 1024) },
  // the copy lands right after its kept source, which it must not merge into
  'mremap.dontunmap.no_self_merge': { setup: [mmap(0, 1, 'rw', 'fixed')], call: mremap(0, 1, 1, ['maymove', 'fixed', 'dontunmap'], 1) },
  'mremap.multi': { setup: [rw2, mmap(3, 1, 'r', 'fixed')], call: mremap(0, 4, 4, ['maymove', 'fixed'], 4) },
  'mremap.uffd_reset': { setup: reg, call: mremap(0, 2, 2, ['maymove', 'fixed'], 4) },
  'mremap.uffd_event': { setup: [rw2, uffdCreate('remap'), uffdRegister(0, 0, 2, 'm')], call: mremap(0, 2, 2, ['maymove', 'fixed'], 4) },
};
