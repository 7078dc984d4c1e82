// hugetlb and SysV shm through NativeRunner (encoding, harness, decoding) on the host kernel, with
// the VmFlags and pagemap layers on. hugetlb assertions need free 2 MiB pages: the harness raises
// vm.nr_hugepages as root and reports `hugepages_free`; where that fact says there is no pool the
// hugetlb test is skipped, and says so.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NativeRunner } from '../src/runner/native.js';
import type { TargetInfo } from '../src/runner/types.js';
import { parseSequence } from '../src/seq/io.js';
import type { SeqObservation, Snapshot } from '../src/seq/observation.js';

let runner: NativeRunner;
let info: TargetInfo;
beforeAll(async () => {
  runner = new NativeRunner();
  info = await runner.start();
}, 120_000);
afterAll(() => runner.close());

const EINVAL = 22;
const RW = 'PROT_READ|PROT_WRITE';

async function run(calls: unknown[], extra: Record<string, unknown> = {}): Promise<SeqObservation> {
  const seq = parseSequence({ vmafuzz: 1, arenaPages: 16, ...extra, calls }, 'test');
  const [o] = await runner.run([seq], { snapshotEveryCall: true, deadlineMs: 3000, layers: { vmflags: true, pagemap: true } });
  return o!;
}
const after = (o: SeqObservation, i: number) => o.snapshots.find((s) => s.after === i)!;
const vmas = (s: Snapshot) => s.maps.map((e) => `${e.start}-${e.end} ${e.perms} ${e.offset.toString(16)}${e.name ? ' ' + e.name : ''}`);
const res = (o: SeqObservation) => o.calls.map((c) => [c.ret.kind === 'int' ? c.ret.value : c.ret, c.errno]);

/** Whether SysV segment `shmid` exists (/proc/sysvipc/shm, second column). Other harnesses (other
 *  test files run at the same time) create and remove segments of their own: only this id counts. */
function segmentExists(shmid: number): boolean {
  return readFileSync('/proc/sysvipc/shm', 'utf8').split('\n').slice(1).some((l) => l.trim().split(/\s+/)[1] === String(shmid));
}

describe('hello facts', () => {
  it('reports sysv_shm, hugepages_free and hugetlb_pool', () => {
    expect(info.facts['sysv_shm']).toMatch(/^[01]$/);
    expect(info.facts['hugepages_free']).toMatch(/^([0-9a-f]+|-)$/);
    expect(info.facts['hugetlb_pool']).toMatch(/^([0-9a-f]+|-)$/);
  });
});

describe('SysV shared memory', () => {
  it('attaches, splits, merges next to the close hook, and shmdt removes every fragment', async () => {
    if (info.facts['sysv_shm'] !== '1') return void console.warn('skipped: the harness cannot create SysV segments (sysv_shm=0)');
    const o = await run(
      [
        { op: 'shmat', shm: 0, addr: 'A+2p', flags: '0' },
        { op: 'mprotect', addr: 'A+4p', len: '2p', prot: 'PROT_READ' },
        { op: 'mprotect', addr: 'A+4p', len: '1p', prot: RW },
        { op: 'mprotect', addr: 'A+5p', len: '1p', prot: RW },
        { op: 'shmat', shm: 0, addr: 'A+3p', flags: '0' },
        { op: 'shmat', shm: 0, addr: 'A+9p', flags: 'SHM_RDONLY' },
        { op: 'touch', addr: 'A+9p', access: 'write' },
        { op: 'shmdt', addr: 'A+2p' },
        { op: 'shmdt', addr: 'A+2p' },
        { op: 'shmat', shm: 0, addr: 'NULL', flags: 'SHM_REMAP' },
      ],
      { shm: [{ size: '6p' }] },
    );
    expect(o.status).toBe('ok');
    expect(res(o)).toEqual([
      [{ kind: 'addr', page: 2, off: 0 }, 0],
      [0, 0],
      [0, 0],
      [0, 0],
      [-1, EINVAL], // overlaps the first attach, no SHM_REMAP
      [{ kind: 'addr', page: 9, off: 0 }, 0],
      [0, 0],
      [0, 0],
      [-1, EINVAL], // nothing left that starts at its pgoff
      [-1, EINVAL], // SHM_REMAP without an address
    ]);
    const name = '/SYSV00000000 (deleted)';
    // 7.3 rules on this host (6.18): the head of the read-only fragment merged into prev, the whole
    // fragment could not be removed (can_merge_remove_vma): three VMAs with equal flags
    expect(vmas(after(o, 3))).toEqual([`2-5 rw-s 0 ${name}`, `5-6 rw-s 3000 ${name}`, `6-8 rw-s 4000 ${name}`]);
    expect(after(o, 5).maps[3]!.vmflags).toBe('rd mr me ms'); // SHM_RDONLY: no sh, no mw
    expect(o.calls[6]!.signal).toBe(11);
    expect(vmas(after(o, 7))).toEqual([`9-15 r--s 0 ${name}`]);
    // one inode (the shmid) for every attach of the segment
    const ids = new Set(o.snapshots.flatMap((s) => s.maps.map((e) => e.inode)));
    expect(ids.size).toBe(1);
    // the harness removed the segment after the sequence
    expect(segmentExists([...ids][0]!)).toBe(false);
  });
});

