// vmafuzz concurrent reproducer runtime (src/findings/repro-c-threads.ts fills in the tables).
// Each run forks a child that lays out a fenced arena, runs the setup calls, then releases the
// racing threads together (pthreads on static stacks, created before the arena exists), waits
// for them and reads /proc/self/maps. A run whose racing results and arena maps are exactly the
// recorded bad outcome ends the loop: exit 1. Otherwise it loops until the time limit: exit 0.
// Exit 125: the arena could not be set up.
//
//   cc -static -O2 -pthread -o repro repro.c && ./repro [seconds]
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef SYS_mseal
#define SYS_mseal 462
#endif
#ifndef SYS_mlock2
#define SYS_mlock2 325
#endif

#define PAGE 4096UL
#define PMD (2UL << 20)

enum { OP_MMAP, OP_MUNMAP, OP_MPROTECT, OP_TOUCH_R, OP_TOUCH_W, OP_MADVISE, OP_MREMAP, OP_MLOCK, OP_MLOCK2, OP_MUNLOCK, OP_MSEAL, OP_ANON_NAME };

// One call: addresses are arena-relative (page, byte offset); null2 = the mremap destination is NULL.
struct rop {
    int op, thread, syncs_before, addr_ret, null1, null2;
    uint64_t page, off, len, a, b, page2, off2;
    const char *name;
    const char *text;
};
// What the bad run returned for a racing call: an arena page (addr_ret), or a value; errno; signal.
struct rres { int in_arena; uint64_t v; int err, sig; };

// @@TABLES@@

static uint64_t base;
static struct rres got[NRACING > 0 ? NRACING : 1];
static volatile int go_flag, bar_count, bar_gen, done_threads;
static char stacks[NTHREADS][256 << 10] __attribute__((aligned(4096)));
static char altstacks[NTHREADS][64 << 10] __attribute__((aligned(16)));
static __thread sigjmp_buf tj;
static __thread volatile sig_atomic_t tin;

static void on_fault(int sig, siginfo_t *si, void *uc) {
    (void)si; (void)uc;
    if (!tin) { signal(sig, SIG_DFL); return; }
    tin = 0;
    siglongjmp(tj, sig);
}

static uint64_t at(uint64_t page, uint64_t off) { return base + page * PAGE + off; }

static struct rres run_op(const struct rop *o) {
    struct rres r = { 0, 0, 0, 0 };
    long ret = 0;
    errno = 0;
    switch (o->op) {
    case OP_MMAP: ret = syscall(SYS_mmap, o->null1 ? o->off : at(o->page, o->off), o->len, o->a, o->b, -1L, 0L); break;
    case OP_MUNMAP: ret = syscall(SYS_munmap, at(o->page, o->off), o->len); break;
    case OP_MPROTECT: ret = syscall(SYS_mprotect, at(o->page, o->off), o->len, o->a); break;
    case OP_MADVISE: ret = syscall(SYS_madvise, at(o->page, o->off), o->len, o->a); break;
    case OP_MREMAP: ret = syscall(SYS_mremap, at(o->page, o->off), o->len, o->a, o->b, o->null2 ? o->off2 : at(o->page2, o->off2)); break;
    case OP_MLOCK: ret = syscall(SYS_mlock, at(o->page, o->off), o->len); break;
    case OP_MLOCK2: ret = syscall(SYS_mlock2, at(o->page, o->off), o->len, o->a); break;
    case OP_MUNLOCK: ret = syscall(SYS_munlock, at(o->page, o->off), o->len); break;
    case OP_MSEAL: ret = syscall(SYS_mseal, at(o->page, o->off), o->len, o->a); break;
    case OP_ANON_NAME: ret = syscall(SYS_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, at(o->page, o->off), o->len, o->name); break;
    case OP_TOUCH_R:
    case OP_TOUCH_W: {
        volatile char *p = (volatile char *)at(o->page, o->off);
        int sig = sigsetjmp(tj, 0);
        if (!sig) {
            tin = 1;
            if (o->op == OP_TOUCH_W) *p = 0x5a; else (void)*p;
            tin = 0;
        }
        r.sig = sig;
        return r;
    }
    }
    if (ret == -1) { r.err = errno; r.v = (uint64_t)-1; return r; }
    r.v = (uint64_t)ret;
    if (o->addr_ret && r.v >= base && r.v <= base + ARENA_PAGES * PAGE) { r.in_arena = 1; r.v = (r.v - base) / PAGE; }
    return r;
}

static void barrier(void) {
    int g = __atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&bar_count, 1, __ATOMIC_ACQ_REL) == NTHREADS) {
        __atomic_store_n(&bar_count, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&bar_gen, 1, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE) == g) sched_yield();
}

