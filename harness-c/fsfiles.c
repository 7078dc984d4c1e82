// Files on real filesystems (`file ext4|xfs|btrfs`) and pre-filled contents (`fill pattern`).
// The runner names one directory per filesystem kind (--fs-dir ext4=/path); the harness checks its
// filesystem with statfs and makes a private directory inside it (mkdtemp
// `vmafuzz-<pid>-<kind>-XXXXXX`, like the tmpfs one), where a sequence's child creates its files
// and unlinks them at once. Corpus files never name a path: only the kind.
#include "harness.h"
#include "fill.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

static const char *const FS_NAMES[FS_KINDS] = { 0, "ext4", "xfs", "btrfs" };
// EXT4_SUPER_MAGIC, XFS_SUPER_MAGIC, BTRFS_SUPER_MAGIC (include/uapi/linux/magic.h)
static const unsigned long FS_MAGIC[FS_KINDS] = { 0, 0xEF53, 0x58465342, 0x9123683E };

static char fs_base[FS_KINDS][128]; // as named on the command line
char fs_dir[FS_KINDS][160];          // the private directories, "" = kind unavailable

int fs_kind(const char *name) {
    for (int k = 1; k < FS_KINDS; k++) if (!strcmp(name, FS_NAMES[k])) return k;
    return 0;
}

// "--fs-dir <kind>=<absolute path>"; 1 = ok.
int fs_arg(const char *spec) {
    const char *eq = strchr(spec, '=');
    if (!eq || eq - spec > 8) return 0;
    char kind[9];
    memcpy(kind, spec, (size_t)(eq - spec)); kind[eq - spec] = 0;
    int k = fs_kind(kind);
    size_t n = strlen(eq + 1);
    if (!k || eq[1] != '/' || n >= sizeof fs_base[k] - 1) return 0;
    memcpy(fs_base[k], eq + 1, n + 1);
    return 1;
}

// Each named directory that really is on its kind's filesystem gets a private subdirectory.
void fs_setup(int pid1) {
    if (pid1) guest_disks(); // harness-c/guestfs.c
    for (int k = 1; k < FS_KINDS; k++) {
        struct statfs sf;
        if (!fs_base[k][0] || statfs(fs_base[k], &sf) != 0 || (unsigned long)sf.f_type != FS_MAGIC[k]) continue;
        sweep_dead(fs_base[k]);
        char t[sizeof fs_dir[k]];
        struct obuf b = { t, 0, sizeof t - 40, 0 };
        ob_str(&b, fs_base[k]); ob_str(&b, "/vmafuzz-");
        char digits[12]; int n = 0;
        for (unsigned v = (unsigned)getpid(); v || !n; v /= 10) digits[n++] = (char)('0' + v % 10);
        while (n) ob_chr(&b, digits[--n]);
        ob_chr(&b, '-'); ob_str(&b, FS_NAMES[k]); ob_str(&b, "-XXXXXX");
        if (b.overflow) continue;
        t[b.len] = 0;
        if (private_dir(t)) memcpy(fs_dir[k], t, b.len + 1);
    }
    if (pid1) guest_fs_lazy_dirs();
}

void fs_cleanup(void) {
    for (int k = 1; k < FS_KINDS; k++) if (fs_dir[k][0]) remove_dir(fs_dir[k]);
}

// Hello facts: `fs` lists the kinds with a private directory (`-` none); `fs_noexec` those on a
// noexec mount (PROT_EXEC file mappings are refused there: mm/mmap.c:do_mmap path_noexec).
void fs_hello(void) {
    int any = 0, noexec = 0;
    ob_str(&out, " fs=");
    for (int k = 1; k < FS_KINDS; k++) if (fs_dir[k][0]) { if (any++) ob_chr(&out, ','); ob_str(&out, FS_NAMES[k]); }
    if (!any) ob_chr(&out, '-');
    ob_str(&out, " fs_noexec=");
    for (int k = 1; k < FS_KINDS; k++) {
        struct statvfs sv;
        if (!fs_dir[k][0] || statvfs(fs_dir[k], &sv) != 0 || !(sv.f_flag & ST_NOEXEC)) continue;
        if (noexec++) ob_chr(&out, ',');
        ob_str(&out, FS_NAMES[k]);
    }
    if (!noexec) ob_chr(&out, '-');
    // `fs_small_block`: kinds whose block is smaller than a page. A pre-filled file's partly
    // written last page then stays !uptodate (fs/buffer.c:block_commit_write) and fault-around
    // skips it (mm/filemap.c:next_uptodate_folio): the model assumes one block per page.
    int small = 0;
    ob_str(&out, " fs_small_block=");
    for (int k = 1; k < FS_KINDS; k++) {
        struct statfs sf;
        if (!fs_dir[k][0] || statfs(fs_dir[k], &sf) != 0 || (unsigned long)sf.f_type != FS_MAGIC[k] || sf.f_bsize >= PAGE) continue;
        if (small++) ob_chr(&out, ',');
        ob_str(&out, FS_NAMES[k]);
    }
    if (!small) ob_chr(&out, '-');
}

// The directory a declared file lives in: tmpfs or a filesystem's private directory ("" = none).
const char *file_dir(const struct filedecl *f) {
    return f->fs ? fs_dir[f->fs] : f->tmpfs ? tmpfs_dir : "";
}

// `fill pattern`: page k of file i holds fill_byte(i, k) up to the size. One pwrite per page, so
// the page cache gets one small folio per page (a larger write may allocate a large folio,
// mm/filemap.c:__filemap_get_folio fgf_set_order, which fault-around and finish_fault map whole);
// then fdatasync, so no writeback holds a folio lock when a fault wants to map it
// (mm/filemap.c:filemap_map_pages skips folios it cannot trylock).
int fill_file(int fd, int idx, uint64_t size, int disk) {
    static char page[PAGE];
    for (uint64_t k = 0; k * PAGE < size; k++) {
        memset(page, fill_byte((unsigned)idx, k), PAGE);
        size_t n = size - k * PAGE < PAGE ? (size_t)(size - k * PAGE) : PAGE;
        if (pwrite(fd, page, n, (off_t)(k * PAGE)) != (ssize_t)n) return -1;
    }
    return disk && fdatasync(fd) != 0 ? -1 : 0;
}
