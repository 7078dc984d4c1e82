// `npm run bench` section: QEMU throughput on one Debian 6.12 VM.
//   end-to-end: QemuRunner + generator + model + compare, pipelined as the campaign does (batches
//               of 64, the next batch in flight while the last one is judged);
//   C-only:     the same sequences' protocol text written straight to the harness's channel in a
//               second VM booted identically (same kernel, initramfs, accelerator and QEMU
//               arguments), and only the `done` lines counted: no TypeScript per sequence, the
//               same 16 KiB window. The two alternate over the same slices of sequences.
// The ratio says how much of the VM's speed the TypeScript side costs (goal >= 70%). A machine
// without QEMU or without the kernel skips the section with a line saying why.

import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { predictAgainst } from '../campaign/check.js';
import { firstDivergence } from '../compare/compare.js';
import { generate } from '../gen/generate.js';
import { fetchKernel, type KernelImage } from '../kernels/index.js';
import { makeProfile, type Profile } from '../model/index.js';
import { encodeWire, toWire, type WireOptions } from '../runner/protocol.js';
import { findQemu, QemuRunner } from '../runner/qemu.js';
import { qemuArgs, spawnTied, type Accel } from '../runner/qemu/vm.js';
import type { SeqObservation } from '../seq/observation.js';
import type { Sequence } from '../seq/schema.js';
import type { TargetInfo } from '../runner/types.js';
import type { BenchSection } from './main.js';

const SEED = 20261123;
const BATCH = 64;
/** as in src/runner/qemu.ts: input in flight on the guest channel */
const WINDOW_BYTES = 16 << 10;
const MEMORY = '512M';
const ROUNDS = 8;

type Rows = Array<[string, string]>;

/** The first n generated sequences the harness protocol can carry (the generator may know more ops). */
function corpus(n: number): { seqs: Sequence[]; indices: number[] } {
  const seqs: Sequence[] = [];
  const indices: number[] = [];
  for (let i = 0; seqs.length < n; i++) {
    const s = generate(SEED, i);
    try {
      toWire(s);
    } catch {
      continue;
    }
    seqs.push(s);
    indices.push(i);
  }
  return { seqs, indices };
}

/** End-to-end through QemuRunner (generation, prediction and comparison included); returns seconds. */
async function endToEnd(runner: QemuRunner, profile: Profile, indices: readonly number[], tally: { divergences: number; notOk: number }): Promise<number> {
  let next = 0;
  const makeBatch = () => {
    const b: Sequence[] = [];
    while (b.length < BATCH && next < indices.length) b.push(generate(SEED, indices[next++]!));
    return b;
  };
  const t0 = performance.now();
  let batch = makeBatch();
  let inflight: Promise<SeqObservation[]> | null = runner.run(batch, { snapshotEveryCall: false });
  while (inflight) {
    const kernel = await inflight;
    const current = batch;
    batch = makeBatch();
    inflight = batch.length ? runner.run(batch, { snapshotEveryCall: false }) : null;
    current.forEach((s, j) => {
      const k = kernel[j]!;
      if (k.status !== 'ok') tally.notOk++;
      if (firstDivergence(predictAgainst(s, k, profile, false), k)) tally.divergences++;
    });
  }
  return (performance.now() - t0) / 1000;
}

/** A VM like QemuRunner's, but the protocol channel is ours: raw bytes in, `done` lines counted. */
class RawVm {
  private readonly dir = mkdtempSync(join(tmpdir(), 'vmafuzz-bench-vm-'));
  private readonly servers: Server[] = [];
  private proc: ReturnType<typeof spawnTied> | null = null;
  private sock: Socket | null = null;
  private onData: (s: string) => void = () => {};

  async boot(qemu: string, image: KernelImage, guest: QemuRunner['guestSetup'], accel: Accel, timeoutMs: number): Promise<void> {
    const socks = [join(this.dir, 'ttyS1.sock'), join(this.dir, 'hvc0.sock')];
    let chosen!: (s: Socket, first: Buffer) => void;
    const hello = new Promise<void>((resolve, reject) => {
      let before: string | null = ''; // output up to and including the hello line
      chosen = (s, first) => {
        this.sock = s;
        const take = (d: string) => {
          if (before === null) return this.onData(d);
          before += d;
          const m = /^hello vmafuzz-harness .*\n/m.exec(before);
          if (!m) return;
          const rest = before.slice(m.index + m[0].length);
          before = null;
          resolve();
          if (rest) this.onData(rest);
        };
        take(first.toString('utf8'));
        s.setEncoding('utf8');
        s.on('data', take);
      };
      setTimeout(() => reject(new Error(`no hello from the harness within ${timeoutMs} ms`)), timeoutMs).unref();
    });
    await Promise.all(
      socks.map(
        (path) =>
          new Promise<void>((res, rej) => {
            const srv = createServer((s) => {
              s.on('error', () => {});
              s.once('data', (first: Buffer) => {
                if (!this.sock) chosen(s, first);
              });
            });
            srv.once('error', rej);
            srv.listen(path, () => res());
            this.servers.push(srv);
          }),
      ),
    );
    const cfg = { qemu, vmlinuz: image.vmlinuz, initrd: guest.initrd, disks: guest.disks, append: guest.append, memory: MEMORY, cpus: 1, accel };
    this.proc = spawnTied(qemu, qemuArgs({ ...cfg, consoleLog: '', onReport: () => {} }, socks[0]!, socks[1]!), { stdio: ['pipe', 'ignore', 'ignore'] });
    await hello;
  }

