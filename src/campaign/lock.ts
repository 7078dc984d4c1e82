// One process at a time in a campaign directory: two writers would both run the same cases,
// double every finding count and tear stats.ndjson lines. The lock is a file created with O_EXCL
// holding who took it (written to a temporary file first and hard-linked into place, so the lock
// never exists without its content); a lock whose process is gone (same host: no such pid, a zombie, or a pid
// reused by a process that started later) is stale and taken over. A lock from another host
// cannot be checked, so it is refused with the host named; remove the file by hand if that
// machine is gone.

import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { UsageError } from '../util/errors.js';

export const LOCK_FILE = 'lock';

const lockSchema = z.strictObject({ vmafuzz: z.literal(1), pid: z.number().int(), host: z.string(), started: z.string(), startTicks: z.number().nullable(), command: z.string() });
type LockInfo = z.infer<typeof lockSchema>;

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot) and the state letter; null: no such process. */
function procStat(pid: number): { state: string; startTicks: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields 3.. (comm may hold spaces)
    return { state: rest[0]!, startTicks: Number(rest[19]) };
  } catch {
    return null;
  }
}

function alive(l: LockInfo): boolean {
  try {
    process.kill(l.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const st = procStat(l.pid);
  if (!st) return process.platform !== 'linux'; // no /proc: trust kill(0)
  if (st.state === 'Z' || st.state === 'X') return false;
  return l.startTicks === null || st.startTicks === l.startTicks;
}

export interface CampaignLock {
  release(): void;
}

/** Take DIR/lock or refuse (exit 2) naming the process that holds it. */
export function lockCampaign(dir: string, command = process.argv.slice(2).join(' ')): CampaignLock {
  const file = join(dir, LOCK_FILE);
  const me: LockInfo = { vmafuzz: 1, pid: process.pid, host: hostname(), started: new Date().toISOString(), startTicks: procStat(process.pid)?.startTicks ?? null, command };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(me) + '\n');
  for (let attempt = 0; ; attempt++) {
    try {
      linkSync(tmp, file); // fails with EEXIST when held
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) {
        unlinkSync(tmp);
        throw e;
      }
      let held: LockInfo | null = null;
      try {
        held = lockSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
      } catch {
        held = null; // unreadable (not written by this version): treated as stale
      }
      if (held && (held.host !== me.host || alive(held))) {
        const where = held.host === me.host ? `pid ${held.pid}` : `pid ${held.pid} on host ${held.host} (cannot check from here; delete ${file} if that process is gone)`;
        unlinkSync(tmp);
        throw new UsageError(`${dir} is in use by another vmafuzz: ${where}, started ${held.started} (vmafuzz ${held.command}); wait for it to end or stop it`);
      }
      // Stale: its process is gone. Two takers may both judge it stale; removing it by name could
      // remove the lock the other one has just taken over. Rename it aside (atomic, one winner),
      // check that what was moved is still a dead process's lock, and put back a live one.
      const aside = `${file}.stale.${process.pid}`;
      try {
        renameSync(file, aside);
      } catch {
        continue; // another process moved it first; retry
      }
      let moved: LockInfo | null = null;
      try {
        moved = lockSchema.parse(JSON.parse(readFileSync(aside, 'utf8')));
      } catch {
        moved = null;
      }
      if (moved && (moved.host !== me.host || alive(moved))) {
        try {
          linkSync(aside, file); // a fresh lock of another taker: restore it (the retry then refuses)
        } catch {
          /* someone holds the name again; the retry sees who */
        }
      }
      unlinkSync(aside);
      continue;
    }
    unlinkSync(tmp);
    return {
      release() {
        try {
          const l = lockSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
          if (l.pid === me.pid && l.host === me.host) unlinkSync(file);
        } catch {
          /* already gone */
        }
      },
    };
  }
}
