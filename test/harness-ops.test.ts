// Every call of the corpus schema through NativeRunner (encoding, harness, decoding) on the host
// kernel, with the VmFlags and pagemap layers on. Expectations are host facts (6.18.44: guard
// regions on anon and file, VM_MAYBE_GUARD "gu", mseal, userfaultfd as root), cross-checked with
// /proc/config.gz where the answer depends on the kernel config.
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
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

const EINVAL = 22, EPERM = 1, ENOMEM = 12, EACCES = 13, EBADF = 9;
const SIGSEGV = 11, SIGBUS = 7;
const RW = 'PROT_READ|PROT_WRITE';
const FIXED = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';

async function run(calls: unknown[], extra: Record<string, unknown> = {}, opts = { every: true, deadlineMs: 3000 }): Promise<SeqObservation> {
  const seq = parseSequence({ vmafuzz: 1, arenaPages: 16, ...extra, calls }, 'test');
  const [o] = await runner.run([seq], { snapshotEveryCall: opts.every, deadlineMs: opts.deadlineMs, layers: { vmflags: true, pagemap: true } });
  return o!;
}
const last = (o: SeqObservation) => o.snapshots[o.snapshots.length - 1]!;
const after = (o: SeqObservation, i: number, proc?: number) => o.snapshots.find((s) => s.after === i && (proc === undefined || s.proc === proc))!;
/** "start-end perms [name]" per VMA */
const vmas = (s: Snapshot) => s.maps.map((e) => `${e.start}-${e.end} ${e.perms}${e.name ? ' ' + e.name : ''}`);
const flags = (s: Snapshot) => s.maps.map((e) => e.vmflags);
const res = (o: SeqObservation) => o.calls.map((c) => [c.ret.kind === 'int' ? c.ret.value : c.ret, c.errno, c.signal]);

/** CONFIG_<name> from /proc/config.gz: true/false, or undefined when the config is not exposed. */
function kconfig(name: string): boolean | undefined {
  if (!existsSync('/proc/config.gz')) return undefined;
  const text = gunzipSync(readFileSync('/proc/config.gz')).toString();
  return new RegExp(`^CONFIG_${name}=[ym]$`, 'm').test(text);
}

