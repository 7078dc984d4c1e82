// Recipes: per model rule that random generation (almost) never reaches, a small template that
// builds the setup the rule needs; the normal generator then extends it with fresh calls in the
// state it left (src/gen/guided.ts recipeCase). Coverage guidance aims recipe cases at the rules no
// case of the campaign has fired yet, from the first chunk on (src/campaign/guidance.ts).
//
// One entry per rule id; each names the kernel path the setup drives. Variation comes from the
// picks (sizes, positions, protections), so the cases are not all alike. A recipe for a rule whose
// target lacks a precondition (src/model/rule-needs.ts) is never chosen on that target.
// test/gen-recipes.test.ts checks that every recipe fires its rule in the model on a profile that
// meets the rule's needs.

import { MADV, MAP, MREMAP, PAGE_SIZE, PROT, UFFDIO_REGISTER_MODE as M } from '../seq/consts.js';
import type { Call, FileDecl } from '../seq/schema.js';
import type { RuleId } from '../model/rules.js';
import type { Picks } from './alloc.js';

export interface RecipeSetup {
  arenaPages: 64 | 256 | 1024;
  calls: Call[];
  files?: FileDecl[];
}

export type RuleRecipe = (p: Picks) => RecipeSetup;

const P = BigInt(PAGE_SIZE);
const RW = PROT.PROT_READ | PROT.PROT_WRITE;
const ANON = MAP.MAP_PRIVATE | MAP.MAP_ANONYMOUS;
const at = (page: number) => ({ page, off: 0 });
const len = (pages: number) => BigInt(pages) * P;
const mmapAt = (page: number, pages: number, prot = RW, flags = ANON): Call => ({ op: 'mmap', addr: at(page), len: len(pages), prot, flags: (flags | MAP.MAP_FIXED) >>> 0 });
const touch = (page: number, access: 'read' | 'write'): Call => ({ op: 'touch', addr: at(page), access });
const madvise = (page: number, pages: number, advice: number): Call => ({ op: 'madvise', addr: at(page), len: len(pages), advice });

/** a mapping of 1-8 pages somewhere in a 64-page arena (leaving room after it) */
function small(p: Picks): { page: number; pages: number } {
  const pages = 1 + p.int(8);
  return { page: p.int(64 - 2 * pages), pages };
}

