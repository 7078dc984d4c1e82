// One scenario per rule of src/model/rules-hugeshm.ts, for test/model/rules.test.ts (rule reachability).
import { makeProfile, type Profile } from '../../src/model/index.js';
import type { RULES_HUGESHM } from '../../src/model/rules-hugeshm.js';
import { MAP } from '../../src/seq/consts.js';
import { SHM, type ShmSeg } from '../../src/seq/schema-sysv.js';
import type { Call } from '../../src/seq/schema.js';
import { mmap, mprotect, munmap, touch } from './helpers.js';
import { mremap, uffdCreate, uffdRegister } from './helpers-files.js';

export interface HugeShmScenario {
  arena?: number;
  profile?: Partial<Profile> | Profile;
  /** SysV segments the sequence declares */
  shm?: ShmSeg[];
  setup?: Call[];
  call: Call;
}

const HP = 512;
export function huge(page: number | null, pages: number | bigint, prot: string, ...words: string[]): Call {
  const c = mmap(page, pages, prot, ...words);
  return { ...c, flags: (c.flags | MAP.MAP_HUGETLB) >>> 0 } as Call;
}
export function shmat(shm: number, page: number | null, flags = 0, off = 0): Call {
  return { op: 'shmat', shm, addr: page === null ? null : { page, off }, flags };
}
export const shmdt = (page: number, off = 0): Call => ({ op: 'shmdt', addr: { page, off } });
const seg = (pages: number): ShmSeg[] => [{ size: BigInt(pages) * 4096n }];
const h1 = huge(0, HP, 'rw', 'fixed');
const p61 = () => makeProfile('6.1.176', { base_map_count: '0', thp: 'madvise', hugepages_free: '20', sysv_shm: '1' });