describe('madvise and guard regions', () => {
  it('DONTFORK shows as "dc"; the fork child lacks the VMA, the parent keeps it', async () => {
    const o = await run([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: FIXED },
      { op: 'madvise', addr: 'A+1p', len: '1p', advice: 'MADV_DONTFORK' },
      { op: 'fork' },
      { op: 'touch', addr: 'A+1p', access: 'read' },
    ]);
    expect(o.status).toBe('ok');
    expect(res(o)).toEqual([[{ kind: 'addr', page: 0, off: 0 }, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, SIGSEGV]]);
    expect(flags(after(o, 1))).toEqual(['rd wr mr mw me ac', 'rd wr mr mw me dc ac', 'rd wr mr mw me ac']);
    // snapshots: before, after 0 and 1 (process 0), after 2 and 3 (the child), then the parent's final one
    expect(o.snapshots.map((s) => [s.after, s.proc])).toEqual([[-1, 0], [0, 0], [1, 0], [2, 1], [3, 1], [3, 0]]);
    expect(vmas(after(o, 3, 1))).toEqual(['0-1 rw-p', '2-4 rw-p']);
    expect(vmas(after(o, 3, 0))).toEqual(['0-1 rw-p', '1-2 rw-p', '2-4 rw-p']);
  });

  it('invalid advice and ranges get their errno', async () => {
    const o = await run([
      { op: 'mmap', addr: 'A+0p', len: '2p', prot: RW, flags: 'MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED' },
      { op: 'madvise', addr: 'A+0p', len: '1p', advice: 'MADV_WIPEONFORK' }, // shared: EINVAL
      { op: 'madvise', addr: 'A+0p', len: '1p', advice: '999' },
      { op: 'madvise', addr: 'A+0p', len: '4p', advice: 'MADV_DONTDUMP' }, // hole after page 2: ENOMEM
      { op: 'madvise', addr: 'A+0p+0x10', len: '1p', advice: 'MADV_NORMAL' },
    ]);
    expect(res(o).slice(1)).toEqual([[-1, EINVAL, 0], [-1, EINVAL, 0], [-1, ENOMEM, 0], [-1, EINVAL, 0]]);
    expect(flags(last(o))).toEqual(['rd wr sh mr mw me ms dd']); // the mapped part was processed
  });

  it('GUARD_INSTALL: pagemap "G", touch SIGSEGV, "gu" on the whole VMA; GUARD_REMOVE undoes the marker', async () => {
    expect(info.facts['guard']).toBe('file');
    const o = await run([
      { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: FIXED },
      { op: 'touch', addr: 'A+1p', access: 'write' },
      { op: 'madvise', addr: 'A+1p', len: '2p', advice: 'MADV_GUARD_INSTALL' },
      { op: 'touch', addr: 'A+1p', access: 'read' },
      { op: 'touch', addr: 'A+2p', access: 'write' },
      { op: 'madvise', addr: 'A+2p', len: '1p', advice: 'MADV_GUARD_REMOVE' },
      { op: 'touch', addr: 'A+2p', access: 'write' },
    ]);
    expect(o.calls.map((c) => [c.errno, c.signal])).toEqual([[0, 0], [0, 0], [0, 0], [0, SIGSEGV], [0, SIGSEGV], [0, 0], [0, 0]]);
    expect(after(o, 1).pagemap).toBe('-P' + '-'.repeat(14));
    expect(after(o, 2).pagemap).toBe('-GG' + '-'.repeat(13));
    expect(flags(after(o, 2))).toEqual(['rd wr mr mw me gu ac']); // no split
    expect(last(o).pagemap).toBe('-GP' + '-'.repeat(13));
  });
});

describe('mremap', () => {
  it('a move returns the new address; NULL lets the kernel choose; bad flags are EINVAL', async () => {
    const o = await run([
      { op: 'mmap', addr: 'A+0p', len: '2p', prot: RW, flags: FIXED },
      { op: 'touch', addr: 'A+0p', access: 'write' },
      { op: 'mremap', addr: 'A+0p', oldLen: '2p', newLen: '2p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED', newAddr: 'A+8p' },
      { op: 'mremap', addr: 'A+8p', oldLen: '2p', newLen: '3p', flags: 'MREMAP_MAYMOVE' }, // grows in place
      { op: 'mmap', addr: 'A+11p', len: '1p', prot: 'PROT_READ', flags: FIXED },
      { op: 'mremap', addr: 'A+8p', oldLen: '3p', newLen: '4p', flags: 'MREMAP_MAYMOVE' }, // blocked: moves
      { op: 'mremap', addr: 'A+11p', oldLen: '1p', newLen: '1p', flags: '0x8' },
    ]);
    expect(o.calls[2]!.ret).toEqual({ kind: 'addr', page: 8, off: 0 });
    expect(o.calls[3]!.ret).toEqual({ kind: 'addr', page: 8, off: 0 });
    expect(o.calls[5]!.ret.kind).toBe('addr');
    const moved = o.calls[5]!.ret as { page: number };
    expect(moved.page).not.toBe(8);
    expect(res(o)[6]).toEqual([-1, EINVAL, 0]);
    expect(vmas(after(o, 2))).toEqual(['8-10 rw-p']);
    expect(after(o, 2).pagemap).toBe('-'.repeat(8) + 'P-' + '-'.repeat(6)); // the page moved with it
    expect(vmas(last(o))).toEqual([`${moved.page}-${moved.page + 4} rw-p`, '11-12 r--p'].sort((a, b) => parseInt(a) - parseInt(b)));
  });
});

