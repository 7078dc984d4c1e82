// The C harness against the real kernel, at the protocol level (raw text in, parsed text out).
import { release } from 'node:os';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureHarness } from '../src/runner/harness-build.js';
import { encodeWire, OutputParser, parseHello, type RawResult, toObservation, toWire, type WireSequence } from '../src/runner/protocol.js';
import { parseSequence } from '../src/seq/io.js';
import type { SeqObservation } from '../src/seq/observation.js';

let harness: string;
beforeAll(async () => {
  harness = await ensureHarness();
}, 120_000);

const P = 0x1000;
const FD = 'ffffffffffffffff';
// flags/prot in hex as the protocol wants them
const RW = 3, R = 1;
const PRIV_ANON = 0x22, PRIV_ANON_FIXED = 0x32, SHARED_ANON = 0x21;

async function talk(input: string, args = ['--serve']): Promise<{ hello: string; results: RawResult[]; stray: string[] }> {
  const r = await execa(harness, args, { input, timeout: 30_000 });
  const results: RawResult[] = [];
  const stray: string[] = [];
  let hello = '';
  const p = new OutputParser({ onHello: (_h, l) => (hello = l), onResult: (x) => results.push(x), onStray: (l) => stray.push(l) });
  p.push(r.stdout + '\n');
  return { hello, results, stray };
}

/** Run one wire sequence (op lines as the protocol spells them) and interpret the result. */
async function run1(arenaPages: number, lines: string[], opts = '0'): Promise<SeqObservation> {
  const w: WireSequence = { arenaPages, lines, returnsAddr: lines.map((l) => l.startsWith('mmap ')) };
  const { results } = await talk(`seq 7 ${arenaPages.toString(16)} ${opts}\n${lines.map((l) => l + '\n').join('')}end\nquit\n`);
  expect(results).toHaveLength(1);
  expect(results[0]!.id).toBe('7');
  return toObservation(results[0]!, w);
}

const last = (o: SeqObservation) => o.snapshots[o.snapshots.length - 1]!;
const vmas = (o: SeqObservation) => last(o).maps.map((e) => `${e.start}-${e.end} ${e.perms}${e.name ? ' ' + e.name : ''}`);

