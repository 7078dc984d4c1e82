/* ------------------------------------------------------------------ fault injection */

/*
 * failNth (harness-c/failnth.c): the k-th allocation check (slab, page allocator, ...) of the
 * next call fails. Documentation/fault-injection/fault-injection.rst, "/proc/thread-self/fail-nth":
 * the counter counts down per check and reads 0 once the failure was injected. Needs a kernel
 * with CONFIG_FAULT_INJECTION (and FAILSLAB, FAIL_PAGE_ALLOC); as in the vmafuzz guest, set
 *	echo N > /sys/kernel/debug/failslab/ignore-gfp-wait
 *	echo N > /sys/kernel/debug/fail_page_alloc/ignore-gfp-wait
 *	echo 0 > /sys/kernel/debug/fail_page_alloc/min-order
 * or most of mm's allocations (GFP_KERNEL, order 0) are never failed.
 */
static int fail_nth_fd = -1;

/* Arm: the file is opened first, so that its own allocations are not counted. */
static void fail_nth_arm(unsigned int k)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u", k);

	if (fail_nth_fd >= 0)
		close(fail_nth_fd);
	fail_nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	if (fail_nth_fd < 0 || pwrite(fail_nth_fd, buf, n, 0) != n) {
		fprintf(stderr, "cannot arm /proc/thread-self/fail-nth (a kernel with CONFIG_FAULT_INJECTION is needed): %s\n", strerror(errno));
		leave(EXIT_FAIL_NTH);	/* the program cannot test: exit 125 */
	}
}

/* After the call: whether the failure was injected; disarms when it was not. */
static __attribute__((unused)) int fail_nth_fired(void)	/* unused where only a fork has a failNth */
{
	char buf[16] = "";
	int fired;

	if (fail_nth_fd < 0 || pread(fail_nth_fd, buf, sizeof(buf) - 1, 0) <= 0)
		return 0;
	fired = buf[0] == '0';
	if (!fired && pwrite(fail_nth_fd, "0", 1, 0) != 1)
		fired = 0;
	return fired;
}

/*
 * fork with fail-nth k armed (harness-c/failnth.c:failnth_fork). After fork every private page of
 * this process is write-protected: its next store (a local, a stack spill) would be a COW fault
 * whose allocation the still-armed counter counts, failing this program's own fault rather than
 * fork. So on x86-64 this process reads fail-nth back into the shared page and disarms with the
 * next two system calls, from registers, before it stores anything (also after a failed fork,
 * which may have write-protected pages before failing). Elsewhere the read may come after such a
 * fault. The new process has fail-nth 0 (kernel/fork.c:dup_task_struct) and returns 0 at once.
 */
#if USES_FORK && defined(__x86_64__) && __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif
#if USES_FORK
/*
 * Leave rseq before arming (harness-c/failnth.c:failnth_leave_rseq): the kernel's rseq update on
 * return to user after fork (kernel/rseq.c:rseq_slowpath_update_usr) writes the thread's rseq
 * area in its TLS, write-protected by the fork, before the disarm below; its COW fault would take
 * a still-armed failure and rseq would force SIGSEGV.
 */
static void fail_nth_leave_rseq(void)
{
#if defined(RSEQ_SIG) && defined(__x86_64__)
	char *tp;

	if (!__rseq_size)
		return;
	__asm__("mov %%fs:0, %0" : "=r"(tp));
	if (syscall(SYS_rseq, tp + __rseq_offset, __rseq_size, 1 /* RSEQ_FLAG_UNREGISTER */, RSEQ_SIG) != 0)
		syscall(SYS_rseq, tp + __rseq_offset, 32, 1, RSEQ_SIG);
#endif
}

static long fail_nth_fork(int i, unsigned int k)
{
	long pid;
	int fired, err;

	fail_nth_leave_rseq();
	fail_nth_arm(k);
#if defined(__x86_64__)
	{
		char *buf = sh->fail_nth_buf;
		long n = -1;
		register long rdi __asm__("rdi") = fail_nth_fd;
		register long rsi __asm__("rsi") = (long)buf;
		register long rdx __asm__("rdx") = 15;
		register long r10 __asm__("r10") = 0;

		buf[0] = 0;
		buf[15] = '0';
		__asm__ volatile(
			"mov $57, %%eax\n\t"		/* fork */
			"syscall\n\t"
			"mov %%rax, %[pid]\n\t"
			"test %%rax, %%rax\n\t"
			"jz 1f\n\t"			/* the new process */
			"mov $17, %%eax\n\t"		/* pread64(fd, buf, 15, 0) */
			"syscall\n\t"
			"mov %%rax, %[n]\n\t"
			"mov %[zero], %%rsi\n\t"
			"mov $1, %%edx\n\t"
			"mov $18, %%eax\n\t"		/* pwrite64(fd, "0", 1, 0): disarms (a no-op once fired) */
			"syscall\n"
			"1:\n\t"
			: [pid] "=&r"(pid), [n] "+r"(n), "+r"(rsi), "+r"(rdx)
			: "r"(rdi), "r"(r10), [zero] "r"(buf + 15)
			: "rax", "rcx", "r11", "memory");
		if (pid == 0)
			return 0;
		fired = n > 0 && buf[0] == '0' && (n == 1 || buf[1] == '\n');
		if (pid < 0) {
			errno = (int)-pid;
			pid = -1;
		}
	}
#else
	pid = syscall(SYS_fork);
	if (pid == 0)
		return 0;
	err = errno;
	fired = fail_nth_fired();
	errno = err;
#endif
	err = errno;	/* a failed fork's, for its result */
	if (!fired)
		fprintf(stderr, "call %d: the injected failure (fail-nth %u) did not fire\n", i, k);
	errno = err;
	return pid;
}
#endif
