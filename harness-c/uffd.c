// userfaultfd: the uffd_* ops and the resolver process that keeps a touch on a registered page from
// hanging. The resolver is forked at the start of every sequence that creates a userfaultfd, before
// the arena exists; each new uffd reaches it over a socketpair (SCM_RIGHTS). For every message it
// records the event in the shared ring first and then resolves the fault, so the faulting call
// finds its events there when it returns.
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_WATCH 64 // uffds the resolver polls: created ones plus those UFFD_EVENT_FORK hands over

int uffd_fd[MAX_UFFDS];
static int handoff = -1; // a failNth uffd_create's descriptor the resolver has yet to take
int uffd_mode_flags;
static int rsock = -1;
static pid_t rpid;

enum { EV_MISSING = 1, EV_WP, EV_MINOR, EV_FORK, EV_REMAP, EV_REMOVE, EV_UNMAP, EV_UNRESOLVED, EV_OTHER };
static const char *const EV_NAME[] = { "?", "missing", "wp", "minor", "fork", "remap", "remove", "unmap", "unresolved", "other" };

// ",name" for each event in [from, to) of the ring, as " name,name,..." after the `r` fields.
void append_events(struct obuf *b, uint32_t from, uint32_t to) {
    if (to - from > EV_RING) from = to - EV_RING;
    for (uint32_t i = from; i != to; i++) {
        unsigned c = EV_RING_PTR[i % EV_RING];
        ob_chr(b, i == from ? ' ' : ',');
        ob_str(b, EV_NAME[c <= EV_OTHER ? c : 0]);
    }
}

static void ev_put(int code) {
    uint32_t n = res->nev;
    EV_RING_PTR[n % EV_RING] = (uint8_t)code;
    __atomic_store_n(&res->nev, n + 1, __ATOMIC_RELEASE);
}

// ---------------------------------------------------------------- the resolver process

static char zero_pages[PMD_SIZE] __attribute__((aligned(4096))); // source of UFFDIO_COPY

static int uffd_ioctl(int fd, unsigned long req, void *arg) {
    int r;
    while ((r = ioctl(fd, req, arg)) < 0 && errno == EINTR) {}
    return r;
}

// Missing page: the zero page (shmem gets a zeroed page; for private VMAs the kernel prepares an
// anon_vma, mm/userfaultfd.c), else a copy of zeroes (4 KiB, then a 2 MiB hugetlb page).
static int resolve_missing(int fd, uint64_t a) {
    struct uffdio_zeropage z = { .range = { a, PAGE }, .mode = 0 };
    if (uffd_ioctl(fd, UFFDIO_ZEROPAGE, &z) == 0 || errno == EEXIST) return 0;
    struct uffdio_copy c = { .dst = a, .src = (uint64_t)zero_pages, .len = PAGE, .mode = 0 };
    if (uffd_ioctl(fd, UFFDIO_COPY, &c) == 0 || errno == EEXIST) return 0;
    c = (struct uffdio_copy){ .dst = a & ~(PMD_SIZE - 1), .src = (uint64_t)zero_pages, .len = PMD_SIZE, .mode = 0 };
    return uffd_ioctl(fd, UFFDIO_COPY, &c) == 0 || errno == EEXIST ? 0 : -1;
}

// A fault that keeps failing to resolve (UFFDIO_* -EAGAIN while the faulting call itself holds
// ctx->mmap_changing, e.g. mremap populating a grown VM_LOCKED range before it posts
// UFFD_EVENT_REMAP) would retry until the deadline: after 50 ms of failures without any success
// the resolver kills the sequence's process group and says why.
static uint64_t failing_since;
static void resolved(int ok) {
    if (ok) { failing_since = 0; return; }
    uint64_t t = now_ns();
    if (!failing_since) failing_since = t;
    else if (t - failing_since > 50000000ULL) {
        res->stuck = 1;
        kill(0, SIGKILL); // our process group: the whole sequence, this resolver included
    }
}

