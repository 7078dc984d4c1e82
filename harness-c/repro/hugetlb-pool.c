/* ------------------------------------------------------------------ the hugetlb pool */

/*
 * MAP_HUGETLB needs free 2 MiB pages. The harness raises vm.nr_hugepages to 32 as root
 * (harness-c/sysv.c:hugetlb_pool_setup); this does the same, and cannot test (125) when fewer than
 * HUGETLB_NEED pages are free afterwards: the model expects every reservation to succeed.
 */
static long read_long(const char *path)
{
	char b[32];
	long v = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, b, sizeof(b) - 1);

	if (fd >= 0)
		close(fd);
	if (n > 0) {
		b[n] = 0;
		v = strtol(b, NULL, 10);
	}
	return v;
}

static int hugetlb_pool(void)
{
	static const char nr[] = "/proc/sys/vm/nr_hugepages";
	static const char free_[] = "/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages";
	int fd;

	if (read_long(free_) < HUGETLB_NEED && read_long(nr) < 32 && geteuid() == 0) {
		fd = open(nr, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "32\n", 3) != 3)
				fprintf(stderr, "cannot raise vm.nr_hugepages\n");
			close(fd);
		}
	}
	if (read_long(free_) >= HUGETLB_NEED)
		return 0;
	fprintf(stderr, "fewer than %d free 2 MiB huge pages (vm.nr_hugepages)\n", HUGETLB_NEED);
	errno = ENOMEM;
	return -1;
}
