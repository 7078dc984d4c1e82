/* ------------------------------------------------------------------ fork {until: exit} */

/*
 * harness-c/child.c:exec_fork for fork_block: the child runs the calls of the block and ends at
 * its exit call (block_exit); this process waits for it. When the child exited there with 0, the
 * exit call's result is that status and this process goes on after the block (returns 1); a child
 * that died or stopped anywhere else ends the sequence as a plain fork does. Returns 0 in the
 * child (and where fork failed, like the harness, which then runs the block itself).
 */
static int in_block;

static int fork_block(int i, int exit_call)
{
	int st, child_no;
	long pid = fork_start(i, &child_no);

	if (pid < 0)
		return 0;
	if (pid == 0) {
		in_block = 1;
		end(i, 0, 0, 0);
		return 0;
	}
	st = fork_wait(pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && sh->nr_done == exit_call) {
		BLOCK_BEGIN();	/* the child's events were recorded with its own calls */
		end(exit_call, 0, 0, 0);	/* exited, status 0 */
		return 1;
	}
	fork_leave(st, child_no);
}

/* The exit call (harness-c/child.c:exec_exit): ends the block's child; elsewhere EINVAL. */
static void block_exit(int i)
{
	if (!in_block) {
		BLOCK_BEGIN();
		end(i, (uint64_t)-1, EINVAL, 0);
		return;
	}
	_exit(0);
}
