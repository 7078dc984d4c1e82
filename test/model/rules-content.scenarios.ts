// One scenario per rule of src/model/rules-content.ts (probe contents, disk-file page cache), for
// test/model/rules.test.ts (rule reachability).
import type { RULES_CONTENT } from '../../src/model/rules-content.js';
import { MADV } from '../../src/seq/consts.js';
import type { Call, FileDecl } from '../../src/seq/schema.js';
import { mmap, touch } from './helpers.js';
import { fmmap, uffdCreate, uffdRegister } from './helpers-files.js';
import type { FilesScenario } from './rules-files.scenarios.js';

export const FS = { fsKinds: ['ext4', 'xfs', 'btrfs'] };
export const ext4 = (pages: number, fill = true, readOnly = false): FileDecl => ({ kind: 'ext4', size: BigInt(pages) * 4096n, ...(fill ? { fill: 'pattern' as const } : {}), ...(readOnly ? { readOnly } : {}) });
export const probe = (page: number, off = 0): Call => ({ op: 'probe', addr: { page, off } });
const madvise = (page: number, pages: number, advice: number): Call => ({ op: 'madvise', addr: { page, off: 0 }, len: BigInt(pages) * 4096n, advice });

export const S_CONTENT: Record<keyof typeof RULES_CONTENT, FilesScenario> = {
  'probe.page_cache': { profile: FS, files: [ext4(4)], setup: [fmmap(0, 4, 'r', 0, 0, 'shared', 'fixed')], call: probe(1) },
  'probe.private': { setup: [mmap(0, 1, 'rw', 'fixed'), touch(0, 'w')], call: probe(0) },
  'probe.zero': { setup: [mmap(0, 1, 'rw', 'fixed')], call: probe(0) },
  'probe.segv': { setup: [mmap(0, 1, 'none', 'fixed')], call: probe(0) },
  'realfs.readahead': { profile: FS, files: [ext4(8, false)], setup: [fmmap(0, 8, 'r', 0, 0, 'shared', 'fixed')], call: probe(3) },
  'realfs.around_eof_no_table': { profile: FS, files: [ext4(1)], setup: [fmmap(0, 4, 'r', 0, 0, 'shared', 'fixed')], call: probe(2) },
  'realfs.rand_read_retry': { profile: FS, files: [ext4(8, false)], setup: [fmmap(0, 8, 'r', 0, 0, 'shared', 'fixed'), madvise(0, 8, MADV.MADV_RANDOM)], call: probe(3) },
  'realfs.willneed': { profile: FS, files: [ext4(8, false)], setup: [fmmap(0, 8, 'r', 0, 0, 'shared', 'fixed')], call: madvise(0, 8, MADV.MADV_WILLNEED) },
  'errno.uffd.realfs': { profile: FS, files: [ext4(4)], setup: [fmmap(0, 4, 'rw', 0, 0, 'fixed'), uffdCreate()], call: uffdRegister(0, 0, 4, 'm') },
};
