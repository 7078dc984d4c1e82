// Corpus format of SysV shared memory (ipc/shm.c): segments the harness creates privately
// (shmget(IPC_PRIVATE), removed with IPC_RMID when the sequence ends; the corpus names a segment by
// its index, never a key or id of someone else's), and the shmat/shmdt calls on them.

import { z } from 'zod';
import { PAGE_SIZE } from './consts.js';
import { addrField, nonNullAddrField } from './addr-fields.js';
import { addrBytes, parseFlags, parseLen } from './values.js';

export const MAX_SHM = 4;
/** include/uapi/linux/shm.h shmat flags */
export const SHM = { SHM_RDONLY: 0o10000, SHM_RND: 0o20000, SHM_REMAP: 0o40000, SHM_EXEC: 0o100000 } as const;

const addrOrNull = addrField;
const nonNullAddr = nonNullAddrField('NULL is not an address shmdt can take here');

export const shmSegSchema = z.strictObject({
  size: z.string().transform((s, ctx): bigint => {
    const r = parseLen(s);
    if (typeof r === 'string' || r < 1n || r > 4096n * BigInt(PAGE_SIZE)) {
      ctx.addIssue({ code: 'custom', message: typeof r === 'string' ? r : 'segment size must be 1 byte to 4096 pages' });
      return z.NEVER;
    }
    return r;
  }).describe('shmget size in bytes (the segment is size bytes; attaches map it rounded up to pages)'),
});
export type ShmSeg = z.output<typeof shmSegSchema>;

export const shmatCall = z.strictObject({
  op: z.literal('shmat'),
  shm: z.number().int().min(0).max(MAX_SHM - 1).describe('index into "shm"'),
  addr: addrOrNull.describe('"NULL" (the kernel places it) or an arena address'),
  flags: z.string().transform((s, ctx): number => {
    const r = parseFlags(s, SHM);
    if (typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r });
      return z.NEVER;
    }
    return r;
  }),
});
export const shmdtCall = z.strictObject({ op: z.literal('shmdt'), addr: nonNullAddr });

type ShmCall = z.output<typeof shmatCall> | z.output<typeof shmdtCall>;

/** Why a shmat/shmdt could reach outside the arena (null when it cannot). shmat maps the whole
 *  segment at addr (SHM_RND rounds down to SHMLBA = PAGE_SIZE on x86-64, ipc/shm.c:do_shmat). */
export function shmArenaProblem(c: ShmCall, arenaPages: number, segs: readonly ShmSeg[] | undefined): string | null {
  const arenaBytes = BigInt(arenaPages) * BigInt(PAGE_SIZE);
  if (c.op === 'shmdt') return c.addr.page < arenaPages ? null : `shmdt address outside the ${arenaPages}-page arena`;
  const seg = segs?.[c.shm];
  if (!seg) return `shm segment ${c.shm} is not declared (the sequence declares ${segs?.length ?? 0})`;
  const len = ((seg.size + BigInt(PAGE_SIZE) - 1n) / BigInt(PAGE_SIZE)) * BigInt(PAGE_SIZE);
  if (c.addr === null) return len <= arenaBytes ? null : `segment ${c.shm} is larger than the arena`;
  const start = addrBytes(c.addr) - (c.flags & SHM.SHM_RND ? addrBytes(c.addr) % BigInt(PAGE_SIZE) : 0n);
  return start + len <= arenaBytes ? null : `shmat of segment ${c.shm} at A+${c.addr.page}p ends outside the ${arenaPages}-page arena`;
}
