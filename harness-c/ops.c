// The op table: how each protocol line is parsed (in the parent, before the fork) and executed (in
// the sequence's process). Every call reaches the kernel through syscall(2) with its arguments
// unchanged, so no libc wrapper can reject or rewrite them first.
#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>


// Generic syscall: file indexes become descriptors, everything else goes through unchanged.
static void exec_syscall(const struct op *o, struct res *r) {
    uint64_t v[MAX_ARGS];
    memcpy(v, o->v, sizeof v);
    for (int i = 0; o->filemask >> i; i++)
        if (o->filemask >> i & 1) v[i] = (uint64_t)(int64_t)file_fd[v[i]];
    errno = 0;
    long ret = syscall(o->d->nr, v[0], v[1], v[2], v[3], v[4], v[5]);
    r->ret = (uint64_t)ret;
    r->err = ret == -1 ? errno : 0;
}

// ---------------------------------------------------------------- touch: read, write, exec probe

static sigjmp_buf touch_env;
static volatile sig_atomic_t in_touch;
#define XP_OK 0x100 // siglongjmp value: the probed instruction was fetched

// Exec probe state (x86-64): 1 = single-stepping towards the target, 2 = the target's instruction
// is being fetched (the next trap means it executed).
static volatile sig_atomic_t xp_state, xp_steps;
static volatile uint64_t xp_target;
static char xp_scratch[4096] __attribute__((aligned(64)));

static void on_fault(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    if (!in_touch) { signal(sig, SIG_DFL); return; } // a real crash: re-fault and die with sig
    in_touch = 0;
    if (xp_state == 2) {
        // A fault on fetching the target's page is the probe's answer; anything else (the
        // instruction's own data access, #GP, #UD) means the fetch itself succeeded.
        uint64_t a = (uint64_t)si->si_addr;
        int fetch = (sig == SIGSEGV || sig == SIGBUS) && si->si_code > 0 && (a & ~(PAGE - 1)) == (xp_target & ~(PAGE - 1));
        xp_state = 0;
        siglongjmp(touch_env, fetch ? sig : XP_OK);
    }
    xp_state = 0;
    siglongjmp(touch_env, sig);
}

#if defined(__x86_64__)
// Single-step trick: with EFLAGS.TF set, `call target` traps with rip == target before anything is
// fetched there. Pointing the registers at scratch memory makes the likely instructions harmless
// (a zero page decodes as `add %al,(%rax)`, a 0x5a written by touch as `pop %rdx`); the next trap
// means the instruction was fetched and executed.
static void on_trap(int sig, siginfo_t *si, void *ucv) {
    (void)si;
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    if (xp_state == 1) {
        if ((uint64_t)g[REG_RIP] != xp_target) { if (++xp_steps > 8) { xp_state = 0; in_touch = 0; siglongjmp(touch_env, SIGTRAP); } return; }
        greg_t s = (greg_t)(xp_scratch + sizeof xp_scratch / 2);
        static const int regs[] = { REG_RAX, REG_RBX, REG_RCX, REG_RDX, REG_RSI, REG_RDI, REG_RBP, REG_R8,
                                    REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15 };
        for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) g[regs[i]] = s;
        xp_state = 2;
        return; // TF stays set in the saved flags: the next instruction traps again
    }
    if (xp_state == 2) { xp_state = 0; in_touch = 0; siglongjmp(touch_env, XP_OK); }
    signal(sig, SIG_DFL); // not ours: die as the signal says (a trap would just continue)
    syscall(SYS_kill, syscall(SYS_getpid), sig);
}

static __attribute__((noinline, noreturn)) void xp_jump(uint64_t target) {
    __asm__ volatile(
        "sub $512, %%rsp\n\t"       // below the red zone of any caller
        "and $-16, %%rsp\n\t"
        "pushfq\n\t"
        "orq $0x100, (%%rsp)\n\t"   // TF
        "popfq\n\t"
        "call *%0\n\t"
        "ud2\n\t"
        : : "r"(target) : "memory");
    __builtin_unreachable();
}
#endif