describe('mlock, mseal, anon names', () => {
  it('mlock populates and sets "lo"; mlock2(MLOCK_ONFAULT) sets "lo lf" without populating; munlock clears', async () => {
    const o = await run([
      { op: 'mmap', addr: 'A+0p', len: '6p', prot: RW, flags: FIXED },
      { op: 'mlock', addr: 'A+0p', len: '2p' },
      { op: 'mlock2', addr: 'A+3p', len: '2p', flags: 'MLOCK_ONFAULT' },
      { op: 'munlock', addr: 'A+0p', len: '1p' },
    ]);
    expect(res(o).slice(1)).toEqual([[0, 0, 0], [0, 0, 0], [0, 0, 0]]);
    expect(after(o, 2).pagemap!.slice(0, 6)).toBe('PP----');
    expect(flags(after(o, 2))).toEqual(['rd wr mr mw me lo ac', 'rd wr mr mw me ac', 'rd wr mr mw me lo lf ac', 'rd wr mr mw me ac']);
    expect(vmas(last(o))).toEqual(['0-1 rw-p', '1-2 rw-p', '2-3 rw-p', '3-5 rw-p', '5-6 rw-p']);
    expect(flags(last(o))[0]).toBe('rd wr mr mw me ac');
  });

  it('mseal sets "sl"; munmap and mprotect of the sealed VMA then fail with EPERM', async () => {
    expect(info.facts['mseal']).toBe('1');
    const o = await run([
      { op: 'mmap', addr: 'A+0p', len: '3p', prot: RW, flags: FIXED },
      { op: 'mseal', addr: 'A+1p', len: '1p', flags: '0' },
      { op: 'munmap', addr: 'A+1p', len: '1p' },
      { op: 'mprotect', addr: 'A+1p', len: '1p', prot: 'PROT_READ' },
      { op: 'mseal', addr: 'A+0p', len: '1p', flags: '0x1' },
    ]);
    expect(res(o).slice(1)).toEqual([[0, 0, 0], [-1, EPERM, 0], [-1, EPERM, 0], [-1, EINVAL, 0]]);
    expect(flags(last(o))).toEqual(['rd wr mr mw me ac', 'rd wr mr mw me ac sl', 'rd wr mr mw me ac']);
  });

  it('PR_SET_VMA_ANON_NAME names a VMA where the kernel has CONFIG_ANON_VMA_NAME, else EINVAL', async () => {
    const configured = kconfig('ANON_VMA_NAME') ?? info.facts['anon_name'] === '1';
    expect(info.facts['anon_name']).toBe(configured ? '1' : '0');
    const o = await run([
      { op: 'mmap', addr: 'A+0p', len: '3p', prot: RW, flags: FIXED },
      { op: 'anon_name', addr: 'A+1p', len: '1p', name: 'héllo wörld' }, // non-ASCII: EINVAL either way
      { op: 'anon_name', addr: 'A+1p', len: '1p', name: 'vmafuzz' },
      { op: 'anon_name', addr: 'A+0p', len: '1p', name: null },
    ]);
    expect(res(o)[1]).toEqual([-1, EINVAL, 0]);
    if (configured) {
      expect(res(o).slice(2)).toEqual([[0, 0, 0], [0, 0, 0]]);
      expect(vmas(last(o))).toEqual(['0-1 rw-p', '1-2 rw-p [anon:vmafuzz]', '2-3 rw-p']);
    } else {
      expect(res(o).slice(2)).toEqual([[-1, EINVAL, 0], [-1, EINVAL, 0]]);
      expect(vmas(last(o))).toEqual(['0-3 rw-p']);
    }
  });
});

