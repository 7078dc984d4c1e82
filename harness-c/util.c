// Output buffers without stdio, hex parsing and whole-file reads: nothing here allocates, so the
// harness never maps memory behind the sequence's back.
#include "harness.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) _exit(3); // the reader is gone: nothing left to report to
        p += w; n -= (size_t)w;
    }
}

int in_fd = 0, out_fd = 1;
static char out_mem[256 << 10];
struct obuf out = { out_mem, 0, sizeof out_mem, 0 };
uint64_t last_flush_ns;

uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); // vDSO: no syscall
    return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}
void out_flush(void) {
    if (out.len) write_all(out_fd, out.p, out.len);
    out.len = 0;
    last_flush_ns = now_ns();
}
void out_need(size_t n) { if (out.len + n > out.cap) out_flush(); }

// Read a whole file (maps, a sysctl) into buf; returns its length or -1 when it does not fit.
long read_fd_all(int fd, char *buf, size_t cap) {
    size_t n = 0;
    for (;;) {
        if (n == cap) return -1;
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return (long)n;
        n += (size_t)r;
    }
}