describe('SysV shared memory: madvise, mremap, userfaultfd', () => {
  it('MADV_REMOVE drops the page from every attach; a multi-VMA move refuses an attach; uffd registration EINVAL', async () => {
    if (info.facts['sysv_shm'] !== '1') return void console.warn('skipped: the harness cannot create SysV segments (sysv_shm=0)');
    const o = await run(
      [
        { op: 'shmat', shm: 0, addr: 'A+0p', flags: '0' },
        { op: 'shmat', shm: 0, addr: 'A+8p', flags: '0' },
        { op: 'touch', addr: 'A+1p', access: 'write' },
        { op: 'touch', addr: 'A+9p', access: 'read' },
        { op: 'madvise', addr: 'A+1p', len: '1p', advice: 'MADV_REMOVE' },
        { op: 'mremap', addr: 'A+0p', oldLen: '5p', newLen: '5p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED', newAddr: 'A+20p' },
        { op: 'uffd_create', features: '0' },
        { op: 'uffd_register', uffd: 0, addr: 'A+0p', len: '4p', mode: 'UFFDIO_REGISTER_MODE_MISSING' },
      ],
      { arenaPages: 32, shm: [{ size: '4p' }] },
    );
    expect(o.status).toBe('ok');
    expect(res(o).map((r) => r[1])).toEqual([0, 0, 0, 0, 0, 14, 0, EINVAL]);
    expect(after(o, 3).pagemap!.slice(0, 12)).toBe('-P------' + '-P--');
    expect(after(o, 4).pagemap!.slice(0, 12)).toBe('-'.repeat(12));
  });
});

