/* ------------------------------------------------------------------ SysV segments */

/*
 * The sequence's segments (harness-c/sysv.c): created in this process before the sequence's
 * process starts, with shmget(IPC_PRIVATE) and the harness's mode 0601, and removed (IPC_RMID)
 * once it has ended. shmat names a segment by its index in shm_size[].
 */
static int shm_id[NR_SHM];

static void shm_remove(void)
{
	int i;

	for (i = 0; i < NR_SHM; i++)
		if (shm_id[i] > 0)
			syscall(SYS_shmctl, shm_id[i] - 1, IPC_RMID, 0);
}

static int shm_create(void)
{
	int i, id;

	for (i = 0; i < NR_SHM; i++) {
		id = (int)syscall(SYS_shmget, IPC_PRIVATE, shm_size[i], IPC_CREAT | IPC_EXCL | 0601);
		if (id < 0) {
			shm_remove();
			return -1;
		}
		shm_id[i] = id + 1;	/* 0: not created */
	}
	return 0;
}

/* shmat(segment, addr, flags) as a raw syscall (harness-c/sysv.c:exec_shmat) */
#define SHMID(i) ((uint64_t)(shm_id[i] - 1))
