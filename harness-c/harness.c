// vmafuzz harness: executes sequences of mm syscalls on the running kernel and reports what
// /proc/self/maps (and optionally smaps VmFlags and pagemap) shows. Protocol:
// docs/harness-protocol.md. One static binary; between calls it uses neither malloc nor stdio
// (static buffers, raw write(2)), so nothing but the sequence itself touches the arena. Only a
// concurrent sequence has threads (threads.c), created before its arena exists.
//
//   harness [--serve]   speak the protocol on stdin/stdout
//   harness --version
//   as PID 1 (QEMU):    mount /proc /dev /sys and a tmpfs, serve on /dev/hvc0 (or ttyS1, console)
//
// This file: the protocol side (input, parsing a sequence, supervising its processes) and main().
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

struct result *res;
pid_t serve_pid;

// ---------------------------------------------------------------- the arena window

uint64_t win_start, win_end; // reserved (PROT_NONE) in the parent, unmapped in each child
uint64_t fence_top;          // start of the first mapping above the window

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
    long n = read_fd_all(fd, big_buf, sizeof big_buf);
    close(fd);
    if (n < 0) return -1;
    fence_top = 0;
    for (const char *l = big_buf; l < big_buf + n;) {
        uint64_t s;
        if (parse_hex(l, &s) && s >= win_end && (!fence_top || s < fence_top)) fence_top = s;
        const char *nl = memchr(l, '\n', (size_t)(big_buf + n - l));
        l = nl ? nl + 1 : big_buf + n;
    }
    if (!fence_top) fence_top = win_end;
    return 0;
}

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


// ---------------------------------------------------------------- supervising one sequence

struct op ops[MAX_OPS];
uint64_t nops, arena_pages, seq_opts, base;
struct filedecl files[MAX_FILES];
int nfiles, seq_forks, seq_uffds, seq_failnth;
static char seq_id[64];
static uint64_t deadline_ms;

static volatile sig_atomic_t alarm_fired;
static void on_alarm(int sig) { (void)sig; alarm_fired = 1; }

