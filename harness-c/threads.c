// Concurrent sequences (docs/harness-protocol.md "Threads"): after the serial setup calls, 2-4
// racing threads each run their own list of calls, started together on a barrier, with optional
// `sync` barriers between calls, while up to two reader threads read /proc/self/maps over and over.
// Every racing call records its CLOCK_MONOTONIC start and end, so the oracle knows which calls
// certainly came before which (src/linearize/).
//
// The threads are pthreads with static stacks (no mmap of a stack, no guard page), created before
// the arena exists: pthread_create's only allocation (the TLS dtv, from the brk heap) happens then,
// so nothing of the harness ever lands in the arena. Results are kept in static arrays and written
// out by the sequence's main thread after every thread has been joined.
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_RACERS 4
#define MAX_READERS 2
#define MAX_READS 16          // distinct reads kept per reader
#define READ_TEXT (64 << 10)  // arena lines kept per reader
#define STACK_BYTES (256 << 10)

#if defined(__x86_64__) || defined(__i386__)
#define cpu_relax() __builtin_ia32_pause()
#else
#define cpu_relax() __asm__ volatile("" ::: "memory")
#endif

int nthreads;                       // racing threads of the sequence (0 = a serial sequence)
static int nreaders;
static int pin;                     // bind racing thread t to the t-th CPU the process may use
static uint64_t thr_lo[MAX_RACERS], thr_hi[MAX_RACERS];
static uint32_t thr_nsync[MAX_RACERS]; // sync lines of each thread
static uint32_t sync_cum[MAX_OPS];     // syncs of its thread before op i

static struct { uint64_t ret, t0, t1; int err, sig; } tres[MAX_OPS];

// A racing fork with `nth <k>` (the only racing fork of its sequence): its thread arms its own
// /proc/thread-self/fail-nth (per task), so the readers and the other racing threads stay unarmed.
// The outcome is an `f` record as in a serial sequence; after a failed fork, a child of the
// process there (waitpid: none may exist) has its maps reported as an `F` record all the same.
static int8_t nth_outcome[MAX_OPS];   // -1 = not armed
static uint8_t nth_stray[MAX_OPS];    // the fork failed, yet a child existed
static int armed_fork = -1;           // the racing thread whose fork is armed

// Racing forks: the child (one thread, a copy of the mm at some moment of the race) writes the
// arena lines of its /proc/self/maps to a slot at the end of the shared result area and exits.
static int nforks;
static uint8_t fork_slot[MAX_OPS];
struct fork_rec { volatile uint32_t len, n; char text[FORK_SLOT - 8]; };
#define FORK_REC(k) ((struct fork_rec *)(res->data + RESULT_DATA_BYTES - FORK_AREA + (size_t)(k) * FORK_SLOT))
static char fork_buf[256 << 10];

struct rrec { uint64_t t0, t1; uint32_t off, len, n; };
static struct rrec rrecs[MAX_READERS][MAX_READS];
static int nrecs[MAX_READERS];
static char rtext[MAX_READERS][READ_TEXT];
static char rbuf[MAX_READERS][256 << 10];

static char stacks[MAX_RACERS + MAX_READERS][STACK_BYTES] __attribute__((aligned(4096)));
static char altstacks[MAX_RACERS][64 << 10] __attribute__((aligned(16)));
static pthread_t tids[MAX_RACERS + MAX_READERS];

static volatile uint32_t arm;         // the setup calls are done: wake up and spin
static volatile uint32_t ready;       // threads spinning, waiting for go
static volatile uint32_t go;          // 0 until the main thread releases everyone
static uint64_t t_go;                 // the release time: every timestamp is relative to it
static volatile uint32_t racers_left; // racing threads not finished yet
static volatile uint32_t bar_count, bar_gen;

// ---------------------------------------------------------------- parsing (in the serving process)