describe('files', () => {
  it('the tmpfs_noexec fact agrees with PROT_EXEC mappings of a tmpfs file (either answer valid)', async () => {
    const noexec = info.facts['tmpfs_noexec'];
    expect(noexec).toMatch(/^[01]$/);
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '1p', prot: 'PROT_READ|PROT_EXEC', flags: 'MAP_PRIVATE|MAP_FIXED', fd: 0 },
        { op: 'mmap', addr: 'A+2p', len: '1p', prot: 'PROT_READ', flags: 'MAP_SHARED|MAP_FIXED', fd: 0 },
        { op: 'mprotect', addr: 'A+2p', len: '1p', prot: 'PROT_READ|PROT_EXEC' },
      ],
      { files: [{ kind: 'tmpfs', size: '1p' }] },
    );
    expect(o.calls.map((c) => c.errno), `tmpfs_noexec=${noexec}`).toEqual(noexec === '1' ? [EPERM, 0, EACCES] : [0, 0, 0]);
  });

  it('memfd shared mapping, ftruncate shrink: touch beyond EOF raises SIGBUS', async () => {
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '3p', prot: RW, flags: 'MAP_SHARED|MAP_FIXED', fd: 0 },
        { op: 'touch', addr: 'A+2p', access: 'write' },
        { op: 'ftruncate', file: 0, len: '1p' },
        { op: 'touch', addr: 'A+2p', access: 'read' },
        { op: 'touch', addr: 'A+0p', access: 'write' },
        { op: 'ftruncate', file: 0, len: '3p' },
        { op: 'touch', addr: 'A+2p', access: 'read' },
      ],
      { files: [{ kind: 'memfd', size: '3p' }] },
    );
    expect(o.calls.map((c) => [c.errno, c.signal])).toEqual([[0, 0], [0, 0], [0, 0], [0, SIGBUS], [0, 0], [0, 0], [0, 0]]);
    expect(after(o, 1).pagemap!.slice(0, 3)).toBe('--P');
    expect(after(o, 2).pagemap!.slice(0, 3)).toBe('---'); // truncation zapped it
    expect(vmas(last(o))).toEqual(['0-3 rw-s /memfd:f0 (deleted)']);
    expect(flags(last(o))).toEqual(['rd wr sh mr mw me ms']);
  });

  it('a read-only tmpfs file: shared writable mapping EACCES, private writable allowed, ftruncate EINVAL', async () => {
    const dir = info.facts['tmpfs_dir']!;
    expect(dir).toMatch(/^\/dev\/shm\/vmafuzz-/);
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '2p', prot: RW, flags: 'MAP_SHARED|MAP_FIXED', fd: 1 },
        { op: 'mmap', addr: 'A+0p', len: '2p', prot: RW, flags: 'MAP_PRIVATE|MAP_FIXED', fd: 1, offset: '1p' },
        { op: 'mmap', addr: 'A+4p', len: '1p', prot: 'PROT_READ', flags: 'MAP_SHARED|MAP_FIXED', fd: 1 },
        { op: 'ftruncate', file: 1, len: '1p' },
        { op: 'ftruncate', file: 0, len: '1p' },
        { op: 'touch', addr: 'A+1p', access: 'read' }, // private file page 2 of 3: inside EOF
      ],
      { files: [{ kind: 'memfd', size: '1p' }, { kind: 'tmpfs', size: '3p', readOnly: true }] },
    );
    expect(res(o).slice(2)).toEqual([[{ kind: 'addr', page: 4, off: 0 }, 0, 0], [-1, EINVAL, 0], [0, 0, 0], [0, 0, 0]]);
    expect(res(o)[0]).toEqual([-1, EACCES, 0]);
    const m = last(o).maps;
    expect(m.map((e) => [e.start, e.end, e.perms, e.offset, e.name])).toEqual([
      [0, 2, 'rw-p', 4096, `${dir}/f1 (deleted)`],
      [4, 5, 'r--s', 0, `${dir}/f1 (deleted)`],
    ]);
    expect(m[0]!.inode).toBe(m[1]!.inode);
  });
});

