// Every modelled rule, with the kernel function it follows. predict() records, per call, which of
// these fired; the campaign reports coverage over RULE_IDS and steers generation with it.

import { RULES_CONTENT } from './rules-content.js';
import { RULES_FILES } from './rules-files.js';
import { RULES_MEM } from './rules-mem.js';
import { RULES_SEALS } from './rules-seals.js';
import { RULES_HUGESHM } from './rules-hugeshm.js';

export const RULES = {
  // mmap errno paths, in the order the kernel checks them
  'errno.mmap.offset_unaligned': 'EINVAL: offset not page aligned (arch/x86/kernel/sys_x86_64.c:sys_mmap)',
  'errno.mmap.ebadf': 'EBADF: no MAP_ANONYMOUS, fd -1 (mm/mmap.c:ksys_mmap_pgoff)',
  'errno.mmap.len_zero': 'EINVAL: len == 0 (mm/mmap.c:do_mmap)',
  'errno.mmap.len_overflow': 'ENOMEM: PAGE_ALIGN(len) wraps to 0 (mm/mmap.c:do_mmap)',
  'errno.mmap.map_count': 'ENOMEM: map_count > max_map_count (mm/mmap.c:do_mmap)',
  'errno.mmap.len_task_size': 'ENOMEM: len > TASK_SIZE (mm/mmap.c:__get_unmapped_area)',
  'errno.mmap.fixed_unaligned': 'EINVAL: MAP_FIXED address not page aligned (mm/mmap.c:__get_unmapped_area offset_in_page)',
  'errno.mmap.fixed_noreplace': 'EEXIST: MAP_FIXED_NOREPLACE range overlaps a VMA (mm/mmap.c:do_mmap)',
  'errno.mmap.mlock_perm': 'EPERM: MAP_LOCKED with RLIMIT_MEMLOCK 0 and no CAP_IPC_LOCK (mm/mmap.c:do_mmap can_do_mlock)',
  'errno.mmap.mlock_limit': 'EAGAIN: MAP_LOCKED beyond RLIMIT_MEMLOCK (mm/mmap.c:mlock_future_ok)',
  'errno.mmap.shared_growsdown': 'EINVAL: MAP_SHARED|MAP_GROWSDOWN (mm/mmap.c:do_mmap vma_flags_can_grow)',
  'errno.mmap.droppable_locked': 'EINVAL: MAP_DROPPABLE with MAP_LOCKED or MAP_HUGETLB (mm/mmap.c:do_mmap)',
  'errno.mmap.droppable_growsdown': 'EINVAL: MAP_DROPPABLE|MAP_GROWSDOWN (mm/mmap.c:do_mmap)',
  'errno.mmap.bad_type': 'EINVAL: map type not SHARED/PRIVATE/DROPPABLE (incl. MAP_SHARED_VALIDATE for anonymous) (mm/mmap.c:do_mmap default)',
  'errno.mmap.fixed_map_count': 'ENOMEM: MAP_FIXED strictly inside one VMA at the map_count limit (mm/vma.c:vms_gather_munmap_vmas)',
  // mmap placement and flags
  'mmap.place.hint': 'hint honoured: free up to vm_start_gap(next) (arch/x86/kernel/sys_x86_64.c:arch_get_unmapped_area_topdown)',
  'mmap.place.hint_taken': 'hint not free: ordinary top-down search (arch/x86/kernel/sys_x86_64.c:arch_get_unmapped_area_topdown)',
  'mmap.place.topdown': 'highest gap that fits, placed at its top (mm/vma.c:unmapped_area_topdown)',
  'mmap.place.stack_guard_gap': 'search retried below the guard gap of a VM_GROWSDOWN VMA (mm/vma.c:unmapped_area_topdown)',
  'mmap.place.outside': 'no arena gap fits: the search continues below the arena (mm/vma.c:unmapped_area_topdown)',
  'mmap.place.thp_aligned': 'len % 2 MiB == 0, no hint: 2 MiB-aligned placement (mm/huge_memory.c:__thp_get_unmapped_area)',
  'mmap.place.thp_outside': 'padded THP search found no arena gap of len + 2 MiB (mm/huge_memory.c:__thp_get_unmapped_area)',
  'mmap.place.shmem_aligned': 'shared anonymous placement aligned for shmem THP (mm/shmem.c:shmem_get_unmapped_area)',
  'mmap.place.kernel_accepted': 'the kernel chose a different but legal placement; the model follows it (predict.ts:legalPlacement)',
  'mmap.place.map_32bit': 'MAP_32BIT: bottom-up search below 2 GiB (arch/x86/kernel/sys_x86_64.c:arch_get_unmapped_area_topdown)',
  'mmap.flags.account': 'private writable, not VM_NORESERVE: VM_ACCOUNT (mm/vma.c:accountable_mapping)',
  'mmap.flags.stack_nohugepage': 'MAP_STACK: VM_NOHUGEPAGE (include/linux/mman.h:calc_vm_flag_bits)',
  'mmap.flags.droppable': 'MAP_DROPPABLE: VM_DROPPABLE|VM_NORESERVE|VM_WIPEONFORK|VM_DONTDUMP (mm/mmap.c:do_mmap)',
  'mmap.shared_anon': 'MAP_SHARED|MAP_ANONYMOUS: a new shmem file "/dev/zero (deleted)" (mm/shmem.c:shmem_zero_setup)',
  'mmap.fixed_replace': 'MAP_FIXED over existing VMAs: split and removed first (mm/vma.c:__mmap_setup)',
  'mmap.populate': 'MAP_POPULATE or MAP_LOCKED: populate the new range (mm/gup.c:__mm_populate)',
  'mmap.populate_outside': 'a populated file mapping placed outside the arena fills the page cache the arena sees (mm/util.c:vm_mmap_pgoff mm_populate)',
  // merges (mm/vma.c)
  'merge.new.prev': 'new range merged into prev (mm/vma.c:vma_merge_new_range)',
  'merge.new.next': 'new range merged into next (mm/vma.c:vma_merge_new_range)',
  'merge.new.both': 'new range merged with prev and next; next removed (mm/vma.c:vma_merge_new_range, vma_expand)',
  'merge.new.none': 'new range not mergeable: new VMA (mm/vma.c:__mmap_new_vma)',
  'merge.both_anon_vma_incompatible': 'prev and next anon_vmas differ: only the left merge is done (mm/vma.c:can_vma_merge_right)',
  'merge.existing.prev': 'whole VMA merged into prev (mm/vma.c:vma_merge_existing_range)',
  'merge.existing.prev_partial': 'head of VMA merged into prev, VMA shrinks (mm/vma.c:vma_merge_existing_range)',
  'merge.existing.next': 'whole VMA merged into next (mm/vma.c:vma_merge_existing_range)',
  'merge.existing.next_partial': 'tail of VMA merged into next, VMA shrinks (mm/vma.c:vma_merge_existing_range)',
  'merge.existing.both': 'whole VMA merged with prev and next (mm/vma.c:vma_merge_existing_range)',
  'merge.existing.interior': 'range touches neither end of the VMA: no merge attempt (mm/vma.c:vma_merge_existing_range)',
  'merge.existing.none': 'no compatible neighbour (mm/vma.c:vma_merge_existing_range)',
  'split.head': 'split off the part below the range (mm/vma.c:vma_modify, split_vma)',
  'split.tail': 'split off the part above the range (mm/vma.c:vma_modify, split_vma)',
  'split.map_count': 'ENOMEM: split at map_count >= max_map_count (mm/vma.c:split_vma)',
  // anon_vma
  'anon_vma.new': 'fault allocates a new anon_vma (mm/rmap.c:__anon_vma_prepare)',
  'anon_vma.reuse.next': 'fault reuses the next VMA\'s anon_vma (mm/vma.c:find_mergeable_anon_vma)',
  'anon_vma.reuse.prev': 'fault reuses the prev VMA\'s anon_vma (mm/vma.c:find_mergeable_anon_vma)',
  'anon_vma.dup': 'merge survivor inherits the anon_vma (mm/vma.c:dup_anon_vma)',
  'anon_vma.refuse.distinct': 'different anon_vmas refuse the merge (mm/vma.c:is_mergeable_anon_vma)',
  'anon_vma.refuse.faulted_into_unfaulted': 'old kernels: faulted range refuses to merge into an unfaulted VMA (profile row)',
  // munmap
  'errno.munmap.unaligned': 'EINVAL: address not page aligned (mm/vma.c:do_vmi_munmap)',
  'errno.munmap.len_range': 'EINVAL: len > TASK_SIZE - start (mm/vma.c:do_vmi_munmap)',
  'errno.munmap.len_zero': 'EINVAL: len == 0 (mm/vma.c:do_vmi_munmap)',
  'errno.munmap.map_count': 'ENOMEM: range strictly inside one VMA at the map_count limit (mm/vma.c:vms_gather_munmap_vmas)',
  'munmap.nothing': 'nothing mapped in the range: 0 (mm/vma.c:do_vmi_munmap)',
  'munmap.split_start': 'first VMA split at the range start (mm/vma.c:vms_gather_munmap_vmas)',
  'munmap.split_end': 'last VMA split at the range end (mm/vma.c:vms_gather_munmap_vmas)',
  'munmap.removed': 'VMAs in the range removed (mm/vma.c:vms_complete_munmap_vmas)',
  'pgtable.freed': 'page table of a 2 MiB block freed: no VMA left in it (mm/memory.c:free_pgtables)',
  // mprotect
  'errno.mprotect.grows_both': 'EINVAL: PROT_GROWSDOWN|PROT_GROWSUP (mm/mprotect.c:do_mprotect_pkey)',
  'errno.mprotect.unaligned': 'EINVAL: address not page aligned (mm/mprotect.c:do_mprotect_pkey)',
  'mprotect.len_zero': 'len == 0: 0 without looking at VMAs (mm/mprotect.c:do_mprotect_pkey)',
  'errno.mprotect.wrap': 'ENOMEM: end <= start after PAGE_ALIGN (mm/mprotect.c:do_mprotect_pkey)',
  'errno.mprotect.bad_prot': 'EINVAL: unknown prot bits (include/linux/mman.h:arch_validate_prot)',
  'errno.mprotect.no_vma': 'ENOMEM: no VMA at the start of the range (mm/mprotect.c:do_mprotect_pkey)',
  'errno.mprotect.growsdown': 'EINVAL: PROT_GROWSDOWN on a VMA without VM_GROWSDOWN (mm/mprotect.c:do_mprotect_pkey)',
  'errno.mprotect.growsup': 'EINVAL: PROT_GROWSUP (no VM_GROWSUP on x86) (mm/mprotect.c:do_mprotect_pkey)',
  'errno.mprotect.hole': 'ENOMEM: hole in the range, earlier VMAs stay changed (mm/mprotect.c:do_mprotect_pkey)',
  'errno.mprotect.eacces': 'EACCES: prot exceeds VM_MAY* (mm/mprotect.c:do_mprotect_pkey)',
  'mprotect.growsdown': 'PROT_GROWSDOWN: range extended down to the VMA start (mm/mprotect.c:do_mprotect_pkey)',
  'mprotect.unchanged': 'flags unchanged: VMA skipped, no merge attempt (mm/mprotect.c:mprotect_fixup)',
  'mprotect.account_set': 'private VMA made writable gains VM_ACCOUNT (mm/mprotect.c:mprotect_fixup)',
  'mprotect.account_clear': 'unfaulted anonymous VMA made read-only loses VM_ACCOUNT (mm/mprotect.c:mprotect_fixup)',
  'mprotect.account_kept_faulted': 'faulted VMA made read-only keeps VM_ACCOUNT (mm/mprotect.c:mprotect_fixup)',
  'mprotect.locked_populate': 'VM_LOCKED private VMA made writable is populated (mm/mprotect.c:mprotect_fixup)',
  // faults
  'touch.segv.unmapped': 'SIGSEGV: no VMA (mm/mmap_lock.c:lock_mm_and_find_vma)',
  'touch.segv.write_protected': 'SIGSEGV: write to a VMA without VM_WRITE (arch/x86/mm/fault.c:access_error)',
  'touch.segv.read_protected': 'SIGSEGV: read of a PROT_NONE VMA (arch/x86/mm/fault.c:access_error)',
  'touch.segv.pkey': 'SIGSEGV: read of an execute-only pkey VMA (arch/x86/mm/fault.c:access_error)',
  'touch.stack_expand': 'fault below a VM_GROWSDOWN VMA grows it (mm/vma.c:expand_downwards)',
  'touch.stack_guard_gap': 'growth refused: accessible prev within stack_guard_gap (mm/vma.c:expand_downwards)',
  'touch.stack_rlimit': 'growth refused: RLIMIT_STACK (mm/vma.c:acct_stack_growth)',
  'fault.write.anon_vma': 'write fault on private memory prepares the anon_vma (mm/memory.c:do_anonymous_page, vmf_anon_prepare)',
  'fault.read.zero_page': 'read fault maps the zero page, no anon_vma (mm/memory.c:do_anonymous_page)',
  'fault.read.zero_page_pmd_present': 'read fault with a page table already in the 2 MiB block: 4K path (mm/memory.c:__handle_mm_fault)',
  'fault.read.no_zero_page': 'zero page forbidden (fact zero_page=0): a read fault prepares the anon_vma and maps a real page (mm/memory.c:do_anonymous_page !mm_forbids_zeropage, vmf_anon_prepare)',
  'fault.thp.read': 'read fault takes the PMD THP path and prepares the anon_vma (mm/huge_memory.c:do_huge_pmd_anonymous_page)',
  'fault.thp.read_no_huge_zero_page': 'THP read fault without the huge zero page (zero page forbidden or use_zero_page=0): a THP is allocated or the fault falls back (mm/huge_memory.c:do_huge_pmd_anonymous_page)',
  'fault.thp.write': 'write fault takes the PMD THP path (mm/huge_memory.c:do_huge_pmd_anonymous_page)',
  'fault.shared': 'fault on shared memory: no anon_vma (mm/shmem.c:shmem_fault)',
  'populate.write': 'population write-faults a private writable VMA (mm/gup.c:populate_vma_page_range)',
  'populate.read': 'population read-faults (mm/gup.c:populate_vma_page_range FOLL_FORCE)',
  'populate.prot_none': 'PROT_NONE VMA not populated (mm/gup.c:populate_vma_page_range)',
  'populate.pkey': 'execute-only pkey VMA not populated: -EFAULT (mm/gup.c:check_vma_flags arch_vma_access_permitted)',
  // file mappings, ftruncate, fork, mremap, userfaultfd (src/model/rules-files.ts)
  ...RULES_FILES,
  ...RULES_CONTENT,
  // madvise, mlock, mseal, anon names, page state (src/model/rules-mem.ts)
  ...RULES_MEM,
  // memfd seals, fork whose child exits (src/model/rules-seals.ts)
  ...RULES_SEALS,
  // hugetlb and SysV shared memory (src/model/rules-hugeshm.ts)
  ...RULES_HUGESHM,
} as const;

export type RuleId = keyof typeof RULES;
export const RULE_IDS = Object.keys(RULES) as RuleId[];

/** Per call (by index), the rule ids that fired, in firing order, without repeats. */
export type RuleHits = RuleId[][];