  /** Write the whole text through the window; resolves after `count` done lines, with the seconds taken. */
  run(text: string, ends: readonly number[]): Promise<number> {
    const sock = this.sock!;
    const count = ends.length;
    return new Promise((resolve) => {
      let done = 0;
      let sent = 0; // sequences written
      let carry = '';
      const pump = () => {
        // everything up to the sequence that ends within done's bytes + the window, at least one
        const limit = (done > 0 ? ends[done - 1]! : 0) + WINDOW_BYTES;
        let j = sent;
        while (j < count && (ends[j]! <= limit || j === done)) j++;
        if (j > sent) {
          sock.write(text.slice(sent > 0 ? ends[sent - 1]! : 0, ends[j - 1]!));
          sent = j;
        }
      };
      const t0 = performance.now();
      this.onData = (d) => {
        // a "\ndone " may straddle chunks; the 5-character carry is too short to hold a whole one
        const s = carry + d;
        for (let i = s.indexOf('\ndone '); i >= 0; i = s.indexOf('\ndone ', i + 6)) done++;
        carry = s.slice(-5);
        if (done >= count) resolve((performance.now() - t0) / 1000);
        else pump();
      };
      pump();
    });
  }

  async close(): Promise<void> {
    this.sock?.end('quit\n');
    const p = this.proc;
    if (p && p.exitCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      const t = setTimeout(() => p.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    this.sock?.destroy();
    for (const s of this.servers) s.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function encodeAll(seqs: readonly Sequence[], opts: WireOptions): { text: string; ends: number[] } {
  const parts: string[] = [];
  const ends: number[] = [];
  let off = 0;
  seqs.forEach((s, i) => {
    const t = encodeWire(i.toString(16), toWire(s), opts);
    parts.push(t);
    off += Buffer.byteLength(t);
    ends.push(off);
  });
  return { text: parts.join(''), ends };
}

async function run(): Promise<Rows> {
  const qemu = findQemu();
  if (!qemu) return [['skipped', 'qemu-system-x86_64 not found (install qemu-system-x86)']];
  let image: KernelImage;
  try {
    image = await fetchKernel('6.12');
  } catch (e) {
    return [['skipped', `no Debian 6.12 kernel image: ${(e as Error).message.split('\n')[0]}`]];
  }
  const runner = new QemuRunner({ image, memory: MEMORY });
  const raw = new RawVm();
  try {
    let target: TargetInfo;
    try {
      target = await runner.start();
    } catch (e) {
      return [['skipped', `the 6.12 VM does not boot: ${(e as Error).message.split('\n')[0]}`]];
    }
    const accel = runner.stats.accel!;
    const profile = makeProfile(target.release, target.facts);
    // the runner's initramfs (with the xfs/btrfs modules), scratch disks and command line
    await raw.boot(qemu, image, runner.guestSetup, accel, accel === 'kvm' ? 30_000 : 90_000);
    // the runner's per-sequence deadline (scaled under TCG), so the text is byte for byte what it sends
    const opts: WireOptions = { snapshotEveryCall: false, deadlineMs: accel === 'tcg' ? 20_000 : 5000 };
    const tally = { divergences: 0, notOk: 0 };

    // warm-up of both VMs, and a rate estimate to size the measured run to ~2 x 20 s
    const warm = corpus(200);
    await endToEnd(runner, profile, warm.indices, tally);
    const w = encodeAll(warm.seqs, opts);
    const est = warm.seqs.length / (await raw.run(w.text, w.ends));
    const n = Number(process.env.VMAFUZZ_BENCH_QEMU_N ?? Math.min(20_000, Math.max(ROUNDS * 100, Math.round(est * 20))));
    const { seqs, indices } = corpus(n);

    // Guest speed under TCG drifts by 2x within seconds on a loaded host: measure both sides in
    // alternating rounds on the same slices, so drift hits both alike.
    let tE = 0;
    let tC = 0;
    const per = Math.ceil(n / ROUNDS);
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const lo = r * per;
      const hi = Math.min(n, lo + per);
      const text = encodeAll(seqs.slice(lo, hi), opts);
      const cOnly = async () => (tC += await raw.run(text.text, text.ends));
      const e2e = async () => (tE += await endToEnd(runner, profile, indices.slice(lo, hi), tally));
      const [c0, e0] = [tC, tE];
      if (r % 2) await cOnly().then(e2e);
      else await e2e().then(cOnly);
      ratios.push((tC - c0) / (tE - e0));
    }
    const calls = seqs.reduce((s, q) => s + q.calls.length, 0);
    return [
      ['kernel', `${image.release} (${image.version}), ${accel}, ${MEMORY}`],
      ['sequences', `${n} (${calls} calls), seed ${SEED}, batches of ${BATCH}, ${ROUNDS} alternating rounds`],
      ['C-only baseline (harness in the VM)', `${(n / tC).toFixed(0)} sequences/s`],
      ['end-to-end (runner + model + compare)', `${(n / tE).toFixed(0)} sequences/s (${tally.divergences} divergent, ${tally.notOk} not ok)`],
      ['ratio end-to-end / C-only', `${((100 * tC) / tE).toFixed(1)}%  (goal >= 70%)`],
      ['ratio per round (host noise)', ratios.map((x) => `${(100 * x).toFixed(0)}%`).join(' ')],
    ];
  } finally {
    await Promise.all([runner.close(), raw.close()]);
  }
}

export function section(): BenchSection {
  return { title: 'QEMU, one Debian 6.12 VM', run };
}
