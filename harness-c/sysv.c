// SysV shared memory segments of a sequence, and the hugetlb pool.
//
// Segments (`shm <size>` lines) are created by the serving process before it forks the sequence's
// child, with shmget(IPC_PRIVATE) and the distinctive mode 0601, and removed (IPC_RMID) once every
// process of the sequence has ended: the corpus only ever names a segment by its index, never a key
// or id of anyone else's. A harness killed mid-sequence leaves its segments behind; the next harness
// removes segments with that mode whose creator is gone and that nobody has attached (shm_sweep).
//
// The hugetlb pool: sequences with MAP_HUGETLB need free huge pages. As root the harness raises
// vm.nr_hugepages to HUGETLB_POOL beyond the reserved pages when it is lower (and leaves it there: harnesses run side by
// side, and lowering it under another one would fail its sequences); the `hugepages_free` fact of
// the hello line says what a model can count on.
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SHM_MODE 0601
#define HUGETLB_POOL 32 // 2 MiB pages: 64 MiB, enough for several 16 MiB arenas at once

int nshm;
static uint64_t shm_size[MAX_SHM];
static int shm_id[MAX_SHM];

// "shm <size>" after the keyword
int parse_shm(char *line) {
    uint64_t size;
    if (nshm == MAX_SHM || !word_hex(&line, &size) || size == 0 || size > MAX_ARENA_PAGES * PAGE) return 0;
    shm_size[nshm++] = size;
    return next_word(&line) == 0;
}

int shm_create(void) {
    for (int i = 0; i < nshm; i++) shm_id[i] = -1;
    for (int i = 0; i < nshm; i++) {
        shm_id[i] = (int)syscall(SYS_shmget, IPC_PRIVATE, shm_size[i], IPC_CREAT | IPC_EXCL | SHM_MODE);
        if (shm_id[i] < 0) { shm_remove(); return -1; }
    }
    return 0;
}

// The ids of this sequence's segments, for a reused child (harness-c/persist.c), and its side.
void shm_export(int *ids) {
    for (int i = 0; i < MAX_SHM; i++) ids[i] = i < nshm ? shm_id[i] : -1;
}
void shm_adopt(const int *ids) {
    for (int i = 0; i < MAX_SHM; i++) shm_id[i] = ids[i];
}

void shm_remove(void) {
    for (int i = 0; i < nshm; i++)
        if (shm_id[i] >= 0) { syscall(SYS_shmctl, shm_id[i], IPC_RMID, 0); shm_id[i] = -1; }
}

// Segments left by a harness that was killed: our mode, creator gone, not attached.
void shm_sweep(void) {
    struct shm_info info;
    int max = (int)syscall(SYS_shmctl, 0, SHM_INFO, &info);
    for (int i = 0; i <= max; i++) {
        struct shmid_ds ds;
        int id = (int)syscall(SYS_shmctl, i, SHM_STAT, &ds);
        if (id < 0 || ds.shm_perm.__key != IPC_PRIVATE || (ds.shm_perm.mode & 0777) != SHM_MODE || ds.shm_nattch) continue;
        if (kill(ds.shm_cpid, 0) == 0 || errno != ESRCH) continue;
        syscall(SYS_shmctl, id, IPC_RMID, 0);
    }
}

// shmat <segment index> <addr> <flags>: the index becomes the segment's id.
void exec_shmat(const struct op *o, struct res *r) {
    errno = 0;
    long ret = syscall(SYS_shmat, shm_id[o->v[0]], o->v[1], o->v[2]);
    r->ret = (uint64_t)ret;
    r->err = ret == -1 ? errno : 0;
}

// The segment index argument: below the number of `shm` lines read so far.
int shm_index_ok(uint64_t v) { return v < (uint64_t)nshm; }

static long read_long(const char *path) {
    char b[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    long n = fd < 0 ? -1 : read_fd_all(fd, b, sizeof b - 1);
    if (fd >= 0) close(fd);
    if (n <= 0) return -1;
    b[n] = 0;
    long v = 0;
    for (char *p = b; *p >= '0' && *p <= '9'; p++) v = v * 10 + (*p - '0');
    return v;
}

// The pool gets HUGETLB_POOL pages beyond the reserved ones: a reservation leaked for good (a
// kernel bug: src/gen/hugetlb-resv.ts) or held by another process would otherwise shrink what a
// sequence can use (hugepages_free counts free - reserved), at most 4 x HUGETLB_POOL in all.
void hugetlb_pool_setup(void) {
    if (geteuid() != 0) return;
    static const char path[] = "/proc/sys/vm/nr_hugepages";
    long cur = read_long(path);
    if (cur < 0) return;
    long resv = read_long("/sys/kernel/mm/hugepages/hugepages-2048kB/resv_hugepages");
    long want = HUGETLB_POOL + (resv > 0 ? resv : 0);
    if (want > 4 * HUGETLB_POOL) want = 4 * HUGETLB_POOL;
    if (cur >= want) return;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    char t[24];
    int n = snprintf(t, sizeof t, "%ld\n", want);
    (void)!write(fd, t, (size_t)n); // the kernel may grant fewer: hugepages_free says
    close(fd);
}

// Facts for the hello line: can this process create SysV segments (CONFIG_SYSVIPC, IPC namespace
// limits), and the size of the hugetlb pool (vm.nr_hugepages after hugetlb_pool_setup).
void sysv_facts(struct obuf *b) {
    int id = (int)syscall(SYS_shmget, IPC_PRIVATE, PAGE, IPC_CREAT | IPC_EXCL | SHM_MODE);
    if (id >= 0) syscall(SYS_shmctl, id, IPC_RMID, 0);
    ob_str(b, " sysv_shm="); ob_chr(b, id >= 0 ? '1' : '0');
    char t[32];
    int fd = open("/proc/sys/vm/nr_hugepages", O_RDONLY | O_CLOEXEC);
    long n = fd < 0 ? -1 : read_fd_all(fd, t, sizeof t - 1);
    if (fd >= 0) close(fd);
    uint64_t v = 0;
    for (long i = 0; i < n && t[i] >= '0' && t[i] <= '9'; i++) v = v * 10 + (uint64_t)(t[i] - '0');
    ob_str(b, " hugetlb_pool="); if (n > 0) ob_hex(b, v); else ob_chr(b, '-');
}