void thr_reset(void) {
    nthreads = 0; nreaders = 0; nforks = 0; pin = 0; armed_fork = -1;
}

// "thread" starts the next thread's list; "sync" is a barrier of every racing thread; "readers <n>".
// 1 = consumed, 0 = not a thread line, -1 = malformed.
int thr_line(char *rest) {
    char *w = next_word(&rest);
    if (!w) return 0;
    if (!strcmp(w, "thread")) {
        if (nthreads == MAX_RACERS || next_word(&rest)) return -1;
        if (nthreads) thr_hi[nthreads - 1] = nops;
        thr_lo[nthreads] = thr_hi[nthreads] = nops;
        thr_nsync[nthreads++] = 0;
        return 1;
    }
    if (!strcmp(w, "sync")) {
        if (!nthreads || next_word(&rest)) return -1;
        thr_nsync[nthreads - 1]++;
        return 1;
    }
    if (!strcmp(w, "pin")) {
        if (next_word(&rest)) return -1;
        pin = 1;
        return 1;
    }
    if (!strcmp(w, "readers")) {
        uint64_t n;
        if (!word_hex(&rest, &n) || n > MAX_READERS || next_word(&rest)) return -1;
        nreaders = (int)n;
        return 1;
    }
    return 0;
}

// Op `i` has just been parsed: inside a thread's list it records the syncs before it; ops that
// cannot run in a racing thread (fork, userfaultfd, the single-step exec probe) are malformed there.
int thr_op(uint64_t i) {
    if (!nthreads) return 1;
    const struct op *o = &ops[i];
    const char *n = o->d->name;
    if (!strncmp(n, "uffd_", 5)) return 0;
    if (!strcmp(n, "fork_block") || !strcmp(n, "exit") || !strcmp(n, "probe")) return 0; // serial only (src/seq/threads.ts)
    if (!strcmp(n, "fork")) {
        // a racing fork: its child reports its maps and exits (thr_fork); not a serial fork
        if (nforks == MAX_RACING_FORKS) return 0;
        fork_slot[i] = (uint8_t)nforks++;
        seq_forks--;
    }
    if (!strcmp(n, "touch") && o->v[1] == 'x') return 0;
    nth_outcome[i] = -1; nth_stray[i] = 0;
    if (o->fail_nth) {
        // only a plain racing fork, only one (thr_finish: no other racing fork)
        if (strcmp(n, "fork") || armed_fork >= 0) return 0;
        armed_fork = nthreads - 1;
    }
    sync_cum[i] = thr_nsync[nthreads - 1];
    thr_hi[nthreads - 1] = i + 1;
    return 1;
}

// The sequence is complete: every thread must pass the same number of barriers. 1 = ok.
int thr_finish(void) {
    if (!nthreads) return nreaders == 0;
    thr_hi[nthreads - 1] = nops;
    for (int t = 1; t < nthreads; t++) if (thr_nsync[t] != thr_nsync[0]) return 0;
    // fault injection: not in the setup (src/seq/threads.ts); an armed fork is the only racing fork
    for (uint64_t i = 0; i < thr_lo[0]; i++) if (ops[i].fail_nth) return 0;
    if (armed_fork >= 0 && nforks > 1) return 0;
    return 1;
}

uint64_t thr_setup_count(void) { return nthreads ? thr_lo[0] : nops; }

// ---------------------------------------------------------------- synchronisation

static long futex(volatile uint32_t *a, int op, uint32_t v) {
    return syscall(SYS_futex, a, op, v, 0, 0, 0);
}

// Two phases, so that the racing calls really start together: the threads sleep until the setup
// calls are done (arm), then spin, announced in `ready`, until the main thread - which waits for
// all of them to spin - releases them (go). Spinning threads yield now and then: on a machine
// with fewer CPUs than threads the others must get to spin too.
static void wait_go(void) {
    while (!__atomic_load_n(&arm, __ATOMIC_ACQUIRE)) futex(&arm, FUTEX_WAIT_PRIVATE, 0);
    __atomic_add_fetch(&ready, 1, __ATOMIC_ACQ_REL);
    for (unsigned spin = 1; !__atomic_load_n(&go, __ATOMIC_ACQUIRE); spin++) {
        cpu_relax();
        if (!(spin & 0xfff)) sched_yield();
    }
}