describe('exec probe', () => {
  it('an instruction fetch faults on non-executable pages and succeeds on executable ones', async () => {
    expect(info.facts['pkeys']).toBe('0'); // PROT_EXEC alone stays readable and executable
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '1p', prot: 'PROT_READ', flags: FIXED },
        { op: 'mmap', addr: 'A+1p', len: '1p', prot: 'PROT_READ|PROT_EXEC', flags: FIXED },
        { op: 'mmap', addr: 'A+2p', len: '1p', prot: 'PROT_EXEC', flags: FIXED },
        { op: 'mmap', addr: 'A+3p', len: '1p', prot: 'PROT_NONE', flags: FIXED },
        { op: 'mmap', addr: 'A+5p', len: '2p', prot: 'PROT_READ|PROT_EXEC', flags: 'MAP_SHARED|MAP_FIXED', fd: 0 },
        { op: 'touch', addr: 'A+0p', access: 'exec' },
        { op: 'touch', addr: 'A+1p', access: 'exec' },
        { op: 'touch', addr: 'A+2p+0x800', access: 'exec' },
        { op: 'touch', addr: 'A+3p', access: 'exec' },
        { op: 'touch', addr: 'A+4p', access: 'exec' }, // nothing mapped
        { op: 'touch', addr: 'A+5p', access: 'exec' },
        { op: 'touch', addr: 'A+6p', access: 'exec' }, // beyond the 1-page file
        { op: 'touch', addr: 'A+1p', access: 'write' },
        { op: 'mprotect', addr: 'A+0p', len: '1p', prot: 'PROT_READ|PROT_WRITE|PROT_EXEC' },
        { op: 'touch', addr: 'A+0p', access: 'write' }, // a 0x5a byte: `pop %rdx` when executed
        { op: 'touch', addr: 'A+0p', access: 'exec' },
      ],
      { files: [{ kind: 'memfd', size: '1p' }] },
    );
    expect(o.status).toBe('ok');
    expect(o.calls.slice(5).map((c) => c.signal)).toEqual([SIGSEGV, 0, 0, SIGSEGV, SIGSEGV, 0, SIGBUS, SIGSEGV, 0, 0, 0]);
  });
});

