// The fixed part of every C reproducer, second half: running the calls exactly as the harness does
// (harness-c/ops.c, child.c, uffd.c): raw syscalls, touches that survive SIGSEGV/SIGBUS, the
// single-stepped exec probe, fork (the child goes on, the parent waits and takes a final
// snapshot), and userfaultfd with the resolver process forked before the arena exists. Copied
// from the harness on purpose: the program must stay self-contained.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../runner/harness-build.js';
import type { Features } from './repro-c-runtime.js';
import { uffdC } from './repro-c-uffd.js';
import { createFilesC, diskDirsC, probeC } from './repro-c-files.js';

/**
 * fork: harness-c/repro/fork.c (what plain forks and fork blocks share, do_fork under PLAIN_FORK)
 * and fork-block.c for fork {until: exit} blocks, with the uffd bookkeeping if needed.
 */
function forkFileC(name: 'fork.c' | 'fork-block.c', begin: string): string {
  const src = readFileSync(join(projectRoot(), 'harness-c', 'repro', name), 'utf8');
  return '\n' + src.replace(/\tBLOCK_BEGIN\(\);[^\n]*\n/g, begin);
}

export function opsC(f: Features): string {
  const begin = f.uffd ? '\tbegin();\n' : '';
  return String.raw`
/* ------------------------------------------------------------------ running the calls */
${f.uffd ? '\nstatic uint32_t ev0;\t/* userfaultfd events recorded before the current call */\n\nstatic void resolver_stop(void);\nstatic void resolver_sync(void);\nstatic void events_since(uint32_t from, char *out, size_t len);\n' : ''}
static void leave(int code)
{
${f.uffd ? '\tif (proc_no == 0)\t/* only the first process forked it */\n\t\tresolver_stop();\n' : ''}	_exit(code);
}
${f.uffd ? String.raw`
/* Before a call: the userfaultfd events recorded from now on belong to it. */
static void begin(void)
{
	ev0 = __atomic_load_n(&sh->nev, __ATOMIC_ACQUIRE);
}
` : ''}
/* After call i: its result${f.uffd ? ', the userfaultfd events it raised' : ''} and a snapshot (harness-c/child.c:child). */
static void end(int i, uint64_t ret, int err, int sig)
{
	struct result *r = &sh->res[i];
${f.uffd ? String.raw`
	/*
	 * Events that other calls raise (fork, remap, remove, unmap) are read by the resolver while
	 * the call waits but recorded just after: a round trip makes sure they are in.
	 */
	resolver_sync();
	events_since(ev0, r->events, sizeof(r->events));
` : ''}	r->ret = ret;
	r->err = err;
	r->sig = sig;
	r->proc = proc_no;
	sh->nr_done = i + 1;
	observe(i, 1);
}
${f.syscalls ? String.raw`
/* A raw syscall: no libc wrapper may reject or rewrite the arguments (harness-c/ops.c:exec_syscall). */
static void call(int i, long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6)
{
	long ret;

${begin}	errno = 0;
	ret = syscall(nr, a1, a2, a3, a4, a5, a6);
	end(i, (uint64_t)ret, ret == -1 ? errno : 0, 0);
}
` : ''}${f.files ? filesC(f) : ''}${f.touch ? touchC(f) : ''}${f.ops.has('probe') ? probeC(f.uffd) : ''}${f.fork ? forkFileC('fork.c', begin) : ''}${f.ops.has('exit') ? forkFileC('fork-block.c', begin) : ''}${f.uffd ? uffdC(begin, f.ops) : ''}`;
}

