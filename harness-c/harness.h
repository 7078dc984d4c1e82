// vmafuzz harness: declarations shared by its translation units. Protocol: docs/harness-protocol.md.
//
//   harness.c  protocol: input, sequence parsing, the per-sequence child's supervision, main()
//   util.c     output buffers (no stdio), hex parsing, whole-file reads
//   child.c    one sequence inside its forked child: arena, files, the call loop, fork
//   persist.c  reusable sequence children: reset between sequences, the baseline check
//   limits.c   --limits: the machine's bare fork and maps-read cost (for npm run bench)
//   ops.c      the op table: argument parsing and the executors (touch, exec probe, anon_name, ...)
//   observe.c  snapshots: /proc/self/maps (or smaps for VmFlags) and pagemap
//   uffd.c     userfaultfd ops and the resolver process
//   threads.c  concurrent sequences: racing threads, maps readers, call timestamps
//   hello.c    start-up facts (probed in a throw-away child) and init mode (PID 1)
//   sysv.c     SysV shared memory segments of a sequence (shm lines, shmat) and the hugetlb pool
#ifndef VMAFUZZ_HARNESS_H
#define VMAFUZZ_HARNESS_H

#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <sys/prctl.h>
#include <sys/syscall.h>

// Older libc headers lack these (PR_SET_VMA: 5.17, mseal: 6.10).
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef SYS_mseal
#define SYS_mseal 462
#endif

#define PROTO_VERSION "1"
#define PAGE 4096UL
#define PMD_SIZE (2UL << 20)
#define WINDOW_BYTES (64UL << 20)     // >= max arena (16 MiB) + 2 MiB alignment + the lower fence
#define RESULT_BYTES (32UL << 20)     // shared with the sequence's processes; only touched pages cost
#define MAX_ARENA_PAGES ((WINDOW_BYTES - PMD_SIZE - PAGE) / PAGE)
#define MAX_OPS 16384
#define MAX_ARGS 6
#define MAX_FILES 8
#define MAX_UFFDS 4
#define MAX_SHM 4
#define DEFAULT_DEADLINE_MS 5000
#define KILL_GRACE_MS 5000            // wait this long for SIGKILLed processes before giving up on them

// opts bits of the `seq` line
#define OPT_EVERY_CALL 1UL
#define OPT_VMFLAGS 2UL
#define OPT_PAGEMAP 4UL

// exit codes of a sequence's processes (0 = ok); >= EXIT_CRASHED: a forked process died of a signal
enum { EXIT_OVERFLOW = 4, EXIT_MAPS = 5, EXIT_FENCE = 6, EXIT_RESOLVER = 8, EXIT_FILES = 9, EXIT_THREADS = 10, EXIT_CRASHED = 0x80 };

// ---------------------------------------------------------------- util.c
// Hot helpers are inline: the per-call path of a sequence's child goes through them many times.
struct obuf { char *p; size_t len, cap; int overflow; };
static inline void ob_mem(struct obuf *b, const void *s, size_t n) {
    if (b->len + n > b->cap) { b->overflow = 1; return; }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}
