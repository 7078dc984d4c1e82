// Fault injection per call (CONFIG_FAULT_INJECTION, Documentation/fault-injection/
// fault-injection.rst "Fault-injection by /proc/thread-self/fail-nth"): writing k to the calling
// thread's fail-nth makes the k-th should_fail() check (slab, page allocator, ...) of that task
// fail; the counter counts down and reads 0 once the failure was injected. A call line may end in
// `nth <k>`: the harness arms k right before the call and reads back after it whether the failure
// fired, then disarms (a call with fewer than k allocations leaves the counter armed). The outcome
// is an `f <i> <0|1|2>` record (fired no/yes, 2 = this kernel has no fail-nth).
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#if __has_include(<sys/rseq.h>) // glibc 2.35+
#include <sys/rseq.h>
#endif
#include <sys/stat.h>
#include <unistd.h>

// per thread: a racing thread with an armed fork opens its own (harness-c/threads.c)
static __thread int fd = -1;
static char *shbuf; // in the shared result area: the kernel writes it after a fork without a COW fault

// (Re)open for the current task: a /proc/thread-self file names the task that opened it, so a
// fork child must open its own.
void failnth_open(void) {
    if (fd >= 0) close(fd);
    fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
    // a page of the shared result area, faulted in now, while nothing is armed
    shbuf = FAILNTH_PTR;
    shbuf[0] = 0;
}

void failnth_close(void) {
    if (fd >= 0) close(fd);
    fd = -1;
}

// A thread about to fork with fail-nth armed leaves rseq first (before arming). After fork its TLS,
// where glibc keeps the thread's rseq area, is write-protected (COW); when the fork made fewer
// checks than k, the kernel's return-to-user work (kernel/rseq.c:rseq_slowpath_update_usr, after a
// preemption or migration) writes the area before failnth_fork can disarm: its COW fault counts
// down the still-armed counter, fails, and rseq forces SIGSEGV (seen with racing forks at k just
// past fork's checks in a few % of runs: the crash showed later, at a touch's fault, the handler
// reset). Nothing of the harness needs rseq.
void failnth_leave_rseq(void) {
#if defined(RSEQ_SIG) && defined(__x86_64__)
    if (!__rseq_size) return;
    char *tp;
    __asm__("mov %%fs:0, %0" : "=r"(tp));
    // the length must be the registered one: __rseq_size, or 32 where glibc registers more
    if (syscall(SYS_rseq, tp + __rseq_offset, __rseq_size, 1 /* RSEQ_FLAG_UNREGISTER */, RSEQ_SIG) != 0)
        syscall(SYS_rseq, tp + __rseq_offset, 32, 1, RSEQ_SIG);
#endif
}

// fork with fail-nth armed. After fork every private page of the parent is write-protected, so its
// next store (a stack spill, a local) is a COW fault that allocates a page and would count down the
// still-armed counter: a failure "fired" after the fork, in the harness's own fault. So on x86-64
// the parent reads fail-nth into the shared page and disarms with the next two syscalls, from
// registers, before it stores anything. Elsewhere the reading may count such a fault.
long failnth_fork(int *outcome) {
    *outcome = 2;
    if (fd < 0 || !shbuf) return syscall(SYS_fork);
#ifdef __x86_64__
    shbuf[0] = 0; shbuf[15] = '0';
    long pid, n = -1;
    register long rdi __asm__("rdi") = fd;
    register long rsi __asm__("rsi") = (long)shbuf;
    register long rdx __asm__("rdx") = 15;
    register long r10 __asm__("r10") = 0;
    __asm__ volatile(
        "mov $57, %%eax\n\t"          // fork
        "syscall\n\t"
        "mov %%rax, %[pid]\n\t"
        "test %%rax, %%rax\n\t"
        "jle 1f\n\t"
        "mov $17, %%eax\n\t"          // pread64(fd, shbuf, 15, 0)
        "syscall\n\t"
        "mov %%rax, %[n]\n\t"
        "mov %[zero], %%rsi\n\t"
        "mov $1, %%edx\n\t"
        "mov $18, %%eax\n\t"          // pwrite64(fd, "0", 1, 0): disarm (a no-op when it fired)
        "syscall\n"
        "1:\n\t"
        : [pid] "=&r"(pid), [n] "+r"(n), "+r"(rsi), "+r"(rdx)
        : "r"(rdi), "r"(r10), [zero] "r"(shbuf + 15)
        : "rax", "rcx", "r11", "memory");
    if (pid < 0) { errno = (int)-pid; pid = -1; }
    // a failed fork is read back by the call loop, as any failed call
    if (pid > 0) *outcome = n > 0 && shbuf[0] == '0' && (shbuf[1] == '\n' || n == 1);
    return pid;
#else
    long pid = syscall(SYS_fork);
    if (pid > 0) *outcome = failnth_outcome(0);
    return pid;
#endif
}

int failnth_available(void) {
    return access("/proc/thread-self/fail-nth", F_OK) == 0;
}

static int put(uint64_t k) {
    char d[24]; int n = 0;
    char t[24]; int m = 0;
    do { t[m++] = (char)('0' + k % 10); k /= 10; } while (k);
    while (m) d[n++] = t[--m];
    return pwrite(fd, d, (size_t)n, 0) == n ? 0 : -1;
}

// Arm just before the call; 0 = armed.
int failnth_arm(uint64_t k) {
    return fd >= 0 && put(k) == 0 ? 0 : -1;
}

// After the call: 1 = the k-th check failed (counter 0), 0 = it did not (disarmed now), 2 = no fail-nth.
int failnth_outcome(int armed) {
    if (armed != 0) return 2;
    char b[24];
    ssize_t n = pread(fd, b, sizeof b - 1, 0);
    if (n <= 0) return 2;
    b[n] = 0;
    if (b[0] == '0' && (b[1] == '\n' || !b[1])) return 1;
    put(0);
    return 0;
}

void failnth_record(uint64_t i, int outcome) {
    ob_str(&ps.rb, "f "); ob_hex(&ps.rb, i); ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, (uint64_t)outcome); ob_chr(&ps.rb, '\n');
}

// PID 1 of a QEMU guest with fault injection: by default failslab and fail_page_alloc skip
// allocations that may sleep (ignore-gfp-wait, mm/failslab.c ignore_gfp_reclaim) and order-0 pages
// (fail_page_alloc min-order 1), which are nearly all of mm's; and every injected failure prints
// a stack (verbose 2), which would flood the console the crash scanner reads.
static void put_knob(const char *path, const char *v) {
    int f = open(path, O_WRONLY | O_CLOEXEC);
    if (f < 0) return;
    if (write(f, v, strlen(v)) < 0) {}
    close(f);
}

void failnth_init_guest(void) {
    if (!failnth_available()) return;
    mkdir("/sys/kernel/debug", 0700);
    mount("debugfs", "/sys/kernel/debug", "debugfs", 0, 0);
    put_knob("/sys/kernel/debug/failslab/ignore-gfp-wait", "N");
    put_knob("/sys/kernel/debug/failslab/verbose", "0");
    put_knob("/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N");
    put_knob("/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N");
    put_knob("/sys/kernel/debug/fail_page_alloc/min-order", "0");
    put_knob("/sys/kernel/debug/fail_page_alloc/verbose", "0");
}
