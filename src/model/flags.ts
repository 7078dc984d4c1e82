// The model's vm_flags: a 32-bit bit set. Bits 0..31 use the kernel's own x86-64 positions
// (include/linux/mm.h VM_READ .. VM_MERGEABLE) so that `flags >> 4` still maps VM_MAY* onto VM_*
// as in mm/mprotect.c:do_mprotect_pkey. Kernel flags above bit 31 get spare slots whose kernel
// meaning never arises for the modelled calls: 14 (VM_IO), 22 (VM_HUGETLB), 24 (VM_ARCH_1, x86 PAT),
// 28 (VM_MIXEDMAP). Slot 10 (VM_PFNMAP) holds VM_HUGETLB; 18 is VM_DONTEXPAND's own.

export const VM_READ = 1 << 0;
export const VM_WRITE = 1 << 1;
export const VM_EXEC = 1 << 2;
export const VM_SHARED = 1 << 3;
export const VM_MAYREAD = 1 << 4;
export const VM_MAYWRITE = 1 << 5;
export const VM_MAYEXEC = 1 << 6;
export const VM_MAYSHARE = 1 << 7;
export const VM_GROWSDOWN = 1 << 8;
export const VM_LOCKED = 1 << 13;
export const VM_ACCOUNT = 1 << 20;
export const VM_NORESERVE = 1 << 21;
export const VM_SYNC = 1 << 23;
export const VM_WIPEONFORK = 1 << 25;
export const VM_DONTDUMP = 1 << 26;
export const VM_SOFTDIRTY = 1 << 27;
export const VM_HUGEPAGE = 1 << 29;
export const VM_NOHUGEPAGE = 1 << 30;
/** kernel bit 40 (VM_DROPPABLE, MAP_DROPPABLE); spare slot 22 here */
export const VM_DROPPABLE = 1 << 22;
/** the x86 execute-only protection key in VM_PKEY_BIT0..3 (kernel bits 32..35); spare slot 28 here */
export const VM_PKEY_EXEC_ONLY = 1 << 28;
/** mseal(2); kernel bit 42 (6.18+/7.3; bit 63 in 6.10-6.12); spare slot 14 here */
export const VM_SEALED = 1 << 14;
// madvise bits (kernel positions): guard regions (6.18.36+/7.3, sticky), access pattern, KSM
export const VM_MAYBE_GUARD = 1 << 11;
export const VM_SEQ_READ = 1 << 15;
export const VM_RAND_READ = 1 << 16;
export const VM_MERGEABLE = 1 << 31;

/** hugetlb (src/model/hugetlb.ts): VM_DONTEXPAND at its kernel position (18); VM_HUGETLB is kernel
 *  bit 22 (taken here by VM_DROPPABLE), so it uses the spare slot 10 (VM_PFNMAP, never modelled) */
export const VM_DONTEXPAND = 1 << 18;
export const VM_HUGETLB = 1 << 10;
/** include/linux/mm.h VM_SPECIAL as far as modelled calls can set it (VM_IO, VM_PFNMAP, VM_MIXEDMAP never arise) */
export const VM_SPECIAL = VM_DONTEXPAND;

// userfaultfd, fork and mlock2 bits (kernel positions; VM_UFFD_MINOR is kernel bit 41: spare slot 24 =
// VM_ARCH_1, x86 PAT, which no modelled call sets)
export const VM_UFFD_MISSING = 1 << 9;
export const VM_UFFD_WP = 1 << 12;
export const VM_DONTCOPY = 1 << 17;
export const VM_LOCKONFAULT = 1 << 19;
export const VM_UFFD_MINOR = 1 << 24;
/** include/linux/mm.h __VM_UFFD_FLAGS (VM_UFFD_RWP is 7.3's, never requested by the corpus) */
export const VM_UFFD_FLAGS = VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR;
/** include/linux/mm.h VM_LOCKED_MASK */
export const VM_LOCKED_MASK = VM_LOCKED | VM_LOCKONFAULT;

export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;
/** include/linux/mm.h VMA_STICKY_FLAGS = VMA_IGNORE_MERGE_FLAGS (VM_MAYBE_GUARD only exists on
 *  kernels with the madvise.maybe_guard_flag row, so older profiles never set it) */
export const VM_IGNORE_MERGE = VM_SOFTDIRTY | VM_MAYBE_GUARD;
/** mm/mprotect.c: VM_FLAGS_CLEAR = ARCH_VM_PKEY_FLAGS | VM_ARCH_CLEAR */
export const VM_FLAGS_CLEAR = VM_PKEY_EXEC_ONLY;

// /proc/pid/smaps VmFlags mnemonics in the kernel's bit order (fs/proc/task_mmu.c:show_smap_vma_flags).
const MNEMONICS: ReadonlyArray<readonly [number, string]> = [
  [VM_READ, 'rd'], [VM_WRITE, 'wr'], [VM_EXEC, 'ex'], [VM_SHARED, 'sh'], [VM_MAYREAD, 'mr'],
  [VM_MAYWRITE, 'mw'], [VM_MAYEXEC, 'me'], [VM_MAYSHARE, 'ms'], [VM_GROWSDOWN, 'gd'], [VM_UFFD_MISSING, 'um'],
  [VM_MAYBE_GUARD, 'gu'], [VM_UFFD_WP, 'uw'], [VM_LOCKED, 'lo'], [VM_SEQ_READ, 'sr'], [VM_RAND_READ, 'rr'],
  [VM_DONTCOPY, 'dc'], [VM_DONTEXPAND, 'de'], [VM_LOCKONFAULT, 'lf'],
  [VM_ACCOUNT, 'ac'], [VM_NORESERVE, 'nr'], [VM_HUGETLB, 'ht'], [VM_SYNC, 'sf'], [VM_WIPEONFORK, 'wf'], [VM_DONTDUMP, 'dd'],
  [VM_SOFTDIRTY, 'sd'], [VM_HUGEPAGE, 'hg'], [VM_NOHUGEPAGE, 'nh'], [VM_MERGEABLE, 'mg'],
  // above bit 31, in the 6.18/7.3 kernel order: dp (40), ui (41), sl (42)
  [VM_DROPPABLE, 'dp'], [VM_UFFD_MINOR, 'ui'], [VM_SEALED, 'sl'],
];

/** The VmFlags line body as the kernel prints it ("rd wr mr mw me ac"); pkey bits have no mnemonic. */
export function vmFlagsToString(flags: number): string {
  const out: string[] = [];
  for (const [bit, name] of MNEMONICS) if (flags & bit) out.push(name);
  return out.join(' ');
}

/** /proc/pid/maps permission column: r/w/x, then 's' iff VM_MAYSHARE (fs/proc/task_mmu.c:show_vma_header_prefix). */
export function permsOf(flags: number): string {
  return (
    (flags & VM_READ ? 'r' : '-') +
    (flags & VM_WRITE ? 'w' : '-') +
    (flags & VM_EXEC ? 'x' : '-') +
    (flags & VM_MAYSHARE ? 's' : 'p')
  );
}
