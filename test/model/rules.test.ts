// Every rule id is reachable: one scenario per rule, checked to fire it. Keeps RULE_IDS honest for
// coverage-guided generation (a rule that can never fire would look like a coverage gap forever).
import { describe, expect, it } from 'vitest';
import { VM_MAYWRITE } from '../../src/model/flags.js';
import { makeProfile, RULE_IDS, type Profile, type RuleId } from '../../src/model/index.js';
import type { Call } from '../../src/seq/schema.js';
import { mmap, mprotect, munmap, touch, world } from './helpers.js';
import { fmmap, memfd } from './helpers-files.js';
import { S_MEM } from './rules-mem.scenarios.js';
import { S_FILES } from './rules-files.scenarios.js';
import { S_SEALS } from './rules-seals.scenarios.js';
import { initSeals } from '../../src/model/seals.js';
import { S_CONTENT } from './rules-content.scenarios.js';
import type { FileDecl } from '../../src/seq/schema.js';
import { S_HUGESHM } from './rules-hugeshm.scenarios.js';
import type { ShmSeg } from '../../src/seq/schema-sysv.js';
import { declareShm } from '../../src/model/shm.js';

const p61 = () => makeProfile('6.1.158', { base_map_count: '0', thp: 'madvise' });
const G = 0x01000000; // PROT_GROWSDOWN

interface Scenario {
  arena?: number;
  profile?: Partial<Profile> | Profile;
  setup?: Call[];
  /** mutate the state before the last call (for rules unreachable through anonymous calls alone) */
  tweak?: (w: ReturnType<typeof world>) => void;
  /** files the sequence declares (test/model/rules-files.scenarios.ts) */
  files?: FileDecl[];
  /** SysV segments (test/model/rules-hugeshm.scenarios.ts) */
  shm?: ShmSeg[];
  call: Call;
}

