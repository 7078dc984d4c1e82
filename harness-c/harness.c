// vmafuzz harness: executes sequences of mm syscalls on the running kernel and reports what
// /proc/self/maps shows. Protocol: docs/harness-protocol.md. One static binary, no threads; between
// calls it uses neither malloc nor stdio (static buffers, raw write(2)), so nothing but the
// sequence itself ever touches the arena.
//
//   harness [--serve]   speak the protocol on stdin/stdout
//   harness --version
//   as PID 1 (QEMU):    mount /proc /dev /sys, serve on /dev/hvc0 (or ttyS1, console), power off

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PROTO_VERSION "1"
#define PAGE 4096UL
#define PMD_SIZE (2UL << 20)
#define WINDOW_BYTES (64UL << 20)     // >= max arena (16 MiB) + 2 MiB alignment + the lower fence
#define RESULT_BYTES (32UL << 20)     // shared with the child; only touched pages cost memory
#define MAX_ARENA_PAGES ((WINDOW_BYTES - PMD_SIZE - PAGE) / PAGE)
#define MAX_OPS 16384
#define MAX_ARGS 6
#define DEFAULT_DEADLINE_MS 5000
#define KILL_GRACE_MS 5000            // wait this long for a SIGKILLed child before giving up on it

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

// ---------------------------------------------------------------- output helpers (no stdio)

struct obuf { char *p; size_t len, cap; int overflow; };

static void ob_mem(struct obuf *b, const void *s, size_t n) {
    if (b->len + n > b->cap) { b->overflow = 1; return; }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}
static void ob_str(struct obuf *b, const char *s) { ob_mem(b, s, strlen(s)); }
static void ob_chr(struct obuf *b, char c) { ob_mem(b, &c, 1); }
static void ob_hex(struct obuf *b, uint64_t v) {
    char t[17]; int i = 16;
    do { t[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    ob_mem(b, t + i, 16 - i);
}

static void write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(3); // the reader is gone: nothing left to report to
        p += w; n -= (size_t)w;
    }
}

static int in_fd = 0, out_fd = 1;
static char out_mem[256 << 10];
static struct obuf out = { out_mem, 0, sizeof out_mem, 0 };

static uint64_t last_flush_ns;
static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); // vDSO: no syscall
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}
static void out_flush(void) {
    if (out.len) write_all(out_fd, out.p, out.len);
    out.len = 0;
    last_flush_ns = now_ns();
}
static void out_need(size_t n) { if (out.len + n > out.cap) out_flush(); }

// ---------------------------------------------------------------- the shared result buffer

// The child appends whole records to data[] and then publishes them by advancing len, so a child
// that is killed mid-record still delivers every record it completed.
struct result { volatile uint64_t len; char data[]; };
static struct result *res;
static struct obuf rb; // the child's view of res->data

static void rb_commit(void) {
    if (rb.overflow) _exit(4);
    res->len = rb.len;
}

// ---------------------------------------------------------------- the arena window

static uint64_t win_start, win_end; // reserved (PROT_NONE) in the parent, unmapped in each child
static uint64_t fence_top;          // start of the first mapping above the window

static char maps_buf[2 << 20];

// Read a whole file (maps, a sysctl) into buf; returns its length or -1 when it does not fit.
static long read_fd_all(int fd, char *buf, size_t cap) {
    size_t n = 0;
    for (;;) {
        if (n == cap) return -1;
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return (long)n;
        n += (size_t)r;
    }
}

static const char *parse_hex(const char *s, uint64_t *v) {
    uint64_t x = 0; int n = 0;
    for (;; s++, n++) {
        unsigned c = (unsigned char)*s, d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else break;
        if (n == 16) return 0;
        x = x << 4 | d;
    }
    if (!n) return 0;
    *v = x;
    return s;
}

