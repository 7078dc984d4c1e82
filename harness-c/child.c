// One sequence, inside the child forked for it: the arena between its fences, the declared files,
// the call loop, and `fork` (the new process continues the sequence while its parent waits).
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#define MFD_HUGETLB_ 4U // include/uapi/linux/memfd.h

struct pstate ps;
int file_fd[MAX_FILES];

__attribute__((noreturn)) void leave(int code) {
    if (ps.proc_no == 0) resolver_stop(); // only the first process forked it
    _exit(code);
}

void rb_commit(void) {
    if (ps.rb.overflow) leave(EXIT_OVERFLOW);
    res->len = ps.rb.len;
}

static long raw_mmap(uint64_t a, uint64_t len) {
    return syscall(SYS_mmap, a, len, PROT_NONE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
}

// Empty arena between two shared-anon PROT_NONE fences: they never merge with arena VMAs, and
// filling everything above the arena makes it the first gap a top-down search tries.
int setup_fences(void) {
    uint64_t arena_end = base + arena_pages * PAGE;
    if (syscall(SYS_munmap, win_start, WINDOW_BYTES) != 0) return -1;
    if (fence_top > arena_end && raw_mmap(arena_end, fence_top - arena_end) != (long)arena_end) return -1;
    if (raw_mmap(base - PAGE, PAGE) != (long)(base - PAGE)) return -1;
    return 0;
}

// The declared files, in order: memfd "f<i>" (maps: /memfd:f<i> (deleted); `hugetlb`: MFD_HUGETLB) or <dir>/f<i> in the
// tmpfs directory or a filesystem's private directory (fsfiles.c), unlinked at once (maps:
// <dir>/f<i> (deleted)); sized with ftruncate and, with `fill pattern`, written (fsfiles.c:
// fill_file); a read-only file is re-opened O_RDONLY through /proc/self/fd and the writable
// descriptor closed.
static int create_files(void) {
    for (int i = 0; i < nfiles; i++) {
        char name[4] = { 'f', (char)('0' + i), 0, 0 };
        int fd;
        if (!files[i].tmpfs && !files[i].fs) fd = (int)syscall(SYS_memfd_create, name, (unsigned)files[i].mfd_flags | (files[i].huge ? MFD_HUGETLB_ : 0));
        else {
            const char *dir = file_dir(&files[i]);
            char path[sizeof fs_dir[0] + 8];
            size_t n = strlen(dir);
            if (!n) return -1;
            memcpy(path, dir, n);
            path[n] = '/'; memcpy(path + n + 1, name, 3);
            fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd >= 0 && unlink(path) != 0) return -1;
        }
        if (fd < 0 || syscall(SYS_ftruncate, fd, files[i].size) != 0) return -1;
        if (files[i].fill && fill_file(fd, i, files[i].size, files[i].fs != 0) != 0) return -1;
        if (files[i].ro) {
            char path[32] = "/proc/self/fd/";
            struct obuf p = { path + 14, 0, sizeof path - 15, 0 };
            // decimal fd
            char d[12]; int k = 0, v = fd;
            do { d[k++] = (char)('0' + v % 10); v /= 10; } while (v);
            while (k) ob_chr(&p, d[--k]);
            path[14 + p.len] = 0;
            int ro = open(path, O_RDONLY | O_CLOEXEC);
            close(fd);
            if (ro < 0) return -1;
            fd = ro;
        }
        file_fd[i] = fd;
    }
    return 0;
}