describe('userfaultfd', () => {
  it('a touch on a MISSING-registered page raises "missing", is resolved and never hangs', async () => {
    expect(info.facts['uffd_features']).toMatch(/^[0-9a-f]+$/);
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: FIXED },
        { op: 'uffd_create', features: '0' },
        { op: 'uffd_register', uffd: 0, addr: 'A+1p', len: '2p', mode: 'UFFDIO_REGISTER_MODE_MISSING' },
        { op: 'touch', addr: 'A+1p', access: 'read' },
        { op: 'touch', addr: 'A+2p', access: 'write' },
        { op: 'touch', addr: 'A+1p', access: 'write' }, // present now: no event
        { op: 'touch', addr: 'A+0p', access: 'read' }, // not registered
        { op: 'uffd_unregister', uffd: 0, addr: 'A+2p', len: '1p' },
      ],
      {},
      { every: true, deadlineMs: 2000 },
    );
    expect(o.status).toBe('ok'); // not 'timeout': every fault was resolved within the 2 s deadline
    expect(o.calls[1]!.ret).toEqual({ kind: 'int', value: 0 }); // handle 0
    expect(o.calls.map((c) => c.event)).toEqual([undefined, undefined, undefined, 'missing', 'missing', undefined, undefined, undefined]);
    expect(vmas(after(o, 2))).toEqual(['0-1 rw-p', '1-3 rw-p', '3-4 rw-p']);
    expect(flags(after(o, 2))[1]).toBe('rd wr mr mw me um ac');
    expect(after(o, 6).pagemap!.slice(0, 4)).toBe('PPP-');
    expect(flags(last(o))).toEqual(['rd wr mr mw me ac', 'rd wr mr mw me um ac', 'rd wr mr mw me ac']);
  });

  it('errors: unknown features, unaligned range, MINOR on anonymous memory, a handle whose creation failed', async () => {
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '2p', prot: RW, flags: FIXED },
        { op: 'mmap', addr: 'A+2p', len: '1p', prot: RW, flags: 'MAP_PRIVATE|MAP_FIXED', fd: 0 },
        { op: 'uffd_create', features: '0x80000000' },
        { op: 'uffd_create', features: '0' },
        { op: 'uffd_register', uffd: 1, addr: 'A+0p+0x10', len: '1p', mode: 'UFFDIO_REGISTER_MODE_MISSING' },
        { op: 'uffd_register', uffd: 1, addr: 'A+0p', len: '1p', mode: 'UFFDIO_REGISTER_MODE_MINOR' }, // shmem/hugetlb only
        { op: 'uffd_register', uffd: 0, addr: 'A+0p', len: '1p', mode: 'UFFDIO_REGISTER_MODE_MISSING' },
        { op: 'uffd_register', uffd: 1, addr: 'A+0p', len: '1p', mode: '0' },
        { op: 'uffd_register', uffd: 1, addr: 'A+2p', len: '1p', mode: 'UFFDIO_REGISTER_MODE_MISSING' }, // private shmem is shmem
      ],
      { files: [{ kind: 'memfd', size: '1p' }] },
    );
    expect(res(o).slice(2)).toEqual([[-1, EINVAL, 0], [1, 0, 0], [-1, EINVAL, 0], [-1, EINVAL, 0], [-1, EBADF, 0], [-1, EINVAL, 0], [0, 0, 0]]);
    expect(flags(last(o))).toEqual(['rd wr mr mw me ac', 'rd wr mr mw me um ac']);
  });

  it('with UFFD_FEATURE_EVENT_FORK the fork is reported and the child keeps "um"; without it the child loses it', async () => {
    const seq = (features: string) => [
      { op: 'mmap', addr: 'A+0p', len: '2p', prot: RW, flags: FIXED },
      { op: 'uffd_create', features },
      { op: 'uffd_register', uffd: 0, addr: 'A+0p', len: '2p', mode: 'UFFDIO_REGISTER_MODE_MISSING' },
      { op: 'fork' },
      { op: 'touch', addr: 'A+0p', access: 'write' },
    ];
    const [withFork, without] = [await run(seq('UFFD_FEATURE_EVENT_FORK'), {}, { every: false, deadlineMs: 2000 }), await run(seq('0'), {}, { every: false, deadlineMs: 2000 })];
    expect([withFork.status, without.status]).toEqual(['ok', 'ok']); // the fork event did not block the fork
    expect(withFork.calls.map((c) => c.event)).toEqual([undefined, undefined, undefined, 'fork', 'missing']);
    expect(flags(after(withFork, 4, 1))).toEqual(['rd wr mr mw me um ac']);
    expect(without.calls.map((c) => c.event)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(flags(after(without, 4, 1))).toEqual(['rd wr mr mw me ac']);
    expect(without.snapshots.map((s) => s.proc)).toEqual([0, 1, 0]);
    for (const o of [withFork, without]) expect(flags(after(o, 4, 0))).toEqual(['rd wr mr mw me um ac']);
  });

  it('a fault the kernel refuses to resolve ends the sequence early as "timeout uffd-stuck"', async () => {
    // mremap moving and growing an mlocked, MISSING-registered VMA of a uffd with EVENT_REMAP:
    // mm/mremap.c populates the new part before it posts UFFD_EVENT_REMAP, and until that event
    // is read every UFFDIO_ZEROPAGE/COPY fails with EAGAIN (ctx->mmap_changing). The call never returns.
    const t0 = Date.now();
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: FIXED },
        { op: 'uffd_create', features: 'UFFD_FEATURE_EVENT_REMAP' },
        { op: 'uffd_register', uffd: 0, addr: 'A+0p', len: '4p', mode: 'UFFDIO_REGISTER_MODE_MISSING' },
        { op: 'mlock', addr: 'A+0p', len: '1p' },
        { op: 'mremap', addr: 'A+0p', oldLen: '1p', newLen: '3p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED', newAddr: 'A+8p' },
        { op: 'touch', addr: 'A+1p', access: 'read' },
      ],
      {},
      { every: false, deadlineMs: 20_000 },
    );
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(o).toMatchObject({ status: 'timeout', detail: 'uffd-stuck' });
    expect(o.calls.map((c) => c.event)).toEqual([undefined, undefined, undefined, 'missing']);
  });

  it('remove, remap and unmap events, and a MINOR fault on shmem resolved with UFFDIO_CONTINUE', async () => {
    expect(info.facts['uffd_minor_shmem']).toBe('1');
    const o = await run(
      [
        { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: FIXED },
        { op: 'uffd_create', features: 'UFFD_FEATURE_EVENT_REMOVE|UFFD_FEATURE_EVENT_REMAP|UFFD_FEATURE_EVENT_UNMAP' },
        { op: 'uffd_register', uffd: 0, addr: 'A+0p', len: '4p', mode: 'UFFDIO_REGISTER_MODE_MISSING' },
        { op: 'madvise', addr: 'A+0p', len: '1p', advice: 'MADV_DONTNEED' },
        { op: 'mremap', addr: 'A+1p', oldLen: '1p', newLen: '1p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED', newAddr: 'A+8p' },
        { op: 'munmap', addr: 'A+3p', len: '1p' },
        { op: 'mmap', addr: 'A+10p', len: '2p', prot: RW, flags: 'MAP_SHARED|MAP_FIXED', fd: 0 },
        { op: 'touch', addr: 'A+10p', access: 'write' },
        { op: 'uffd_create', features: 'UFFD_FEATURE_MINOR_SHMEM' },
        { op: 'uffd_register', uffd: 1, addr: 'A+10p', len: '2p', mode: 'UFFDIO_REGISTER_MODE_MINOR' },
        { op: 'madvise', addr: 'A+10p', len: '1p', advice: 'MADV_DONTNEED' }, // the page stays in the file
        { op: 'touch', addr: 'A+10p', access: 'read' },
      ],
      { files: [{ kind: 'memfd', size: '2p' }] },
      { every: false, deadlineMs: 2000 },
    );
    expect(o.status).toBe('ok');
    expect(o.calls.map((c) => c.errno)).toEqual(Array(12).fill(0));
    expect(o.calls.map((c) => c.event)).toEqual([undefined, undefined, undefined, 'remove', 'remap,unmap', 'unmap', undefined, undefined, undefined, undefined, undefined, 'minor']);
    expect(last(o).pagemap!.slice(10, 12)).toBe('P-');
    expect(flags(last(o)).at(-1)).toBe('rd wr sh mr mw me ms ui');
  });
});