// The window goes where a top-down mmap(NULL) search starts: just below the highest free gap
// (mm/mmap.c:unmapped_area_topdown). It stays mapped PROT_NONE in the parent so that nothing the
// parent might map can land there; fence_top is the mapping right above it (fixed for our lifetime:
// the result buffer was created first, and the parent maps nothing afterwards).
static int reserve_window(void) {
    void *w = mmap(0, WINDOW_BYTES, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (w == MAP_FAILED) return -1;
    win_start = (uint64_t)w;
    win_end = win_start + WINDOW_BYTES;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    long n = read_fd_all(fd, maps_buf, sizeof maps_buf);
    close(fd);
    if (n < 0) return -1;
    fence_top = 0;
    for (const char *l = maps_buf; l < maps_buf + n;) {
        uint64_t s;
        if (parse_hex(l, &s) && s >= win_end && (!fence_top || s < fence_top)) fence_top = s;
        const char *nl = memchr(l, '\n', (size_t)(maps_buf + n - l));
        l = nl ? nl + 1 : maps_buf + n;
    }
    if (!fence_top) fence_top = win_end;
    return 0;
}

// ---------------------------------------------------------------- ops

struct res { uint64_t ret; int err; int sig; };
struct op;
struct opdesc {
    const char *name;
    const char *args; // one char per argument: a = <page|-> <off> address, x = hex u64, c = r|w
    long nr;          // syscall number for generic ops
    void (*exec)(const struct op *, struct res *);
};
struct op { const struct opdesc *d; uint64_t v[MAX_ARGS]; };

// Generic syscall: arguments passed unchanged through syscall(2), so no glibc wrapper can
// reject or rewrite them before the kernel sees them.
static void exec_syscall(const struct op *o, struct res *r) {
    errno = 0;
    long ret = syscall(o->d->nr, o->v[0], o->v[1], o->v[2], o->v[3], o->v[4], o->v[5]);
    r->ret = (uint64_t)ret;
    r->err = ret == -1 ? errno : 0;
}

static sigjmp_buf touch_env;
static volatile sig_atomic_t in_touch;

static void on_fault(int sig) {
    if (!in_touch) { signal(sig, SIG_DFL); return; } // a real crash: re-fault and die with sig
    in_touch = 0;
    siglongjmp(touch_env, sig);
}

static void exec_touch(const struct op *o, struct res *r) {
    volatile char *p = (volatile char *)o->v[0];
    int sig = sigsetjmp(touch_env, 0); // SA_NODEFER: no mask to restore, no syscall per touch
    if (sig == 0) {
        in_touch = 1;
        if (o->v[1] == 'w') *p = 0x5a; else (void)*p;
        in_touch = 0;
    }
    r->ret = 0; r->err = 0; r->sig = sig;
}

// Test-only ops (not in the corpus schema): exercise the timeout and crash paths.
static void exec_sleep(const struct op *o, struct res *r) {
    struct timespec ts = { (time_t)(o->v[0] / 1000), (long)(o->v[0] % 1000) * 1000000L };
    while (syscall(SYS_nanosleep, &ts, &ts) == -1 && errno == EINTR) {}
    r->ret = 0; r->err = 0;
}
static void exec_crash(const struct op *o, struct res *r) {
    (void)o; (void)r;
    syscall(SYS_kill, syscall(SYS_getpid), SIGABRT);
}

static const struct opdesc OPS[] = {
    { "mmap", "axxxxx", SYS_mmap, exec_syscall },      // addr len prot flags fd offset
    { "munmap", "ax", SYS_munmap, exec_syscall },      // addr len
    { "mprotect", "axx", SYS_mprotect, exec_syscall }, // addr len prot
    { "touch", "ac", 0, exec_touch },                  // addr r|w
    { "sleep", "x", 0, exec_sleep },                   // milliseconds
    { "crash", "", 0, exec_crash },
};

// ---------------------------------------------------------------- input

static char in_mem[256 << 10];
static size_t in_pos, in_len;
static int in_eof;

// Next input line (NUL-terminated, without '\n') or NULL at EOF. Output is flushed before any
// read that might block, so a pipelining reader always sees every finished sequence.
static char *next_line(void) {
    for (;;) {
        char *nl = memchr(in_mem + in_pos, '\n', in_len - in_pos);
        if (nl) {
            char *l = in_mem + in_pos;
            *nl = 0;
            if (nl > l && nl[-1] == '\r') nl[-1] = 0;
            in_pos = (size_t)(nl + 1 - in_mem);
            return l;
        }
        if (in_eof) {
            if (in_pos == in_len) return 0;
            in_mem[in_len] = 0; // last line without '\n'
            char *l = in_mem + in_pos;
            in_pos = in_len;
            return l;
        }
        memmove(in_mem, in_mem + in_pos, in_len - in_pos);
        in_len -= in_pos; in_pos = 0;
        if (in_len >= sizeof in_mem - 1) { in_len = 0; } // absurdly long line: drop it
        out_flush();
        ssize_t r = read(in_fd, in_mem + in_len, sizeof in_mem - 1 - in_len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) in_eof = 1; else in_len += (size_t)r;
    }
}

static char *next_tok(char **s) {
    char *p = *s;
    while (*p == ' ') p++;
    if (!*p) return 0;
    char *t = p;
    while (*p && *p != ' ') p++;
    if (*p) *p++ = 0;
    *s = p;
    return t;
}
static int tok_hex(char **s, uint64_t *v) {
    char *t = next_tok(s);
    const char *e = t ? parse_hex(t, v) : 0;
    return e && !*e;
}

// ---------------------------------------------------------------- one sequence

static struct op ops[MAX_OPS];
static char seq_id[64];
static uint64_t arena_pages, seq_opts, deadline_ms, base;

// Parse one op line against the table; addresses resolve to base + page*4096 + off (wrapping).
static int parse_op(char *line, struct op *o) {
    char *name = next_tok(&line);
    if (!name) return 0;
    const struct opdesc *d = 0;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (!strcmp(OPS[i].name, name)) d = &OPS[i];
    if (!d) return 0;
    memset(o, 0, sizeof *o);
    o->d = d;
    for (int i = 0; d->args[i]; i++) {
        uint64_t page = 0, off;
        char *t;
        switch (d->args[i]) {
        case 'a':
            t = next_tok(&line);
            if (!t) return 0;
            int null = !strcmp(t, "-"); // NULL (mmap hint): the offset alone
            if (!null) { const char *e = parse_hex(t, &page); if (!e || *e) return 0; }
            if (!tok_hex(&line, &off)) return 0;
            o->v[i] = null ? off : base + page * PAGE + off;
            break;
        case 'x':
            if (!tok_hex(&line, &o->v[i])) return 0;
            break;
        case 'c':
            t = next_tok(&line);
            if (!t || (strcmp(t, "r") && strcmp(t, "w"))) return 0;
            o->v[i] = (uint64_t)t[0];
            break;
        }
    }
    return next_tok(&line) == 0;
}

// Append "m <after> <n>" and the maps lines overlapping [base, base + arena) to rb.
static void snapshot(int maps_fd, long after) {
    if (lseek(maps_fd, 0, SEEK_SET) != 0) _exit(5);
    long n = read_fd_all(maps_fd, maps_buf, sizeof maps_buf);
    if (n < 0) _exit(5);
    uint64_t lo = base, hi = base + arena_pages * PAGE;
    const char *first = 0, *last = 0; // lines are sorted: the overlapping ones are contiguous
    uint64_t count = 0;
    for (const char *l = maps_buf; l < maps_buf + n;) {
        const char *nl = memchr(l, '\n', (size_t)(maps_buf + n - l));
        const char *e = nl ? nl + 1 : maps_buf + n;
        uint64_t s, t;
        const char *p = parse_hex(l, &s);
        if (p && *p == '-' && parse_hex(p + 1, &t) && s < hi && t > lo) {
            if (!first) first = l;
            last = e; count++;
        }
        l = e;
    }
    ob_str(&rb, "m ");
    if (after < 0) ob_str(&rb, "-1"); else ob_hex(&rb, (uint64_t)after);
    ob_chr(&rb, ' '); ob_hex(&rb, count); ob_chr(&rb, '\n');
    if (count) ob_mem(&rb, first, (size_t)(last - first));
    rb_commit();
}

static long raw_mmap(uint64_t a, uint64_t len) {
    return syscall(SYS_mmap, a, len, PROT_NONE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
}

static __attribute__((noreturn)) void child(uint64_t nops) {
    rb = (struct obuf){ res->data, 0, RESULT_BYTES - sizeof(struct result), 0 };
    uint64_t arena_end = base + arena_pages * PAGE;
    // Empty arena between two shared-anon PROT_NONE fences: they never merge with arena VMAs, and
    // filling everything above the arena makes it the first gap a top-down search tries.
    if (syscall(SYS_munmap, win_start, WINDOW_BYTES) != 0) _exit(6);
    if (fence_top > arena_end && raw_mmap(arena_end, fence_top - arena_end) != (long)arena_end) _exit(6);
    if (raw_mmap(base - PAGE, PAGE) != (long)(base - PAGE)) _exit(6);
    int maps_fd = open("/proc/self/maps", O_RDONLY);
    if (maps_fd < 0) _exit(5);
    snapshot(maps_fd, -1);
    for (uint64_t i = 0; i < nops; i++) {
        struct res r = { 0, 0, 0 };
        ops[i].d->exec(&ops[i], &r);
        ob_str(&rb, "r "); ob_hex(&rb, i); ob_chr(&rb, ' '); ob_hex(&rb, r.ret); ob_chr(&rb, ' ');
        ob_hex(&rb, (uint64_t)r.err); ob_chr(&rb, ' '); ob_hex(&rb, (uint64_t)r.sig); ob_chr(&rb, '\n');
        rb_commit();
        if ((seq_opts & 1) || i + 1 == nops) snapshot(maps_fd, (long)i);
    }
    _exit(0);
}

static volatile sig_atomic_t alarm_fired;
static void on_alarm(int sig) { (void)sig; alarm_fired = 1; }

// Wait for the child until the deadline; 1 = exited (status set), 0 = deadline passed.
// pidfd_open + poll where available (5.3+), else wait4 interrupted by an interval timer.
static int no_pidfd; // set when pidfd_open fails (old kernel, seccomp) or by --no-pidfd (tests)
static int wait_deadline(pid_t pid, int *status, uint64_t ms) {
    if (!no_pidfd) {
        int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (pfd >= 0) {
            struct pollfd p = { pfd, POLLIN, 0 };
            int r;
            while ((r = poll(&p, 1, ms > INT32_MAX ? -1 : (int)ms)) < 0 && errno == EINTR) {}
            close(pfd);
            if (r == 0) return 0;
            while (waitpid(pid, status, 0) < 0 && errno == EINTR) {}
            return 1;
        }
        no_pidfd = 1;
    }
    struct itimerval it = { { 0, 0 }, { (time_t)(ms / 1000), (long)(ms % 1000) * 1000 } };
    alarm_fired = 0;
    setitimer(ITIMER_REAL, &it, 0);
    pid_t w;
    while ((w = waitpid(pid, status, 0)) < 0 && errno == EINTR && !alarm_fired) {}
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, 0);
    return w == pid;
}

static void run_sequence(uint64_t nops, const char *bad) {
    out_need(256);
    ob_str(&out, "seq "); ob_str(&out, seq_id);
    ob_str(&out, " base="); ob_hex(&out, base);
    ob_str(&out, " pages="); ob_hex(&out, arena_pages); ob_chr(&out, '\n');
    if (bad) {
        ob_str(&out, "done "); ob_str(&out, seq_id); ob_str(&out, " error "); ob_str(&out, bad);
        ob_chr(&out, '\n');
        return;
    }
    while (waitpid(-1, 0, WNOHANG) > 0) {} // reap children given up on earlier
    res->len = 0;
    pid_t pid = fork();
    if (pid == 0) child(nops);
    int status = 0, timeout = 0;
    if (pid > 0 && !wait_deadline(pid, &status, deadline_ms)) {
        timeout = 1;
        kill(pid, SIGKILL);
        if (!wait_deadline(pid, &status, KILL_GRACE_MS)) {
            // Stuck in the kernel, and it may still write to the result buffer: report what it
            // published and stop serving; the caller starts a fresh harness.
            size_t n = (size_t)res->len;
            out_flush();
            write_all(out_fd, res->data, n);
            ob_str(&out, "done "); ob_str(&out, seq_id); ob_str(&out, " timeout unkillable\n");
            out_flush();
            _exit(1);
        }
    }
    size_t n = (size_t)res->len;
    if (out.len + n + 128 > out.cap) { out_flush(); if (n > out.cap / 2) { write_all(out_fd, res->data, n); n = 0; } }
    ob_mem(&out, res->data, n);
    ob_str(&out, "done "); ob_str(&out, seq_id);
    if (pid < 0) ob_str(&out, " error fork-failed");
    else if (timeout) ob_str(&out, " timeout");
    else if (WIFSIGNALED(status)) { ob_str(&out, " crash "); ob_hex(&out, (uint64_t)WTERMSIG(status)); }
    else if (WEXITSTATUS(status) == 0) ob_str(&out, " ok");
    else {
        static const char *why[] = { [4] = "output-overflow", [5] = "maps-read-failed", [6] = "fence-setup-failed" };
        int c = WEXITSTATUS(status);
        ob_str(&out, " error ");
        if (c < 7 && why[c]) ob_str(&out, why[c]); else { ob_str(&out, "exit-"); ob_hex(&out, (uint64_t)c); }
    }
    ob_chr(&out, '\n');
}

// "seq <id> <arena_pages> <opts> [<deadline_ms>]" has been read; read ops up to "end" and run.
static int handle_seq(char *args) {
    const char *bad = 0;
    char *id = next_tok(&args);
    size_t idn = id ? strlen(id) : 0;
    if (!id || idn >= sizeof seq_id) { id = "?"; idn = 1; bad = "bad-seq-line"; }
    memcpy(seq_id, id, idn + 1);
    deadline_ms = DEFAULT_DEADLINE_MS;
    if (!bad && (!tok_hex(&args, &arena_pages) || !tok_hex(&args, &seq_opts))) bad = "bad-seq-line";
    char *dl = next_tok(&args);
    if (!bad && dl) { const char *e = parse_hex(dl, &deadline_ms); if (!e || *e) bad = "bad-seq-line"; }
    if (!bad && (arena_pages == 0 || arena_pages > MAX_ARENA_PAGES)) bad = "arena-too-large";
    if (bad) arena_pages = 1;
    base = (win_end - arena_pages * PAGE) & ~(PMD_SIZE - 1);
    uint64_t nops = 0;
    char *line;
    while ((line = next_line()) && strcmp(line, "end")) {
        if (bad || !line[strspn(line, " ")]) continue;
        if (nops == MAX_OPS) bad = "too-many-calls";
        else if (!parse_op(line, &ops[nops])) bad = "bad-call-line";
        else nops++;
    }
    if (!line) return 0; // EOF inside a sequence: the writer is gone
    run_sequence(nops, bad);
    // Results are batched, but never held back long: a reader's watchdog sees steady progress.
    if (now_ns() - last_flush_ns > 50000000ULL) out_flush();
    return 1;
}

// ---------------------------------------------------------------- start-up

static void read_fact(const char *path, char *buf, size_t cap) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    long n = fd < 0 ? -1 : read_fd_all(fd, buf, cap - 1);
    if (fd >= 0) close(fd);
    if (n < 0) n = 0;
    buf[n] = 0;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
}