export const RECIPES: Partial<Record<RuleId, RuleRecipe>> = {
  // mm/mmap.c:do_mmap: PAGE_ALIGN(len) wraps to 0 only for len in (2^64 - 4096, 2^64); the
  // generator's "wrapping" length is 2^64 - 4096 (ENOMEM from the TASK_SIZE check instead).
  'errno.mmap.len_overflow': (p) => ({ arenaPages: 64, calls: [{ op: 'mmap', addr: p.chance(50) ? null : at(p.int(64)), len: (1n << 64n) - 1n - BigInt(p.int(PAGE_SIZE - 1)), prot: RW, flags: ANON }] }),
  // mm/mmap.c:do_mmap: MAP_DROPPABLE (type 0x08) with MAP_LOCKED
  'errno.mmap.droppable_locked': (p) => {
    const r = small(p);
    return { arenaPages: 64, calls: [{ op: 'mmap', addr: at(r.page), len: len(r.pages), prot: RW, flags: (0x08 | MAP.MAP_ANONYMOUS | MAP.MAP_FIXED | MAP.MAP_LOCKED) >>> 0 }] };
  },
  // mm/mmap.c:do_mmap: MAP_DROPPABLE|MAP_GROWSDOWN
  'errno.mmap.droppable_growsdown': (p) => {
    const r = small(p);
    return { arenaPages: 64, calls: [{ op: 'mmap', addr: at(r.page), len: len(r.pages), prot: RW, flags: (0x08 | MAP.MAP_ANONYMOUS | MAP.MAP_FIXED | MAP.MAP_GROWSDOWN) >>> 0 }] };
  },
  // mm/mprotect.c:do_mprotect_pkey: PROT_GROWSDOWN and PROT_GROWSUP together
  'errno.mprotect.grows_both': (p) => {
    const r = small(p);
    return { arenaPages: 64, calls: [mmapAt(r.page, r.pages), { op: 'mprotect', addr: at(r.page), len: len(r.pages), prot: (PROT.PROT_READ | PROT.PROT_GROWSDOWN | PROT.PROT_GROWSUP) >>> 0 }] };
  },
  // mm/mremap.c:check_mremap_params: new_len > TASK_SIZE (the corpus format takes such lengths from 2^63 on)
  'errno.mremap.task_size': (p) => {
    const r = small(p);
    return { arenaPages: 64, calls: [mmapAt(r.page, r.pages), { op: 'mremap', addr: at(r.page), oldLen: len(r.pages), newLen: (1n << 63n) + BigInt(p.int(16)) * P, flags: MREMAP.MREMAP_MAYMOVE }] };
  },
  // mm/vma.c:expand_downwards, acct_stack_growth: a fault far below a VM_GROWSDOWN VMA at the top
  // of the arena, further than RLIMIT_STACK allows (needs RLIMIT_STACK below the arena size)
  'touch.stack_rlimit': (p) => ({ arenaPages: 1024, calls: [mmapAt(1020, 4, RW, ANON | MAP.MAP_GROWSDOWN), touch(p.int(64), 'write')] }),
  // mm/vma.c:is_mergeable_anon_vma case 1 on 6.1/6.12: a faulted VMA made compatible again with
  // its unfaulted prev (MADV_DONTFORK split it off, MADV_DOFORK undoes it) refuses to merge into it
  'anon_vma.refuse.faulted_into_unfaulted': (p) => {
    const r = small(p);
    const b = r.page + r.pages;
    const k = 1 + p.int(r.pages);
    return { arenaPages: 64, calls: [mmapAt(r.page, r.pages + k), madvise(b, k, MADV.MADV_DONTFORK), touch(b + p.int(k), 'write'), madvise(b, k, MADV.MADV_DOFORK)] };
  },
  // mm/mmap.c:ksys_mmap_pgoff: no MAP_ANONYMOUS and descriptor -1
  'errno.mmap.ebadf': (p) => {
    const r = small(p);
    const fixed = p.chance(50);
    return { arenaPages: 64, calls: [{ op: 'mmap', addr: fixed ? at(r.page) : null, len: len(r.pages), prot: RW, flags: (p.chance(70) ? MAP.MAP_PRIVATE : MAP.MAP_SHARED) | (fixed ? MAP.MAP_FIXED : 0) }] };
  },
  // arch/x86/kernel/sys_x86_64.c:arch_get_unmapped_area_topdown: MAP_32BIT searches bottom-up below 2 GiB
  'mmap.place.map_32bit': (p) => ({ arenaPages: 64, calls: [{ op: 'mmap', addr: null, len: len(small(p).pages), prot: RW, flags: ANON | MAP.MAP_32BIT }] }),
  // mm/vma.c:vma_merge_new_range: a new range between two VMAs faulted separately (distinct
  // anon_vmas) merges with prev only
  'merge.both_anon_vma_incompatible': (p) => {
    const k = 1 + p.int(4);
    const m = 1 + p.int(4);
    const a = p.int(64 - 2 * k - m);
    return { arenaPages: 64, calls: [mmapAt(a, k), touch(a + p.int(k), 'write'), mmapAt(a + k + m, k), touch(a + k + m + p.int(k), 'write'), mmapAt(a + k, m)] };
  },
  // mm/mprotect.c:do_mprotect_pkey: PROT_GROWSDOWN on a VM_GROWSDOWN VMA extends the range down to its start
  'mprotect.growsdown': (p) => {
    const r = small(p);
    const j = p.int(r.pages);
    return { arenaPages: 64, calls: [mmapAt(r.page, r.pages, RW, ANON | MAP.MAP_GROWSDOWN), { op: 'mprotect', addr: at(r.page + j), len: len(r.pages - j), prot: PROT.PROT_READ | PROT.PROT_GROWSDOWN }] };
  },
  // mm/mseal.c:sys_mseal: len 0 is a no-op
  'mseal.len_zero': (p) => {
    const r = small(p);
    return { arenaPages: 64, calls: [mmapAt(r.page, r.pages), { op: 'mseal', addr: at(r.page + p.int(r.pages)), len: 0n, flags: 0 }] };
  },
  // --- MAP_DROPPABLE (6.11+) ------------------------------------------------------------------------
  // mm/mmap.c:do_mmap: VM_DROPPABLE|VM_NORESERVE|VM_WIPEONFORK|VM_DONTDUMP
  'mmap.flags.droppable': (p) => droppable(p, []),
  // mm/mlock.c:mlock_fixup vma_supports_mlock: a droppable VMA is skipped
  'mlock.unsupported_vma': (p) => droppable(p, ['mlock']),
  // mm/madvise.c:madvise_vma_behavior: MADV_DODUMP / MADV_KEEPONFORK on a droppable VMA
  'errno.madvise.dodump_droppable': (p) => droppable(p, [MADV.MADV_DODUMP]),
  'errno.madvise.keeponfork_droppable': (p) => droppable(p, [MADV.MADV_KEEPONFORK]),
  // --- 2 MiB blocks (arena of 1024 pages = two PMD blocks) ---------------------------------------
  // mm/huge_memory.c:__thp_get_unmapped_area: len a multiple of 2 MiB, no hint, padded search fits
  'mmap.place.thp_aligned': (p) => ({ arenaPages: 1024, calls: [{ op: 'mmap', addr: null, len: len(512), prot: RW, flags: ANON }, touch(p.int(1024), p.chance(50) ? 'read' : 'write')] }),
  // mm/huge_memory.c:do_huge_pmd_anonymous_page: MADV_HUGEPAGE (thp=madvise) over a whole block
  'fault.thp.write': (p) => thpBlock(p, 'write'),
  'fault.thp.read': (p) => thpBlock(p, 'read'),
  'fault.thp.read_no_huge_zero_page': (p) => thpBlock(p, 'read'),
  // mm/memory.c:zap_pte_range reclaim_pt: MADV_DONTNEED over a whole block that held pages
  'pgtable.reclaimed': (p) => {
    const b = 512 * p.int(2);
    return { arenaPages: 1024, calls: [mmapAt(0, 1024), touch(b + p.int(512), 'write'), madvise(b, 512, MADV.MADV_DONTNEED)] };
  },
  // mm/khugepaged.c:madvise_collapse: a VMA holding an aligned block (and an anon_vma), advised on
  // a range that holds none
  'madvise.collapse.nothing': (p) => {
    const s = 1 + p.int(400);
    return { arenaPages: 1024, calls: [mmapAt(0, 1024), touch(p.int(1024), 'write'), madvise(s, 1 + p.int(100), MADV.MADV_COLLAPSE)] };
  },
  // --- userfaultfd --------------------------------------------------------------------------------
  // mm/vma.c:is_mergeable_vma: two contexts registered (same modes) on neighbouring ranges of one
  // mapping: the second registration's merge-then-split meets the first context's VMA
  'merge.uffd_ctx_differs': (p) => {
    const r = small(p);
    const mode = p.chance(70) ? M.UFFDIO_REGISTER_MODE_MISSING : M.UFFDIO_REGISTER_MODE_WP;
    const a = 1 + p.int(r.pages);
    const b = 1 + p.int(r.pages);
    return {
      arenaPages: 64,
      calls: [
        mmapAt(r.page, a + b), { op: 'uffd_create', features: 0 }, { op: 'uffd_create', features: 0 },
        { op: 'uffd_register', uffd: 0, addr: at(r.page), len: len(a), mode },
        { op: 'uffd_register', uffd: 1, addr: at(r.page + a), len: len(b), mode },
      ],
    };
  },
  // mm/userfaultfd.c:userfaultfd_register (7.3): re-registering a WP range with the same context
  // without WP is EBUSY
  'errno.uffd.drop_wp': (p) => {
    const r = small(p);
    return {
      arenaPages: 64,
      calls: [
        mmapAt(r.page, r.pages), { op: 'uffd_create', features: 0 },
        { op: 'uffd_register', uffd: 0, addr: at(r.page), len: len(r.pages), mode: M.UFFDIO_REGISTER_MODE_WP | M.UFFDIO_REGISTER_MODE_MISSING },
        { op: 'uffd_register', uffd: 0, addr: at(r.page), len: len(r.pages), mode: M.UFFDIO_REGISTER_MODE_MISSING },
      ],
    };
  },
  // --- files --------------------------------------------------------------------------------------
  // mm/util.c:vm_mmap_pgoff mm_populate: a populated shared file mapping that finds no gap in a full
  // arena is placed below it, and its population fills the page cache the arena's mappings see
  'mmap.populate_outside': (p) => {
    const pages = 1 + p.int(4);
    return {
      arenaPages: 64,
      files: [{ kind: p.chance(50) ? 'memfd' : 'tmpfs', size: len(pages + p.int(4)) }],
      calls: [mmapAt(0, 64), { op: 'mmap', addr: null, len: len(pages), prot: RW, flags: MAP.MAP_SHARED | MAP.MAP_POPULATE, fd: 0, offset: 0n }],
    };
  },
  // 7.3 mm/vma.c:needs_adjacent_anon_pgoff: a faulted private file mapping moved by mremap keeps
  // its anonymous page offset (mm/vma.c:copy_vma); a new private mapping of the next file pages
  // right after it continues pgoff but takes its own address as anon_pgoff: not adjacent
  'merge.anon_pgoff_refused': (p) => {
    const k = 1 + p.int(4);
    const src = p.int(8);
    const dest = 24 + p.int(24);
    const mapPriv = (page: number, pgoff: number): Call => ({ op: 'mmap', addr: at(page), len: len(k), prot: RW, flags: MAP.MAP_PRIVATE | MAP.MAP_FIXED, fd: 0, offset: len(pgoff) });
    return {
      arenaPages: 64,
      files: [{ kind: p.chance(50) ? 'memfd' : 'tmpfs', size: len(2 * k + p.int(4)) }],
      calls: [
        mapPriv(src, 0),
        touch(src + p.int(k), 'write'),
        { op: 'mremap', addr: at(src), oldLen: len(k), newLen: len(k), flags: MREMAP.MREMAP_MAYMOVE | MREMAP.MREMAP_FIXED, newAddr: at(dest) },
        mapPriv(dest + k, k),
      ],
    };
  },
  // mm/mremap.c:do_mremap mm_populate: a locked shared file mapping at the top of a full arena
  // grown with MREMAP_MAYMOVE cannot grow in place and moves below the arena, populating there
  'mremap.populate_outside': (p) => {
    const pages = 1 + p.int(4);
    const grow = 1 + p.int(4);
    const top = 64 - pages;
    return {
      arenaPages: 64,
      files: [{ kind: p.chance(50) ? 'memfd' : 'tmpfs', size: len(pages + grow + p.int(4)) }],
      calls: [
        mmapAt(0, top),
        { op: 'mmap', addr: at(top), len: len(pages), prot: RW, flags: (MAP.MAP_SHARED | MAP.MAP_FIXED | MAP.MAP_LOCKED) >>> 0, fd: 0, offset: 0n },
        { op: 'mremap', addr: at(top), oldLen: len(pages), newLen: len(pages + grow), flags: MREMAP.MREMAP_MAYMOVE },
      ],
    };
  },
};