static void on_message(int fd, const struct uffd_msg *m, struct pollfd *pf, int *n) {
    switch (m->event) {
    case UFFD_EVENT_PAGEFAULT: {
        uint64_t a = m->arg.pagefault.address & ~(PAGE - 1), fl = m->arg.pagefault.flags;
        int ok;
        if (fl & UFFD_PAGEFAULT_FLAG_MINOR) {
            ev_put(EV_MINOR);
            struct uffdio_continue c = { .range = { a, PAGE }, .mode = 0 };
            ok = uffd_ioctl(fd, UFFDIO_CONTINUE, &c) == 0 || errno == EEXIST;
        } else if (fl & UFFD_PAGEFAULT_FLAG_WP) {
            ev_put(EV_WP);
            struct uffdio_writeprotect w = { .range = { a, PAGE }, .mode = 0 }; // clear, and wake
            ok = uffd_ioctl(fd, UFFDIO_WRITEPROTECT, &w) == 0;
        } else {
            ev_put(EV_MISSING);
            ok = resolve_missing(fd, a) == 0;
        }
        if (!ok) { // let it retry (it faults again); see resolved()
            ev_put(EV_UNRESOLVED);
            struct uffdio_range r = { a, PAGE };
            uffd_ioctl(fd, UFFDIO_WAKE, &r);
        }
        resolved(ok);
        break;
    }
    case UFFD_EVENT_FORK: // the fork waits until we read this; the child's uffd is ours to serve
        ev_put(EV_FORK);
        if (*n < 1 + MAX_WATCH) {
            int nfd = (int)m->arg.fork.ufd;
            fcntl(nfd, F_SETFL, fcntl(nfd, F_GETFL) | O_NONBLOCK);
            pf[(*n)++] = (struct pollfd){ nfd, POLLIN, 0 };
        }
        break;
    case UFFD_EVENT_REMAP: ev_put(EV_REMAP); break;
    case UFFD_EVENT_REMOVE: ev_put(EV_REMOVE); break;
    case UFFD_EVENT_UNMAP: ev_put(EV_UNMAP); break;
    default: ev_put(EV_OTHER); break;
    }
}

// One request from a sequence process: 'u' + a uffd to watch, 's' (sync), or 'c' (clear: a
// reusable child's reset, persist.c: close every uffd watched, forget the failures); all answered 'k'.
static int on_request(int sock, struct pollfd *pf, int *n) {
    char tag = 0;
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
    struct iovec iov = { &tag, 1 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b, .msg_controllen = sizeof u.b };
    ssize_t r = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (r < 0) return errno == EAGAIN || errno == EINTR;
    if (r == 0) return 0; // every sequence process is gone
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    if (tag == 'u' && c && c->cmsg_type == SCM_RIGHTS && *n < 1 + MAX_WATCH) {
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        pf[(*n)++] = (struct pollfd){ fd, POLLIN, 0 };
    }
    if (tag == 'c') {
        for (int i = 1; i < *n; i++) if (pf[i].fd >= 0) close(pf[i].fd);
        *n = 1;
        failing_since = 0;
    }
    return send(sock, "k", 1, MSG_NOSIGNAL) == 1;
}

static __attribute__((noreturn)) void resolver_loop(int sock) {
    struct pollfd pf[1 + MAX_WATCH];
    int n = 1;
    pf[0] = (struct pollfd){ sock, POLLIN, 0 };
    for (;;) {
        if (poll(pf, (nfds_t)n, -1) < 0) { if (errno == EINTR) continue; _exit(1); }
        for (int i = 1; i < n; i++) {
            if (pf[i].revents & POLLIN) {
                struct uffd_msg m;
                while (read(pf[i].fd, &m, sizeof m) == (ssize_t)sizeof m) on_message(pf[i].fd, &m, pf, &n);
            } else if (pf[i].revents & (POLLERR | POLLHUP | POLLNVAL)) pf[i].fd = -1; // stop polling it
            pf[i].revents = 0;
        }
        if (pf[0].revents && !on_request(sock, pf, &n)) _exit(0);
    }
}

int resolver_start(void) {
    if (rpid > 0 && rsock >= 0) return 0; // a reusable child's, kept and cleared (uffd_reset)
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(sv[0]);
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (getppid() != parent) _exit(0);
        resolver_loop(sv[1]);
    }
    close(sv[1]);
    rsock = sv[0];
    rpid = pid;
    return 0;
}

// A resolver serves the running sequence (a reusable child keeps its resolver between sequences).
int resolver_active(void) { return rsock >= 0 && seq_uffds; }