static void fact_dec_as_hex(const char *key, const char *path) {
    char b[64]; uint64_t v = 0;
    read_fact(path, b, sizeof b);
    ob_chr(&out, ' '); ob_str(&out, key); ob_chr(&out, '=');
    if (!b[0]) { ob_chr(&out, '-'); return; }
    for (char *p = b; *p >= '0' && *p <= '9'; p++) v = v * 10 + (uint64_t)(*p - '0');
    ob_hex(&out, v);
}

static void hello(void) {
    struct utsname u;
    char b[256];
    uname(&u);
    ob_str(&out, "hello vmafuzz-harness " PROTO_VERSION " release="); ob_str(&out, u.release);
    ob_str(&out, " page="); ob_hex(&out, (uint64_t)sysconf(_SC_PAGESIZE));
    read_fact("/sys/kernel/mm/transparent_hugepage/enabled", b, sizeof b);
    char *l = strchr(b, '['), *r = l ? strchr(l, ']') : 0;
    if (l && r) *r = 0;
    ob_str(&out, " thp="); ob_str(&out, l && r ? l + 1 : "none");
    fact_dec_as_hex("max_map_count", "/proc/sys/vm/max_map_count");
    fact_dec_as_hex("mmap_min_addr", "/proc/sys/vm/mmap_min_addr");
    ob_str(&out, " window="); ob_hex(&out, WINDOW_BYTES);
    ob_str(&out, " max_arena_pages="); ob_hex(&out, MAX_ARENA_PAGES);
    fact_dec_as_hex("aslr", "/proc/sys/kernel/randomize_va_space");
    ob_str(&out, " machine="); ob_str(&out, u.machine);
    ob_chr(&out, '\n');
}

