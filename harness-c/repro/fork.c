/* ------------------------------------------------------------------ fork */

/*
 * harness-c/child.c:exec_fork: the new process goes on with the next call (or, in a fork block,
 * with the block's calls) while this one waits for it. What plain forks and fork blocks share.
 */

static unsigned int next_fork_nth;	/* failNth of the next fork, set by its call's statement */
#if HAVE_FAIL_NTH
static long fail_nth_fork(int i, unsigned int k);
#endif

/* The fork syscall of call i (no atfork handlers, no libc bookkeeping), with its failNth armed. */
static long fork_syscall(int i)
{
	unsigned int k = next_fork_nth;

	next_fork_nth = 0;
#if HAVE_FAIL_NTH
	if (k)
		return fail_nth_fork(i, k);
#endif
	(void)i;
	(void)k;
	return syscall(SYS_fork);
}

/* In the new process: it dies with its parent, and it is process child_no from now on. */
static void fork_child(long parent, int child_no)
{
	/* fork clears the parent-death signal: the chain must die with its parent too */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (syscall(SYS_getppid) != parent)
		_exit(EXIT_CRASHED | SIGKILL);
	proc_no = child_no;
	obs_open();	/* /proc/self now names this process */
}

/* In the parent, once the child ended the sequence: the final snapshot, then the child's status. */
static void fork_leave(int st, int child_no) __attribute__((noreturn));
static void fork_leave(int st, int child_no)
{
	observe(sh->nr_done - 1, 0);
	if (WIFSIGNALED(st) && !sh->crash_sig) {
		sh->crash_sig = WTERMSIG(st);
		sh->crash_proc = child_no;
	}
	if (WIFSIGNALED(st))
		leave(EXIT_CRASHED | WTERMSIG(st));
	leave(WIFEXITED(st) ? WEXITSTATUS(st) : EXIT_CRASHED);
}

static int fork_wait(long pid)
{
	int st = 0;

	while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR)
		;
	return st;
}

/*
 * The fork of call i, plain or a block's: the new process's pid here, 0 in the new process (set up
 * by fork_child; the caller ends its call), -1 when fork failed (call i ended with its errno).
 */
static long fork_start(int i, int *child_no)
{
	long parent = syscall(SYS_getpid), pid;

	BLOCK_BEGIN();
	errno = 0;
	*child_no = __atomic_add_fetch(&sh->nprocs, 1, __ATOMIC_SEQ_CST);
	pid = fork_syscall(i);
	if (pid < 0) {
		end(i, (uint64_t)-1, errno, 0);
		return -1;
	}
	if (pid == 0)
		fork_child(parent, *child_no);
	return pid;
}

#if PLAIN_FORK
/* fork: this process waits for the new one and ends with its status, after the last call anyone ran. */
static void do_fork(int i)
{
	int child_no;
	long pid = fork_start(i, &child_no);

	if (pid < 0)
		return;
	if (pid == 0) {
		end(i, 0, 0, 0);
		return;
	}
	fork_leave(fork_wait(pid), child_no);
}
#endif
