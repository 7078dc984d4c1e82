// The C reproducer's files (harness-c/child.c:create_files, harness-c/fsfiles.c) and the `probe`
// call (harness-c/ops.c:exec_probe): memfd, tmpfs and disk-filesystem files, pre-filled with
// harness-c/fill.h, which is embedded as it is (C shared with the harness lives in harness-c/).
// A disk file lives in a private directory made in $VMAFUZZ_<KIND>_DIR, else in the native
// runner's mount /run/vmafuzz-fs/<kind> or the current directory (as the guard-regions selftest
// uses its local file system), whichever is on that filesystem; none makes the reproducer exit
// 125 (cannot test).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../runner/harness-build.js';
import type { FileDecl } from '../seq/schema.js';

export const DISK_KINDS = ['ext4', 'xfs', 'btrfs'] as const;
/** include/uapi/linux/memfd.h: a `hugetlb` file is a memfd on the 2 MiB pool */
const MFD_HUGETLB = 4;
const MAGIC: Record<string, string> = { ext4: '0xEF53', xfs: '0x58465342', btrfs: '0x9123683E' };
const KIND_NO: Record<string, number> = { ext4: 1, xfs: 2, btrfs: 3 };

/** harness-c/fill.h without its include guard, for embedding. */
function fillH(): string {
  return readFileSync(join(projectRoot(), 'harness-c', 'fill.h'), 'utf8')
    .split('\n')
    .filter((l) => !/^#(ifndef|define|endif) VMAFUZZ_FILL_H/.test(l) && !/^#endif$/.test(l) && !l.startsWith('#include'))
    .join('\n');
}

/** `struct file_decl` for the reproducer: tmpfs, ro, size, disk kind (0 none), fill, memfd_create flags. */
export const FILE_DECL_C = 'struct file_decl { int tmpfs, ro; uint64_t size; int fs, fill; unsigned int mfd_flags; };';

/** One file_decl row. */
export function fileDeclRow(x: FileDecl, i: number): string {
  return `\t{ ${x.kind === 'tmpfs' ? 1 : 0}, ${x.readOnly ? 1 : 0}, 0x${x.size.toString(16)}, ${KIND_NO[x.kind] ?? 0}, ${x.fill ? 1 : 0}, 0x${(((x.flags ?? 0) | (x.kind === 'hugetlb' ? MFD_HUGETLB : 0)) >>> 0).toString(16)} },\t/* f${i}: ${x.kind}${x.readOnly ? ', read-only' : ''}${x.fill ? ', filled' : ''}${x.flags ? `, memfd_create flags 0x${x.flags.toString(16)}` : ''} */`;
}

/** The disk kinds a sequence's files use. */
export function diskKinds(files: readonly FileDecl[] | undefined): string[] {
  return DISK_KINDS.filter((k) => files?.some((x) => x.kind === k));
}

/** Directories for disk files, made in setup() and removed at the end. */
export function diskDirsC(kinds: readonly string[]): string {
  if (!kinds.length) return '';
  return String.raw`
/*
 * Private directories for the disk files (harness-c/fsfiles.c:fs_setup): in $VMAFUZZ_<KIND>_DIR, or
 * else /run/vmafuzz-fs/<kind> or the current directory, whichever is on that filesystem (statfs).
 */
static char fs_dir[4][320];
static const char *const fs_name[4] = { "", "ext4", "xfs", "btrfs" };
static const unsigned long fs_magic[4] = { 0, ${MAGIC.ext4}, ${MAGIC.xfs}, ${MAGIC.btrfs} };

static int make_fs_dir(int k)
{
	char env[32];
	const char *base;
	struct statfs sf;

	const char *cand[3];
	char mnt[32];
	int c;

	snprintf(env, sizeof(env), "VMAFUZZ_%s_DIR", k == 1 ? "EXT4" : k == 2 ? "XFS" : "BTRFS");
	snprintf(mnt, sizeof(mnt), "/run/vmafuzz-fs/%s", fs_name[k]);	/* the native runner's mount */
	cand[0] = getenv(env);
	cand[1] = cand[0] ? NULL : mnt;
	cand[2] = cand[0] ? NULL : ".";
	for (c = 0, base = NULL; c < 3 && !base; c++)
		if (cand[c] && statfs(cand[c], &sf) == 0 && (unsigned long)sf.f_type == fs_magic[k])
			base = cand[c];
	if (!base) {
		fprintf(stderr, "%s is not on %s: set %s to a directory on %s\n", cand[0] ? cand[0] : ".", fs_name[k], env, fs_name[k]);
		errno = ENOTSUP;
		return -1;
	}
	snprintf(fs_dir[k], sizeof(fs_dir[k]), "%s/vmafuzz-%s-repro-XXXXXX", base, fs_name[k]);
	return mkdtemp(fs_dir[k]) ? 0 : -1;
}

static int make_fs_dirs(void)
{
	return ${kinds.map((k) => `make_fs_dir(${KIND_NO[k]})`).join(' || ')};
}

static void remove_fs_dirs(void)
{
	char path[sizeof(fs_dir[0]) + 8];
	int k, i;

	for (k = 1; k < 4; k++) {
		if (!fs_dir[k][0])
			continue;
		for (i = 0; i < NR_FILES; i++) {
			snprintf(path, sizeof(path), "%s/f%d", fs_dir[k], i);
			unlink(path);
		}
		rmdir(fs_dir[k]);
	}
}
`;
}

/** create_files() of the reproducer. */
export function createFilesC(tmpfs: boolean, kinds: readonly string[], fill: boolean): string {
  const dirExpr = kinds.length ? (tmpfs ? 'file_decl[i].fs ? fs_dir[file_decl[i].fs] : tmpfs_dir' : 'fs_dir[file_decl[i].fs]') : 'tmpfs_dir';
  const anyDir = tmpfs || kinds.length > 0;
  return String.raw`${fill ? `
/* harness-c/fill.h */${fillH()}
/*
 * fill pattern (harness-c/fsfiles.c:fill_file): one pwrite per page (small folios), then
 * fdatasync for disk files (no folio locked by writeback when a fault wants to map it).
 */
static int fill_file(int fd, int idx, uint64_t size, int disk)
{
	static char page[PAGE_SIZE];
	uint64_t k;

	for (k = 0; k * PAGE_SIZE < size; k++) {
		size_t n = size - k * PAGE_SIZE < PAGE_SIZE ? (size_t)(size - k * PAGE_SIZE) : PAGE_SIZE;

		memset(page, fill_byte((unsigned)idx, k), PAGE_SIZE);
		if (pwrite(fd, page, n, (off_t)(k * PAGE_SIZE)) != (ssize_t)n)
			return -1;
	}
	return disk && fdatasync(fd) != 0 ? -1 : 0;
}
` : ''}
static int file_fd[NR_FILES];

/*
 * In the sequence's process, before the first call (harness-c/child.c:create_files): memfd "f<n>"
 * (maps: /memfd:f<n> (deleted)) or <dir>/f<n> in the tmpfs or a disk filesystem's private directory,
 * unlinked at once, sized with ftruncate${fill ? ' and pre-filled' : ''}; a read-only file is re-opened O_RDONLY
 * through /proc/self/fd and the writable descriptor closed.
 */
static int create_files(void)
{
	char name[8], path[400];
	int i, fd, ro;

	for (i = 0; i < NR_FILES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		if (!file_decl[i].tmpfs && !file_decl[i].fs)
			fd = (int)syscall(SYS_memfd_create, name, file_decl[i].mfd_flags);
		else {
${anyDir ? `\t\t\tsnprintf(path, sizeof(path), "%.320s/%s", ${dirExpr}, name);\n\t\t\tfd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);\n\t\t\tif (fd >= 0 && unlink(path) != 0)\n\t\t\t\treturn -1;` : '\t\t\tfd = -1;'}
		}
		if (fd < 0 || syscall(SYS_ftruncate, fd, file_decl[i].size) != 0)
			return -1;
${fill ? '\t\tif (file_decl[i].fill && fill_file(fd, i, file_decl[i].size, file_decl[i].fs != 0) != 0)\n\t\t\treturn -1;\n' : ''}		if (file_decl[i].ro) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			ro = open(path, O_RDONLY | O_CLOEXEC);
			close(fd);
			if (ro < 0)
				return -1;
			fd = ro;
		}
		file_fd[i] = fd;
	}
	return 0;
}
`;
}

/** probe(): harness-c/ops.c:exec_probe. Needs the touch machinery (touch_env, in_touch). */
export function probeC(uffd: boolean): string {
  return String.raw`
/* Read the byte at addr and report it (harness-c/ops.c:exec_probe); a fault is the signal, ret 0. */
static void probe(int i, uint64_t addr)
{
	volatile unsigned char *p = (volatile unsigned char *)addr;
	uint64_t v = 0;
	int sig;

${uffd ? '\tbegin();\n' : ''}	sig = sigsetjmp(touch_env, 0);
	if (sig == 0) {
		in_touch = 1;
		v = *p;
		in_touch = 0;
	}
	end(i, sig ? 0 : v, 0, sig);
}
`;
}