static void exec_touch(const struct op *o, struct res *r) {
    volatile char *p = (volatile char *)o->v[0];
    r->ret = 0; r->err = 0;
#if !defined(__x86_64__)
    if (o->v[1] == 'x') { r->ret = (uint64_t)-1; r->err = ENOSYS; return; }
#endif
    int sig = sigsetjmp(touch_env, 0); // SA_NODEFER: no mask to restore, no syscall per touch
    if (sig == 0) {
        in_touch = 1;
        if (o->v[1] == 'w') *p = 0x5a;
        else if (o->v[1] == 'r') (void)*p;
#if defined(__x86_64__)
        else { xp_target = o->v[0]; xp_steps = 0; xp_state = 1; xp_jump(o->v[0]); }
#endif
        in_touch = 0;
    }
    // Signal handlers run with EFLAGS.TF clear and siglongjmp does not restore flags: no stepping here.
    r->sig = sig == XP_OK ? 0 : sig;
}

// probe: read the byte at the address and report it as the result (a fault is the signal, ret 0).
static void exec_probe(const struct op *o, struct res *r) {
    volatile unsigned char *p = (volatile unsigned char *)o->v[0];
    r->ret = 0; r->err = 0;
    int sig = sigsetjmp(touch_env, 0);
    if (sig == 0) {
        in_touch = 1;
        r->ret = *p;
        in_touch = 0;
    }
    r->sig = sig;
}

// sig goes to h on the alternate stack (a fault may come from a full stack) and stays unblocked
// while h runs (SA_NODEFER: h leaves by siglongjmp, which would not restore a mask).
void catch_signal(int sig, void (*h)(int, siginfo_t *, void *)) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = h;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER | SA_SIGINFO;
    sigaction(sig, &sa, 0);
}

// SIGSEGV and SIGBUS, the answers of a touch: the sequence's process (here) and its racing
// threads (threads.c:threads_run) catch them the same way.
void catch_faults(void (*h)(int, siginfo_t *, void *)) {
    catch_signal(SIGSEGV, h);
    catch_signal(SIGBUS, h);
}

void install_signal_handlers(void) {
    static char altstack[64 << 10];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0 };
    sigaltstack(&ss, 0);
    catch_faults(on_fault);
    catch_signal(SIGILL, on_fault);
    catch_signal(SIGFPE, on_fault);
#if defined(__x86_64__)
    catch_signal(SIGTRAP, on_trap);
#endif
}

// ---------------------------------------------------------------- other executors

static void exec_anon_name(const struct op *o, struct res *r) {
    errno = 0;
    long ret = syscall(SYS_prctl, PR_SET_VMA, PR_SET_VMA_ANON_NAME, o->v[0], o->v[1], o->v[2]);
    r->ret = (uint64_t)ret;
    r->err = ret == -1 ? errno : 0;
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
    { "mmap", "axxxfx", SYS_mmap, exec_syscall },         // addr len prot flags fd offset
    { "munmap", "ax", SYS_munmap, exec_syscall },         // addr len
    { "mprotect", "axx", SYS_mprotect, exec_syscall },    // addr len prot
    { "touch", "ac", 0, exec_touch },                     // addr r|w|x
    { "madvise", "axx", SYS_madvise, exec_syscall },      // addr len advice
    { "mremap", "axxxa", SYS_mremap, exec_syscall },      // addr old_len new_len flags new_addr
    { "mlock", "ax", SYS_mlock, exec_syscall },           // addr len
    { "mlock2", "axx", SYS_mlock2, exec_syscall },        // addr len flags
    { "munlock", "ax", SYS_munlock, exec_syscall },       // addr len
    { "mseal", "axx", SYS_mseal, exec_syscall },          // addr len flags
    { "anon_name", "axn", 0, exec_anon_name },            // addr len name
    { "ftruncate", "Fx", SYS_ftruncate, exec_syscall },   // file len
    { "uffd_create", "x", 0, exec_uffd_create },          // features
    { "uffd_register", "haxx", 0, exec_uffd_register },   // handle addr len mode
    { "uffd_unregister", "hax", 0, exec_uffd_unregister }, // handle addr len
    { "fork", "", 0, exec_fork },
    { "fork_block", "x", 0, exec_fork },                  // index of the exit call that ends the child
    { "exit", "", 0, exec_exit },
    { "add_seals", "Fx", 0, exec_add_seals },             // file seals
    { "probe", "a", 0, exec_probe },                      // addr
    { "shmat", "Sax", SYS_shmat, exec_shmat },          // segment addr flags (src/seq/schema-sysv.ts)
    { "shmdt", "a", SYS_shmdt, exec_syscall },            // addr
    { "sleep", "x", 0, exec_sleep },                      // milliseconds
    { "crash", "", 0, exec_crash },
};