static void barrier(void) {
    uint32_t g = __atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&bar_count, 1, __ATOMIC_ACQ_REL) == (uint32_t)nthreads) {
        __atomic_store_n(&bar_count, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&bar_gen, 1, __ATOMIC_RELEASE);
        futex(&bar_gen, FUTEX_WAKE_PRIVATE, INT_MAX);
        return;
    }
    for (int spin = 0; spin < 20000; spin++) {
        if (__atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE) != g) return;
        cpu_relax();
    }
    while (__atomic_load_n(&bar_gen, __ATOMIC_ACQUIRE) == g) futex(&bar_gen, FUTEX_WAIT_PRIVATE, g);
}

// ---------------------------------------------------------------- racing threads

static __thread sigjmp_buf tj;
static __thread volatile sig_atomic_t tin;

// Process-wide while the threads run: a fault inside a thread's touch is its answer; any other
// fault is a crash of the sequence (re-fault with the default action).
static void thr_on_fault(int sig, siginfo_t *si, void *uc) {
    (void)si; (void)uc;
    if (!tin) { signal(sig, SIG_DFL); return; }
    tin = 0;
    siglongjmp(tj, sig);
}

static void thr_touch(const struct op *o, struct res *r) {
    volatile char *p = (volatile char *)o->v[0];
    r->ret = 0; r->err = 0;
    int sig = sigsetjmp(tj, 0);
    if (sig == 0) {
        tin = 1;
        if (o->v[1] == 'w') *p = 0x5a; else (void)*p;
        tin = 0;
    }
    r->sig = sig;
}

static uint32_t arena_lines(const char *buf, long n, char *out, size_t cap, uint32_t *len);

static void thr_fork(uint64_t i, struct res *r) {
    struct fork_rec *f = FORK_REC(fork_slot[i]);
    f->len = 0; f->n = 0;
    errno = 0;
    long pid;
    if (ops[i].fail_nth) {
        // armed right before the fork; failnth.c reads the counter back before this thread's first
        // COW fault (its static stack is write-protected after the fork)
        int fired = 2, armed = failnth_arm(ops[i].fail_nth);
        pid = armed == 0 ? failnth_fork(&fired) : syscall(SYS_fork);
        int e = errno;
        if (pid < 0 && armed == 0) fired = failnth_outcome(0);
        nth_outcome[i] = (int8_t)fired;
        errno = e;
    } else pid = syscall(SYS_fork);
    if (pid < 0) {
        r->ret = (uint64_t)-1; r->err = errno;
        // no child may exist now (this is the sequence's only racing fork): if one does, wait for
        // it and report what it wrote
        int st;
        long w = waitpid(-1, &st, __WALL | WNOHANG);
        if (w >= 0) {
            nth_stray[i] = 1;
            if (w == 0) while (waitpid(-1, &st, __WALL) < 0 && errno == EINTR) {}
        }
        return;
    }
    if (pid == 0) {
        // the child: only this thread was copied; raw syscalls and static buffers only
        int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
        long n = fd < 0 ? -1 : read_fd_all(fd, fork_buf, sizeof fork_buf);
        if (n < 0) _exit(EXIT_MAPS);
        uint32_t len = 0;
        f->n = arena_lines(fork_buf, n, f->text, sizeof f->text, &len);
        f->len = len;
        _exit(0);
    }
    r->ret = 0; r->err = 0;
}

