// One scenario per rule of src/model/rules-seals.ts (memfd seals, fork {until: exit}), for
// test/model/rules.test.ts (rule reachability). Files are created with their memfd_create flags.
import { makeProfile, type Profile } from '../../src/model/index.js';
import type { RULES_SEALS } from '../../src/model/rules-seals.js';
import { MADV } from '../../src/seq/consts.js';
import type { Call, FileDecl } from '../../src/seq/schema.js';
import { mmap, mprotect, touch, type World } from './helpers.js';
import { addSeals, exit, fmmap, forkBlock, ftruncate, memfd, sealable } from './helpers-files.js';

export interface SealsScenario {
  arena?: number;
  profile?: Partial<Profile> | Profile;
  files?: FileDecl[];
  setup?: Call[];
  tweak?: (w: World) => void;
  call: Call;
}

const s4 = [sealable(4, 'seal')];
const madvise = (page: number, pages: number, advice: number): Call => ({ op: 'madvise', addr: { page, off: 0 }, len: BigInt(pages) * 4096n, advice });

export const S_SEALS: Record<keyof typeof RULES_SEALS, SealsScenario> = {
  'errno.add_seals.rdonly': { files: [memfd(4, true)], call: addSeals(0, 'shrink') },
  'errno.add_seals.unknown': { files: s4, call: addSeals(0, '64') },
  'errno.add_seals.not_shmem': { files: [{ kind: 'ext4', size: 4n * 4096n }], profile: { fsKinds: ['ext4'] }, call: addSeals(0, 'shrink') },
  'errno.add_seals.sealed': { files: [memfd(4)], call: addSeals(0, 'shrink') },
  'errno.add_seals.busy': { files: s4, setup: [fmmap(0, 1, 'r', 0, 0, 'shared', 'fixed')], call: addSeals(0, 'write') },
  'add_seals.exec_implies_write': { files: [sealable(4, 'exec', 'seal')], call: addSeals(0, 'exec') },
  'add_seals.deny_writable': { files: s4, call: addSeals(0, 'write') },
  'add_seals.ok': { files: s4, call: addSeals(0, 'grow') },
  'errno.mmap.write_sealed': { files: s4, setup: [addSeals(0, 'future')], call: fmmap(0, 1, 'rw', 0, 0, 'shared', 'fixed') },
  'mmap.file.sealed_after_unmap': {
    profile: makeProfile('6.1.176', { base_map_count: '0', thp: 'madvise' }),
    files: s4,
    setup: [fmmap(0, 1, 'r', 0, 0, 'fixed'), addSeals(0, 'future')],
    call: fmmap(0, 1, 'rw', 0, 0, 'shared', 'fixed'),
  },
  'mmap.file.sealed_no_maywrite': { files: s4, setup: [addSeals(0, 'write')], call: fmmap(0, 1, 'r', 0, 0, 'shared', 'fixed') },
  'errno.ftruncate.sealed': { files: s4, setup: [addSeals(0, 'shrink')], call: ftruncate(0, 1) },
  'errno.madvise.remove_sealed': { files: s4, setup: [fmmap(0, 1, 'rw', 0, 0, 'shared', 'fixed'), addSeals(0, 'future')], call: madvise(0, 1, MADV.MADV_REMOVE) },
  'fork.child_exits': { setup: [mmap(0, 2, 'rw', 'fixed'), touch(0, 'w')], call: forkBlock() },
  'errno.uffd.handle_of_child': { setup: [mmap(0, 2, 'rw', 'fixed'), forkBlock(), { op: 'uffd_create', features: 0 }, exit()], call: { op: 'uffd_register', uffd: 0, addr: { page: 0, off: 0 }, len: 8192n, mode: 1 } },
  'exit.mappings_gone': { setup: [mmap(0, 2, 'rw', 'fixed'), forkBlock(), mprotect(0, 1, 'r')], call: exit() },
};
