// Persistent sequence children (in the spirit of AFL++'s persistent mode): a fork costs more than
// most sequences, so one child runs many sequences in a row. Between two sequences it puts its
// address space back to the state the serving process had when it forked the child, and checks
// that it did; whatever it cannot reset or check ends the child and the next sequence gets a
// fresh fork. Protocol and output are unchanged: `done` lines are the same either way.
//
// Which sequences may run in a reused child is decided from the sequence alone (persist_wanted):
// no `fork` (a second process of the sequence; fork blocks too), no SysV segment or racing thread, no mseal (a sealed VMA cannot be unmapped:
// mm/vma.c:vms_gather_munmap_vmas refuses it with EPERM, vma_is_sealed), and no test-only `sleep`/`crash` calls.
// The first sequence with userfaultfds forks its resolver as a fresh child does (before its arena
// exists, so the fork cannot touch it); the reset has the resolver close its copies of every
// userfaultfd and closes ours first (uffd_reset), so the contexts are released
// (userfaultfd_release: fs/userfaultfd.c in 6.12, mm/userfaultfd.c in 7.3) before anything is unmapped, and keeps the idle resolver
// for the next such sequence (it holds nothing of the arena: its own mm is a copy of the empty one). The
// reusable child is a process group of its own: the deadline kills the group, and a resolver that
// finds a fault it cannot resolve kills its group (never the harness's). A sequence that places a
// mapping outside the window retires its child: map_count no longer matches (reset).
//
// Why the reset leaves nothing of the previous sequence that can change the next one's verdict
// (kernel references: 6.18 / 7.3 sources):
//  - VMAs: everything in [win_start, fence_top) is replaced by one VMA (MAP_FIXED; munmap semantics
//    for what was there: mm/vma.c:vms_complete_munmap_vmas drops locked_vm, anon_vma links, file
//    and anon_vma_name references), which is then unmapped, and the parent's PROT_NONE window
//    reservation is mapped again: the layout is the one the child was forked with. map_count and
//    the maps lines of the window are checked against that (reset, maps_count).
//  - Page tables: munmap of the one VMA spanning the window frees every page table of a PMD block
//    inside [prev->vm_end, next->vm_start) (mm/memory.c:free_pgtables -> free_pgd_range). A block
//    only partly unmapped earlier (a neighbour sharing it) keeps an empty table until then, so
//    without the spanning VMA a later THP fault there (mm/memory.c:__handle_mm_fault needs
//    pmd_none for do_huge_pmd_anonymous_page) could differ from a fresh process.
//  - Placement of non-fixed mmaps: the top-down search (unmapped_area_topdown: mm/mmap.c in 6.12,
//    mm/vma.c in 7.3, via vm_unmapped_area) looks only at the current VMA tree below
//    mm->mmap_base, fixed per process; no free-area cache remembers earlier searches, so with the
//    same tree the same gap is chosen.
//  - anon_vma reuse: a new anon_vma is shared only with an adjacent VMA's
//    (mm/vma.c:find_mergeable_anon_vma looks at the neighbours only); every anon_vma of the
//    previous sequence was freed with its last VMA (mm/rmap.c:unlink_anon_vmas).
//  - khugepaged / KSM: the mm stays registered (MMF_VM_HUGEPAGE, mm/khugepaged.c:__khugepaged_enter;
//    MMF_VM_MERGEABLE, mm/ksm.c:__ksm_enter), but both scan only VMAs that are themselves eligible
//    (thp_vma_allowable_order, VM_MERGEABLE), and an eligible VMA registers the mm when it is
//    created or advised (khugepaged_enter_vma; ksm_madvise) in a fresh process as well.
//  - Files: the declared files' descriptors and /proc/self/{maps,smaps,pagemap} are closed; the
//    lowest free descriptor must be the one the child started with, so the next sequence's files get
//    the same numbers as in a fresh child. Unlinked tmpfs files and memfds go with their last
//    reference (the VMAs are gone too).
//  - THP, zero page, LRU state are the machine's, shared with every other process anyway.
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define TEXT_BYTES (4UL << 20) // the sequence text handed to a reused child
#define PIPE_FD_MIN 900        // the control pipes sit far above any descriptor a sequence uses

// shm_id: the segments the serving process created for this sequence (harness-c/sysv.c), which a
// child forked before them cannot know
struct seqtext { uint64_t arena_pages, opts, len; int usable; int shm_id[MAX_SHM]; char data[]; };

int persist_off;              // --no-persist
int persist_mode;             // in a child: it may go on with the next sequence
static struct seqtext *text;  // shared with the children (created before the window)
static pid_t pchild;          // the reusable child (0: none)
static int go_wr = -1, done_rd = -1;  // parent's ends
static int go_rd = -1, done_wr = -1;  // child's ends
static int has_refused_call;  // the sequence has a call a reused child must not run