// The (t mod n)-th of the n CPUs the process may run on.
static void pin_to(int t) {
    cpu_set_t all, one;
    if (sched_getaffinity(0, sizeof all, &all) != 0) return;
    int n = CPU_COUNT(&all), k = t % (n ? n : 1);
    for (int c = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &all) || k--) continue;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        sched_setaffinity(0, sizeof one, &one); // this thread only (the raw syscall takes a tid; 0 = caller)
        return;
    }
}

static void *racer(void *arg) {
    int t = (int)(intptr_t)arg;
    if (pin) pin_to(t);
    stack_t ss = { .ss_sp = altstacks[t], .ss_size = sizeof altstacks[t], .ss_flags = 0 };
    sigaltstack(&ss, 0);
    if (t == armed_fork) { failnth_open(); failnth_leave_rseq(); } // its own fail-nth (a per-thread descriptor)
    wait_go();
    uint32_t syncs = 0;
    for (uint64_t i = thr_lo[t]; i < thr_hi[t]; i++) {
        while (syncs < sync_cum[i]) { barrier(); syncs++; }
        struct res r = { 0, 0, 0 };
        int touch = !strcmp(ops[i].d->name, "touch");
        uint64_t t0 = now_ns();
        int forks = !strcmp(ops[i].d->name, "fork");
        if (touch) thr_touch(&ops[i], &r); else if (forks) thr_fork(i, &r); else ops[i].d->exec(&ops[i], &r);
        uint64_t t1 = now_ns();
        if (forks && r.err == 0) { int st; while (waitpid(-1, &st, __WALL) < 0 && errno == EINTR) {} }
        tres[i].ret = r.ret; tres[i].err = r.err; tres[i].sig = r.sig;
        tres[i].t0 = t0 - t_go; tres[i].t1 = t1 - t_go;
    }
    while (syncs < thr_nsync[t]) { barrier(); syncs++; }
    if (t == armed_fork) failnth_close();
    __atomic_sub_fetch(&racers_left, 1, __ATOMIC_RELEASE);
    return 0;
}

// ---------------------------------------------------------------- readers of /proc/self/maps

static int parse_range(const char *l, uint64_t *s, uint64_t *e) {
    const char *p = parse_hex(l, s);
    return p && *p == '-' && parse_hex(p + 1, e);
}

// The arena lines of a maps text, copied to out (at most cap bytes); returns how many.
static uint32_t arena_lines(const char *buf, long n, char *out, size_t cap, uint32_t *len) {
    uint64_t lo = base, hi = base + arena_pages * PAGE;
    uint32_t count = 0;
    size_t o = 0;
    for (const char *l = buf; l < buf + n;) {
        const char *nl = memchr(l, '\n', (size_t)(buf + n - l));
        const char *e = nl ? nl + 1 : buf + n;
        uint64_t s, t;
        if (parse_range(l, &s, &t) && s < hi && t > lo && o + (size_t)(e - l) <= cap) {
            memcpy(out + o, l, (size_t)(e - l));
            o += (size_t)(e - l);
            count++;
        }
        l = e;
    }
    *len = (uint32_t)o;
    return count;
}

// Keep the arena lines of one read (when they differ from the reader's last kept read); of an
// smaps read, its VMA header lines only.
static char rlines[MAX_READERS][READ_TEXT];
static void keep_read(int k, long n, uint64_t t0, uint64_t t1) {
    uint32_t len = 0;
    uint32_t count = arena_lines(rbuf[k], n, rlines[k], sizeof rlines[k], &len);
    int m = nrecs[k];
    if (m == MAX_READS) return;
    uint32_t off = m ? rrecs[k][m - 1].off + rrecs[k][m - 1].len : 0;
    if (m && rrecs[k][m - 1].len == len && !memcmp(rtext[k] + rrecs[k][m - 1].off, rlines[k], len)) return;
    if (off + len > READ_TEXT) return;
    memcpy(rtext[k] + off, rlines[k], len);
    rrecs[k][m] = (struct rrec){ t0 - t_go, t1 - t_go, off, len, count };
    nrecs[k] = m + 1;
}