describe('MAP_HUGETLB', () => {
  it('2 MiB rounding, ht/de flags, may_split EINVAL, whole-page faults, no merge', async () => {
    const free = info.facts['hugepages_free'];
    if (free === undefined || free === '-' || parseInt(free, 16) < 2) {
      return void console.warn(`skipped: no hugetlb pool (fact hugepages_free=${free ?? 'missing'}, hugetlb_pool=${info.facts['hugetlb_pool'] ?? 'missing'})`);
    }
    const HUGE = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_FIXED';
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '1p', prot: RW, flags: HUGE },
        { op: 'mmap', addr: 'A+512p', len: '512p', prot: RW, flags: HUGE },
        { op: 'mmap', addr: 'A+1p', len: '512p', prot: RW, flags: HUGE },
        { op: 'touch', addr: 'A+600p', access: 'write' },
        { op: 'munmap', addr: 'A+1p', len: '1p' },
        { op: 'mprotect', addr: 'A+0p', len: '512p', prot: 'PROT_READ' },
        { op: 'mprotect', addr: 'A+0p', len: '512p', prot: RW },
      ],
      { arenaPages: 1024 },
    );
    expect(o.status).toBe('ok');
    expect(res(o).map((r) => r[1])).toEqual([0, 0, EINVAL, 0, EINVAL, 0, 0]);
    const s = after(o, 6);
    expect(vmas(s)).toEqual(['0-512 rw-p 0 /anon_hugepage (deleted)', '512-1024 rw-p 0 /anon_hugepage (deleted)']);
    expect(s.maps.map((e) => e.vmflags)).toEqual(['rd wr mr mw me de ht', 'rd wr mr mw me de ht']);
    expect(s.pagemap).toBe('-'.repeat(512) + 'P'.repeat(512));
  });

  it('a hugetlb file (memfd MFD_HUGETLB): 2 MiB rounding, SIGBUS beyond i_size', async () => {
    const free = info.facts['hugepages_free'];
    if (free === undefined || free === '-' || parseInt(free, 16) < 4) {
      return void console.warn(`skipped: no hugetlb pool (fact hugepages_free=${free ?? 'missing'}, hugetlb_pool=${info.facts['hugetlb_pool'] ?? 'missing'})`);
    }
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '1p', prot: RW, flags: 'MAP_SHARED|MAP_FIXED', fd: 0 },
        { op: 'mmap', addr: 'A+512p', len: '512p', prot: 'PROT_READ', flags: 'MAP_PRIVATE|MAP_FIXED', fd: 0, offset: '512p' },
        { op: 'touch', addr: 'A+513p', access: 'read' },
        { op: 'touch', addr: 'A+1p', access: 'write' },
      ],
      { arenaPages: 1024, files: [{ kind: 'hugetlb', size: '512p' }] },
    );
    expect(o.status).toBe('ok');
    expect(o.calls.map((c) => c.signal)).toEqual([0, 0, 7, 0]);
    const s = after(o, 3);
    expect(vmas(s)).toEqual(['0-512 rw-s 0 /memfd:f0 (deleted)', '512-1024 r--p 200000 /memfd:f0 (deleted)']);
    expect(s.maps.map((e) => e.vmflags)).toEqual(['rd wr sh mr mw me ms de ht', 'rd mr mw me de ht']);
  });

  it('mremap: 2 MiB rounding (a one-page FIXED move takes the whole huge page), growth and DONTUNMAP EINVAL; mlock leaves no "lo" but populates', async () => {
    const free = info.facts['hugepages_free'];
    if (free === undefined || free === '-' || parseInt(free, 16) < 4) {
      return void console.warn(`skipped: no hugetlb pool (fact hugepages_free=${free ?? 'missing'}, hugetlb_pool=${info.facts['hugetlb_pool'] ?? 'missing'})`);
    }
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '1024p', prot: RW, flags: 'MAP_SHARED|MAP_ANONYMOUS|MAP_HUGETLB|MAP_FIXED' },
        { op: 'touch', addr: 'A+3p', access: 'write' },
        { op: 'mremap', addr: 'A+0p', oldLen: '512p', newLen: '1024p', flags: 'MREMAP_MAYMOVE' },
        { op: 'mremap', addr: 'A+0p', oldLen: '512p', newLen: '512p', flags: 'MREMAP_MAYMOVE|MREMAP_DONTUNMAP' },
        { op: 'mremap', addr: 'A+0p', oldLen: '1p', newLen: '1p', flags: '0', newAddr: 'A+1p' },
        { op: 'mremap', addr: 'A+0p', oldLen: '1p', newLen: '1p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED', newAddr: 'A+1024p' },
        { op: 'mlock', addr: 'A+513p', len: '1p' },
      ],
      { arenaPages: 1536 },
    );
    expect(o.status).toBe('ok');
    expect(res(o).map((r) => r[1])).toEqual([0, 0, EINVAL, EINVAL, EINVAL, 0, 0]);
    const s = after(o, 6);
    expect(vmas(s)).toEqual(['512-1024 rw-s 200000 /anon_hugepage (deleted)', '1024-1536 rw-s 0 /anon_hugepage (deleted)']);
    expect(s.maps.map((e) => e.vmflags)).toEqual(['rd wr sh mr mw me ms de ht', 'rd wr sh mr mw me ms de ht']);
    expect(s.pagemap).toBe('-'.repeat(512) + 'P'.repeat(1024));
  });
});