// As PID 1 of a QEMU guest: the runner's scratch disks (src/runner/fsdirs.ts ensureScratchImages),
// namespaces of one NVMe controller (nvme is built into the Debian cloud kernels), each holding an
// empty ext4, xfs or btrfs filesystem. The kernel command line says how many namespaces there are
// (`vmafuzz_disks=N`, which the kernel passes to init as an environment variable); the controller
// is probed asynchronously, so the device nodes may take a moment to appear, and the namespaces'
// names need not follow their order: each disk's kind is read from its superblock. A kind whose
// filesystem is a module gets it loaded first from the initramfs (/modules/<kind>/NN-name.ko,
// dependencies first, decompressed by the runner: in-kernel decompression is slow under TCG). Each
// mounted filesystem is named to fs_arg as /vmafuzz-<kind>; one that cannot be mounted stays
// absent, and the hello line's `fs` fact says so. A kind that needs modules is mounted lazily
// (guest_fs_need), so it is listed from the disk and the modules' presence.
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void nap_ms(long ms) {
    struct timespec ts = { 0, ms * 1000000L };
    nanosleep(&ts, 0);
}

// The filesystem on a block device from its superblock magic: ext4 0xEF53 at byte 1080
// (fs/ext4/ext4.h s_magic), xfs "XFSB" at 0 (fs/xfs/libxfs/xfs_format.h XFS_SB_MAGIC), btrfs
// "_BHRfS_M" at 64 KiB + 64 (fs/btrfs/disk-io.c btrfs_super_block's magic). NULL if none.
static const char *disk_kind(const char *dev) {
    static unsigned char sb[65536 + 72];
    int fd = open(dev, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = pread(fd, sb, sizeof sb, 0);
    close(fd);
    if (n >= 1082 && sb[1080] == 0x53 && sb[1081] == 0xEF) return "ext4";
    if (n >= 4 && !memcmp(sb, "XFSB", 4)) return "xfs";
    if (n >= (ssize_t)sizeof sb && !memcmp(sb + 65536 + 64, "_BHRfS_M", 8)) return "btrfs";
    return 0;
}

// A line on the kernel log (so on the console): stdio is the protocol channel in a guest.
static void klog(const char *fmt, ...) {
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(line, sizeof line, "<4>vmafuzz: ");
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) { if (write(fd, line, strlen(line)) < 0) {} close(fd); }
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

// Load /modules/<kind>/* in name order; already loaded (EEXIST) is fine.
static void load_modules(const char *kind) {
    char dir[64];
    snprintf(dir, sizeof dir, "/modules/%s", kind);
    struct dirent **ents;
    int n = scandir(dir, &ents, 0, by_name);
    if (n < 0) return; // built in, or not available: the mount decides
    for (int i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.') {
            char path[sizeof dir + 256];
            snprintf(path, sizeof path, "%s/%s", dir, ents[i]->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd >= 0 && syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
                klog("finit_module %s: %s", path, strerror(errno));
            if (fd >= 0) close(fd);
        }
        free(ents[i]);
    }
    free(ents);
}

static const char *const KIND_NAMES[FS_KINDS] = { 0, "ext4", "xfs", "btrfs" };
// A disk whose filesystem is a module: mounted on the first sequence that declares such a file
// (guest_fs_need). Loading xfs.ko and btrfs.ko costs seconds under TCG (10 and 6 MB to relocate and
// check, btrfs's raid6_pq benchmarks its algorithms), which most boots need not pay.
static char lazy_dev[FS_KINDS][32];

static int registered(const char *kind) {
    char buf[4096];
    int fd = open("/proc/filesystems", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    for (char *l = strtok(buf, "\n"); l; l = strtok(0, "\n")) {
        char *t = strrchr(l, '\t');
        if (t && !strcmp(t + 1, kind)) return 1;
    }
    return 0;
}

static int mount_kind(const char *dev, const char *kind) {
    char mnt[32];
    snprintf(mnt, sizeof mnt, "/vmafuzz-%s", kind);
    mkdir(mnt, 0700);
    if (mount(dev, mnt, kind, 0, 0) == 0) return 1;
    klog("mount %s (%s): %s", dev, kind, strerror(errno));
    return 0;
}

void guest_disks(void) {
    const char *env = getenv("vmafuzz_disks");
    int n = env ? atoi(env) : 1; // older runners attached one ext4 disk and said nothing
    if (n < 0 || n > 8) n = 0;
    // A kernel without the NVMe driver (a `kernels build` guest) never shows the disks: do not
    // wait 3 s for each. A built-in driver has registered itself before init runs.
    struct stat drv;
    if (n && stat("/sys/bus/pci/drivers/nvme", &drv) != 0) n = 0;
    for (int i = 1; i <= n; i++) {
        char dev[32];
        snprintf(dev, sizeof dev, "/dev/nvme0n%d", i);
        const char *kind = 0;
        for (int t = 0; t < 300 && !kind; t++) {
            kind = disk_kind(dev);
            if (!kind) nap_ms(10);
        }
        int k = kind ? fs_kind(kind) : 0;
        if (!k) continue;
        if (registered(kind)) {
            char spec[48];
            snprintf(spec, sizeof spec, "%s=/vmafuzz-%s", kind, kind);
            if (mount_kind(dev, kind)) fs_arg(spec);
            continue;
        }
        char mods[32];
        struct stat st;
        snprintf(mods, sizeof mods, "/modules/%s", kind);
        if (stat(mods, &st) == 0) memcpy(lazy_dev[k], dev, sizeof dev);
    }
}

// After fs_setup: a kind still to be mounted gets its private directory's name now, before any
// sequence process is forked (a reused one keeps its copy of fs_dir), and the hello lists it.
void guest_fs_lazy_dirs(void) {
    for (int k = 1; k < FS_KINDS; k++)
        if (lazy_dev[k][0] && !fs_dir[k][0]) snprintf(fs_dir[k], sizeof fs_dir[k], "/vmafuzz-%s/vmafuzz-1-%s-lazy", KIND_NAMES[k], KIND_NAMES[k]);
}

// A sequence declares a file of kind k: mount its disk if that is still to be done. A failure
// leaves no directory, so the sequence's file creation fails (an infrastructure error, never a
// verdict) and so does every later one of that kind.
void guest_fs_need(int k) {
    if (k <= 0 || k >= FS_KINDS || !lazy_dev[k][0]) return;
    const char *kind = KIND_NAMES[k];
    load_modules(kind);
    if (!mount_kind(lazy_dev[k], kind) || mkdir(fs_dir[k], 0700) != 0) fs_dir[k][0] = 0;
    lazy_dev[k][0] = 0;
}