/** a MAP_DROPPABLE mapping, then mlock or the given advice over part of it */
function droppable(p: Picks, then: Array<number | 'mlock'>): RecipeSetup {
  const r = small(p);
  const calls: Call[] = [{ op: 'mmap', addr: at(r.page), len: len(r.pages), prot: RW, flags: (0x08 | MAP.MAP_ANONYMOUS | MAP.MAP_FIXED) >>> 0 }];
  const j = p.int(r.pages);
  for (const t of then) calls.push(t === 'mlock' ? { op: 'mlock', addr: at(r.page + j), len: len(r.pages - j) } : madvise(r.page + j, r.pages - j, t));
  return { arenaPages: 64, calls };
}

function thpBlock(p: Picks, access: 'read' | 'write'): RecipeSetup {
  const whole = p.chance(50);
  const b = 512 * p.int(2);
  return {
    arenaPages: 1024,
    calls: [whole ? mmapAt(0, 1024) : mmapAt(b, 512), madvise(whole ? 0 : b, whole ? 1024 : 512, MADV.MADV_HUGEPAGE), touch(b + p.int(512), access)],
  };
}

/** The rules that have a recipe, in a fixed order (guidance picks among them by index). */
export const RECIPE_RULES: readonly string[] = Object.keys(RECIPES).sort();
