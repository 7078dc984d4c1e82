// Private directories (`vmafuzz-<pid>-...`, for `file tmpfs` and the disk kinds) shared safely
// between harnesses. A starting harness removes the directories of harnesses that are gone, but a
// pid only says so within one PID namespace: a harness in a Docker container sees the bind-mounted
// /run/vmafuzz-fs/<kind> of the host, where no host pid exists for it, and used to remove the
// private directory of every native harness running at the same time (their sequences with disk
// files then ended `error file-setup-failed`). So the owner holds an flock on its directory for its
// whole life (the kernel drops it when the last process holding the descriptor is gone, also after
// SIGKILL), and a directory is removed only by whoever can take that lock.
#include "harness.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static char made[8][256]; // the directories made, to tell later whether one has gone
static int nmade;

// mkdtemp(tmpl) and lock the result; 1 = made, its name in tmpl. The descriptor stays open (it
// holds the lock) until the harness exits. A sweeper that took the lock between our mkdtemp and our
// flock has removed the directory (st_nlink 0 on our descriptor): make another.
int private_dir(char *tmpl) {
    char t[256];
    size_t n = strlen(tmpl);
    if (n >= sizeof t) return 0;
    for (int tries = 0; tries < 8; tries++) {
        memcpy(t, tmpl, n + 1);
        if (!mkdtemp(t)) return 0;
        int fd = open(t, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) { rmdir(t); continue; }
        struct stat st;
        if (flock(fd, LOCK_EX) == 0 && fstat(fd, &st) == 0 && st.st_nlink > 0) {
            memcpy(tmpl, t, n + 1);
            if (nmade < 8) memcpy(made[nmade++], t, n + 1);
            return 1;
        }
        // no lock (a filesystem without flock) or already swept away: leave nothing behind
        if (fstat(fd, &st) == 0 && st.st_nlink > 0) rmdir(t);
        close(fd);
    }
    return 0;
}

// Remove a directory of a harness that looks gone, unless a live harness (in any PID namespace)
// still holds its lock; 1 = removed.
int remove_unlocked_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return 0;
    int unlocked = flock(fd, LOCK_EX | LOCK_NB) == 0;
    if (unlocked) remove_dir(path);
    close(fd);
    return unlocked;
}

// 1 when one of our private directories no longer exists (someone removed it: file setup in it can
// only fail from then on, and the reason is the environment, not the sequence).
int private_dir_gone(void) {
    struct stat st;
    for (int i = 0; i < nmade; i++) if (stat(made[i], &st) != 0) return 1;
    return 0;
}