describe('harness protocol on the host kernel', () => {
  it('says hello with the kernel release and probed facts', async () => {
    const { hello } = await talk('quit\n');
    const h = parseHello(hello)!;
    expect(h.version).toBe('1');
    expect(h.release).toBe(release());
    expect(h.facts['page']).toBe('1000');
    expect(h.facts['thp']).toMatch(/^(always|madvise|never|none)$/);
    expect(parseInt(h.facts['max_map_count']!, 16)).toBeGreaterThan(0);
    expect(h.facts['window']).toMatch(/^[0-9a-f]+$/);
  });

  it('maps nothing inside the arena: snapshot -1 is empty and the base is 2 MiB aligned', async () => {
    const o = await run1(64, []);
    expect(o.status).toBe('ok');
    expect(o.snapshots).toEqual([{ after: -1, maps: [] }]);
    expect(BigInt(o.base!) % (2n << 20n)).toBe(0n);
  });

  it('mmap FIXED then mprotect of the middle page gives three VMAs with exact perms', async () => {
    const o = await run1(16, [`mmap 0 0 ${(3 * P).toString(16)} ${RW.toString(16)} ${PRIV_ANON_FIXED.toString(16)} ${FD} 0`, `mprotect 1 0 ${P.toString(16)} ${R}`]);
    expect(o.status).toBe('ok');
    expect(o.calls[0]!.ret).toEqual({ kind: 'addr', page: 0, off: 0 });
    expect(o.calls[1]).toEqual({ ret: { kind: 'int', value: 0 }, errno: 0, signal: 0 });
    expect(vmas(o)).toEqual(['0-1 rw-p', '1-2 r--p', '2-3 rw-p']);
    // the raw text is kept next to the parsed entries
    expect(o.rawMaps![o.rawMaps!.length - 1]![1]).toMatch(/^[0-9a-f]+-[0-9a-f]+ r--p 00000000 00:00 0 $/);
  });

  it('munmap punches a hole', async () => {
    const o = await run1(16, [`mmap 2 0 ${(5 * P).toString(16)} 3 32 ${FD} 0`, `munmap 4 0 ${(2 * P).toString(16)}`]);
    expect(vmas(o)).toEqual(['2-4 rw-p', '6-7 rw-p']);
  });

  it('touch write on PROT_READ raises SIGSEGV and the next call still runs', async () => {
    const o = await run1(8, [`mmap 0 0 ${(2 * P).toString(16)} 1 32 ${FD} 0`, 'touch 0 0 w', 'touch 0 0 r', 'touch 3 0 r', `mprotect 0 0 1000 3`, 'touch 0 0 w']);
    expect(o.status).toBe('ok');
    expect(o.calls.map((c) => c.signal)).toEqual([0, 11, 0, 11, 0, 0]);
    expect(vmas(o)).toEqual(['0-1 rw-p', '1-2 r--p']);
  });

  it('a non-fixed mmap(NULL) lands at the top of the arena', async () => {
    const o = await run1(32, [`mmap - 0 ${(3 * P).toString(16)} 3 ${PRIV_ANON.toString(16)} ${FD} 0`, `mmap - 0 ${P.toString(16)} 1 22 ${FD} 0`]);
    expect(o.calls[0]!.ret).toEqual({ kind: 'addr', page: 29, off: 0 });
    expect(o.calls[1]!.ret).toEqual({ kind: 'addr', page: 28, off: 0 });
    expect(vmas(o)).toEqual(['28-29 r--p', '29-32 rw-p']);
  });

  it('a mmap(NULL) that does not fit in the arena lands outside it', async () => {
    const o = await run1(4, [`mmap 0 0 ${P.toString(16)} 3 32 ${FD} 0`, `mmap - 0 ${(4 * P).toString(16)} 3 22 ${FD} 0`]);
    expect(o.calls[1]!.ret.kind).toBe('outside');
    expect(vmas(o)).toEqual(['0-1 rw-p']);
  });

  it('the fences keep arena VMAs from merging across the arena boundary', async () => {
    // Without the lower fence the second mapping would land right below the arena and merge.
    const o = await run1(4, [`mmap 0 0 4000 3 32 ${FD} 0`, `mmap - 0 1000 3 22 ${FD} 0`, `mmap - 0 1000 3 22 ${FD} 0`]);
    expect(o.calls[1]!.ret.kind).toBe('outside');
    expect(vmas(o)).toEqual(['0-4 rw-p']);
    const whole = await run1(16, [`mmap 0 0 ${(16 * P).toString(16)} 0 32 ${FD} 0`]);
    expect(vmas(whole)).toEqual(['0-16 ---p']);
  });

  it('MAP_SHARED anonymous memory shows as /dev/zero (deleted)', async () => {
    const o = await run1(8, [`mmap 1 0 ${(2 * P).toString(16)} 3 ${(SHARED_ANON | 0x10).toString(16)} ${FD} 0`]);
    expect(last(o).maps).toHaveLength(1);
    expect(last(o).maps[0]).toMatchObject({ start: 1, end: 3, perms: 'rw-s', offset: 0, name: '/dev/zero (deleted)' });
  });

  it('an unaligned address fails with EINVAL', async () => {
    const o = await run1(8, [`mmap 1 10 1000 3 32 ${FD} 0`, `munmap 0 1 1000`, `mprotect 0 800 1000 1`]);
    expect(o.calls).toEqual([0, 1, 2].map(() => ({ ret: { kind: 'int', value: -1 }, errno: 22, signal: 0 })));
    expect(vmas(o)).toEqual([]);
  });

  it('snapshots after every call only when asked', async () => {
    const lines = [`mmap 0 0 2000 3 32 ${FD} 0`, `mprotect 0 0 1000 1`, `munmap 1 0 1000`];
    const every = await run1(4, lines, '1');
    expect(every.snapshots.map((s) => s.after)).toEqual([-1, 0, 1, 2]);
    expect(every.snapshots.map((s) => s.maps.length)).toEqual([0, 1, 2, 1]);
    const end = await run1(4, lines, '0');
    expect(end.snapshots.map((s) => s.after)).toEqual([-1, 2]);
    expect(end.snapshots[1]).toEqual(every.snapshots[3]);
  });

  it('kills a child past its deadline and still delivers the calls it finished', async () => {
    const t0 = Date.now();
    const o = await run1(4, [`mmap 0 0 1000 3 32 ${FD} 0`, 'sleep 2710', 'touch 0 0 w'], '1 c8'); // 200 ms deadline
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(o.status).toBe('timeout');
    expect(o.calls).toHaveLength(1);
    expect(o.calls[0]!.ret).toEqual({ kind: 'addr', page: 0, off: 0 });
    expect(o.snapshots.map((s) => s.after)).toEqual([-1, 0]);
  });

  it('enforces the deadline without pidfd too (interval-timer fallback)', async () => {
    const t0 = Date.now();
    const { results } = await talk(`seq a 4 0 c8\nmmap 0 0 1000 3 32 ${FD} 0\nsleep 2710\nend\nseq b 4 0\nsleep 1\nend\n`, ['--serve', '--no-pidfd']);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(results.map((r) => [r.done.join(' '), r.calls.length])).toEqual([['timeout', 1], ['ok', 1]]);
  });

  it('a crashing child delivers the earlier calls and the signal', async () => {
    const o = await run1(4, [`mmap 0 0 1000 3 32 ${FD} 0`, `mprotect 0 0 1000 1`, 'crash', 'touch 0 0 r']);
    expect(o.status).toBe('crash');
    expect(o.detail).toBe('signal 6 (SIGABRT)');
    expect(o.calls).toHaveLength(2);
  });

  it('runs many sequences in one stream, each in a fresh arena', async () => {
    let text = '';
    for (let i = 0; i < 50; i++) text += `seq s${i} 8 0\nmmap ${(i % 8).toString(16)} 0 1000 3 32 ${FD} 0\nend\n`;
    const { results } = await talk(text); // EOF ends the harness
    expect(results.map((r) => r.id)).toEqual(Array.from({ length: 50 }, (_, i) => `s${i}`));
    results.forEach((r, i) => {
      expect(r.done).toEqual(['ok']);
      expect(r.snapshots[1]!.lines).toHaveLength(1);
      expect(r.snapshots[1]!.lines[0]!.startsWith((r.base! + BigInt(i % 8) * 4096n).toString(16) + '-')).toBe(true);
    });
  });

  it('rejects malformed input without running it and keeps serving', async () => {
    const { results, stray } = await talk(`seq a 4 0\nmmap 0 0 zz\nend\nseq b 100000 0\nend\nseq b2 1000000000000000 0\nend\nbogus\nseq c 4 0\nend\nquit\n`);
    expect(results.map((r) => [r.id, r.done.join(' ')])).toEqual([
      ['a', 'error bad-call-line'],
      ['b', 'error arena-too-large'],
      ['b2', 'error arena-too-large'],
      ['c', 'ok'],
    ]);
    expect(stray).toEqual(['err unknown-command']);
  });

  it('refuses machine-wide madvise (MADV_HWPOISON, MADV_SOFT_OFFLINE) without running the sequence', async () => {
    // Each sequence maps page 0 first: an executed call would answer "ok" with its results.
    const seq = (id: string, advice: string) => `seq ${id} 4 0\nmmap 0 0 2000 3 32 ${FD} 0\nmadvise 0 0 1000 ${advice}\nend\n`;
    const { results } = await talk(seq('p', '64') + seq('s', '65') + seq('w', '100000064') + seq('n', '4') + 'quit\n');
    expect(results.map((r) => [r.id, r.done.join(' '), r.calls.length])).toEqual([
      ['p', 'error refused-call', 0],
      ['s', 'error refused-call', 0],
      ['w', 'error refused-call', 0], // madvise takes an int: 0x100000064 is 100 to the kernel
      ['n', 'ok', 2],
    ]);
  });

  it('refuses addresses beyond the arena and NULL outside the mmap hint and mremap destination', async () => {
    const seq = (id: string, call: string) => `seq ${id} 4 0\nmmap 0 0 2000 3 32 ${FD} 0\n${call}\nend\n`;
    const { results } = await talk(
      seq('beyond', 'munmap 5 0 1000') + seq('touch-end', 'touch 4 0 w') + seq('null-munmap', 'munmap - 0 1000') +
        seq('raw', `mmap - 7f0000000000 1000 3 22 ${FD} 0`) + seq('end-ok', 'munmap 4 0 0') + seq('hint-ok', `mmap - 0 1000 3 22 ${FD} 0`) + 'quit\n',
    );
    expect(results.map((r) => [r.id, r.done.join(' ')])).toEqual([
      ['beyond', 'error refused-call'],
      ['touch-end', 'error refused-call'],
      ['null-munmap', 'error refused-call'],
      ['raw', 'error refused-call'],
      ['end-ok', 'ok'],
      ['hint-ok', 'ok'],
    ]);
  });

  it('encodes corpus calls into protocol lines', () => {
    const seq = parseSequence(
      {
        vmafuzz: 1,
        arenaPages: 20,
        calls: [
          { op: 'mmap', addr: 'NULL', len: '0x1001', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_SHARED|MAP_ANONYMOUS', offset: '2p' },
          { op: 'munmap', addr: 'A+17p+0x10', len: '0xfffffffffffff000' },
          { op: 'mprotect', addr: 'A+3p', len: '2p', prot: 'PROT_NONE' },
          { op: 'touch', addr: 'A+2p', access: 'write' },
        ],
      },
      'x',
    );
    expect(encodeWire('1f', toWire(seq), { snapshotEveryCall: true, deadlineMs: 250 }).split('\n')).toEqual([
      'seq 1f 14 1 fa',
      `mmap - 0 1001 3 21 ${FD} 2000`,
      'munmap 11 10 fffffffffffff000',
      'mprotect 3 0 2000 0',
      'touch 2 0 w',
      'end',
      '',
    ]);
  });

  it('the streaming parser gives the same results for any chunking', async () => {
    const r = await execa(harness, ['--serve'], {
      input: `seq x 8 1\nmmap 0 0 2000 3 32 ${FD} 0\nmprotect 1 0 1000 1\ntouch 1 0 w\nend\nseq y 4 0\ncrash\nend\n`,
    });
    const collect = (chunks: string[]) => {
      const out: RawResult[] = [];
      const p = new OutputParser({ onResult: (x) => out.push(x) });
      for (const c of chunks) p.push(c);
      return out;
    };
    const whole = collect([r.stdout + '\n']);
    expect(whole.map((x) => x.done)).toEqual([['ok'], ['crash', '6']]);
    expect(collect([...(r.stdout + '\n')])).toEqual(whole);
    for (let n = 2; n < 40; n += 7) {
      const parts: string[] = [];
      for (let i = 0; i < r.stdout.length + 1; i += n) parts.push((r.stdout + '\n').slice(i, i + n));
      expect(collect(parts)).toEqual(whole);
    }
  });
});