const S: Record<RuleId, Scenario> = {
  'errno.mmap.offset_unaligned': { call: mmap(null, 1, 'rw', 'offset=1') },
  'errno.mmap.ebadf': { call: mmap(null, 1, 'rw', 'noanon') },
  'errno.mmap.len_zero': { call: mmap(null, 0n, 'rw') },
  'errno.mmap.len_overflow': { call: mmap(null, (1n << 64n) - 1n, 'rw') },
  'errno.mmap.map_count': { profile: { maxMapCount: 0, baseMapCount: 1 }, call: mmap(null, 1, 'rw') },
  'errno.mmap.len_task_size': { call: mmap(null, 1n << 63n, 'rw') },
  'errno.mmap.fixed_unaligned': { call: mmap(0, 1, 'rw', 'fixed', 'off=1') },
  'errno.mmap.fixed_noreplace': { setup: [mmap(0, 1, 'rw', 'fixed')], call: mmap(0, 1, 'rw', 'noreplace') },
  'errno.mmap.mlock_perm': { profile: { memlockPages: 0 }, call: mmap(0, 1, 'rw', 'fixed', 'locked') },
  'errno.mmap.mlock_limit': { profile: { memlockPages: 1 }, call: mmap(0, 2, 'rw', 'fixed', 'locked') },
  'errno.mmap.shared_growsdown': { call: mmap(0, 1, 'rw', 'fixed', 'shared', 'growsdown') },
  'errno.mmap.droppable_locked': { call: mmap(0, 1, 'rw', 'fixed', 'droppable', 'locked') },
  'errno.mmap.droppable_growsdown': { call: mmap(0, 1, 'rw', 'fixed', 'droppable', 'growsdown') },
  'errno.mmap.bad_type': { call: mmap(0, 1, 'rw', 'fixed', 'type=3') },
  'errno.mmap.fixed_map_count': { profile: { maxMapCount: 1 }, setup: [mmap(0, 4, 'rw', 'fixed')], call: mmap(1, 1, 'r', 'fixed') },
  'mmap.place.hint': { call: mmap(2, 1, 'rw') },
  'mmap.place.hint_taken': { setup: [mmap(2, 1, 'rw', 'fixed')], call: mmap(2, 1, 'rw') },
  'mmap.place.topdown': { call: mmap(null, 1, 'rw') },
  'mmap.place.stack_guard_gap': { arena: 1024, setup: [mmap(1000, 24, 'rw', 'fixed', 'growsdown')], call: mmap(null, 1, 'rw') },
  'mmap.place.outside': { arena: 2, call: mmap(null, 3, 'rw') },
  'mmap.place.thp_aligned': { arena: 2048, call: mmap(null, 512, 'rw') },
  'mmap.place.thp_outside': { arena: 512, call: mmap(null, 512, 'rw') },
  'mmap.place.shmem_aligned': { arena: 2048, profile: { shmemHugePages: 512 }, setup: [mmap(2047, 1, 'r', 'fixed')], call: mmap(null, 512, 'rw', 'shared') },
  'mmap.place.kernel_accepted': { call: mmap(null, 1, 'rw') }, // see predict.test.ts (needs kernelPlacement)
  'mmap.place.map_32bit': { call: mmap(null, 1, 'rw', '32bit') },
  'mmap.flags.account': { call: mmap(0, 1, 'rw', 'fixed') },
  'mmap.flags.stack_nohugepage': { call: mmap(0, 1, 'rw', 'fixed', 'stack') },
  'mmap.flags.droppable': { call: mmap(0, 1, 'rw', 'fixed', 'droppable') },
  'mmap.shared_anon': { call: mmap(0, 1, 'rw', 'fixed', 'shared') },
  'mmap.fixed_replace': { setup: [mmap(0, 2, 'rw', 'fixed')], call: mmap(0, 1, 'r', 'fixed') },
  'mmap.populate': { call: mmap(0, 1, 'rw', 'fixed', 'populate') },
  // no room in a 2-page arena: the populated file mapping lands outside it
  'mmap.populate_outside': { arena: 2, files: [memfd(4)], call: fmmap(0, 4, 'r', 0, 0, 'shared', 'populate') },
  'merge.new.prev': { setup: [mmap(0, 1, 'rw', 'fixed')], call: mmap(1, 1, 'rw', 'fixed') },
  'merge.new.next': { setup: [mmap(1, 1, 'rw', 'fixed')], call: mmap(0, 1, 'rw', 'fixed') },
  'merge.new.both': { setup: [mmap(0, 1, 'rw', 'fixed'), mmap(2, 1, 'rw', 'fixed')], call: mmap(1, 1, 'rw', 'fixed') },
  'merge.new.none': { call: mmap(0, 1, 'rw', 'fixed') },
  'merge.both_anon_vma_incompatible': {
    setup: [mmap(0, 1, 'rw', 'fixed'), mmap(2, 1, 'rw', 'fixed'), touch(0, 'w'), touch(2, 'w')],
    call: mmap(1, 1, 'rw', 'fixed'),
  },
  'merge.existing.prev': { setup: [mmap(0, 1, 'r', 'fixed'), mmap(1, 1, 'rw', 'fixed')], call: mprotect(1, 1, 'r') },
  'merge.existing.prev_partial': { setup: [mmap(0, 1, 'r', 'fixed'), mmap(1, 2, 'rw', 'fixed')], call: mprotect(1, 1, 'r') },
  'merge.existing.next': { setup: [mmap(1, 1, 'r', 'fixed'), mmap(0, 1, 'rw', 'fixed')], call: mprotect(0, 1, 'r') },
  'merge.existing.next_partial': { setup: [mmap(2, 1, 'r', 'fixed'), mmap(0, 2, 'rw', 'fixed')], call: mprotect(1, 1, 'r') },
  'merge.existing.both': { setup: [mmap(0, 1, 'r', 'fixed'), mmap(2, 1, 'r', 'fixed'), mmap(1, 1, 'rw', 'fixed')], call: mprotect(1, 1, 'r') },
  'merge.existing.interior': { setup: [mmap(0, 3, 'rw', 'fixed')], call: mprotect(1, 1, 'r') },
  'merge.existing.none': { setup: [mmap(0, 2, 'rw', 'fixed')], call: mprotect(0, 1, 'r') },
  'split.head': { setup: [mmap(0, 2, 'rw', 'fixed')], call: mprotect(1, 1, 'r') },
  'split.tail': { setup: [mmap(0, 2, 'rw', 'fixed')], call: mprotect(0, 1, 'r') },
  'split.map_count': { profile: { maxMapCount: 1 }, setup: [mmap(0, 2, 'rw', 'fixed')], call: mprotect(0, 1, 'r') },
  'anon_vma.new': { setup: [mmap(0, 1, 'rw', 'fixed')], call: touch(0, 'w') },
  'anon_vma.reuse.next': { setup: [mmap(0, 2, 'rwx', 'fixed'), mprotect(0, 1, 'rw'), touch(1, 'w')], call: touch(0, 'w') },
  'anon_vma.reuse.prev': { setup: [mmap(0, 2, 'rwx', 'fixed'), mprotect(1, 1, 'rw'), touch(0, 'w')], call: touch(1, 'w') },
  'anon_vma.dup': { setup: [mmap(0, 1, 'rw', 'fixed'), mmap(2, 1, 'rw', 'fixed'), touch(2, 'w')], call: mmap(1, 1, 'rw', 'fixed') },
  'anon_vma.refuse.distinct': {
    setup: [mmap(0, 1, 'rw', 'fixed'), mmap(2, 1, 'rw', 'fixed'), touch(0, 'w'), touch(2, 'w'), mmap(1, 1, 'rw', 'fixed'), mprotect(2, 1, 'r')],
    call: mprotect(2, 1, 'rw'),
  },
  'anon_vma.refuse.faulted_into_unfaulted': {
    profile: p61(),
    arena: 10,
    setup: [mmap(0, 8, 'rw', 'fixed'), touch(4, 'w'), mprotect(4, 4, 'r'), mmap(0, 4, 'rw', 'fixed')],
    call: mprotect(4, 4, 'rw'),
  },
  'errno.munmap.unaligned': { call: munmap(0, 1, 8) },
  'errno.munmap.len_range': { call: munmap(0, (1n << 64n) - 1n) },
  'errno.munmap.len_zero': { call: munmap(0, 0n) },
  'errno.munmap.map_count': { profile: { maxMapCount: 1 }, setup: [mmap(0, 3, 'rw', 'fixed')], call: munmap(1, 1) },
  'munmap.nothing': { call: munmap(0, 1) },
  'munmap.split_start': { setup: [mmap(0, 2, 'rw', 'fixed')], call: munmap(1, 1) },
  'munmap.split_end': { setup: [mmap(0, 2, 'rw', 'fixed')], call: munmap(0, 1) },
  'munmap.removed': { setup: [mmap(0, 1, 'rw', 'fixed')], call: munmap(0, 1) },
  'pgtable.freed': { arena: 512, setup: [mmap(0, 1, 'rw', 'fixed'), touch(0, 'w')], call: munmap(0, 1) },
  'errno.mprotect.grows_both': { call: mprotect(0, 1, 1 | G | 0x02000000) },
  'errno.mprotect.unaligned': { call: mprotect(0, 1, 'r', 8) },
  'mprotect.len_zero': { call: mprotect(0, 0n, 'r') },
  'errno.mprotect.wrap': { call: mprotect(0, (1n << 64n) - 1n, 'r') },
  'errno.mprotect.bad_prot': { call: mprotect(0, 1, 0x10) },
  'errno.mprotect.no_vma': { call: mprotect(0, 1, 'r') },
  'errno.mprotect.growsdown': { setup: [mmap(0, 1, 'rw', 'fixed')], call: mprotect(0, 1, 1 | G) },
  'errno.mprotect.growsup': { setup: [mmap(0, 1, 'rw', 'fixed')], call: mprotect(0, 1, 1 | 0x02000000) },
  'errno.mprotect.hole': { setup: [mmap(0, 1, 'rw', 'fixed')], call: mprotect(0, 2, 'r') },
  'errno.mprotect.eacces': { setup: [mmap(0, 1, 'r', 'fixed')], tweak: (w) => (w.vma(0).flags &= ~VM_MAYWRITE), call: mprotect(0, 1, 'rw') },
  'mprotect.growsdown': { setup: [mmap(0, 2, 'rw', 'fixed', 'growsdown')], call: mprotect(1, 1, 1 | G) },
  'mprotect.unchanged': { setup: [mmap(0, 1, 'rw', 'fixed')], call: mprotect(0, 1, 'rw') },
  'mprotect.account_set': { setup: [mmap(0, 1, 'r', 'fixed')], call: mprotect(0, 1, 'rw') },
  'mprotect.account_clear': { setup: [mmap(0, 1, 'rw', 'fixed')], call: mprotect(0, 1, 'r') },
  'mprotect.account_kept_faulted': { setup: [mmap(0, 1, 'rw', 'fixed'), touch(0, 'w')], call: mprotect(0, 1, 'r') },
  'mprotect.locked_populate': { setup: [mmap(0, 1, 'r', 'fixed', 'locked')], call: mprotect(0, 1, 'rw') },
  'touch.segv.unmapped': { call: touch(0, 'r') },
  'touch.segv.write_protected': { setup: [mmap(0, 1, 'r', 'fixed')], call: touch(0, 'w') },
  'touch.segv.read_protected': { setup: [mmap(0, 1, 'none', 'fixed')], call: touch(0, 'r') },
  'touch.segv.pkey': { profile: { execOnlyPkey: true }, setup: [mmap(0, 1, 'x', 'fixed')], call: touch(0, 'r') },
  'touch.stack_expand': { setup: [mmap(2, 1, 'rw', 'fixed', 'growsdown')], call: touch(1, 'w') },
  'touch.stack_guard_gap': { setup: [mmap(0, 1, 'r', 'fixed'), mmap(3, 1, 'rw', 'fixed', 'growsdown')], call: touch(2, 'w') },
  'touch.stack_rlimit': { profile: { rlimitStackPages: 1 }, setup: [mmap(3, 1, 'rw', 'fixed', 'growsdown')], call: touch(2, 'w') },
  'fault.write.anon_vma': { setup: [mmap(0, 1, 'rw', 'fixed')], call: touch(0, 'w') },
  'fault.read.zero_page': { setup: [mmap(0, 1, 'rw', 'fixed')], call: touch(0, 'r') },
  'fault.read.zero_page_pmd_present': { setup: [mmap(0, 2, 'rw', 'fixed'), touch(0, 'r')], call: touch(1, 'r') },
  'fault.thp.read': { arena: 512, profile: { thp: 'always' }, setup: [mmap(0, 512, 'rw', 'fixed')], call: touch(0, 'r') },
  'fault.read.no_zero_page': { profile: { zeroPage: false }, setup: [mmap(0, 1, 'rw', 'fixed')], call: touch(0, 'r') },
  'fault.thp.read_no_huge_zero_page': { arena: 512, profile: { thp: 'always', thpZeroPage: false }, setup: [mmap(0, 512, 'rw', 'fixed')], call: touch(0, 'r') },
  'fault.thp.write': { arena: 512, profile: { thp: 'always' }, setup: [mmap(0, 512, 'rw', 'fixed')], call: touch(0, 'w') },
  'fault.shared': { setup: [mmap(0, 1, 'rw', 'fixed', 'shared')], call: touch(0, 'w') },
  'populate.write': { call: mmap(0, 1, 'rw', 'fixed', 'populate') },
  'populate.read': { call: mmap(0, 1, 'r', 'fixed', 'populate') },
  'populate.prot_none': { call: mmap(0, 1, 'none', 'fixed', 'locked') },
  'populate.pkey': { profile: { execOnlyPkey: true }, call: mmap(0, 1, 'x', 'fixed', 'locked') },
  // madvise, mlock, mseal, anon names, page state (test/model/rules-mem.scenarios.ts)
  ...S_MEM,
  // files, ftruncate, fork, mremap, userfaultfd (test/model/rules-files.scenarios.ts)
  ...S_FILES,
  // memfd seals, fork {until: exit} (test/model/rules-seals.scenarios.ts)
  ...S_SEALS,
  // page contents and disk files (test/model/rules-content.scenarios.ts)
  ...S_CONTENT,
  // hugetlb and SysV shm (test/model/rules-hugeshm.scenarios.ts)
  ...S_HUGESHM,
};

describe('rule reachability', () => {
  it('has a scenario for every rule id', () => {
    expect(Object.keys(S).sort()).toEqual([...RULE_IDS].sort());
  });
  for (const id of RULE_IDS) {
    if (id === 'mmap.place.kernel_accepted') continue; // needs a kernel answer: predict.test.ts
    it(id, () => {
      const s = S[id];
      const w = world(s.arena ?? 8, s.profile ?? {});
      if (s.files) w.mm.sys.declareFiles(s.files);
      if (s.files) initSeals(w.mm.sys, s.files, w.mm.profile); // memfd_create flags (src/model/seals.ts)
      if (s.shm) declareShm(w.mm.sys, s.shm);
      if (s.setup) w.ok(...s.setup);
      s.tweak?.(w);
      w.run(s.call);
      expect(w.hits).toContain(id);
    });
  }
});