static int request(char tag, int fd) {
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = { &tag, 1 };
    struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        mh.msg_control = u.b;
        mh.msg_controllen = sizeof u.b;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    ssize_t r;
    while ((r = sendmsg(rsock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR) {}
    if (r != 1) return -1;
    char k = 0;
    while ((r = recv(rsock, &k, 1, 0)) < 0 && errno == EINTR) {}
    return r == 1 && k == 'k' ? 0 : -1;
}

void resolver_sync(void) {
    int e = errno;
    if (request('s', -1) != 0) leave(EXIT_RESOLVER);
    errno = e;
}

void resolver_stop(void) {
    if (rpid <= 0) return;
    kill(rpid, SIGKILL);
    while (waitpid(rpid, 0, 0) < 0 && errno == EINTR) {}
    rpid = 0;
}

// ---------------------------------------------------------------- ops

// uffd_create <features>: userfaultfd() + UFFDIO_API; returns the handle (its index among the
// sequence's uffd_create calls) or -1 with the errno of whichever step failed.
void exec_uffd_create(const struct op *o, struct res *r) {
    errno = 0;
    int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | uffd_mode_flags);
    if (fd >= 0) {
        struct uffdio_api api = { .api = UFFD_API, .features = o->v[0], .ioctls = 0 };
        if (syscall(SYS_ioctl, fd, UFFDIO_API, &api) != 0) { int e = errno; close(fd); fd = -1; errno = e; }
    }
    if (fd < 0) { r->ret = (uint64_t)-1; r->err = errno; return; }
    uffd_fd[o->v[1]] = fd;
    r->ret = o->v[1]; r->err = 0;
    // With failNth the hand-over waits until fail-nth is read back and disarmed (child.c calls
    // uffd_handoff): the count left over by the two system calls must not fire in our sendmsg.
    if (o->fail_nth) handoff = fd;
    else if (request('u', fd) != 0) leave(EXIT_RESOLVER);
}

// The resolver takes the descriptor a failNth uffd_create made (see exec_uffd_create).
void uffd_handoff(void) {
    if (handoff < 0) return;
    int fd = handoff;
    handoff = -1;
    if (request('u', fd) != 0) leave(EXIT_RESOLVER);
}

static void uffd_result(long ret, struct res *r) {
    r->ret = (uint64_t)ret;
    r->err = ret == -1 ? errno : 0;
}

// A handle is a descriptor: after fork it still names the userfaultfd of the process that created
// it, and UFFDIO_(UN)REGISTER act on that context's mm (fs/userfaultfd.c: ctx->mm).
void exec_uffd_register(const struct op *o, struct res *r) {
    struct uffdio_register reg = { .range = { o->v[1], o->v[2] }, .mode = o->v[3], .ioctls = 0 };
    errno = 0;
    uffd_result(syscall(SYS_ioctl, uffd_fd[o->v[0]], UFFDIO_REGISTER, &reg), r);
}

void exec_uffd_unregister(const struct op *o, struct res *r) {
    struct uffdio_range range = { o->v[1], o->v[2] };
    errno = 0;
    uffd_result(syscall(SYS_ioctl, uffd_fd[o->v[0]], UFFDIO_UNREGISTER, &range), r);
}

// A reusable child (persist.c) after a sequence with userfaultfds: the resolver closes its copies
// of the descriptors (and is kept for the next such sequence), then we close ours: no context is
// left. If it does not answer, it is killed and reaped, and the next sequence forks a new one.
void uffd_reset(void) {
    if (rpid > 0 && request('c', -1) != 0) {
        resolver_stop();
        if (rsock >= 0) close(rsock);
        rsock = -1;
    }
    // The kept socket moves out of the way: descriptors are numbered as in a fresh child (the
    // reset checks the lowest free one; numbers are never visible to a sequence anyway).
    int h = rsock >= 0 ? fcntl(rsock, F_DUPFD_CLOEXEC, 900) : -1;
    if (h >= 0) { close(rsock); rsock = h; }
    for (int i = 0; i < MAX_UFFDS; i++)
        if (uffd_fd[i] > 0) { close(uffd_fd[i]); uffd_fd[i] = -1; }
}
