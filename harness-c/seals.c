// add_seals: fcntl(fd, F_ADD_SEALS, seals) on a declared file (memfd sealing, mm/memfd.c).
#include "harness.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef F_ADD_SEALS
#define F_ADD_SEALS 1033
#endif

void exec_add_seals(const struct op *o, struct res *r) {
    errno = 0;
    // the plain syscall: the kernel takes the seals as unsigned int (fs/fcntl.c:do_fcntl)
    long ret = syscall(SYS_fcntl, file_fd[o->v[0]], F_ADD_SEALS, (unsigned long)(uint32_t)o->v[1]);
    r->ret = (uint64_t)ret;
    r->err = ret == -1 ? errno : 0;
}