// PID 1 inside a QEMU guest: bring up just enough of a system to serve the protocol.
static void init_mode(void) {
    mkdir("/proc", 0555); mkdir("/dev", 0755); mkdir("/sys", 0555);
    mount("proc", "/proc", "proc", 0, 0);
    mount("devtmpfs", "/dev", "devtmpfs", 0, 0);
    mount("sysfs", "/sys", "sysfs", 0, 0);
    static const char *ttys[] = { "/dev/hvc0", "/dev/ttyS1", "/dev/console" };
    int fd = -1;
    for (size_t i = 0; fd < 0 && i < 3; i++) fd = open(ttys[i], O_RDWR | O_NOCTTY);
    if (fd < 0) { reboot(RB_POWER_OFF); _exit(1); }
    struct termios t;
    if (tcgetattr(fd, &t) == 0) { cfmakeraw(&t); tcsetattr(fd, TCSANOW, &t); } // no echo, no \r\n
    dup2(fd, 0); dup2(fd, 1); dup2(fd, 2);
    if (fd > 2) close(fd);
}

static int serve(void) {
    // The result buffer first, then the window below it: the buffer is what fence_top points at.
    res = mmap(0, RESULT_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED || reserve_window() != 0) {
        write_all(2, "harness: cannot set up the arena window\n", 40);
        return 1;
    }
    static char altstack[64 << 10];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
    sigaltstack(&ss, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fault;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER;
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    sa.sa_handler = on_alarm;
    sa.sa_flags = 0; // no SA_RESTART: the timer must interrupt waitpid
    sigaction(SIGALRM, &sa, 0);
    signal(SIGPIPE, SIG_IGN);
    // Crashing children must not write core dumps (slow, and litter the host).
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

    hello();
    char *line;
    while ((line = next_line())) {
        char *args = line, *cmd = next_tok(&args);
        if (!cmd) continue;
        if (!strcmp(cmd, "quit")) break;
        if (!strcmp(cmd, "seq")) { if (!handle_seq(args)) break; continue; }
        out_need(64);
        ob_str(&out, "err unknown-command\n");
    }
    out_flush();
    return 0;
}

int main(int argc, char **argv) {
    int pid1 = getpid() == 1;
    for (int i = 1; i < argc && !pid1; i++) { // as PID 1, argv is whatever the kernel passed
        if (!strcmp(argv[i], "--version")) {
            static const char v[] = "vmafuzz-harness " PROTO_VERSION "\n";
            write_all(1, v, sizeof v - 1);
            return 0;
        }
        if (!strcmp(argv[i], "--no-pidfd")) no_pidfd = 1;
        else if (strcmp(argv[i], "--serve")) {
            static const char u[] = "usage: harness [--serve] [--no-pidfd] | --version\n";
            write_all(2, u, sizeof u - 1);
            return 2;
        }
    }
    if (pid1) init_mode();
    int rc = serve();
    if (pid1) { sync(); reboot(RB_POWER_OFF); }
    return rc;
}