// As PID 1 (QEMU) argv is the kernel's: `vmafuzz.persist=0` on the kernel command line stands
// for --no-persist there.
static int cmdline_says_off(void) {
    char b[4096];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    long n = read_fd_all(fd, b, sizeof b - 1);
    close(fd);
    if (n < 0) return 0;
    b[n] = 0;
    for (char *p = b; (p = strstr(p, "vmafuzz.persist=0")); p++)
        if ((p == b || p[-1] == ' ') && (p[17] == 0 || p[17] == ' ' || p[17] == '\n')) return 1;
    return 0;
}

void persist_init(void) {
    if (getpid() == 1 && cmdline_says_off()) persist_off = 1;
    text = mmap(0, TEXT_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (text == MAP_FAILED) { text = 0; persist_off = 1; }
}

// ---------------------------------------------------------------- parent: collecting the sequence

void persist_text_begin(void) {
    has_refused_call = 0;
    if (text) { text->len = 0; text->usable = 1; }
}

// One body line, before parse_op cuts it into words.
void persist_text_add(const char *line) {
    if (!text) return;
    size_t n = strlen(line);
    // thread/sync/readers/pin: racing threads (harness-c/threads.c). SysV segments are fine: their
    // ids travel in the text (persist_start), the attaches go with the window at the reset
    static const char *const no[] = { "fork", "mseal", "sleep", "crash", "thread", "sync", "readers", "pin" };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (!strncmp(line, no[i], strlen(no[i]))) has_refused_call = 1;
    if (strstr(line, " nth ")) has_refused_call = 1; // fail-nth is opened per sequence (child.c)
    if (text->len + n + 1 > TEXT_BYTES - sizeof *text) { text->usable = 0; return; }
    memcpy(text->data + text->len, line, n);
    text->data[text->len + n] = '\n';
    text->len += n + 1;
}

int persist_wanted(void) {
    return !persist_off && text && text->usable && !has_refused_call && !seq_forks;
}

// ---------------------------------------------------------------- parent: running it

static void persist_child_baseline(void);

static pid_t fork_child_plain(void) {
    pid_t pid = fork();
    if (pid == 0) child();
    return pid;
}

static void drop_child(void) {
    if (go_wr >= 0) close(go_wr);
    if (done_rd >= 0) close(done_rd);
    go_wr = done_rd = -1;
    pchild = 0;
}

static int high_fd(int fd) {
    int h = fcntl(fd, F_DUPFD_CLOEXEC, PIPE_FD_MIN);
    close(fd);
    return h;
}

// The child for this sequence: the idle reusable one (told to go on), else a new one.
pid_t persist_start(void) {
    text->arena_pages = arena_pages;
    text->opts = seq_opts;
    shm_export(text->shm_id);
    if (pchild > 0) {
        char go = 'g';
        if (write(go_wr, &go, 1) == 1) return pchild;
        drop_child(); // it is gone (EPIPE): reaped with the other leftovers
    }
    int gp[2], dp[2];
    if (pipe(gp) != 0) return fork_child_plain();
    if (pipe(dp) != 0) { close(gp[0]); close(gp[1]); return fork_child_plain(); }
    go_rd = high_fd(gp[0]); go_wr = high_fd(gp[1]);
    done_rd = high_fd(dp[0]); done_wr = high_fd(dp[1]);
    pid_t pid = fork();
    if (pid == 0) {
        // Its own process group, as a sequence with a resolver needs (the deadline kills the group;
        // a stuck resolver kills its group, never the harness's).
        setpgid(0, 0);
        persist_mode = go_rd >= 0 && done_wr >= 0;
        persist_child_start();
        persist_child_baseline();
        child();
    }
    if (pid > 0) setpgid(pid, pid); // the child does the same: whichever runs first
    close(go_rd); close(done_wr);
    go_rd = done_wr = -1;
    if (pid < 0 || go_wr < 0 || done_rd < 0) { pid_t p = pid; drop_child(); return p; }
    pchild = pid;
    return pid;
}

// Wait for the child to finish the sequence: 1 = finished (status: 0 when it is ready for the
// next one, else its exit status), 0 = deadline passed (the caller kills and reaps it).
int persist_wait(pid_t pid, int *status, uint64_t ms) {
    if (pid != pchild) return wait_deadline(pid, status, ms); // fork_child_plain
    struct pollfd p = { done_rd, POLLIN, 0 };
    int r;
    while ((r = poll(&p, 1, ms > INT32_MAX ? -1 : (int)ms)) < 0 && errno == EINTR) {}
    if (r == 0) { drop_child(); return 0; }
    char c;
    ssize_t n;
    while ((n = read(done_rd, &c, 1)) < 0 && errno == EINTR) {}
    if (n == 1) { *status = 0; return 1; }
    // gone: ended by its sequence (an error exit, a crash) or by a failed reset (exit 0)
    drop_child();
    while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
    return 1;
}

// Is pid the reusable child, alive and waiting for the next sequence?
int persist_alive(pid_t pid) { return pid > 0 && pid == pchild; }

// A reaped leftover was the idle child (it died while waiting): forget it.
void persist_reaped(pid_t pid) {
    if (pid == pchild) drop_child();
}

void persist_stop(void) {
    if (pchild <= 0) return;
    pid_t pid = pchild;
    drop_child(); // EOF on its control pipe: it exits
    while (waitpid(pid, 0, 0) < 0 && errno == EINTR) {}
}

// ---------------------------------------------------------------- child

// Every sequence process drops the parent's ends of the control pipes (a reused child must see
// EOF when the parent goes; nothing else may hold them).
void persist_child_start(void) {
    if (go_wr >= 0) close(go_wr);
    if (done_rd >= 0) close(done_rd);
    go_wr = done_rd = -1;
}

// VMAs of this process (map_count: without [vsyscall]); the text stays in big_buf, NUL-terminated.
static int maps_count(void) {
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    long n = read_fd_all(fd, big_buf, sizeof big_buf - 1);
    close(fd);
    if (n < 0) return -1;
    big_buf[n] = 0;
    int count = 0;
    for (const char *l = big_buf; *l;) {
        uint64_t s;
        const char *p = parse_hex(l, &s);
        if (p && *p == '-' && s < 0xffffffffff600000ULL) count++;
        const char *nl = strchr(l, '\n');
        if (!nl) break;
        l = nl + 1;
    }
    return count;
}

static int window_count = -1;  // map_count with the parent's layout (the window reserved)
static int first_free_fd = -1; // lowest free descriptor when the child started

// At the very start of a reusable child, before anything of the sequence exists.
static void persist_child_baseline(void) {
    if (!persist_mode) return;
    first_free_fd = fcntl(0, F_DUPFD, 0);
    if (first_free_fd >= 0) close(first_free_fd);
    window_count = maps_count();
    if (window_count < 0 || first_free_fd < 0) persist_mode = 0;
}

static long raw(long nr, uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
    return syscall(nr, a, b, c, d, -1L, 0L);
}

// Back to the layout the child was forked with; 1 = done and checked.
static int reset(void) {
    if (seq_uffds) uffd_reset(); // first: an unmap could wait for a resolver to read its event
    uint64_t span = fence_top - win_start;
    const uint64_t anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
    if (raw(SYS_mmap, win_start, span, PROT_NONE, anon | MAP_FIXED) != (long)win_start) return 0;
    if (raw(SYS_munmap, win_start, span, 0, 0) != 0) return 0;
    for (int i = 0; i < nfiles; i++) close(file_fd[i]);
    if (ps.maps_fd > 0) close(ps.maps_fd);
    if (ps.pagemap_fd > 0) close(ps.pagemap_fd);
    ps.maps_fd = 0; ps.pagemap_fd = 0; // as the parent has them: obs_open opens afresh
    if (raw(SYS_mmap, win_start, WINDOW_BYTES, PROT_NONE, anon | MAP_FIXED_NOREPLACE) != (long)win_start) return 0;
    int fd = fcntl(0, F_DUPFD, 0);
    if (fd >= 0) close(fd);
    if (fd != first_free_fd) return 0;
    // The strict check: map_count is the fork-time one and the window holds exactly the
    // reservation (no VMA of the sequence left in it, none merged into it).
    if (maps_count() != window_count) return 0;
    int ok = 0;
    for (const char *l = big_buf; *l;) {
        uint64_t s, t;
        const char *p = parse_hex(l, &s);
        if (p && *p == '-' && parse_hex(p + 1, &t) && s < fence_top && t > win_start) {
            if (s != win_start || t != win_end || strncmp(strchr(l, ' ') + 1, "---p", 4)) return 0;
            ok++;
        }
        const char *nl = strchr(l, '\n');
        if (!nl) break;
        l = nl + 1;
    }
    return ok == 1;
}

// The next sequence, from the shared text, as handle_seq parsed it (it was valid there).
static int reparse(void) {
    arena_pages = text->arena_pages;
    seq_opts = text->opts;
    base = (win_end - arena_pages * PAGE) & ~(PMD_SIZE - 1);
    nops = 0; nfiles = 0; nshm = 0; seq_forks = 0; seq_uffds = 0;
    char *s = text->data, *end = text->data + text->len;
    while (s < end) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) return 0;
        *nl = 0; // the parent writes the text only while we wait for `go`
        if (!strncmp(s, "file ", 5)) { if (!parse_file(s + 5)) return 0; }
        else if (!strncmp(s, "shm ", 4)) { if (!parse_shm(s + 4)) return 0; }
        else if (nops == MAX_OPS || parse_op(s, &ops[nops++]) != 1) return 0;
        s = nl + 1;
    }
    shm_adopt(text->shm_id);
    return 1;
}

// The sequence is done (its results published). 1 = reset, told the parent, and the next
// sequence is parsed: run it. Otherwise this child ends (exit 0: the sequence itself was ok).
int persist_next(void) {
    if (!persist_mode || !reset()) return 0;
    char c = 'k';
    if (write(done_wr, &c, 1) != 1) return 0;
    ssize_t n;
    while ((n = read(go_rd, &c, 1)) < 0 && errno == EINTR) {}
    if (n != 1) _exit(0); // the harness is gone or quits
    if (!reparse()) _exit(7);
    return 1;
}
