// Op families for `vmafuzz fuzz --ops`: a family name stands for its ops plus the core calls that
// build the layouts they act on (a family without mmap would only ever see an empty arena).

import { OPS, type Op } from '../seq/schema.js';
import { MEM_OPS } from './ops-mem.js';
import { FILE_OPS } from './ops-files.js';
import { HUGESHM_OPS } from './ops-hugeshm.js';

const CORE: readonly Op[] = ['mmap', 'munmap', 'mprotect', 'touch'];

export const FAMILIES: Readonly<Record<string, readonly Op[]>> = {
  core: CORE,
  madvise: [...CORE, 'madvise'],
  mlock: [...CORE, 'mlock', 'mlock2', 'munlock'],
  mseal: [...CORE, 'mseal', 'madvise'],
  anon_name: [...CORE, 'anon_name'],
  /** everything of src/gen/ops-mem.ts */
  mem: [...CORE, ...MEM_OPS],
  /** declared files (ftruncate's weight also turns on file mmaps), src/gen/ops-files.ts */
  files: [...CORE, 'ftruncate', 'add_seals'],
  /** page contents: probes, shared/private mappings of (disk) files, src/gen/ops-content.ts */
  contents: [...CORE, 'ftruncate', 'probe', 'madvise'],
  mremap: [...CORE, 'mremap'],
  /** fork with the advice that decides what the child inherits */
  fork: [...CORE, 'fork', 'madvise'],
  uffd: [...CORE, 'uffd_create', 'uffd_register', 'uffd_unregister', 'fork', 'mremap'],
  /** everything of src/gen/ops-files.ts */
  proc: [...CORE, ...FILE_OPS],
  /** SysV segments and hugetlb mappings (shmat's weight also turns on MAP_HUGETLB), src/gen/ops-hugeshm.ts */
  hugeshm: [...CORE, ...HUGESHM_OPS],
};

/** Expand a comma-separated --ops list of op and family names; throws on an unknown name. A name
 *  that is both (madvise, mlock, mseal, anon_name, mremap, fork) means the family: the op alone
 *  would only ever see an empty arena. */
export function expandOps(spec: string): Op[] {
  const out = new Set<Op>();
  for (const w of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (w in FAMILIES) for (const op of FAMILIES[w]!) out.add(op);
    else if ((OPS as readonly string[]).includes(w)) out.add(w as Op);
    else throw new Error(`unknown op ${JSON.stringify(w)} (ops: ${OPS.join(', ')}; families: ${Object.keys(FAMILIES).join(', ')})`);
  }
  return [...out];
}