export const S_HUGESHM: Record<keyof typeof RULES_HUGESHM, HugeShmScenario> = {
  'errno.mmap.hugetlb_size': { arena: HP, call: { ...h1, flags: (h1.flags | (20 << 26)) >>> 0 } as Call },
  'mmap.hugetlb.len_rounded': { arena: HP, call: huge(0, 1, 'rw', 'fixed') },
  'errno.mmap.hugetlb_fixed_unaligned': { arena: 2 * HP, call: huge(1, HP, 'rw', 'fixed') },
  'errno.mmap.hugetlb_pgoff': { arena: HP, call: huge(0, HP, 'rw', 'fixed', 'offset=1000') },
  'mmap.hugetlb': { arena: HP, call: h1 },
  'mmap.hugetlb.noreserve': { arena: HP, call: huge(0, HP, 'rw', 'fixed', 'noreserve') },
  'mmap.hugetlb.locked_dropped': { arena: HP, call: huge(0, HP, 'rw', 'fixed', 'locked') },
  'mmap.place.hugetlb': { arena: 2 * HP, call: huge(null, HP, 'rw') },
  'split.hugetlb_unaligned': { arena: HP, setup: [h1], call: munmap(1, 1) },
  'fault.hugetlb': { arena: HP, setup: [h1], call: touch(3, 'r') },
  'mprotect.hugetlb_no_account': { arena: HP, setup: [huge(0, HP, 'r', 'fixed')], call: mprotect(0, HP, 'rw') },
  'merge.special': { arena: 2 * HP, setup: [h1], call: huge(HP, HP, 'rw', 'fixed') },
  'errno.madvise.hugetlb_unaligned': { arena: HP, setup: [h1], call: { op: 'madvise', addr: { page: 1, off: 0 }, len: 4096n, advice: 4 } },
  'errno.madvise.hugetlb_advice': { arena: HP, setup: [h1], call: { op: 'madvise', addr: { page: 0, off: 0 }, len: 4096n, advice: 8 } },
  'madvise.hugetlb.dontneed': { arena: HP, setup: [h1, touch(0, 'w')], call: { op: 'madvise', addr: { page: 0, off: 0 }, len: BigInt(HP) * 4096n, advice: 4 } },
  'madvise.hugetlb.dontneed_nothing': { arena: HP, setup: [h1], call: { op: 'madvise', addr: { page: 0, off: 0 }, len: 4096n, advice: 4 } },
  'mmap.place.hugetlb_hint_down': { arena: 2 * HP, profile: p61(), call: huge(5, HP, 'rw') },
  'errno.mmap.fixed_unmap_enomem': { arena: 2 * HP, profile: p61(), setup: [h1], call: mmap(5, 1, 'rw', 'fixed') },
  'fault.hugetlb.sigbus': { arena: HP, setup: [huge(0, HP, 'r', 'fixed', 'offset=200000')], call: touch(0, 'r') },
  'mmap.hugetlb.isize_grown': { arena: HP, call: huge(0, HP, 'rw', 'fixed', 'offset=200000') },
  'mremap.hugetlb.len_rounded': { arena: HP, setup: [h1], call: mremap(0, 1, 1) },
  'errno.mremap.hugetlb_unaligned': { arena: HP, setup: [h1], call: mremap(0, 1, 1, [], 1) },
  'errno.mremap.hugetlb_grow': { arena: 2 * HP, setup: [h1], call: mremap(0, HP, 2 * HP, ['maymove']) },
  'errno.mremap.dontunmap_special': { arena: 2 * HP, setup: [h1], call: mremap(0, HP, HP, ['maymove', 'dontunmap']) },
  'errno.mremap.multi_shm': { arena: 32, shm: seg(6), setup: [shmat(0, 0)], call: mremap(0, 7, 7, ['maymove', 'fixed'], 10) },
  'mremap.expand_close_hook': { arena: 32, profile: p61(), shm: seg(6), setup: [shmat(0, 0)], call: mremap(0, 6, 8) },
  'mlock.hugetlb_skipped': { arena: HP, setup: [h1], call: { op: 'mlock', addr: { page: 1, off: 0 }, len: 4096n } },
  'fault.hugetlb.anon_vma': { arena: HP, setup: [h1], call: touch(0, 'r') },
  'fork.hugetlb': { arena: HP, setup: [h1, touch(0, 'r')], call: { op: 'fork' } },
  'madvise.hugetlb.generic': { arena: HP, setup: [h1], call: { op: 'madvise', addr: { page: 0, off: 0 }, len: BigInt(HP) * 4096n, advice: 10 } },
  'errno.madvise.hugetlb_dofork': { arena: HP, profile: makeProfile('7.3.4', { base_map_count: '0', thp: 'madvise', hugepages_free: '20' }), setup: [h1], call: { op: 'madvise', addr: { page: 0, off: 0 }, len: BigInt(HP) * 4096n, advice: 11 } },
  'errno.uffd.shm': { arena: 32, shm: seg(4), setup: [shmat(0, 0), uffdCreate()], call: uffdRegister(0, 0, 4, 'm') },
  'madvise.hugetlb.remove': { arena: HP, setup: [huge(0, HP, 'rw', 'fixed', 'shared'), touch(0, 'w')], call: { op: 'madvise', addr: { page: 0, off: 0 }, len: BigInt(HP) * 4096n, advice: 9 } },
  'madvise.hugetlb.remove_partial': { arena: HP, setup: [huge(0, HP, 'rw', 'fixed', 'shared')], call: { op: 'madvise', addr: { page: 0, off: 0 }, len: 4096n, advice: 9 } },
  'merge.close_hook_middle': { shm: seg(6), setup: [shmat(0, 0), mprotect(2, 2, 'r')], call: mprotect(2, 2, 'rw') },
  'merge.close_hook_any': {
    profile: makeProfile('6.1.176', { base_map_count: '0', thp: 'madvise', hugepages_free: '20', sysv_shm: '1' }),
    shm: seg(6),
    setup: [shmat(0, 0), mprotect(2, 2, 'r')],
    call: mprotect(2, 1, 'rw'),
  },
  'errno.shmat.unaligned': { shm: seg(1), call: shmat(0, 0, 0, 0x10) },
  'shmat.rnd': { shm: seg(1), call: shmat(0, 0, SHM.SHM_RND, 0x10) },
  'errno.shmat.remap_null': { shm: seg(1), call: shmat(0, null, SHM.SHM_REMAP) },
  'errno.shmat.overlap': { shm: seg(1), setup: [mmap(0, 1, 'rw', 'fixed')], call: shmat(0, 0) },
  'shmat.remap': { shm: seg(1), setup: [mmap(0, 1, 'rw', 'fixed')], call: shmat(0, 0, SHM.SHM_REMAP) },
  'shmat.rdonly': { shm: seg(1), call: shmat(0, 0, SHM.SHM_RDONLY) },
  'shmat.attach': { shm: seg(1), call: shmat(0, 2) },
  'fault.shm.no_fault_around': { shm: seg(4), setup: [shmat(0, 0)], call: touch(1, 'r') },
  'shm.no_unmap_event': {
    shm: seg(1),
    setup: [mmap(0, 1, 'rw', 'fixed'), { op: 'uffd_create', features: 1 << 6 }, { op: 'uffd_register', uffd: 0, addr: { page: 0, off: 0 }, len: 4096n, mode: 1 }],
    call: shmat(0, 0, SHM.SHM_REMAP),
  },
  'errno.shmdt.unaligned': { call: shmdt(0, 1) },
  'errno.shmdt.none': { call: shmdt(0) },
  'shmdt.detach': { shm: seg(2), setup: [shmat(0, 0)], call: shmdt(0) },
  'shmdt.fragment': { shm: seg(4), setup: [shmat(0, 0), mprotect(1, 1, 'r')], call: shmdt(0) },
};