// ---------------------------------------------------------------- parsing


// Names of anon_name calls, decoded from hex, NUL-terminated (at most 1024 bytes each).
static char names[MAX_OPS * 8];
static size_t names_len;

static int parse_name(const char *t, uint64_t *v) {
    if (!strcmp(t, "-")) { *v = 0; return 1; } // NULL: clear the name
    if (t[0] != 'x') return 0;
    size_t n = strlen(t + 1);
    if (n % 2 || n / 2 > 1024 || names_len + n / 2 + 1 > sizeof names) return 0;
    char *dst = names + names_len;
    for (size_t i = 0; i < n / 2; i++) {
        char pair[3] = { t[1 + 2 * i], t[2 + 2 * i], 0 };
        uint64_t b;
        const char *e = parse_hex(pair, &b);
        if (!e || *e) return 0;
        dst[i] = (char)b;
    }
    dst[n / 2] = 0;
    names_len += n / 2 + 1;
    *v = (uint64_t)dst;
    return 1;
}

// Parse one op line against the table; addresses resolve to base + page*4096 + off (wrapping).
// 1 = parsed, 0 = malformed, -1 = well-formed but refused (never executed).
int parse_op(char *line, struct op *o) {
    char *name = next_word(&line);
    if (!name) return 0;
    const struct opdesc *d = 0;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (!strcmp(OPS[i].name, name)) d = &OPS[i];
    if (!d) return 0;
    if (nops == 0) names_len = 0; // a new sequence
    memset(o, 0, sizeof *o);
    o->d = d;
    int slot = 0; // v[] index: an address takes one slot, like every other argument
    int naddr = 0, refused = 0;
    for (int i = 0; d->args[i]; i++, slot++) {
        uint64_t page = 0, off;
        char *t;
        switch (d->args[i]) {
        case 'a':
            t = next_word(&line);
            if (!t) return 0;
            int null = !strcmp(t, "-"); // NULL (mmap hint, mremap new address): the offset alone
            if (!null) { const char *e = parse_hex(t, &page); if (!e || *e) return 0; }
            if (!word_hex(&line, &off)) return 0;
            // Defence in depth (the corpus schema checks ranges first): an address is the arena
            // (up to its end) or NULL, and NULL only as the mmap hint or the mremap destination,
            // never a raw address elsewhere.
            if (null ? off != 0 || !((d->nr == SYS_mmap && naddr == 0) || (d->nr == SYS_mremap && naddr == 1) || d->nr == SYS_shmat)
                     : page > arena_pages || off > (arena_pages - page) * PAGE)
                refused = 1; // the byte offset too: page*4096 + off stays within [base, arena end]
            if ((d->exec == exec_touch || d->exec == exec_probe) && page >= arena_pages) refused = 1;
            naddr++;
            o->v[slot] = null ? off : base + page * PAGE + off;
            break;
        case 'x':
            if (!word_hex(&line, &o->v[slot])) return 0;
            break;
        case 'c':
            t = next_word(&line);
            if (!t || (strcmp(t, "r") && strcmp(t, "w") && strcmp(t, "x"))) return 0;
            o->v[slot] = (uint64_t)t[0];
            break;
        case 'f': // a raw descriptor in hex, or F<file index> (upper case: never hex)
        case 'F': { // a file index
            t = next_word(&line);
            if (!t) return 0;
            if (d->args[i] == 'f') {
                if (t[0] != 'F') { const char *e = parse_hex(t, &o->v[slot]); if (!e || *e) return 0; break; }
                t++;
            }
            const char *e = parse_hex(t, &o->v[slot]);
            if (!e || *e || o->v[slot] >= (uint64_t)nfiles) return 0;
            o->filemask |= (uint8_t)(1u << slot);
            break;
        }
        case 'h':
            if (!word_hex(&line, &o->v[slot]) || o->v[slot] >= MAX_UFFDS) return 0;
            break;
        case 'S': // a SysV segment index (`shm` lines come before the calls)
            if (!word_hex(&line, &o->v[slot]) || !shm_index_ok(o->v[slot])) return 0;
            break;
        case 'n':
            t = next_word(&line);
            if (!t || !parse_name(t, &o->v[slot])) return 0;
            break;
        }
    }
    if (d->exec == exec_uffd_create) {
        if (seq_uffds == MAX_UFFDS) return 0;
        o->v[1] = (uint64_t)seq_uffds++; // the handle: index among the sequence's uffd_create calls
    }
    if (d->exec == exec_fork) seq_forks++;
    char *w = next_word(&line);
    if (w && !strcmp(w, "nth")) { // fault injection (failnth.c)
        if (!word_hex(&line, &o->fail_nth) || o->fail_nth == 0 || o->fail_nth > 0xffffffffUL) return 0;
        seq_failnth++;
        w = next_word(&line);
    }
    if (w != 0) return 0;
    if (refused) return -1;
    // Defence in depth (the corpus schema refuses these first, src/seq/consts.ts REFUSED_ADVICE):
    // advice that acts on the machine rather than the arena is never executed. madvise takes an
    // int, so compare the low 32 bits. MADV_HWPOISON, MADV_SOFT_OFFLINE (mm/madvise.c:
    // madvise_inject_error) take physical pages out of service for every process.
    if (d->nr == SYS_madvise && ((uint32_t)o->v[2] == 100 || (uint32_t)o->v[2] == 101)) return -1;
    return 1;
}