function touchC(f: Features): string {
  const x = f.exec;
  return String.raw`
/* ------------------------------------------------------------------ touch */

static sigjmp_buf touch_env;
static volatile sig_atomic_t in_touch;
${x ? String.raw`#define XP_OK 0x100	/* siglongjmp value: the probed instruction was fetched */

/*
 * Exec probe state (x86-64): 1 = single-stepping towards the target, 2 = the target's
 * instruction is being fetched (the next trap means it executed).
 */
static volatile sig_atomic_t xp_state, xp_steps;
static volatile uint64_t xp_target;
static char xp_scratch[4096] __attribute__((aligned(64)));
` : ''}
static void on_fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!in_touch) {
		signal(sig, SIG_DFL);	/* a real crash: fault again and die */
		return;
	}
	in_touch = 0;
${x ? String.raw`	if (xp_state == 2) {
		/*
		 * A fault on fetching the target's page is the probe's answer; anything else (the
		 * instruction's own data access, #GP, #UD) means the fetch itself succeeded.
		 */
		uint64_t a = (uint64_t)si->si_addr;
		int fetch = (sig == SIGSEGV || sig == SIGBUS) && si->si_code > 0 &&
			    (a & ~(PAGE_SIZE - 1)) == (xp_target & ~(PAGE_SIZE - 1));

		xp_state = 0;
		siglongjmp(touch_env, fetch ? sig : XP_OK);
	}
	xp_state = 0;
` : '\t(void)si;\n'}	siglongjmp(touch_env, sig);
}
${x ? String.raw`
#if defined(__x86_64__)
/*
 * Single-step trick: with EFLAGS.TF set, "call target" traps with rip == target before anything
 * is fetched there. Pointing the registers at scratch memory makes the likely instructions
 * harmless (a zero page decodes as "add %al,(%rax)", a 0x5a written by touch as "pop %rdx"); the
 * next trap means the instruction was fetched and executed.
 */
static void on_trap(int sig, siginfo_t *si, void *ucv)
{
	static const int regs[] = { REG_RAX, REG_RBX, REG_RCX, REG_RDX, REG_RSI, REG_RDI, REG_RBP, REG_R8,
				    REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15 };
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	size_t i;

	(void)si;
	if (xp_state == 1) {
		if ((uint64_t)g[REG_RIP] != xp_target) {
			if (++xp_steps > 8) {
				xp_state = 0;
				in_touch = 0;
				siglongjmp(touch_env, SIGTRAP);
			}
			return;
		}
		for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
			g[regs[i]] = (greg_t)(xp_scratch + sizeof(xp_scratch) / 2);
		xp_state = 2;
		return;	/* TF stays set in the saved flags: the next instruction traps again */
	}
	if (xp_state == 2) {
		xp_state = 0;
		in_touch = 0;
		siglongjmp(touch_env, XP_OK);
	}
	signal(sig, SIG_DFL);	/* not ours: die as the signal says (a trap would just continue) */
	syscall(SYS_kill, syscall(SYS_getpid), sig);
}

static __attribute__((noinline, noreturn)) void xp_jump(uint64_t target)
{
	__asm__ volatile(
		"sub $512, %%rsp\n\t"		/* below the red zone of any caller */
		"and $-16, %%rsp\n\t"
		"pushfq\n\t"
		"orq $0x100, (%%rsp)\n\t"	/* TF */
		"popfq\n\t"
		"call *%0\n\t"
		"ud2\n\t"
		: : "r"(target) : "memory");
	__builtin_unreachable();
}
#endif
` : ''}
/* The harness's signal handlers (harness-c/ops.c:install_signal_handlers). */
static int setup_faults(void)
{
	static char altstack[64 << 10];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 };
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_fault;
	sa.sa_flags = SA_ONSTACK | SA_NODEFER | SA_SIGINFO;
	if (sigaltstack(&ss, NULL) || sigaction(SIGSEGV, &sa, NULL) || sigaction(SIGBUS, &sa, NULL) ||
	    sigaction(SIGILL, &sa, NULL) || sigaction(SIGFPE, &sa, NULL))
		return -1;
${x ? '#if defined(__x86_64__)\n\tsa.sa_sigaction = on_trap;\n\tif (sigaction(SIGTRAP, &sa, NULL))\n\t\treturn -1;\n#endif\n' : ''}	return 0;
}

${f.ops.has('touch') ? String.raw`/*
 * One access at addr (harness-c/ops.c:exec_touch): 'r' reads a byte, 'w' writes 0x5a${x ? ", 'x'\n * fetches an instruction there (x86-64 only, else -1 ENOSYS)" : ''}. A SIGSEGV or SIGBUS is the result.
 */
static void touch(int i, uint64_t addr, char access)
{
	volatile char *p = (volatile char *)addr;
	int sig;

${f.uffd ? '\tbegin();\n' : ''}${x ? '#if !defined(__x86_64__)\n\tif (access == \'x\') {\n\t\tend(i, (uint64_t)-1, ENOSYS, 0);\n\t\treturn;\n\t}\n#endif\n' : ''}	sig = sigsetjmp(touch_env, 0);	/* SA_NODEFER: no mask to restore */
	if (sig == 0) {
		in_touch = 1;
		if (access == 'w')
			*p = 0x5a;
		else if (access == 'r')
			(void)*p;
${x ? "#if defined(__x86_64__)\n\t\telse {\n\t\t\txp_target = addr;\n\t\t\txp_steps = 0;\n\t\t\txp_state = 1;\n\t\t\txp_jump(addr);\n\t\t}\n#endif\n" : ''}		in_touch = 0;
	}
	/* handlers run with EFLAGS.TF clear and siglongjmp does not restore flags: no stepping here */
	end(i, 0, 0, ${x ? 'sig == XP_OK ? 0 : sig' : 'sig'});
}
` : ''}`;
}

/** The declared files (harness-c/child.c:create_files); the generator emits file_decl[]. */
function filesC(f: Features): string {
  const tmpfs = f.tmpfs;
  const dir = tmpfs
    ? String.raw`
/*
 * A private tmpfs directory, made in this process like the harness's (/dev/shm/vmafuzz-<pid>-XXXXXX;
 * maps names in it compare as "<tmpfs>/f<n> (deleted)"). The files are unlinked at once.
 */
static char tmpfs_dir[64];

static int make_tmpfs_dir(void)
{
	snprintf(tmpfs_dir, sizeof(tmpfs_dir), "/dev/shm/vmafuzz-repro-XXXXXX");
	return mkdtemp(tmpfs_dir) ? 0 : -1;
}

static void remove_tmpfs_dir(void)
{
	char path[sizeof(tmpfs_dir) + 8];
	int i;

	if (!tmpfs_dir[0])
		return;
	for (i = 0; i < NR_FILES; i++) {	/* left behind by a process killed between open and unlink */
		snprintf(path, sizeof(path), "%s/f%d", tmpfs_dir, i);
		unlink(path);
	}
	rmdir(tmpfs_dir);
}
`
    : '';
  return String.raw`
/* ------------------------------------------------------------------ files */
${dir}${diskDirsC(f.disk)}${createFilesC(tmpfs, f.disk, f.fill)}`;
}
