// x86-64 Linux UAPI values used by the sequence language (include/uapi/asm-generic/mman-common.h,
// arch/x86/include/uapi/asm/mman.h, include/uapi/asm-generic/errno-base.h). Shared by the
// generator, the model, the text rendering and the C reproducer; the harness has its own copy
// from <sys/mman.h>, so a mismatch would show up as a divergence, never be hidden.

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;

export const PROT = {
  PROT_NONE: 0x0,
  PROT_READ: 0x1,
  PROT_WRITE: 0x2,
  PROT_EXEC: 0x4,
  PROT_SEM: 0x8,
  PROT_GROWSDOWN: 0x01000000,
  PROT_GROWSUP: 0x02000000,
} as const;

export const MAP = {
  MAP_SHARED: 0x01,
  MAP_PRIVATE: 0x02,
  MAP_SHARED_VALIDATE: 0x03,
  MAP_FIXED: 0x10,
  MAP_ANONYMOUS: 0x20,
  MAP_32BIT: 0x40,
  MAP_GROWSDOWN: 0x0100,
  MAP_DENYWRITE: 0x0800,
  MAP_EXECUTABLE: 0x1000,
  MAP_LOCKED: 0x2000,
  MAP_NORESERVE: 0x4000,
  MAP_POPULATE: 0x8000,
  MAP_NONBLOCK: 0x10000,
  MAP_STACK: 0x20000,
  MAP_HUGETLB: 0x40000,
  MAP_SYNC: 0x80000,
  MAP_FIXED_NOREPLACE: 0x100000,
  MAP_UNINITIALIZED: 0x4000000,
} as const;

export const ERRNO: Record<string, number> = {
  EPERM: 1, ENOENT: 2, EINTR: 4, EIO: 5, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14,
  EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, ETXTBSY: 26, EFBIG: 27, ENOSPC: 28, ESPIPE: 29,
  ERANGE: 34, ENOSYS: 38, EOVERFLOW: 75, EOPNOTSUPP: 95,
};
const ERRNO_NAME = new Map(Object.entries(ERRNO).map(([k, v]) => [v, k]));
export function errnoName(e: number): string {
  return ERRNO_NAME.get(e) ?? `errno${e}`;
}

export const SIGNALS: Record<number, string> = { 7: 'SIGBUS', 11: 'SIGSEGV' };

export type FlagTable = Readonly<Record<string, number>>;

/** Render a bit set with a name table; unknown bits are printed in hex so nothing is hidden. */
export function flagsToString(value: number, table: FlagTable, zeroName = '0'): string {
  if (value === 0) return zeroName;
  const parts: string[] = [];
  let rest = value >>> 0;
  // Multi-bit names first (MAP_SHARED_VALIDATE) would swallow MAP_SHARED|MAP_PRIVATE; render single bits.
  for (const [name, bit] of Object.entries(table)) {
    if (bit === 0 || (bit & (bit - 1)) !== 0) continue;
    if ((rest & bit) >>> 0) {
      parts.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest) parts.push('0x' + rest.toString(16));
  return parts.join('|');
}

// include/uapi/asm-generic/mman-common.h
export const MADV = {
  MADV_NORMAL: 0, MADV_RANDOM: 1, MADV_SEQUENTIAL: 2, MADV_WILLNEED: 3, MADV_DONTNEED: 4,
  MADV_FREE: 8, MADV_REMOVE: 9, MADV_DONTFORK: 10, MADV_DOFORK: 11, MADV_MERGEABLE: 12,
  MADV_UNMERGEABLE: 13, MADV_HUGEPAGE: 14, MADV_NOHUGEPAGE: 15, MADV_DONTDUMP: 16, MADV_DODUMP: 17,
  MADV_WIPEONFORK: 18, MADV_KEEPONFORK: 19, MADV_COLD: 20, MADV_PAGEOUT: 21, MADV_POPULATE_READ: 22,
  MADV_POPULATE_WRITE: 23, MADV_DONTNEED_LOCKED: 24, MADV_COLLAPSE: 25,
  MADV_GUARD_INSTALL: 102, MADV_GUARD_REMOVE: 103,
} as const;
/**
 * Advice a corpus file may never carry, with why: these act on the machine, not on the arena
 * (mm/madvise.c:madvise_inject_error -> memory_failure / soft_offline_page take the physical page
 * out of service for every process; CAP_SYS_ADMIN, which the harness has as root). The harness
 * refuses them too (harness-c/ops.c).
 */
export const REFUSED_ADVICE: ReadonlyMap<number, string> = new Map([
  [100, 'MADV_HWPOISON (100) injects a memory failure into the physical page: it poisons host memory'],
  [101, 'MADV_SOFT_OFFLINE (101) soft-offlines the physical page: it takes host memory out of service'],
]);
export const REFUSED_ADVICE_NAMES: Readonly<Record<string, number>> = { MADV_HWPOISON: 100, MADV_SOFT_OFFLINE: 101 };
const MADV_NAME = new Map(Object.entries(MADV).map(([k, v]) => [v as number, k]));
export function adviceName(v: number): string {
  return MADV_NAME.get(v) ?? String(v);
}

// include/uapi/linux/mman.h
export const MREMAP = { MREMAP_MAYMOVE: 1, MREMAP_FIXED: 2, MREMAP_DONTUNMAP: 4 } as const;
export const MLOCK = { MLOCK_ONFAULT: 1 } as const;

// include/uapi/linux/userfaultfd.h
export const UFFDIO_REGISTER_MODE = {
  UFFDIO_REGISTER_MODE_MISSING: 1,
  UFFDIO_REGISTER_MODE_WP: 2,
  UFFDIO_REGISTER_MODE_MINOR: 4,
} as const;
export const UFFD_FEATURE = {
  UFFD_FEATURE_PAGEFAULT_FLAG_WP: 1 << 0,
  UFFD_FEATURE_EVENT_FORK: 1 << 1,
  UFFD_FEATURE_EVENT_REMAP: 1 << 2,
  UFFD_FEATURE_EVENT_REMOVE: 1 << 3,
  UFFD_FEATURE_MISSING_HUGETLBFS: 1 << 4,
  UFFD_FEATURE_MISSING_SHMEM: 1 << 5,
  UFFD_FEATURE_EVENT_UNMAP: 1 << 6,
  UFFD_FEATURE_SIGBUS: 1 << 7,
  UFFD_FEATURE_THREAD_ID: 1 << 8,
  UFFD_FEATURE_MINOR_HUGETLBFS: 1 << 9,
  UFFD_FEATURE_MINOR_SHMEM: 1 << 10,
  UFFD_FEATURE_EXACT_ADDRESS: 1 << 11,
  UFFD_FEATURE_WP_HUGETLBFS_SHMEM: 1 << 12,
  UFFD_FEATURE_WP_UNPOPULATED: 1 << 13,
  UFFD_FEATURE_POISON: 1 << 14,
  UFFD_FEATURE_WP_ASYNC: 1 << 15,
  UFFD_FEATURE_MOVE: 1 << 16,
} as const;