// "file memfd|tmpfs|hugetlb|ext4|xfs|btrfs <size> <ro 0|1> [<fill 0|1> [<memfd_create flags>]]":
// created by the child before the first call, in order (hugetlb: a memfd with MFD_HUGETLB).
int parse_file(char *line) {
    char *kind = next_word(&line);
    uint64_t size, ro, fill = 0, mfd = 0;
    if (!kind || nfiles == MAX_FILES || !word_hex(&line, &size) || !word_hex(&line, &ro) || ro > 1) return 0;
    int fs = fs_kind(kind);
    if (!fs && strcmp(kind, "memfd") && strcmp(kind, "tmpfs") && strcmp(kind, "hugetlb")) return 0;
    char *f = next_word(&line);
    if (f) { const char *e = parse_hex(f, &fill); if (!e || *e || fill > 1 || (fill && kind[0] == 'h')) return 0; } // hugetlbfs has no write()
    char *fl = f ? next_word(&line) : 0;
    if (fl) { const char *e = parse_hex(fl, &mfd); if (!e || *e || mfd > 0xffffffffu || strcmp(kind, "memfd")) return 0; }
    files[nfiles++] = (struct filedecl){ .tmpfs = kind[0] == 't', .huge = kind[0] == 'h', .ro = (int)ro, .size = size, .mfd_flags = mfd, .fs = fs, .fill = (int)fill };
    return next_word(&line) == 0;
}