static void *racer(void *arg) {
    int t = (int)(intptr_t)arg, syncs = 0;
    stack_t ss = { .ss_sp = altstacks[t], .ss_size = sizeof altstacks[t], .ss_flags = 0 };
    sigaltstack(&ss, 0);
    while (!__atomic_load_n(&go_flag, __ATOMIC_ACQUIRE)) {}
    for (int i = 0; i < NRACING; i++) {
        if (RACING[i].thread != t) continue;
        while (syncs < RACING[i].syncs_before) { barrier(); syncs++; }
        got[i] = run_op(&RACING[i]);
    }
    while (syncs < NSYNC) { barrier(); syncs++; }
    return 0;
}

// The arena lines of /proc/self/maps as "A+<start>p-A+<end>p <perms> <name>" (name may be empty).
static int arena_maps(char lines[][160], int max) {
    static char buf[1 << 20];
    int fd = open("/proc/self/maps", O_RDONLY), n = 0;
    size_t len = 0;
    ssize_t r;
    while (fd >= 0 && (r = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)r;
    if (fd >= 0) close(fd);
    buf[len] = 0;
    for (char *l = buf; *l && n < max;) {
        char *nl = strchr(l, '\n');
        if (nl) *nl = 0;
        unsigned long s, e, off, ino;
        char perms[8], dev[16];
        int name_at = 0;
        if (sscanf(l, "%lx-%lx %7s %lx %15s %lu %n", &s, &e, perms, &off, dev, &ino, &name_at) >= 6 &&
            s < base + ARENA_PAGES * PAGE && e > base) {
            const char *name = name_at ? l + name_at : "";
            while (*name == ' ') name++;
            snprintf(lines[n++], 160, "A+%lup-A+%lup %s %s", (s - base) / PAGE, (e - base) / PAGE, perms, name);
        }
        if (!nl) break;
        l = nl + 1;
    }
    return n;
}

static int child(void) {
    pthread_t tids[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstack(&a, stacks[t], sizeof stacks[t]);
        if (pthread_create(&tids[t], &a, racer, (void *)(intptr_t)t)) return 125;
    }
    // the arena: 2 MiB aligned, where a top-down mmap(NULL) search starts (a window taken there
    // first), between two shared PROT_NONE fences that never merge with it; the upper one fills
    // the window up to its top, so non-fixed mappings land in the arena as in the harness
    uint64_t want = ARENA_PAGES * PAGE + 2 * PMD;
    void *w = mmap(0, want, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (w == MAP_FAILED) return 125;
    uint64_t top = (uint64_t)w + want, end;
    base = (top - ARENA_PAGES * PAGE - PAGE) & ~(PMD - 1);
    end = base + ARENA_PAGES * PAGE;
    munmap(w, want);
    if (mmap((void *)(base - PAGE), PAGE, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == MAP_FAILED) return 125;
    if (mmap((void *)end, top - end, PROT_NONE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0) == MAP_FAILED) return 125;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER | SA_SIGINFO;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    static char main_alt[64 << 10];
    stack_t ss = { .ss_sp = main_alt, .ss_size = sizeof main_alt, .ss_flags = 0 };
    sigaltstack(&ss, 0);
    for (int i = 0; i < NSETUP; i++) (void)run_op(&SETUP[i]);
    __atomic_store_n(&go_flag, 1, __ATOMIC_RELEASE);
    for (int t = 0; t < NTHREADS; t++) pthread_join(tids[t], 0);
    static char lines[512][160];
    int n = arena_maps(lines, 512);
    int same = n == NBAD_MAPS;
    for (int i = 0; same && i < n; i++) same = !strcmp(lines[i], BAD_MAPS[i]);
    for (int i = 0; same && i < NRACING; i++)
        same = got[i].in_arena == BAD[i].in_arena && got[i].err == BAD[i].err && got[i].sig == BAD[i].sig &&
               (got[i].err || got[i].sig || !RACING[i].addr_ret || !got[i].in_arena || got[i].v == BAD[i].v);
    if (!same) return 0;
    printf("bad outcome reproduced:\n");
    for (int i = 0; i < NRACING; i++) printf("  %-60s errno %d signal %d\n", RACING[i].text, got[i].err, got[i].sig);
    for (int i = 0; i < n; i++) printf("  %s\n", lines[i]);
    fflush(stdout);
    return 1;
}

int main(int argc, char **argv) {
    int seconds = argc > 1 ? atoi(argv[1]) : 60;
    time_t end = time(0) + seconds;
    long runs = 0;
    printf("%s\nlooping for at most %d s until the bad outcome\n", DESCRIPTION, seconds);
    fflush(stdout);
    while (time(0) < end) {
        pid_t p = fork();
        if (p == 0) _exit(child());
        int st = 0;
        waitpid(p, &st, 0);
        runs++;
        if (WIFSIGNALED(st)) { printf("run %ld: killed by signal %d\n", runs, WTERMSIG(st)); return 1; }
        if (WEXITSTATUS(st) == 125) { printf("cannot set up the arena\n"); return 125; }
        if (WEXITSTATUS(st) == 1) { printf("after %ld run(s)\n", runs); return 1; }
    }
    printf("not seen in %ld runs\n", runs);
    return 0;
}
