// `harness --limits <n>`: the physical limits of this machine for the harness's way of working,
// for `npm run bench` (src/bench/limits.ts): the cost of a bare fork (fork, _exit, waitpid) and of
// one /proc/self/maps read, each timed over n rounds in this process. Output: one line,
// "limits fork_ns=<dec> fork_cpu_ns=<dec> maps_ns=<dec> maps_cpu_ns=<dec> maps_bytes=<dec>":
// wall time and CPU time (this process and its reaped children) per operation. On a shared
// machine the CPU time is the steadier figure: it leaves out the time others had the CPU.
#include "harness.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void ob_dec(struct obuf *b, uint64_t v) {
    char t[21]; int i = 20;
    do { t[--i] = (char)('0' + v % 10); v /= 10; } while (v);
    ob_mem(b, t + i, (size_t)(20 - i));
}

static uint64_t cpu_ns(void) {
    struct rusage s, c;
    getrusage(RUSAGE_SELF, &s);
    getrusage(RUSAGE_CHILDREN, &c);
    uint64_t us = (uint64_t)(s.ru_utime.tv_sec + s.ru_stime.tv_sec + c.ru_utime.tv_sec + c.ru_stime.tv_sec) * 1000000ULL +
                  (uint64_t)(s.ru_utime.tv_usec + s.ru_stime.tv_usec + c.ru_utime.tv_usec + c.ru_stime.tv_usec);
    return us * 1000;
}

int limits_main(uint64_t n) {
    if (!n) n = 1;
    uint64_t c0 = cpu_ns(), t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        if (pid < 0) return 1;
        while (waitpid(pid, 0, 0) < 0) {}
    }
    uint64_t fork_ns = (now_ns() - t0) / n, fork_cpu = (cpu_ns() - c0) / n;
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    long bytes = 0;
    c0 = cpu_ns(); t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        if (lseek(fd, 0, SEEK_SET) != 0) return 1;
        bytes = read_fd_all(fd, big_buf, sizeof big_buf);
        if (bytes < 0) return 1;
    }
    uint64_t maps_ns = (now_ns() - t0) / n, maps_cpu = (cpu_ns() - c0) / n;
    close(fd);
    ob_str(&out, "limits fork_ns="); ob_dec(&out, fork_ns);
    ob_str(&out, " fork_cpu_ns="); ob_dec(&out, fork_cpu);
    ob_str(&out, " maps_ns="); ob_dec(&out, maps_ns);
    ob_str(&out, " maps_cpu_ns="); ob_dec(&out, maps_cpu);
    ob_str(&out, " maps_bytes="); ob_dec(&out, (uint64_t)bytes);
    ob_chr(&out, '\n');
    out_flush();
    return 0;
}
