// The fixed part of every C reproducer, last third: the sequence's process (started like the
// harness starts a sequence's child, with a deadline) and the report that the reporting process
// prints from the shared state when every process of the sequence is gone.

import type { Features } from './repro-c-runtime.js';

export function reportC(f: Features): string {
  const group = f.fork || f.uffd;
  return String.raw`
/* ------------------------------------------------------------------ the sequence's process */

static void run_sequence(void);

/*
 * harness-c/child.c:child: the arena between its fences, the files, a snapshot before the first
 * call, then the calls. ${group ? 'It gets its own process group, so that a deadline or a stuck\n * userfaultfd fault ends every process of the sequence at once.' : 'Its exit status says whether it could set up.'}
 */
static __attribute__((noreturn)) void sequence_process(pid_t reporter)
{
${group ? String.raw`	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != reporter)
		_exit(EXIT_CRASHED | SIGKILL);
` : '\t(void)reporter;\n'}${f.uffd ? String.raw`	for (int h = 0; h < NR_UFFDS; h++)
		uffd_fd[h] = -1;
	/* forked before anything of the arena exists: that fork cannot affect it */
	if (resolver_start() != 0)
		_exit(EXIT_RESOLVER);
` : ''}	if (${f.touch ? 'setup_faults() != 0 || ' : ''}setup_fences() != 0)
		leave(EXIT_FENCE);
${f.files ? '\tif (create_files() != 0)\n\t\tleave(EXIT_FILES);\n' : ''}	obs_open();
	observe(-1, 0);
	run_sequence();
	leave(0);
}

static volatile sig_atomic_t deadline_passed;

static void on_alarm(int sig)
{
	(void)sig;
	deadline_passed = 1;
}

/* Run the sequence in a child process and wait for it, at most DEADLINE_S seconds. */
static void run_sequence_process(void)
{
	pid_t me = getpid(), pid;
	struct sigaction sa;
	int st = 0;

	fflush(stdout);		/* nothing buffered may be printed twice */
	pid = fork();
	if (pid < 0) {
		sh->status = EXIT_FENCE << 8;
		return;
	}
	if (pid == 0)
		sequence_process(me);
${group ? '\tsetpgid(pid, pid);\t/* the child does the same: whichever runs first */\n' : ''}	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;	/* no SA_RESTART: the alarm interrupts waitpid */
	sigaction(SIGALRM, &sa, NULL);
	alarm(DEADLINE_S);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		if (deadline_passed && !sh->timed_out) {
			sh->timed_out = 1;
			kill(${group ? '-pid' : 'pid'}, SIGKILL);
		}
	alarm(0);
${group ? '\tkill(-pid, SIGKILL);\t/* whatever is left of the sequence */\n' : ''}	sh->status = st;
}

/* ------------------------------------------------------------------ the report */

static const char *errno_name(int e)
{
	int i;

	for (i = 0; errno_names[i].name; i++)
		if (errno_names[i].err == e)
			return errno_names[i].name;
	return "errno?";
}

static void print_result(int i, const struct expect *r, char *buf, size_t len)
{
	int n;

	if (call_kind[i] == 't')
		n = snprintf(buf, len, "%s", r->sig == SIGSEGV ? "SIGSEGV" : r->sig == SIGBUS ? "SIGBUS" : r->sig ? "signal" : "ok");
	else if (r->err)
		n = snprintf(buf, len, "-1 %s", errno_name(r->err));
	else if (r->kind == RET_ADDR && r->off)
		n = snprintf(buf, len, "A+%lldp+0x%llx", (long long)r->page, (unsigned long long)r->off);
	else if (r->kind == RET_ADDR)
		n = snprintf(buf, len, "A+%lldp", (long long)r->page);
	else if (r->kind == RET_OUTSIDE)
		n = snprintf(buf, len, "(outside the arena)");
	else
		n = snprintf(buf, len, "%lld", (long long)r->value);
	if (r->sig && call_kind[i] == 't' && r->sig != SIGSEGV && r->sig != SIGBUS && n > 0 && (size_t)n < len)
		n += snprintf(buf + n, len - n, " %d", r->sig);
	if (r->events[0] && n > 0 && (size_t)n < len)
		snprintf(buf + n, len - n, " [uffd: %s]", r->events);
}

/* One report line; kselftest output gets the TAP diagnostic prefix "# ". */
static void emit(const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("%s%s\n", LINE_PREFIX, line);
}

static void vma_text(char *buf, size_t len, int64_t start, int64_t end, const char *perms, uint64_t offset,
		     int file, const char *name, const char *flags)
{
	char f[48] = "";

	if (file)
		snprintf(f, sizeof(f), " %08llx file#%d", (unsigned long long)offset, file);
	snprintf(buf, len, "A+%lldp-A+%lldp %s%s%s%s%s%s", (long long)start, (long long)end, perms, f,
		 name[0] ? " " : "", name, flags ? "   VmFlags: " : "", flags ? flags : "");
}

/* flags: with VmFlags; mark: the VMA to point at (-1: none) */
static void print_kernel_maps(const char *title, const struct snapshot *s, int flags, int mark)
{
	char t[NAME_LEN + FLAGS_LEN + 128];
	int j;

	emit("%s", title);
	if (s->n < 0)
		emit("    (more than %d VMAs)", MAX_VMAS);
	else if (s->n == 0)
		emit("    (empty)");
	for (j = 0; j < s->n; j++) {
		const struct vma *v = &s->v[j];

		vma_text(t, sizeof(t), v->start, v->end, v->perms, v->offset, v->file, v->name, flags ? v->vmflags : NULL);
		emit(" %s %s", j == mark ? "!!" : "  ", t);
	}
	if (CHECK_PAGEMAP)
		emit("    pagemap: %s", s->pagemap);
}

static void print_expected_maps(const char *title, const struct expect_snap *m, int flags, int mark)
{
	char t[NAME_LEN + FLAGS_LEN + 128];
	int j;

	emit("%s", title);
	if (!m) {
		emit("    (not predicted)");
		return;
	}
	if (m->n == 0)
		emit("    (empty)");
	for (j = 0; j < m->n; j++) {
		const struct expect_vma *v = &m->v[j];

		vma_text(t, sizeof(t), v->start, v->end, v->perms, v->offset, v->file, v->name,
			 flags ? (v->vmflags ? v->vmflags : "(not predicted)") : NULL);
		emit(" %s %s", j == mark ? "!!" : "  ", t);
	}
	if (m->pagemap)
		emit("    pagemap: %s", m->pagemap);
}

/* The first difference, layer by layer. */
static void print_divergence(void)
{
	const struct expect_snap *m = expected_snap(sh->div_call, sh->div_proc);
	int call = sh->div_call, vmflags = !strcmp(sh->div_layer, "vmflags");
	int mark = vmflags ? sh->div_detail : -1;
	char title[128], where[32] = "";

	if (USES_FORK)
		snprintf(where, sizeof(where), " (process %d)", sh->div_proc);
	if (call < 0)
		emit("FAIL: the arena is not as the model expects before the first call%s", where);
	else
		emit("FAIL: the kernel differs from the model at call %d (%s)%s", call, sh->div_layer, where);
	if (!strcmp(sh->div_layer, "pagemap"))
		emit("first different page: A+%dp, kernel '%c', model '%c' ('?': any)", sh->div_detail,
		     sh->after.pagemap[sh->div_detail], m->pagemap[sh->div_detail]);
	if (call >= 0) {
		snprintf(title, sizeof(title), "kernel maps before call %d%s:", call, where);
		print_kernel_maps(title, &sh->before, vmflags, -1);
	}
	snprintf(title, sizeof(title), "kernel maps after call %d%s:", call, where);
	print_kernel_maps(title, &sh->after, vmflags, mark);
	snprintf(title, sizeof(title), "model maps after call %d%s:", call, where);
	print_expected_maps(title, m, vmflags, mark);
}

/*
 * Print what happened; returns the first divergent call (-1: the empty arena), NOT_YET when the
 * kernel behaves as expected, CANNOT_TEST when the arena could not be set up.
 */
static int report(void)
{
	static const char *const why[] = {
		[EXIT_MAPS] = "cannot read /proc/self/maps", [EXIT_FENCE] = "cannot set up the arena",
		[EXIT_RESOLVER] = "the userfaultfd resolver failed", [EXIT_FILES] = "cannot create the files",
		[EXIT_FAIL_NTH] = "no /proc/thread-self/fail-nth to inject a failNth (a kernel with CONFIG_FAULT_INJECTION is needed)",
	};
	int st = sh->status, code = WIFEXITED(st) ? WEXITSTATUS(st) : 0;
	int sig = WIFSIGNALED(st) ? WTERMSIG(st) : code >= EXIT_CRASHED ? code & 0x7f : 0;
	char k[128], m[128], title[96];
	int i;

	emit("vmafuzz reproducer: %d calls in a %d-page arena at %#llx (A)", NR_CALLS, ARENA_PAGES,
	     (unsigned long long)arena);
	for (i = 0; i < sh->nr_done; i++) {
		struct expect o = observed(i);
		char proc[24] = "";

		if (USES_FORK && sh->res[i].proc)
			snprintf(proc, sizeof(proc), "   (process %d)", sh->res[i].proc);
		print_result(i, &o, k, sizeof(k));
		if (i < NR_EXPECTED) {
			print_result(i, &expected[i], m, sizeof(m));
			emit("%s%4d  %s = %s%s%s%s%s", i == sh->div_call ? ">>" : "  ", i, call_text[i], k,
			     strcmp(k, m) ? "   (model: " : "", strcmp(k, m) ? m : "", strcmp(k, m) ? ")" : "", proc);
		} else
			emit("  %4d  %s = %s   (not predicted: %s)%s", i, call_text[i], k, MODEL_STOPPED, proc);
	}
	for (; i < NR_CALLS; i++)
		emit("  %4d  %s   (not run)", i, call_text[i]);
	if (USES_FORK)
		snprintf(title, sizeof(title), "arena maps in the last snapshot (after call %d, process %d):", sh->last.after, sh->last.proc);
	else
		snprintf(title, sizeof(title), "arena maps after the last call:");
	if (sh->nr_done || sh->last.after == -1)
		print_kernel_maps(title, &sh->last, CHECK_VMFLAGS, -1);
	if (sh->div_call != NOT_YET) {
		print_divergence();
		return sh->div_call;
	}
	if (!sig && code && code < (int)(sizeof(why) / sizeof(why[0])) && why[code]) {
		emit("cannot test: %s", why[code]);
		return CANNOT_TEST;
	}
	if (sh->stuck || sh->timed_out) {
		emit("FAIL: call %d %s; the model expects every call to complete", sh->nr_done,
		     sh->stuck ? "raised a userfaultfd fault that cannot be resolved" : "did not complete within " STR(DEADLINE_S) " s");
		return sh->nr_done;
	}
	if (sig || sh->crash_sig) {
		emit("FAIL: process %d was killed by signal %d during call %d; the model expects every call to complete",
		     sh->crash_sig ? sh->crash_proc : 0, sh->crash_sig ? sh->crash_sig : sig, sh->nr_done);
		return sh->nr_done;
	}
	if (code || sh->nr_done < NR_CALLS) {
		emit("FAIL: the sequence ended after %d calls (exit status %d)", sh->nr_done, code);
		return sh->nr_done;
	}
	emit("OK: the kernel behaves as the model expects");
	return NOT_YET;
}
`;
}
