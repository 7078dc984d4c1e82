// Rule ids of page contents (the `probe` call, src/model/content.ts) and of files on real
// filesystems (ext4, xfs, btrfs: src/model/realfs.ts), merged into RULES by src/model/rules.ts.

export const RULES_CONTENT = {
  'probe.page_cache': 'the read sees the file page in the page cache: shared mappings always, private ones until CoW (mm/filemap.c:filemap_fault, filemap_map_pages)',
  'probe.private': 'the read sees the process\'s own anonymous page: zero-filled or the CoW copy of the file page (mm/memory.c:do_anonymous_page, do_cow_fault, wp_page_copy)',
  'probe.zero': 'the read sees the shared zero page (mm/memory.c:do_anonymous_page, pte of my_zero_pfn)',
  'probe.segv': 'the probe read faulted (SIGSEGV/SIGBUS: arch/x86/mm/fault.c:access_error, mm/memory.c:handle_pte_marker, filemap_fault beyond EOF)',
  'realfs.readahead': 'a fault that misses the page cache of a disk file reads ahead: other file pages may enter the cache, and finish_fault may map the whole large folio (mm/filemap.c:do_sync_mmap_readahead, mm/memory.c:finish_fault)',
  'realfs.around_eof_no_table': 'fault-around of a disk file maps nothing: its first cached folio holds the last page and there is no page table yet (mm/filemap.c:filemap_map_pages, filemap_map_pmd)',
  'realfs.rand_read_retry': 'VM_RAND_READ: whether a disk file\'s miss was retried (and the retry\'s fault-around mapped the window) is the kernel\'s choice: maybe (mm/filemap.c:filemap_fault, do_sync_mmap_readahead)',
  'realfs.willneed': 'MADV_WILLNEED of a disk file starts readahead of the range: those pages may be cached (mm/madvise.c:madvise_willneed -> vfs_fadvise POSIX_FADV_WILLNEED)',
  'errno.uffd.realfs': 'EINVAL: a disk file VMA has no vm_uffd_ops, so only async uffd-wp may register it (mm/userfaultfd.c:vma_can_userfault)',
} as const;
