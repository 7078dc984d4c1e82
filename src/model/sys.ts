// What the processes of one sequence share beyond their own address spaces: the files (declared
// memfd/tmpfs files and the shmem files behind MAP_SHARED|MAP_ANONYMOUS, each with its size and
// page cache), the userfaultfd contexts, the fork chain, and the userfaultfd events the current call
// raised. One Sys per predicted sequence; every Mm of the sequence points to it.

import type { FileDecl } from '../seq/schema.js';
import type { Mm } from './state.js';
import { fillFile, type PageData } from './content.js';

export type FileKind = 'anon' | 'memfd' | 'tmpfs' | 'ext4' | 'xfs' | 'btrfs' | 'hugetlb' | 'sysv';

/** Files on a disk filesystem (page cache with readahead, no shmem semantics): src/model/realfs.ts */
export const isRealFs = (f: FileObj): boolean => f.kind === 'ext4' || f.kind === 'xfs' || f.kind === 'btrfs';

/** One open file (struct file) and its inode: all mappings of it share vm_file, so they may merge. */
export interface FileObj {
  /** identity (Vma.file) */
  id: number;
  kind: FileKind;
  /** declared files: index in Sequence.files */
  index: number;
  /** i_size in bytes */
  size: bigint;
  /** page-cache pages (shmem folios) by file page index */
  cache: Set<number>;
  /** opened O_RDONLY: no FMODE_WRITE */
  readOnly: boolean;
  /** F_SEAL_* of the inode (src/model/seals.ts): every shmem inode starts with F_SEAL_SEAL
   *  (mm/shmem.c:__shmem_get_inode); memfd_create may clear it */
  seals: number;
  /** inode mode has exec bits (memfd without MFD_NOEXEC_SEAL) */
  execMode: boolean;
  /** processes that placed a VM_SHARED|VM_MAYWRITE mapping of it outside the arena (never unmapped
   *  by the sequence; gone when the process exits) */
  outsideWritable?: Mm[];
  /** contents by file page index, absent = zeroes (src/model/content.ts) */
  data: Map<number, PageData>;
  /** the inode number maps shows when it is not the identity: every attach of a SysV segment is
   *  its own struct file (ipc/shm.c:do_shmat alloc_file_clone) over the segment's one inode */
  inode?: number;
  /** its VMAs have vm_ops->close (hugetlb_vm_ops, shm_vm_ops): merges may not remove them */
  closeHook?: boolean;
}

/** A userfaultfd context (struct userfaultfd_ctx). */
export interface UffdCtx {
  id: number;
  features: number;
  /** ctx->mm: the process that created it (or, for EVENT_FORK copies, the child) */
  mm: Mm;
}

export class Sys {
  files: FileObj[] = [];
  /** uffd contexts by id (1-based; index 0 unused) */
  uffds: (UffdCtx | null)[] = [null];
  /** per uffd_create call (handle): the context id, or 0 when creation failed (descriptor -1) */
  handles: number[] = [];
  /** per handle: the process whose descriptor table got it (its later fork children inherit it) */
  handleOwner: Mm[] = [];
  /** every process of the sequence, by process number */
  procs: Mm[] = [];
  /** the process that runs the next call */
  current: Mm | null = null;
  /** SysV segments (Sequence.shm) by index: the inode and page cache every attach shares (src/model/shm.ts) */
  shm: FileObj[] = [];
  /** userfaultfd events raised by the current call, in order (CallObs.event) */
  events: string[] = [];
  private nextFile = 1;
  private nextAnonVma = 1;

  /** Declare the sequence's files (created by the harness before the first call). */
  declareFiles(decls: readonly FileDecl[]): void {
    decls.forEach((d, i) => {
      const f: FileObj = { id: this.nextFile++, kind: d.kind, index: i, size: d.size, cache: new Set(), readOnly: d.readOnly === true, seals: 1, execMode: false, data: new Map() };
      if (d.fill === 'pattern') fillFile(f);
      this.files.push(f);
    });
  }

  /** mm/shmem.c:shmem_zero_setup - the shmem file behind a MAP_SHARED|MAP_ANONYMOUS mapping of `pages`. */
  newAnonShmem(pages: number): number {
    const f: FileObj = { id: this.nextFile++, kind: 'anon', index: -1, size: BigInt(pages) * 4096n, cache: new Set(), readOnly: false, seals: 1, execMode: false, data: new Map() };
    this.files.push(f);
    return f.id;
  }

  /** A new file object (hugetlb_file_setup, a SysV attach) with its own identity. */
  newFile(f: Omit<FileObj, 'id'>): FileObj {
    const o: FileObj = { ...f, id: this.nextFile++ };
    this.files.push(o);
    return o;
  }

  file(id: number): FileObj {
    const f = this.files.find((x) => x.id === id);
    if (!f) throw new Error(`model bug: no file ${id}`);
    return f;
  }

  declared(index: number): FileObj {
    // declared files have index >= 0 (the anon hugetlb and shmem files -1); SysV attaches reuse
    // `index` for their segment
    const f = this.files.find((x) => x.index === index && x.kind !== 'anon' && x.kind !== 'sysv');
    if (!f) throw new Error(`model bug: no declared file ${index}`);
    return f;
  }

  /** anon_vma identities are unique across the processes of a sequence */
  newAnonVma(): number {
    return this.nextAnonVma++;
  }

  /** Record a userfaultfd event of the current call. */
  event(name: 'missing' | 'wp' | 'minor' | 'fork' | 'remap' | 'remove' | 'unmap'): void {
    this.events.push(name);
  }
}

/** ceil(size / PAGE_SIZE): the first file page index beyond EOF. */
export function filePages(f: FileObj): number {
  const p = (f.size + 4095n) / 4096n;
  return p > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(p);
}