describe('zero page', () => {
  // The hello fact zero_page (pagemap PFNs / PM_MMAP_EXCLUSIVE) must agree with what the anon_vma
  // of a read fault does elsewhere: mprotect_fixup keeps VM_ACCOUNT of a VMA with an anon_vma
  // (6.6+), and fork copies its page tables (vma_needs_copy). Either answer is a valid host.
  it('the zero_page fact agrees with VM_ACCOUNT after mprotect and the fork child pagemap', async () => {
    const zero = info.facts['zero_page'];
    expect(zero).toMatch(/^[01]$/);
    expect(info.facts['thp_zero_page']).toMatch(/^([01]|-)$/);
    const o = await run([
      { op: 'mmap', addr: 'A+0p', len: '2p', prot: RW, flags: FIXED },
      { op: 'madvise', addr: 'A+0p', len: '2p', advice: 'MADV_NOHUGEPAGE' },
      { op: 'touch', addr: 'A+0p', access: 'read' },
      { op: 'mprotect', addr: 'A+0p', len: '2p', prot: 'PROT_READ' },
      { op: 'fork' },
    ]);
    expect(res(o).map((r) => r.slice(1))).toEqual(Array(5).fill([0, 0]));
    const ac = flags(after(o, 3))[0]!.split(' ').includes('ac');
    expect(ac, `zero_page=${zero}`).toBe(zero === '0');
    expect(after(o, 4, 1).pagemap!.slice(0, 2), `zero_page=${zero}`).toBe(zero === '0' ? 'P-' : '--');
  });
});