__attribute__((noreturn)) void child(void) {
    persist_child_start();
again:
    ps.rb = (struct obuf){ res->data, 0, RESULT_DATA_BYTES - (nthreads ? FORK_AREA : 0), 0 };
    if (seq_uffds) for (int i = 0; i < MAX_UFFDS; i++) uffd_fd[i] = -1;
    if (seq_forks || seq_uffds) {
        // Own process group, so the deadline kills every process of the sequence at once.
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != serve_pid) _exit(EXIT_CRASHED | SIGKILL); // the harness died before that
    }
    // The resolver is forked before anything of the arena exists: that fork cannot affect it.
    if (seq_uffds && resolver_start() != 0) _exit(EXIT_RESOLVER);
    if (nthreads) threads_prepare(); // before the arena exists (threads.c)
    if (setup_fences() != 0) leave(EXIT_FENCE);
    if (create_files() != 0) leave(EXIT_FILES);
    obs_open();
    if (seq_failnth) failnth_open();
    snapshot(-1);
    int sync = resolver_active();
    uint64_t nserial = thr_setup_count(); // the racing threads run the rest (threads.c)
    for (uint64_t i = 0; i < nserial; i++) {
        struct res r = { 0, 0, 0 };
        uint32_t ev0 = __atomic_load_n(&res->nev, __ATOMIC_ACQUIRE);
        if (ops[i].fail_nth && ops[i].d->exec == exec_fork) failnth_leave_rseq(); // failnth.c
        int armed = ops[i].fail_nth ? failnth_arm(ops[i].fail_nth) : -1;
        ops[i].d->exec(&ops[i], &r); // fork returns only in the new process (or on failure)
        // a fork's new process has fail-nth 0 (kernel/fork.c dup_task_struct): its parent reports
        int forked = ops[i].d->exec == exec_fork && r.ret == 0 && !r.err;
        int outcome = ops[i].fail_nth && !forked ? failnth_outcome(armed) : -1;
        if (ops[i].fail_nth) uffd_handoff(); // disarmed now: the resolver may take a new userfaultfd
        if (ps.resume) {
            // a fork_block parent: its child ran the block and exited; r is the exit call's result
            i = ps.resume - 1;
            ev0 = ps.ev_resume;
            ps.resume = 0;
        }
        // Events that other calls raise (fork, remap, remove, unmap) are read by the resolver
        // while the call waits, but recorded just after: a round trip makes sure they are in.
        if (sync) resolver_sync();
        uint32_t ev1 = __atomic_load_n(&res->nev, __ATOMIC_ACQUIRE);
        ob_str(&ps.rb, "r "); ob_hex(&ps.rb, i); ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, r.ret); ob_chr(&ps.rb, ' ');
        ob_hex(&ps.rb, (uint64_t)r.err); ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, (uint64_t)r.sig);
        if (ev1 != ev0) append_events(&ps.rb, ev0, ev1);
        ob_chr(&ps.rb, '\n');
        if (outcome >= 0) failnth_record(i, outcome);
        res->last_call = i + 1;
        rb_commit();
        if ((seq_opts & OPT_EVERY_CALL) || i + 1 == nops) snapshot((long)i);
    }
    if (nthreads) threads_run();
    if (persist_next()) goto again; // a reusable child (persist.c) runs the next sequence
    leave(0);
}

// fork: the new process goes on with the next call; the parent waits for it, then takes its final
// snapshot (after the last call anyone ran) and ends with the child's status.
// fork_block <i>: the same, but the child ends at its exit op (call i), and when it exited there
// with 0 the parent goes on after call i, whose result is the child's wait status. A child that
// died or stopped anywhere else ends the sequence as with fork (crash <signal>, or its error).
void exec_fork(const struct op *o, struct res *r) {
    int block = o->d->args[0] == 'x';
    errno = 0;
    long parent = syscall(SYS_getpid);
    // the plain syscall: no atfork handlers, no libc bookkeeping; with fail-nth armed by the call
    // loop, failnth.c forks and reads back whether it fired before the parent's first COW fault
    int fired = -1;
    long pid = o->fail_nth ? failnth_fork(&fired) : syscall(SYS_fork);
    if (pid < 0) { r->ret = (uint64_t)-1; r->err = errno; return; }
    if (pid == 0) {
        // fork clears the parent-death signal: the chain must die with its parent too
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (syscall(SYS_getppid) != parent) _exit(EXIT_CRASHED | SIGKILL);
        ps.proc_no = (int)__atomic_add_fetch(&res->nprocs, 1, __ATOMIC_SEQ_CST);
        ps.in_block = block;
        obs_open(); // /proc/self now names this process
        if (seq_failnth) failnth_open();
        r->ret = 0; r->err = 0;
        return;
    }
    int st = 0;
    while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR) {}
    ps.rb.len = (size_t)res->len; // the child appended after our records
    if (fired >= 0) failnth_record((uint64_t)(o - ops), fired);
    if (block && WIFEXITED(st) && WEXITSTATUS(st) == 0 && res->last_call == o->v[0] && o->v[0] < nops && ops[o->v[0]].d->exec == exec_exit) {
        ps.resume = o->v[0] + 1;
        ps.ev_resume = __atomic_load_n(&res->nev, __ATOMIC_ACQUIRE);
        r->ret = 0; r->err = 0; r->sig = 0; // exited, status 0
        return;
    }
    snapshot((long)res->last_call - 1);
    if (WIFSIGNALED(st)) leave(EXIT_CRASHED | WTERMSIG(st));
    leave(WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_CRASHED);
}

// exit: ends a fork_block child (its records are all published), after a snapshot of its arena
// when snapshots are not taken after every call. Anywhere else it is refused.
void exec_exit(const struct op *o, struct res *r) {
    (void)o;
    if (!ps.in_block) { r->ret = (uint64_t)-1; r->err = EINVAL; return; }
    // the child's last view, unless every call already took one
    if (!(seq_opts & OPT_EVERY_CALL)) snapshot((long)res->last_call - 1);
    _exit(0);
}
