// The C reproducer's userfaultfd support, copied from harness-c/uffd.c: the uffd_* calls and the
// resolver process, forked before the arena exists, that resolves every fault and records every
// event in the state shared with the reporting process.

export function uffdC(begin: string, ops: ReadonlySet<string>): string {
  return String.raw`
/* ------------------------------------------------------------------ userfaultfd */

/*
 * The resolver (harness-c/uffd.c) keeps a touch on a registered page from hanging. It is forked
 * before the arena exists, so that fork cannot affect it; each new userfaultfd reaches it over a
 * socketpair (SCM_RIGHTS). For every message it records the event in the shared ring first and
 * then resolves the fault, so the faulting call finds its events there when it returns.
 */
#define MAX_WATCH 64	/* uffds the resolver polls: created ones and those UFFD_EVENT_FORK hands over */

enum { EV_MISSING = 1, EV_WP, EV_MINOR, EV_FORK, EV_REMAP, EV_REMOVE, EV_UNMAP, EV_UNRESOLVED, EV_OTHER };
static const char *const ev_name[] = { "?", "missing", "wp", "minor", "fork", "remap", "remove", "unmap", "unresolved", "other" };

static int uffd_mode;		/* UFFD_USER_MODE_ONLY when plain userfaultfd() needs privilege */
static int uffd_fd[NR_UFFDS];	/* by handle: the index of the uffd_create call */
static int rsock = -1;
static pid_t rpid;
static char zero_pages[PMD_SIZE] __attribute__((aligned(4096)));	/* source of UFFDIO_COPY */

/* In this process, before the arena (harness-c/hello.c:probe): which userfaultfd() works. */
static int probe_uffd_mode(void)
{
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 && errno == EPERM) {
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
		if (fd >= 0)
			uffd_mode = UFFD_USER_MODE_ONLY;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

static void ev_put(int code)
{
	uint32_t n = sh->nev;

	sh->ev_ring[n % EV_RING] = (uint8_t)code;
	__atomic_store_n(&sh->nev, n + 1, __ATOMIC_RELEASE);
}

/* "missing,wp": the events recorded since from (harness-c/uffd.c:append_events). */
static void events_since(uint32_t from, char *out, size_t len)
{
	uint32_t to = __atomic_load_n(&sh->nev, __ATOMIC_ACQUIRE), i;
	size_t pos = 0;

	out[0] = 0;
	if (to - from > EV_RING)
		from = to - EV_RING;
	for (i = from; i != to && pos < len; i++) {
		unsigned int c = sh->ev_ring[i % EV_RING];

		pos += snprintf(out + pos, len - pos, "%s%s", i == from ? "" : ",", ev_name[c <= EV_OTHER ? c : 0]);
	}
}

static int uffd_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	while ((r = ioctl(fd, req, arg)) < 0 && errno == EINTR)
		;
	return r;
}

/*
 * A missing page: the zero page (shmem gets a zeroed page; for private VMAs the kernel prepares
 * an anon_vma, mm/userfaultfd.c), else a copy of zeroes (4 KiB, then a 2 MiB huge page).
 */
static int resolve_missing(int fd, uint64_t a)
{
	struct uffdio_zeropage z = { .range = { a, PAGE_SIZE }, .mode = 0 };
	struct uffdio_copy c = { .dst = a, .src = (uint64_t)zero_pages, .len = PAGE_SIZE, .mode = 0 };

	if (uffd_ioctl(fd, UFFDIO_ZEROPAGE, &z) == 0 || errno == EEXIST)
		return 0;
	if (uffd_ioctl(fd, UFFDIO_COPY, &c) == 0 || errno == EEXIST)
		return 0;
	c.dst = a & ~(PMD_SIZE - 1);
	c.len = PMD_SIZE;
	return uffd_ioctl(fd, UFFDIO_COPY, &c) == 0 || errno == EEXIST ? 0 : -1;
}

/*
 * A fault that keeps failing to resolve (every UFFDIO_* -EAGAIN while the faulting call holds
 * ctx->mmap_changing) would retry forever: after 50 ms of failures without a success the
 * resolver kills the sequence's process group and says why.
 */
static void resolved(int ok)
{
	static struct timespec since;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (ok)
		since.tv_sec = since.tv_nsec = 0;
	else if (!since.tv_sec && !since.tv_nsec)
		since = now;
	else if ((now.tv_sec - since.tv_sec) * 1000000000LL + now.tv_nsec - since.tv_nsec > 50000000LL) {
		sh->stuck = 1;
		kill(0, SIGKILL);	/* our process group: the whole sequence, this resolver included */
	}
}

static void on_pagefault(int fd, const struct uffd_msg *m)
{
	uint64_t a = m->arg.pagefault.address & ~(PAGE_SIZE - 1), fl = m->arg.pagefault.flags;
	int ok;

	if (fl & UFFD_PAGEFAULT_FLAG_MINOR) {
		struct uffdio_continue c = { .range = { a, PAGE_SIZE }, .mode = 0 };

		ev_put(EV_MINOR);
		ok = uffd_ioctl(fd, UFFDIO_CONTINUE, &c) == 0 || errno == EEXIST;
	} else if (fl & UFFD_PAGEFAULT_FLAG_WP) {
		struct uffdio_writeprotect w = { .range = { a, PAGE_SIZE }, .mode = 0 };	/* clear, and wake */

		ev_put(EV_WP);
		ok = uffd_ioctl(fd, UFFDIO_WRITEPROTECT, &w) == 0;
	} else {
		ev_put(EV_MISSING);
		ok = resolve_missing(fd, a) == 0;
	}
	if (!ok) {	/* let it fault again; see resolved() */
		struct uffdio_range r = { a, PAGE_SIZE };

		ev_put(EV_UNRESOLVED);
		uffd_ioctl(fd, UFFDIO_WAKE, &r);
	}
	resolved(ok);
}

static void on_message(int fd, const struct uffd_msg *m, struct pollfd *pf, int *n)
{
	int nfd;

	switch (m->event) {
	case UFFD_EVENT_PAGEFAULT:
		on_pagefault(fd, m);
		break;
	case UFFD_EVENT_FORK:	/* the fork waits until we read this; the child's uffd is ours to serve */
		ev_put(EV_FORK);
		nfd = (int)m->arg.fork.ufd;
		if (*n < 1 + MAX_WATCH) {
			fcntl(nfd, F_SETFL, fcntl(nfd, F_GETFL) | O_NONBLOCK);
			pf[(*n)++] = (struct pollfd){ nfd, POLLIN, 0 };
		}
		break;
	case UFFD_EVENT_REMAP:
		ev_put(EV_REMAP);
		break;
	case UFFD_EVENT_REMOVE:
		ev_put(EV_REMOVE);
		break;
	case UFFD_EVENT_UNMAP:
		ev_put(EV_UNMAP);
		break;
	default:
		ev_put(EV_OTHER);
		break;
	}
}

/* One request from a sequence process: 'u' + a uffd to watch, or 's' (sync); both answered 'k'. */
static int on_request(int sock, struct pollfd *pf, int *n)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	char tag = 0;
	struct iovec iov = { &tag, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *c;
	ssize_t r = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fd;

	if (r < 0)
		return errno == EAGAIN || errno == EINTR;
	if (r == 0)
		return 0;	/* every sequence process is gone */
	c = CMSG_FIRSTHDR(&mh);
	if (tag == 'u' && c && c->cmsg_type == SCM_RIGHTS && *n < 1 + MAX_WATCH) {
		memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		pf[(*n)++] = (struct pollfd){ fd, POLLIN, 0 };
	}
	return send(sock, "k", 1, MSG_NOSIGNAL) == 1;
}

static __attribute__((noreturn)) void resolver_loop(int sock)
{
	struct pollfd pf[1 + MAX_WATCH];
	struct uffd_msg m;
	int n = 1, i;

	pf[0] = (struct pollfd){ sock, POLLIN, 0 };
	for (;;) {
		if (poll(pf, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		for (i = 1; i < n; i++) {
			if (pf[i].revents & POLLIN)
				while (read(pf[i].fd, &m, sizeof(m)) == (ssize_t)sizeof(m))
					on_message(pf[i].fd, &m, pf, &n);
			else if (pf[i].revents & (POLLERR | POLLHUP | POLLNVAL))
				pf[i].fd = -1;	/* stop polling it */
			pf[i].revents = 0;
		}
		if (pf[0].revents && !on_request(sock, pf, &n))
			_exit(0);
	}
}

static int resolver_start(void)
{
	pid_t parent = getpid();
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	rpid = fork();
	if (rpid < 0)
		return -1;
	if (rpid == 0) {
		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent)
			_exit(0);
		resolver_loop(sv[1]);
	}
	close(sv[1]);
	rsock = sv[0];
	return 0;
}

static int request(char tag, int fd)
{
	union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
	struct iovec iov = { &tag, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t r;
	char k = 0;

	memset(&u, 0, sizeof(u));
	if (fd >= 0) {
		mh.msg_control = u.b;
		mh.msg_controllen = sizeof(u.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	}
	while ((r = sendmsg(rsock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	if (r != 1)
		return -1;
	while ((r = recv(rsock, &k, 1, 0)) < 0 && errno == EINTR)
		;
	return r == 1 && k == 'k' ? 0 : -1;
}

static void resolver_sync(void)
{
	if (request('s', -1) != 0)
		leave(EXIT_RESOLVER);
}

static void resolver_stop(void)
{
	if (rpid <= 0)
		return;
	kill(rpid, SIGKILL);
	while (waitpid(rpid, NULL, 0) < 0 && errno == EINTR)
		;
	rpid = 0;
}

/*
 * userfaultfd() + UFFDIO_API (harness-c/uffd.c:exec_uffd_create); the result is the handle, the
 * index of this call among the sequence's uffd_create calls, or -1 with the errno of whichever
 * step failed.
 */
static int uffd_defer, uffd_pending = -1;

static void uffd_create(int i, int handle, uint64_t features)
{
	struct uffdio_api api = { .api = UFFD_API, .features = features, .ioctls = 0 };
	int fd, e;

${begin}	errno = 0;
	fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | uffd_mode);
	if (fd >= 0 && syscall(SYS_ioctl, fd, UFFDIO_API, &api) != 0) {
		e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	if (fd < 0) {
		end(i, (uint64_t)-1, errno, 0);
		return;
	}
	uffd_fd[handle] = fd;
	/* with failNth the resolver takes it after fail-nth is read back (uffd_handoff), as the
	 * harness does: the count the two system calls left must not fire in our sendmsg */
	if (uffd_defer)
		uffd_pending = fd;
	else if (request('u', fd) != 0)
		leave(EXIT_RESOLVER);
	end(i, (uint64_t)handle, 0, 0);
}

static void __attribute__((unused)) uffd_handoff(void)
{
	int fd = uffd_pending;

	uffd_defer = 0;
	uffd_pending = -1;
	if (fd >= 0 && request('u', fd) != 0)
		leave(EXIT_RESOLVER);
}

${ops.has('uffd_register') || ops.has('uffd_unregister') ? String.raw`
/*
 * A handle is a descriptor: after fork it still names the creating process's userfaultfd, and
 * UFFDIO_(UN)REGISTER act on that context's mm (fs/userfaultfd.c: ctx->mm).
 */` : ''}${ops.has('uffd_register') ? String.raw`
static void uffd_register(int i, int handle, uint64_t addr, uint64_t len, uint64_t mode)
{
	struct uffdio_register reg = { .range = { addr, len }, .mode = mode, .ioctls = 0 };
	long ret;

${begin}	errno = 0;
	ret = syscall(SYS_ioctl, uffd_fd[handle], UFFDIO_REGISTER, &reg);
	end(i, (uint64_t)ret, ret == -1 ? errno : 0, 0);
}
` : ''}${ops.has('uffd_unregister') ? String.raw`
static void uffd_unregister(int i, int handle, uint64_t addr, uint64_t len)
{
	struct uffdio_range range = { addr, len };
	long ret;

${begin}	errno = 0;
	ret = syscall(SYS_ioctl, uffd_fd[handle], UFFDIO_UNREGISTER, &range);
	end(i, (uint64_t)ret, ret == -1 ? errno : 0, 0);
}
` : ''}`;
}