static inline void ob_str(struct obuf *b, const char *s) { ob_mem(b, s, strlen(s)); }
static inline void ob_chr(struct obuf *b, char c) { ob_mem(b, &c, 1); }
static inline void ob_hex(struct obuf *b, uint64_t v) {
    char t[17]; int i = 16;
    do { t[--i] = "0123456789abcdef"[v & 15]; v >>= 4; } while (v);
    ob_mem(b, t + i, 16 - i);
}
// Lowercase hex, at most 16 digits; returns the first character after the number or NULL.
static inline const char *parse_hex(const char *s, uint64_t *v) {
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
// Protocol words: the next space-separated word of *s (NUL-terminated in place), or NULL at the end.
static inline char *next_word(char **s) {
    char *p = *s;
    while (*p == ' ') p++;
    if (!*p) return 0;
    char *t = p;
    while (*p && *p != ' ') p++;
    if (*p) *p++ = 0;
    *s = p;
    return t;
}
// The next word as a whole hex number.
static inline int word_hex(char **s, uint64_t *v) {
    char *t = next_word(s);
    const char *e = t ? parse_hex(t, v) : 0;
    return e && !*e;
}
void write_all(int fd, const char *p, size_t n);
uint64_t now_ns(void);
long read_fd_all(int fd, char *buf, size_t cap);

extern int in_fd, out_fd;
extern struct obuf out; // protocol output of the serving process
extern uint64_t last_flush_ns;
void out_flush(void);
void out_need(size_t n);

// Shared result area (MAP_SHARED, created before any fork). Records are appended to data[] and
// published by advancing len, so a process killed mid-record still delivers every complete record.
// The userfaultfd event ring lives in the area's last page (EV_RING): sequences without a uffd
// never touch it (a child's first touch of a shared page is a page fault).
#define EV_RING 4096
struct result {
    volatile uint64_t len;       // published bytes of data[]
    volatile uint64_t last_call; // 1 + index of the last call whose `r` record is published
    volatile uint32_t nev;       // userfaultfd events recorded so far; written by the resolver only
    volatile uint32_t stuck;     // the resolver found a fault that cannot be resolved and ended the sequence
    volatile uint32_t nprocs;    // fork children created so far: the next one is number nprocs + 1
    char data[];
};
#define RESULT_DATA_BYTES (RESULT_BYTES - EV_RING - FAILNTH_PAGE - sizeof(struct result))
// concurrent sequences: the end of data[] holds the racing forks' children's maps (threads.c)
#define MAX_RACING_FORKS 4
#define FORK_SLOT (64 << 10)
#define FORK_AREA (MAX_RACING_FORKS * FORK_SLOT)
#define EV_RING_PTR ((volatile uint8_t *)res + RESULT_BYTES - EV_RING)
// failnth.c's buffer for reading fail-nth after a fork: shared, so no COW fault (below the ring)
#define FAILNTH_PAGE 4096
#define FAILNTH_PTR ((char *)res + RESULT_BYTES - EV_RING - FAILNTH_PAGE)
extern struct result *res;

// What a sequence's process writes outside its stack, kept together: after fork every page the
// child writes costs a copy-on-write fault.
struct pstate {
    struct obuf rb;   // this process's append position in res->data
    int proc_no;      // 0 = the sequence's first process, n = the n-th fork child
    int maps_fd, pagemap_fd;
    int in_block;     // a fork_block child: its exit op ends it
    uint64_t resume;  // set by a fork_block parent: 1 + index of the exit call it records next
    uint32_t ev_resume; // userfaultfd events recorded when the child of the block was gone
};
extern struct pstate ps;

// ---------------------------------------------------------------- the sequence (parsed in the parent)
struct op;
struct res { uint64_t ret; int err; int sig; };
struct opdesc {
    const char *name;
    // one char per argument: a = <page|-> <off> address, x = hex u64, c = r|w|x, f = fd (hex) or
    // F<file>, F = file index, h = uffd handle, n = anon name (- or x<hex bytes>), S = SysV segment index
    const char *args;
    long nr;        // syscall number for generic ops
    void (*exec)(const struct op *, struct res *);
};
struct op {
    const struct opdesc *d;
    uint64_t v[MAX_ARGS];
    uint8_t filemask; // v[i] is a file index to replace by its descriptor at run time
    uint64_t fail_nth; // `nth <k>`: fail the k-th allocation of this call (failnth.c); 0 = none
};
// fs: FS_* kind (fsfiles.c), fill: `fill pattern`, mfd_flags: memfd_create flags, huge: `hugetlb`
// (a memfd with MFD_HUGETLB, on the 2 MiB pool)
struct filedecl { int tmpfs, huge, ro; uint64_t size; uint64_t mfd_flags; int fs, fill; };

extern struct op ops[MAX_OPS];
extern uint64_t nops, arena_pages, seq_opts, base;
extern struct filedecl files[MAX_FILES];
extern int nfiles;
extern int seq_forks, seq_uffds; // the sequence has fork / uffd_create calls
extern char tmpfs_dir[128];      // private tmpfs directory ("" = none)
extern uint64_t win_start, win_end, fence_top;
extern pid_t serve_pid;          // the serving process

int parse_op(char *line, struct op *o); // 1 = ok, 0 = malformed, -1 = refused (never run)
int parse_file(char *line);             // "file <kind> <size> <ro> [<fill>]" after the keyword; 1 = ok
void install_signal_handlers(void);
void catch_signal(int sig, void (*h)(int, siginfo_t *, void *));
void catch_faults(void (*h)(int, siginfo_t *, void *)); // SIGSEGV and SIGBUS

// ---------------------------------------------------------------- child.c
extern int file_fd[MAX_FILES];
__attribute__((noreturn)) void child(void);
__attribute__((noreturn)) void leave(int code);
int setup_fences(void);
void rb_commit(void);
void exec_fork(const struct op *o, struct res *r);
void exec_exit(const struct op *o, struct res *r);

// ---------------------------------------------------------------- seals.c
void exec_add_seals(const struct op *o, struct res *r);

// ---------------------------------------------------------------- persist.c
extern int persist_off;        // --no-persist: a fresh child for every sequence
void persist_init(void);
void persist_text_begin(void);
void persist_text_add(const char *line);
int persist_wanted(void);
pid_t persist_start(void);
int persist_wait(pid_t pid, int *status, uint64_t ms);
void persist_reaped(pid_t pid);
int persist_alive(pid_t pid);
void persist_stop(void);
void persist_child_start(void);
int persist_next(void);

// ---------------------------------------------------------------- limits.c
int limits_main(uint64_t n);   // --limits: bare fork and maps-read cost (npm run bench)

// ---------------------------------------------------------------- observe.c
extern char big_buf[16 << 20]; // maps/smaps text (also used by the parent at start-up)
void obs_open(void);
void snapshot(long after);
int count_maps(void);          // VMAs of this process (map_count: without [vsyscall])

// ---------------------------------------------------------------- uffd.c
extern int uffd_fd[MAX_UFFDS];
void uffd_handoff(void);
extern int uffd_mode_flags;    // UFFD_USER_MODE_ONLY when plain userfaultfd() needs privilege
int resolver_start(void);
void resolver_sync(void);
void resolver_stop(void);
void uffd_reset(void);         // persist.c: no resolver, no userfaultfd open
int resolver_active(void);
void append_events(struct obuf *b, uint32_t from, uint32_t to);
void exec_uffd_create(const struct op *o, struct res *r);
void exec_uffd_register(const struct op *o, struct res *r);
void exec_uffd_unregister(const struct op *o, struct res *r);

// ---------------------------------------------------------------- sysv.c
extern int nshm;
int parse_shm(char *line);      // "shm <size>" after the keyword; 1 = ok
int shm_create(void);           // in the serving process, before the sequence's child is forked
void shm_remove(void);          // after every process of the sequence has ended
void shm_export(int *ids);      // MAX_SHM ids for a reused child (persist.c); -1 past nshm
void shm_adopt(const int *ids); // in the reused child
void shm_sweep(void);           // segments of harnesses that were killed
int shm_index_ok(uint64_t v);
void exec_shmat(const struct op *o, struct res *r);
void hugetlb_pool_setup(void);
void sysv_facts(struct obuf *b);
// ---------------------------------------------------------------- threads.c
extern int nthreads;           // racing threads of the sequence (0 = serial)
void thr_reset(void);
int thr_line(char *rest);      // thread / sync / readers lines: 1 consumed, 0 not one, -1 malformed
int thr_op(uint64_t i);        // op i was parsed: 0 = it cannot run in a racing thread
int thr_finish(void);          // 1 = the thread lists are consistent
uint64_t thr_setup_count(void);
void threads_prepare(void);
void threads_run(void);
// ---------------------------------------------------------------- failnth.c
extern int seq_failnth;        // the sequence has calls with `nth <k>`
void failnth_open(void);
void failnth_close(void);
void failnth_leave_rseq(void);
long failnth_fork(int *outcome);
int failnth_available(void);
int failnth_arm(uint64_t k);
int failnth_outcome(int armed);
void failnth_record(uint64_t i, int outcome);
void failnth_init_guest(void);

// ---------------------------------------------------------------- hello.c
void hello(void);
void init_mode(void);
void tmpfs_setup(int pid1);
void tmpfs_cleanup(void);
int wait_deadline(pid_t pid, int *status, uint64_t ms);
void sweep_dead(const char *parent);
void remove_dir(const char *dir);

// ---------------------------------------------------------------- privdir.c
int private_dir(char *tmpl);
int remove_unlocked_dir(const char *path);
int private_dir_gone(void);

// ---------------------------------------------------------------- fsfiles.c
#define FS_KINDS 4 // 0 = not a real filesystem; 1 ext4, 2 xfs, 3 btrfs
extern char fs_dir[FS_KINDS][160];
int fs_kind(const char *name);
int fs_arg(const char *spec);
void fs_setup(int pid1);
void guest_disks(void);
void guest_fs_lazy_dirs(void);
void guest_fs_need(int kind);
void fs_cleanup(void);
void fs_hello(void);
const char *file_dir(const struct filedecl *f);
int fill_file(int fd, int idx, uint64_t size, int disk);

#endif
