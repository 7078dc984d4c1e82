// The harness's processes and protocol additions on the host kernel: hello facts checked against
// independent sources, fork/crash/timeout of multi-process sequences (nothing may survive), the
// resolver's lifetime, the new line syntax (file, F<n>, events, p=, v and g lines).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureHarness } from '../src/runner/harness-build.js';
import { encodeWire, OutputParser, parseHello, type RawResult, toObservation, toWire, type WireSequence } from '../src/runner/protocol.js';
import { parseSequence } from '../src/seq/io.js';

let harness: string;
beforeAll(async () => {
  harness = await ensureHarness();
}, 120_000);

const FD = 'ffffffffffffffff';

/** An interactive harness: write lines, wait for `done` lines, look at its processes meanwhile. */
class Live {
  readonly proc: ChildProcessWithoutNullStreams;
  readonly results: RawResult[] = [];
  hello = '';
  private waiters: (() => void)[] = [];
  constructor(args = ['--serve']) {
    this.proc = spawn(harness, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const p = new OutputParser({ onHello: (_h, l) => (this.hello = l), onResult: (r) => this.results.push(r) });
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (s: string) => {
      p.push(s);
      this.waiters.splice(0).forEach((w) => w());
    });
  }
  send(text: string): void {
    this.proc.stdin.write(text);
  }
  async until(n: number, ms = 15_000): Promise<RawResult[]> {
    const t0 = Date.now();
    while (this.results.length < n) {
      if (Date.now() - t0 > ms) throw new Error(`only ${this.results.length} of ${n} results`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.results;
  }
  /** wait until the harness has n descendants (a running sequence's processes), then return them */
  async waitDescendants(n: number, ms = 3000): Promise<number[]> {
    const t0 = Date.now();
    let d = this.descendants();
    while (d.length < n && Date.now() - t0 < ms) {
      await sleep(20);
      d = this.descendants();
    }
    return d;
  }
  /** pids of every descendant of the harness */
  descendants(): number[] {
    const out: number[] = [];
    const walk = (pid: number) => {
      let kids: number[] = [];
      try {
        kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      } catch {
        return;
      }
      for (const k of kids) {
        out.push(k);
        walk(k);
      }
    };
    walk(this.proc.pid!);
    return out;
  }
  async close(): Promise<void> {
    this.proc.stdin.end('quit\n');
    await new Promise((r) => this.proc.once('exit', r));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

async function talk(input: string): Promise<RawResult[]> {
  const r = await execa(harness, ['--serve'], { input, timeout: 30_000 });
  const out: RawResult[] = [];
  new OutputParser({ onResult: (x) => out.push(x) }).push(r.stdout + '\n');
  return out;
}

describe('hello facts', () => {
  it('reports every documented fact, consistent with the kernel config, rlimits and a live child', async () => {
    const live = new Live();
    for (let i = 0; i < 250 && !live.hello; i++) await sleep(20); // flushed before the harness reads input
    live.send('seq a 1 0\nsleep 7d0\nend\n'); // the child sleeps 2 s with an empty arena
    const kids = await live.waitDescendants(1);
    const h = parseHello(live.hello)!;
    const f = h.facts;
    for (const k of ['guard', 'pm_guard', 'anon_name', 'mseal', 'procmap_query', 'uffd_features', 'uffd_minor_shmem', 'soft_dirty', 'hugepages_free', 'thp_shmem', 'overcommit', 'memlock', 'euid', 'base_map_count', 'rlimit_stack', 'stack_guard_gap', 'pkeys', 'cap_ipc_lock', 'cap_sys_ptrace', 'tmpfs_dir', 'memfd_noexec', 'zero_page', 'thp_zero_page', 'tmpfs_noexec', 'rlimit_as']) {
      expect(f[k], k).toBeDefined();
    }
    expect(f['guard']).toMatch(/^(anon|file|none)$/);
    expect(f['zero_page']).toMatch(/^[01]$/); // which one: test/harness-ops.test.ts 'zero page'
    const uzp = '/sys/kernel/mm/transparent_hugepage/use_zero_page';
    expect(f['thp_zero_page']).toBe(existsSync(uzp) ? parseInt(readFileSync(uzp, 'utf8')).toString(16) : '-');
    expect(f['thp_shmem']).toMatch(/^(always|within_size|advise|never|deny|force|none)$/);
    expect(f['euid']).toBe(process.geteuid!().toString(16));
    expect(f['overcommit']).toBe(parseInt(readFileSync('/proc/sys/vm/overcommit_memory', 'utf8')).toString(16));
    const kb = (await execa('sh', ['-c', 'ulimit -l'])).stdout.trim();
    expect(f['memlock']).toBe(kb === 'unlimited' ? '-' : (Number(kb) * 1024).toString(16));
    const as = (await execa('sh', ['-c', 'ulimit -v'])).stdout.trim();
    expect(f['rlimit_as']).toBe(as === 'unlimited' ? '-' : (Number(as) * 1024).toString(16));
    if (existsSync('/proc/config.gz')) {
      const cfg = gunzipSync(readFileSync('/proc/config.gz')).toString();
      const on = (n: string) => new RegExp(`^CONFIG_${n}=y`, 'm').test(cfg);
      expect(f['soft_dirty']).toBe(on('MEM_SOFT_DIRTY') ? '1' : '0');
      expect(f['anon_name']).toBe(on('ANON_VMA_NAME') ? '1' : '0');
      if (!on('USERFAULTFD')) expect(f['uffd_features']).toBe('-');
    }
    // base_map_count = the VMAs of a sequence's child before its first call (map_count: no [vsyscall])
    expect(kids).toHaveLength(1);
    const maps = readFileSync(`/proc/${kids[0]}/maps`, 'utf8').trim().split('\n').filter((l) => !l.includes('[vsyscall]'));
    expect(parseInt(f['base_map_count']!, 16)).toBe(maps.length);
    await live.until(1);
    await live.close();
  });
});

describe('multi-process sequences', () => {
  it('every snapshot of a sequence with fork carries its process number; the parent snapshots last', async () => {
    const [r] = await talk(`seq a 8 1\nmmap 0 0 2000 3 32 ${FD} 0\nfork\nmunmap 0 0 1000\nfork\nmprotect 1 0 1000 1\nend\n`);
    expect(r!.done).toEqual(['ok']);
    expect(r!.snapshots.map((s) => [s.after, s.proc, s.lines.length])).toEqual([[-1, 0, 0], [0, 0, 1], [1, 1, 1], [2, 1, 1], [3, 2, 1], [4, 2, 1], [4, 1, 1], [4, 0, 1]]);
    const o = toObservation(r!, { arenaPages: 8, lines: Array(5).fill('x'), returnsAddr: [true, false, false, false, false] });
    expect(o.snapshots.at(-1)!.maps.map((e) => [e.start, e.end, e.perms])).toEqual([[0, 2, 'rw-p']]);
    expect(o.snapshots.at(-2)!.maps.map((e) => [e.start, e.end])).toEqual([[1, 2]]);
    expect(o.snapshots.at(-3)!.maps.map((e) => e.perms)).toEqual(['r--p']);
  });

  it('a fork child that crashes: crash status, and the waiting parent still takes its snapshot', async () => {
    const [r] = await talk(`seq a 4 0\nmmap 0 0 1000 3 32 ${FD} 0\nfork\ncrash\nmunmap 0 0 1000\nend\n`);
    expect(r!.done).toEqual(['crash', '6']);
    expect(r!.calls).toHaveLength(2);
    expect(r!.snapshots.map((s) => [s.after, s.proc, s.lines.length])).toEqual([[-1, 0, 0], [1, 0, 1]]);
  });

  for (const pidfd of [true, false]) {
    it(`the deadline kills every process of the sequence, the resolver included${pidfd ? '' : ' (no pidfd)'}`, async () => {
      const live = new Live(pidfd ? ['--serve'] : ['--serve', '--no-pidfd']);
      const t0 = Date.now();
      live.send(`seq a 4 0 5dc\nmmap 0 0 1000 3 32 ${FD} 0\nuffd_create 2\nfork\nfork\nsleep 2710\nend\n`); // 1.5 s
      const procs = await live.waitDescendants(4); // sequence child, resolver, two fork children
      expect(procs).toHaveLength(4);
      const [r] = await live.until(1);
      expect(Date.now() - t0).toBeLessThan(6000); // 1.5 s deadline, not the 10 s sleep
      expect(r!.done).toEqual(['timeout']);
      expect(r!.calls.map((c) => c.ret)).toEqual([r!.base, 0n, 0n, 0n]);
      expect(live.descendants()).toEqual([]);
      expect(procs.filter(alive)).toEqual([]);
      live.send('seq b 4 0\nuffd_create 0\nend\n');
      expect((await live.until(2))[1]!.done).toEqual(['ok']);
      // what stays is the idle reusable child (harness-c/persist.c) that ran it and the resolver
      // it keeps for its next sequence with userfaultfds; both go with the harness
      const left = live.descendants();
      expect(left).toHaveLength(2);
      await live.close();
      for (let i = 0; i < 50 && left.some(alive); i++) await sleep(20);
      expect(left.filter(alive)).toEqual([]);
    });
  }

  it('when the harness itself is killed, the processes of a running sequence die with it', async () => {
    const live = new Live();
    for (let i = 0; i < 250 && !live.hello; i++) await sleep(20);
    const dir = parseHello(live.hello)!.facts['tmpfs_dir']!;
    expect(existsSync(dir)).toBe(true);
    live.send(`seq a 4 0 7530\nuffd_create 0\nfork\nsleep 7530\nend\n`);
    const procs = await live.waitDescendants(3);
    expect(procs).toHaveLength(3);
    live.proc.kill('SIGKILL');
    await new Promise((r) => live.proc.once('exit', r));
    for (let i = 0; i < 50 && procs.some(alive); i++) await sleep(20);
    expect(procs.filter(alive)).toEqual([]);
    // its private tmpfs directory is swept by the next harness that starts
    expect(existsSync(dir)).toBe(true);
    await execa(harness, ['--serve'], { input: 'quit\n' });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('protocol syntax', () => {
  it('rejects malformed file, fd, handle and name arguments without running anything', async () => {
    const rs = await talk(
      [
        'seq a 4 0\nfile bogus 1000 0\nend',
        `seq b 4 0\nfile memfd 1000 0\nmmap 0 0 1000 1 1 F1 0\nend`,
        `seq c 4 0\n${Array(9).fill('file memfd 1000 0').join('\n')}\nend`,
        `seq d 4 0\n${Array(5).fill('uffd_create 0').join('\n')}\nend`,
        'seq e 4 0\nuffd_register 4 0 0 1000 1\nend',
        'seq f 4 0\nanon_name 0 0 1000 x616\nend',
        'seq g 4 0\nfile tmpfs 1000 2\nend',
        `seq h 4 0\nfile memfd 1000 1\nmmap 0 0 1000 1 1 F0 0\nftruncate 0 0\nanon_name 0 0 1000 -\nend`,
      ].join('\n') + '\n',
    );
    expect(rs.map((r) => [r.id, r.done.join(' ')])).toEqual([
      ['a', 'error bad-file-line'], ['b', 'error bad-call-line'], ['c', 'error bad-file-line'], ['d', 'error bad-call-line'],
      ['e', 'error bad-call-line'], ['f', 'error bad-call-line'], ['g', 'error bad-file-line'], ['h', 'ok'],
    ]);
  });

  it('encodes every corpus call, the files and the layer bits', () => {
    const seq = parseSequence(
      {
        vmafuzz: 1,
        arenaPages: 16,
        files: [{ kind: 'memfd', size: '2p' }, { kind: 'tmpfs', size: '0x1001', readOnly: true }],
        calls: [
          { op: 'mmap', addr: 'A+1p', len: '1p', prot: 'PROT_READ', flags: 'MAP_SHARED|MAP_FIXED', fd: 1, offset: '1p' },
          { op: 'madvise', addr: 'A+1p', len: '1p', advice: 'MADV_GUARD_INSTALL' },
          { op: 'madvise', addr: 'A+1p', len: '1p', advice: '0xffffffff' },
          { op: 'mremap', addr: 'A+1p', oldLen: '1p', newLen: '2p', flags: 'MREMAP_MAYMOVE' },
          { op: 'mremap', addr: 'A+1p', oldLen: '1p', newLen: '1p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED', newAddr: 'A+9p' },
          { op: 'mlock', addr: 'A+1p', len: '1p' },
          { op: 'mlock2', addr: 'A+1p', len: '1p', flags: 'MLOCK_ONFAULT' },
          { op: 'munlock', addr: 'A+1p', len: '1p' },
          { op: 'mseal', addr: 'A+1p', len: '1p', flags: '0' },
          { op: 'anon_name', addr: 'A+1p', len: '1p', name: 'a b€' },
          { op: 'anon_name', addr: 'A+1p', len: '1p', name: null },
          { op: 'ftruncate', file: 0, len: '0' },
          { op: 'uffd_create', features: 'UFFD_FEATURE_EVENT_FORK|UFFD_FEATURE_MINOR_SHMEM' },
          { op: 'uffd_register', uffd: 0, addr: 'A+1p', len: '1p', mode: 'UFFDIO_REGISTER_MODE_MISSING|UFFDIO_REGISTER_MODE_WP' },
          { op: 'uffd_unregister', uffd: 0, addr: 'A+1p', len: '1p' },
          { op: 'fork' },
          { op: 'touch', addr: 'A+1p', access: 'exec' },
        ],
      },
      'x',
    );
    const w = toWire(seq);
    expect(w.returnsAddr).toEqual([true, false, false, true, true, ...Array(12).fill(false)]);
    expect(encodeWire('a', w, { snapshotEveryCall: false, layers: { vmflags: true, pagemap: true } }).split('\n')).toEqual([
      'seq a 10 6',
      'file memfd 2000 0',
      'file tmpfs 1001 1',
      'mmap 1 0 1000 1 11 F1 1000',
      'madvise 1 0 1000 66',
      'madvise 1 0 1000 ffffffff',
      'mremap 1 0 1000 2000 1 - 0',
      'mremap 1 0 1000 1000 3 9 0',
      'mlock 1 0 1000',
      'mlock2 1 0 1000 1',
      'munlock 1 0 1000',
      'mseal 1 0 1000 0',
      'anon_name 1 0 1000 x612062e282ac',
      'anon_name 1 0 1000 -',
      'ftruncate 0 0',
      'uffd_create 402',
      'uffd_register 0 1 0 1000 3',
      'uffd_unregister 0 1 0 1000',
      'fork',
      'touch 1 0 x',
      'end',
      '',
    ]);
    expect(encodeWire('a', w, { snapshotEveryCall: true, layers: { pagemap: true } }).split('\n')[0]).toBe('seq a 10 5');
  });

  it('decodes events, process numbers and both layers the same for any chunking', async () => {
    const r = await execa(harness, ['--serve'], {
      input: `seq x 8 7\nmmap 0 0 2000 3 32 ${FD} 0\nuffd_create 2\nuffd_register 0 0 0 2000 1\nfork\ntouch 1 0 r\nend\n`,
    });
    const collect = (chunks: string[]) => {
      const out: RawResult[] = [];
      const p = new OutputParser({ onResult: (x) => out.push(x) });
      for (const c of chunks) p.push(c);
      return out;
    };
    const text = r.stdout + '\n';
    const whole = collect([text]);
    expect(whole[0]!.calls.map((c) => c.event)).toEqual([undefined, undefined, undefined, 'fork', 'missing']);
    expect(whole[0]!.snapshots.map((s) => [s.proc, s.vmflags?.length, s.pagemap?.length])).toEqual([
      [0, undefined, 8], [0, 1, 8], [0, 1, 8], [0, 1, 8], [1, 1, 8], [1, 1, 8], [0, 1, 8], // no VMA, no `v` line
    ]);
    for (let n = 3; n < 60; n += 11) {
      const parts: string[] = [];
      for (let i = 0; i < text.length; i += n) parts.push(text.slice(i, i + n));
      expect(collect(parts)).toEqual(whole);
    }
    const w: WireSequence = { arenaPages: 8, lines: Array(5).fill('x'), returnsAddr: [true, false, false, false, false] };
    const o = toObservation(whole[0]!, w);
    expect(o.status).toBe('ok');
    expect(o.snapshots.at(-2)).toMatchObject({ after: 4, proc: 1, pagemap: '-P------', maps: [{ start: 0, end: 2, vmflags: 'rd wr mr mw me um ac' }] });
    expect(o.calls[4]).toEqual({ ret: { kind: 'int', value: 0 }, errno: 0, signal: 0, event: 'missing' });
    // a layer that does not match the maps lines is an infrastructure problem, not an observation
    const bad = structuredClone(whole[0]!);
    bad.snapshots[1]!.vmflags!.push('rd');
    expect(toObservation(bad, w)).toMatchObject({ status: 'infra', detail: 'harness: 2 VmFlags lines for 1 maps lines' });
    bad.snapshots[1]!.vmflags!.pop();
    bad.snapshots[2]!.pagemap = 'P';
    expect(toObservation(bad, w)).toMatchObject({ status: 'infra', detail: 'harness: pagemap of 1 pages for a 8-page arena' });
  });
});
