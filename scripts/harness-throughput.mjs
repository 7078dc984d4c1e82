#!/usr/bin/env node
// Throughput of `harness --serve` alone: N random sequences of ~10 calls, once with a maps snapshot
// only at the end and once after every call. Then the same through NativeRunner (protocol encoding,
// streaming parse, observations) when the TypeScript build exists (`npm run build`).
// Nothing is written to disk.
//   node scripts/harness-throughput.mjs [count] [harness-path]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const count = Number(process.argv[2] ?? 10000);
const harness = process.argv[3] ?? process.env.VMAFUZZ_HARNESS ?? join(root, 'harness-c/build/harness');
const PAGES = 64;
const FD = 'ffffffffffffffff';

let seed = 12345;
const rnd = (n) => {
  seed = (seed * 1103515245 + 12345) & 0x7fffffff;
  return seed % n;
};
const h = (n) => n.toString(16);

function call() {
  const page = rnd(PAGES - 4), len = h((1 + rnd(4)) * 4096), prot = h(rnd(4));
  switch (rnd(5)) {
    case 0: return `mmap ${h(page)} 0 ${len} ${prot} 32 ${FD} 0`; // MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED
    case 1: return `mmap - 0 ${len} ${prot} ${rnd(2) ? 22 : 21} ${FD} 0`;
    case 2: return `mprotect ${h(page)} 0 ${len} ${prot}`;
    case 3: return `munmap ${h(page)} 0 ${len}`;
    default: return `touch ${h(page)} 0 ${rnd(2) ? 'w' : 'r'}`;
  }
}

function sequences() {
  seed = 12345;
  return Array.from({ length: count }, () => Array.from({ length: 8 + rnd(5) }, call));
}

function generate(every) {
  const parts = sequences().map((calls, i) => `seq ${h(i)} ${h(PAGES)} ${every ? 1 : 0}\n${calls.join('\n')}\nend\n`);
  return parts.join('') + 'quit\n';
}

function run(input) {
  return new Promise((resolve, reject) => {
    const p = spawn(harness, ['--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    let bytes = 0, done = 0, calls = 0, last = '';
    const t0 = process.hrtime.bigint();
    p.stdout.on('data', (b) => {
      bytes += b.length;
      const s = last + b.toString('latin1');
      const lines = s.split('\n');
      last = lines.pop();
      for (const l of lines) {
        if (l.startsWith('done ')) done++;
        else if (l.startsWith('r ')) calls++;
      }
    });
    p.on('error', reject);
    p.on('close', () => resolve({ secs: Number(process.hrtime.bigint() - t0) / 1e9, bytes, done, calls }));
    p.stdin.end(input);
  });
}

for (const every of [false, true]) {
  const input = generate(every);
  const r = await run(input);
  const mode = every ? 'snapshot after every call' : 'snapshot at the end only';
  console.log(
    `${mode}: ${r.done} sequences (${r.calls} calls) in ${r.secs.toFixed(2)} s = ${Math.round(r.done / r.secs)} seq/s, ` +
      `${(r.bytes / 1e6).toFixed(1)} MB of output`,
  );
}

const dist = join(root, 'dist/runner/native.js');
if (existsSync(dist)) {
  const { NativeRunner } = await import(dist);
  const runner = new NativeRunner({ harnessPath: harness });
  await runner.start();
  const wires = sequences().map((lines) => ({ arenaPages: PAGES, lines, returnsAddr: lines.map((l) => l.startsWith('mmap')) }));
  for (const every of [false, true]) {
    const t0 = process.hrtime.bigint();
    const batches = []; // pipelined: all batches in flight at once
    for (let i = 0; i < wires.length; i += 1000) batches.push(runner.runWire(wires.slice(i, i + 1000), { snapshotEveryCall: every }));
    const obs = (await Promise.all(batches)).flat();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const bad = obs.filter((o) => o.status !== 'ok').length;
    console.log(`NativeRunner, ${every ? 'every call' : 'end only'}: ${obs.length} observations in ${secs.toFixed(2)} s = ${Math.round(obs.length / secs)} seq/s (${bad} not ok)`);
  }
  await runner.close();
}