static void *reader(void *arg) {
    int k = (int)(intptr_t)arg;
    // reader 1 reads smaps: its VMA header lines are the maps lines, and show_smap also walks each
    // VMA's page tables (smaps_pte_range) while the racing calls change them
    int fd = open(k == 1 ? "/proc/self/smaps" : "/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) leave(EXIT_MAPS);
    wait_go();
    do {
        uint64_t t0 = now_ns();
        if (lseek(fd, 0, SEEK_SET) != 0) leave(EXIT_MAPS);
        long n = read_fd_all(fd, rbuf[k], sizeof rbuf[k]);
        uint64_t t1 = now_ns();
        if (n < 0) leave(EXIT_MAPS);
        keep_read(k, n, t0, t1);
    } while (__atomic_load_n(&racers_left, __ATOMIC_ACQUIRE));
    close(fd);
    return 0;
}

// ---------------------------------------------------------------- the sequence's main thread

// Before the arena exists: start every thread, each waiting for the release.
void threads_prepare(void) {
    racers_left = (uint32_t)nthreads;
    arm = 0; ready = 0; go = 0; bar_count = 0; bar_gen = 0;
    for (int k = 0; k < nreaders; k++) nrecs[k] = 0;
    for (int t = 0; t < nthreads + nreaders; t++) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstack(&a, stacks[t], STACK_BYTES);
        int racing = t < nthreads;
        void *arg = (void *)(intptr_t)(racing ? t : t - nthreads);
        if (pthread_create(&tids[t], &a, racing ? racer : reader, arg) != 0) leave(EXIT_THREADS);
        pthread_attr_destroy(&a);
    }
}

// After the setup calls: release the threads, join them, write their records and the final snapshot.
void threads_run(void) {
    catch_faults(thr_on_fault);
    __atomic_store_n(&arm, 1, __ATOMIC_RELEASE);
    futex(&arm, FUTEX_WAKE_PRIVATE, INT_MAX);
    while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) < (uint32_t)(nthreads + nreaders)) sched_yield();
    t_go = now_ns();
    __atomic_store_n(&go, 1, __ATOMIC_RELEASE);
    for (int t = 0; t < nthreads + nreaders; t++) pthread_join(tids[t], 0);
    for (uint64_t i = thr_lo[0]; i < nops; i++) {
        ob_str(&ps.rb, "t "); ob_hex(&ps.rb, i); ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, tres[i].ret);
        ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, (uint64_t)tres[i].err); ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, (uint64_t)tres[i].sig);
        ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, tres[i].t0); ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, tres[i].t1);
        ob_chr(&ps.rb, '\n');
    }
    for (uint64_t i = thr_lo[0]; i < nops; i++) if (nth_outcome[i] >= 0) failnth_record(i, nth_outcome[i]);
    for (uint64_t i = thr_lo[0]; i < nops; i++) {
        if (strcmp(ops[i].d->name, "fork") || (tres[i].err && !nth_stray[i])) continue;
        const struct fork_rec *f = FORK_REC(fork_slot[i]);
        ob_str(&ps.rb, "F "); ob_hex(&ps.rb, i); ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, f->n); ob_chr(&ps.rb, '\n');
        ob_mem(&ps.rb, f->text, f->len);
    }
    for (int k = 0; k < nreaders; k++) {
        for (int m = 0; m < nrecs[k]; m++) {
            const struct rrec *q = &rrecs[k][m];
            ob_str(&ps.rb, "R "); ob_hex(&ps.rb, (uint64_t)k); ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, q->t0);
            ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, q->t1); ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, q->n); ob_chr(&ps.rb, '\n');
            ob_mem(&ps.rb, rtext[k] + q->off, q->len);
        }
    }
    res->last_call = nops;
    rb_commit();
    snapshot((long)nops - 1);
}