// Wait for a child until the deadline; 1 = exited (status set), 0 = deadline passed.
// pidfd_open + poll where available (5.3+), else wait4 interrupted by an interval timer.
static int no_pidfd; // set when pidfd_open fails (old kernel, seccomp) or by --no-pidfd (tests)
int wait_deadline(pid_t pid, int *status, uint64_t ms) {
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

// Sequences with fork or a uffd resolver run in their own process group. Kill whatever is left of
// it and reap it: we are a child subreaper, so orphaned members become our children. 1 = all gone.
static int reap_group(pid_t pgid) {
    kill(-pgid, SIGKILL);
    uint64_t t0 = now_ns();
    for (;;) {
        pid_t w = waitpid(-pgid, 0, WNOHANG);
        if (w > 0 || (w < 0 && errno == EINTR)) continue;
        if (w < 0) return 1; // ECHILD: nothing of the group is left
        if (now_ns() - t0 > KILL_GRACE_MS * 1000000ULL) return 0;
        struct timespec ts = { 0, 200000 };
        nanosleep(&ts, 0);
    }
}

static __attribute__((noreturn)) void give_up(void) {
    // Stuck in the kernel, and it may still write to the result buffer: report what was published
    // and stop serving; the caller starts a fresh harness.
    size_t n = (size_t)res->len;
    out_flush();
    write_all(out_fd, res->data, n);
    ob_str(&out, "done "); ob_str(&out, seq_id); ob_str(&out, " timeout unkillable\n");
    out_flush();
    _exit(1);
}

static void run_sequence(const char *bad) {
    out_need(256);
    ob_str(&out, "seq "); ob_str(&out, seq_id);
    ob_str(&out, " base="); ob_hex(&out, base);
    ob_str(&out, " pages="); ob_hex(&out, arena_pages); ob_chr(&out, '\n');
    if (bad) {
        ob_str(&out, "done "); ob_str(&out, seq_id); ob_str(&out, " error "); ob_str(&out, bad);
        ob_chr(&out, '\n');
        return;
    }
    pid_t w;
    while ((w = waitpid(-1, 0, WNOHANG)) > 0) persist_reaped(w); // reap children given up on earlier
    int reuse = !seq_forks && persist_wanted(); // a reusable child (persist.c), its own process group
    int group = seq_forks || seq_uffds || reuse;
    res->len = 0; res->last_call = 0; res->nev = 0; res->stuck = 0; res->nprocs = 0;
    if (shm_create() != 0) {
        ob_str(&out, "done "); ob_str(&out, seq_id); ob_str(&out, " error shm-setup-failed\n");
        return;
    }
    pid_t pid = reuse ? persist_start() : fork();
    if (pid == 0) child();
    if (pid > 0 && group) setpgid(pid, pid); // the child does the same: whichever runs first
    int status = 0, timeout = 0;
    if (pid > 0 && !(reuse ? persist_wait(pid, &status, deadline_ms) : wait_deadline(pid, &status, deadline_ms))) {
        timeout = 1;
        kill(group ? -pid : pid, SIGKILL);
        if (!wait_deadline(pid, &status, KILL_GRACE_MS)) give_up();
    }
    if (pid > 0 && group && !persist_alive(pid) && !reap_group(pid)) give_up(); // a live reusable child has nothing left
    shm_remove();
    size_t n = (size_t)res->len;
    if (out.len + n + 128 > out.cap) { out_flush(); if (n > out.cap / 2) { write_all(out_fd, res->data, n); n = 0; } }
    ob_mem(&out, res->data, n);
    ob_str(&out, "done "); ob_str(&out, seq_id);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    if (pid < 0) ob_str(&out, " error fork-failed");
    else if (timeout) ob_str(&out, " timeout");
    else if (res->stuck) ob_str(&out, " timeout uffd-stuck"); // a hang, found before the deadline
    else if (WIFSIGNALED(status)) { ob_str(&out, " crash "); ob_hex(&out, (uint64_t)WTERMSIG(status)); }
    else if (code >= EXIT_CRASHED) { ob_str(&out, " crash "); ob_hex(&out, (uint64_t)(code & 0x7f)); }
    else if (code == 0) ob_str(&out, " ok");
    else {
        static const char *why[] = {
            [EXIT_OVERFLOW] = "output-overflow", [EXIT_MAPS] = "maps-read-failed", [EXIT_FENCE] = "fence-setup-failed",
            [EXIT_RESOLVER] = "resolver-failed", [EXIT_FILES] = "file-setup-failed", [EXIT_THREADS] = "threads-failed",
        };
        ob_str(&out, " error ");
        if (code < (int)(sizeof why / sizeof why[0]) && why[code]) ob_str(&out, why[code]);
        else { ob_str(&out, "exit-"); ob_hex(&out, (uint64_t)code); }
        if (code == EXIT_FILES && private_dir_gone()) ob_str(&out, " private-dir-removed"); // privdir.c
    }
    ob_chr(&out, '\n');
}

// "seq <id> <arena_pages> <opts> [<deadline_ms>]" has been read; read lines up to "end" and run.
static int handle_seq(char *args) {
    const char *bad = 0;
    char *id = next_word(&args);
    size_t idn = id ? strlen(id) : 0;
    if (!id || idn >= sizeof seq_id) { id = "?"; idn = 1; bad = "bad-seq-line"; }
    memcpy(seq_id, id, idn + 1);
    deadline_ms = DEFAULT_DEADLINE_MS;
    if (!bad && (!word_hex(&args, &arena_pages) || !word_hex(&args, &seq_opts))) bad = "bad-seq-line";
    char *dl = next_word(&args);
    if (!bad && dl) { const char *e = parse_hex(dl, &deadline_ms); if (!e || *e) bad = "bad-seq-line"; }
    if (!bad && (arena_pages == 0 || arena_pages > MAX_ARENA_PAGES)) bad = "arena-too-large";
    if (bad) arena_pages = 1;
    base = (win_end - arena_pages * PAGE) & ~(PMD_SIZE - 1);
    nops = 0; nfiles = 0; nshm = 0; seq_forks = 0; seq_uffds = 0; seq_failnth = 0;
    thr_reset();
    persist_text_begin();
    char *line;
    while ((line = next_line()) && strcmp(line, "end")) {
        char *rest = line + strspn(line, " ");
        if (bad || !*rest) continue;
        persist_text_add(rest); // before parsing cuts it into words
        if (!strncmp(rest, "file ", 5)) { if (!parse_file(rest + 5)) bad = "bad-file-line"; else guest_fs_need(files[nfiles - 1].fs); }
        else if (!strncmp(rest, "shm ", 4)) { if (!parse_shm(rest + 4)) bad = "bad-shm-line"; }
        else if (nops == MAX_OPS) bad = "too-many-calls";
        else {
            char tl[64];
            size_t tn = strlen(rest);
            int th = 0;
            if (tn < sizeof tl) { memcpy(tl, rest, tn + 1); th = thr_line(tl); }
            if (th < 0) { bad = "bad-thread-line"; continue; }
            if (th > 0) continue;
            int ok = parse_op(rest, &ops[nops]);
            if (ok < 0) bad = "refused-call";
            else if (!ok) bad = "bad-call-line";
            else if (!thr_op(nops)) bad = "bad-thread-line";
            else nops++;
        }
    }
    if (!line) return 0; // EOF inside a sequence: the writer is gone
    if (!bad && !thr_finish()) bad = "bad-thread-line";
    if (!bad && nthreads && (seq_forks || seq_uffds)) bad = "bad-thread-line";
    run_sequence(bad);
    // Results are batched, but never held back long: a reader's watchdog sees steady progress.
    if (now_ns() - last_flush_ns > 50000000ULL) out_flush();
    return 1;
}

static int serve(int pid1) {
    serve_pid = getpid();
    persist_init(); // above the result buffer: the window still ends at the buffer
    // The result buffer first, then the window below it: the buffer is what fence_top points at.
    res = mmap(0, RESULT_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (res == MAP_FAILED || reserve_window() != 0) {
        write_all(2, "harness: cannot set up the arena window\n", 40);
        return 1;
    }
    install_signal_handlers();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; // no SA_RESTART: the timer must interrupt waitpid
    sigaction(SIGALRM, &sa, 0);
    signal(SIGPIPE, SIG_IGN);
    // Crashing children must not write core dumps (slow, and litter the host).
    struct rlimit rl = { 0, 0 };
    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    // Orphans of a sequence (its resolver, forked processes) come back to us to be reaped.
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    tmpfs_setup(pid1);
    fs_setup(pid1);
    shm_sweep();
    hugetlb_pool_setup();

    hello();
    char *line;
    while ((line = next_line())) {
        char *args = line, *cmd = next_word(&args);
        if (!cmd) continue;
        if (!strcmp(cmd, "quit")) break;
        if (!strcmp(cmd, "seq")) { if (!handle_seq(args)) break; continue; }
        out_need(64);
        ob_str(&out, "err unknown-command\n");
    }
    out_flush();
    persist_stop();
    tmpfs_cleanup();
    fs_cleanup();
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
        if (!strcmp(argv[i], "--limits") && i + 1 < argc) { // machine limits for the bench (limits.c)
            uint64_t n;
            const char *e = parse_hex(argv[i + 1], &n);
            return e && !*e ? limits_main(n) : 2;
        }
        if (!strcmp(argv[i], "--no-pidfd")) no_pidfd = 1;
        else if (!strcmp(argv[i], "--fs-dir") && i + 1 < argc && fs_arg(argv[i + 1])) i++;
        else if (!strcmp(argv[i], "--no-persist")) persist_off = 1;
        else if (strcmp(argv[i], "--serve")) {
            static const char u[] = "usage: harness [--serve] [--no-pidfd] [--no-persist] [--fs-dir ext4|xfs|btrfs=DIR]... | --version | --limits <hex n>\n";
            write_all(2, u, sizeof u - 1);
            return 2;
        }
    }
    if (pid1) init_mode();
    int rc = serve(pid1);
    if (pid1) { sync(); reboot(RB_POWER_OFF); }
    return rc;
}
