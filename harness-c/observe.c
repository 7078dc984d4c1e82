// Snapshots of the arena: the /proc/self/maps lines overlapping it (read from smaps instead when the
// VmFlags layer is on: its VMA header lines are the maps lines, fs/proc/task_mmu.c:show_smap), and
// per arena page what /proc/self/pagemap says.
#include "harness.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

char big_buf[16 << 20] __attribute__((aligned(4096)));

// Open (again, after a fork: /proc/self named the parent) what the sequence's layers need.
void obs_open(void) {
    if (ps.maps_fd > 0) close(ps.maps_fd); // 0: not open yet (stdin is never ours to close)
    if (ps.pagemap_fd > 0) close(ps.pagemap_fd);
    ps.pagemap_fd = -1;
    ps.maps_fd = open((seq_opts & OPT_VMFLAGS) ? "/proc/self/smaps" : "/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (ps.maps_fd < 0) leave(EXIT_MAPS);
    if (seq_opts & OPT_PAGEMAP) {
        ps.pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
        if (ps.pagemap_fd < 0) leave(EXIT_MAPS);
    }
}

static long read_maps(void) {
    if (lseek(ps.maps_fd, 0, SEEK_SET) != 0) leave(EXIT_MAPS);
    long n = read_fd_all(ps.maps_fd, big_buf, sizeof big_buf);
    if (n < 0) leave(EXIT_MAPS);
    return n;
}

// A VMA header line ("start-end perms ..."); smaps field lines start with an upper-case name.
static int vma_line(const char *l, uint64_t *s, uint64_t *t) {
    const char *p = parse_hex(l, s);
    return p && *p == '-' && parse_hex(p + 1, t);
}

int count_maps(void) {
    long n = read_maps();
    int count = 0;
    for (const char *l = big_buf; l < big_buf + n;) {
        const char *nl = memchr(l, '\n', (size_t)(big_buf + n - l));
        uint64_t s, t;
        if (vma_line(l, &s, &t) && s < 0xffffffffff600000ULL) count++; // [vsyscall] is not a VMA of the mm
        l = nl ? nl + 1 : big_buf + n;
    }
    return count;
}

struct vline { const char *line; size_t len; const char *flags; size_t flen; };
static struct vline vl[MAX_ARENA_PAGES + 1];
static uint64_t pm[MAX_ARENA_PAGES];

static void pagemap_line(void) {
    size_t want = arena_pages * sizeof pm[0];
    ssize_t got = pread(ps.pagemap_fd, pm, want, (off_t)(base / PAGE * sizeof pm[0]));
    if (got != (ssize_t)want) leave(EXIT_MAPS);
    ob_str(&ps.rb, "g ");
    for (uint64_t i = 0; i < arena_pages; i++) {
        uint64_t e = pm[i];
        // fs/proc/task_mmu.c: PM_PRESENT 63, PM_SWAP 62 (any non-present entry), PM_GUARD_REGION 58
        char c = e >> 63 & 1 ? 'P' : e >> 58 & 1 ? 'G' : e >> 62 & 1 ? 'S' : '-';
        ob_chr(&ps.rb, c);
    }
    ob_chr(&ps.rb, '\n');
}

static void m_line(long after, size_t count) {
    ob_str(&ps.rb, "m ");
    if (after < 0) ob_str(&ps.rb, "-1"); else ob_hex(&ps.rb, (uint64_t)after);
    ob_chr(&ps.rb, ' '); ob_hex(&ps.rb, count);
    if (seq_forks) { ob_str(&ps.rb, " p="); ob_hex(&ps.rb, (uint64_t)ps.proc_no); }
    ob_chr(&ps.rb, '\n');
}

// maps: the lines overlapping the arena are contiguous (sorted by address); one copy.
static void maps_lines(long after, long n, uint64_t lo, uint64_t hi) {
    const char *first = 0, *last = 0;
    size_t count = 0;
    for (const char *l = big_buf; l < big_buf + n;) {
        const char *nl = memchr(l, '\n', (size_t)(big_buf + n - l));
        const char *e = nl ? nl + 1 : big_buf + n;
        uint64_t s, t;
        if (vma_line(l, &s, &t) && s < hi && t > lo) {
            if (!first) first = l;
            last = e; count++;
        }
        l = e;
    }
    m_line(after, count);
    if (count) ob_mem(&ps.rb, first, (size_t)(last - first));
}

// smaps: each arena VMA's header line (= its maps line) and the "VmFlags:" line of its block.
static void smaps_lines(long after, long n, uint64_t lo, uint64_t hi) {
    size_t count = 0;
    struct vline *cur = 0;
    for (const char *l = big_buf; l < big_buf + n;) {
        const char *nl = memchr(l, '\n', (size_t)(big_buf + n - l));
        const char *e = nl ? nl + 1 : big_buf + n;
        uint64_t s, t;
        if (vma_line(l, &s, &t)) {
            cur = 0;
            if (s < hi && t > lo && count < sizeof vl / sizeof vl[0]) {
                cur = &vl[count++];
                *cur = (struct vline){ l, (size_t)(e - l), 0, 0 };
            }
        } else if (cur && !strncmp(l, "VmFlags:", 8)) {
            const char *f = l + 8, *end = nl ? nl : e;
            while (f < end && *f == ' ') f++;
            while (end > f && end[-1] == ' ') end--;
            cur->flags = f; cur->flen = (size_t)(end - f);
        }
        l = e;
    }
    m_line(after, count);
    for (size_t i = 0; i < count; i++) ob_mem(&ps.rb, vl[i].line, vl[i].len);
    for (size_t i = 0; i < count; i++) {
        ob_str(&ps.rb, "v ");
        ob_mem(&ps.rb, vl[i].flags ? vl[i].flags : "", vl[i].flen);
        ob_chr(&ps.rb, '\n');
    }
}

// Append "m <after> <n> [p=<proc>]", the n maps lines overlapping [base, base + arena), then the
// layers: one "v <VmFlags>" line per VMA (same order), and "g <pagemap>".
void snapshot(long after) {
    long n = read_maps();
    uint64_t lo = base, hi = base + arena_pages * PAGE;
    if (seq_opts & OPT_VMFLAGS) smaps_lines(after, n, lo, hi); else maps_lines(after, n, lo, hi);
    if (ps.pagemap_fd >= 0) pagemap_line();
    rb_commit();
}
