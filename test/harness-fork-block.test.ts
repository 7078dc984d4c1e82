// The harness's fork_block / exit ops and memfd seals on the host kernel: the child of a block
// runs its calls and exits, the parent goes on and records the exit call; a child that dies is a
// crash of the sequence; process numbers stay unique across blocks; memfd_create flags and
// F_ADD_SEALS reach the kernel unchanged.
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureHarness } from '../src/runner/harness-build.js';
import { OutputParser, type RawResult } from '../src/runner/protocol.js';

let harness: string;
beforeAll(async () => {
  harness = await ensureHarness();
}, 120_000);

const FD = 'ffffffffffffffff';
const MAP_RW_ANON = `mmap 0 0 4000 3 32 ${FD} 0`; // 4 pages, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS at A

/** Run sequences (protocol text without the final quit) and return their raw results. */
async function run(text: string): Promise<RawResult[]> {
  const out: RawResult[] = [];
  const p = new OutputParser({ onResult: (r) => out.push(r) });
  const r = await execa(harness, ['--serve'], { input: text + 'quit\n', reject: false, timeout: 60_000 });
  p.push(r.stdout + '\n');
  return out;
}

describe('harness: fork {until: exit} blocks', () => {
  it('runs the block in the child, snapshots it before it exits, and goes on in the parent', async () => {
    const [r] = await run(`seq b1 10 0\n${MAP_RW_ANON}\nfork_block 3\ntouch 0 0 w\nexit\ntouch 0 0 r\nend\n`);
    expect(r!.done).toEqual(['ok']);
    expect(r!.calls.map((c) => [Number(c.ret), c.errno, c.signal])).toEqual([[Number(BigInt.asIntN(53, r!.base!)), 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, 0]]);
    // start (p0), the child's last view after call 2 (p1), the parent's final view after call 4 (p0)
    expect(r!.snapshots.map((s) => [s.after, s.proc])).toEqual([[-1, 0], [2, 1], [4, 0]]);
  });

  it('takes every-call snapshots in the process that ran the call (the exit call: the parent)', async () => {
    const [r] = await run(`seq b2 10 1\n${MAP_RW_ANON}\nfork_block 3\ntouch 0 0 w\nexit\nend\n`);
    expect(r!.done).toEqual(['ok']);
    expect(r!.snapshots.map((s) => [s.after, s.proc])).toEqual([[-1, 0], [0, 0], [1, 1], [2, 1], [3, 0]]);
  });

  it('numbers every child uniquely: two blocks, then a fork whose child goes on', async () => {
    const [r] = await run(`seq b3 10 1\n${MAP_RW_ANON}\nfork_block 2\nexit\nfork_block 4\nexit\nfork\ntouch 0 0 r\nend\n`);
    expect(r!.done).toEqual(['ok']);
    expect(r!.snapshots.map((s) => s.proc)).toEqual([0, 0, 1, 0, 2, 0, 3, 3, 0]);
  });

  it('a child that dies inside the block ends the sequence as a crash (no record of later calls)', async () => {
    const [r] = await run(`seq b4 10 0\n${MAP_RW_ANON}\nfork_block 3\ncrash\nexit\ntouch 0 0 r\nend\n`);
    expect(r!.done).toEqual(['crash', '6']);
    expect(r!.calls).toHaveLength(2); // mmap and the child's fork record
  });

  it('a block child that hangs is killed with the whole sequence at the deadline; the next sequence runs', async () => {
    const [r, next] = await run(`seq b6 10 0 c8\n${MAP_RW_ANON}\nfork_block 3\nsleep 7530\nexit\ntouch 0 0 r\nend\nseq b7 10 0\n${MAP_RW_ANON}\nend\n`);
    expect(r!.done[0]).toBe('timeout');
    expect(r!.calls).toHaveLength(2);
    expect(next!.done).toEqual(['ok']);
  });

  it('refuses exit outside a block (EINVAL) and goes on', async () => {
    const [r] = await run(`seq b5 10 0\n${MAP_RW_ANON}\nexit\ntouch 0 0 w\nend\n`);
    expect(r!.done).toEqual(['ok']);
    expect(r!.calls[1]!.errno).toBe(22);
    expect(r!.calls).toHaveLength(3);
  });
});

describe('harness: memfd_create flags and F_ADD_SEALS', () => {
  it('creates the memfd with its flags and passes F_ADD_SEALS through: EPERM sealed, EBUSY mapped, EINVAL unknown', async () => {
    const [r] = await run(
      'seq s1 10 0\nfile memfd 4000 0 0 2\nfile memfd 4000 0\n' +
        `mmap 0 0 1000 1 11 F0 0\nadd_seals 0 8\nadd_seals 1 2\nadd_seals 0 40\nmunmap 0 0 1000\nadd_seals 0 8\nmmap 0 0 1000 3 11 F0 0\nend\n`,
    );
    expect(r!.done).toEqual(['ok']);
    expect(r!.calls.map((c) => c.errno)).toEqual([0, 16, 1, 22, 0, 0, 1]);
  });

  it('refuses memfd_create flags on a tmpfs file line', async () => {
    const [r] = await run('seq s2 10 0\nfile tmpfs 4000 0 2\nend\n');
    expect(r!.done).toEqual(['error', 'bad-file-line']);
  });
});
