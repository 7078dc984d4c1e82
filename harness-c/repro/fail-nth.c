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
		exit(125);
	}
}

/* After the call: whether the failure was injected; disarms when it was not. */
static int fail_nth_fired(void)
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
