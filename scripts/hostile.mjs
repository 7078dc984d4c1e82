#!/usr/bin/env node
// Hostile input for `vmafuzz replay` (issue 11): corrupted JSON, hostile field values (prototype
// names, huge or wrapping numbers, refused advice, NULL, control characters), ranges outside the
// arena, special files (devices, FIFOs, directories, symlinks, oversized files) and sequences at
// the size bounds. Runs them in batches through the built CLI and counts what must never happen:
//   crash   exit code other than 0/1/2/125, an "internal error", a stack trace, or output that is not
//           the versioned JSON covering every file exactly once
//   hang    a batch taking over 60 s
//   memory  a batch over 1 GB RSS
//   escape  a file that is accepted although it holds a call outside the sequence language (refused
//           advice, an address beyond the arena, an unknown op), checked independently of src/seq
// Usage: node scripts/hostile.mjs [--count N] [--seed S] [--batch B]   (after npm run build)
// Also imported by test/hostile.test.ts with a smaller count.

import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'dist/cli/main.js');

function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)], chance: (p) => next() < p };
}

const MAP = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';
const base = () => ({
  vmafuzz: 1,
  arenaPages: 8,
  calls: [
    { op: 'mmap', addr: 'A+0p', len: '4p', prot: 'PROT_READ|PROT_WRITE', flags: MAP },
    { op: 'mprotect', addr: 'A+1p', len: '1p', prot: 'PROT_READ' },
    { op: 'madvise', addr: 'A+0p', len: '2p', advice: 'MADV_DONTNEED' },
    { op: 'touch', addr: 'A+2p', access: 'write' },
    { op: 'mremap', addr: 'A+0p', oldLen: '1p', newLen: '2p', flags: 'MREMAP_MAYMOVE' },
    { op: 'mlock', addr: 'A+0p', len: '1p' },
    { op: 'anon_name', addr: 'A+0p', len: '1p', name: 'a' },
  ],
});

const HOSTILE_VALUES = [
  'constructor', '__proto__', 'toString', 'valueOf', 'hasOwnProperty', 'NULL', 'A+0p', 'A+8p', 'A+9p', 'A+99999999999999999999p',
  'A+0p+0x1000', 'A+0p+0xfff', '-1', '0', '1p', '100', '101', '0x64', '0x65', '4294967396', '4294967397', '4294967296', '2147483648',
  '-2147483649', 'MADV_HWPOISON', 'MADV_SOFT_OFFLINE', '4503599627370496p', '4503599627370495p', '18446744073709551616',
  '18446744073709551615', '0xffffffffffe00000', '0xffffffffffe00001', '0xfffffffffffff000', '0x10000000000000000',
  '99999999999999999999999999p', '', ' ', '\u001b[2JALL TESTS PASSED', '\u202e', 'x'.repeat(5000), 'PROT_READ|__proto__',
  'MAP_PRIVATE|constructor', 'PROT_READ|', '|', '0x', '0xg', '1e3', '1.5', 'NaN', 'Infinity', 'read', 'exec', 'MADV_COLLAPSE',
  'MREMAP_FIXED', 'MREMAP_DONTUNMAP|MREMAP_MAYMOVE', 'MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED', 'MAP_FIXED',
  1, -1, 0, 1.5, 1e308, -0, 2 ** 53, 2 ** 64, null, true, false, [], {}, [1, 2], { op: 'mmap' }, { __proto__: null },
];
const FIELDS = ['op', 'addr', 'len', 'prot', 'flags', 'advice', 'access', 'oldLen', 'newLen', 'newAddr', 'name', 'fd', 'offset', 'file', 'uffd', 'mode', 'features', '__proto__', 'constructor'];
const TOP_FIELDS = ['vmafuzz', 'arenaPages', 'calls', 'name', 'description', 'known', 'files', 'origin', '__proto__'];

/** Advice that acts on the machine (mm/madvise.c:madvise_inject_error), by every spelling's int value. */
function adviceInt(v) {
  if (v === 'MADV_HWPOISON') return 100;
  if (v === 'MADV_SOFT_OFFLINE') return 101;
  if (typeof v !== 'string' || !/^(0x[0-9a-f]+|-?\d+)$/.test(v)) return null;
  return Number(BigInt.asIntN(32, BigInt(v)));
}

/** Independent check of an accepted file: no refused advice, no address beyond the arena, known ops. */
export function outsideLanguage(json) {
  const OPS = new Set(['mmap', 'munmap', 'mprotect', 'touch', 'madvise', 'mremap', 'mlock', 'mlock2', 'munlock', 'mseal', 'anon_name', 'ftruncate', 'uffd_create', 'uffd_register', 'uffd_unregister', 'fork']);
  const problems = [];
  json.calls.forEach((c, i) => {
    if (!OPS.has(c.op)) problems.push(`call ${i}: op ${c.op}`);
    if (c.op === 'madvise' && [100, 101].includes(adviceInt(c.advice))) problems.push(`call ${i}: advice ${c.advice}`);
    for (const k of ['addr', 'newAddr']) {
      const m = typeof c[k] === 'string' && /^A\+(\d+)p/.exec(c[k]);
      if (m && Number(m[1]) > json.arenaPages) problems.push(`call ${i}: ${k} ${c[k]}`);
    }
  });
  return problems;
}

/** Plausible values per field: most files then pass validation and run, near the edges. */
const PLAUSIBLE = {
  addr: (r) => `A+${r.int(10)}p`,
  len: (r) => r.pick(['0', '1p', '2p', '4p', '8p', '9p', '0x1001', '4097', '0xfffffffffffff000', '0xffffffffffffffff', '0x8000000000000000', '4503599627370495p']),
  prot: (r) => r.pick(['PROT_NONE', 'PROT_READ', 'PROT_READ|PROT_WRITE', 'PROT_EXEC', 'PROT_READ|PROT_GROWSDOWN', '0x10', '0xffffffff']),
  advice: (r) => String(r.int(130) - 2),
  access: (r) => r.pick(['read', 'write', 'exec']),
  flags: (r) => r.pick(['0', 'MREMAP_MAYMOVE', MAP, 'MAP_SHARED|MAP_ANONYMOUS|MAP_FIXED', 'MAP_PRIVATE|MAP_ANONYMOUS', '0x80000000']),
};

function mutateValue(r, json) {
  const calls0 = Array.isArray(json.calls) ? json.calls : null;
  if (calls0 && calls0.length && r.chance(0.5)) {
    const c = calls0[r.int(calls0.length)];
    const f = r.pick(Object.keys(PLAUSIBLE));
    if (c && f in c) c[f] = PLAUSIBLE[f](r);
    return json;
  }
  const calls = Array.isArray(json.calls) ? json.calls : null;
  if (calls && calls.length && r.chance(0.8)) {
    const c = calls[r.int(calls.length)];
    if (c && typeof c === 'object') {
      const f = r.pick(FIELDS);
      if (r.chance(0.1)) delete c[f];
      else Object.defineProperty(c, f, { value: r.pick(HOSTILE_VALUES), enumerable: true, writable: true, configurable: true });
    }
  } else {
    const f = r.pick(TOP_FIELDS);
    if (r.chance(0.15)) delete json[f];
    else Object.defineProperty(json, f, { value: r.pick(HOSTILE_VALUES), enumerable: true, writable: true, configurable: true });
  }
  return json;
}

/** A call that must be refused: it would act outside the arena or on the machine. */
function dangerous(r) {
  const advice = r.pick(['100', '101', '0x64', '0x65', 'MADV_HWPOISON', 'MADV_SOFT_OFFLINE', '4294967396', '4294967397', '-4294967196']);
  return r.pick([
    { op: 'madvise', addr: 'A+0p', len: '1p', advice },
    { op: 'madvise', addr: 'A+0p', len: r.pick(['1p', '0', '0xffffffffffffffff']), advice },
    { op: 'munmap', addr: 'A+9p', len: '1p' },
    { op: 'munmap', addr: 'A+0p', len: '9p' },
    { op: 'mprotect', addr: 'A+7p', len: '2p', prot: 'PROT_NONE' },
    { op: 'mmap', addr: 'NULL', len: '1p', prot: 'PROT_READ', flags: MAP },
    { op: 'mmap', addr: 'A+8p', len: '1p', prot: 'PROT_READ', flags: MAP },
    { op: 'touch', addr: 'A+8p', access: 'write' },
    { op: 'mremap', addr: 'A+0p', oldLen: '1p', newLen: '1p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED' },
    { op: 'mremap', addr: 'A+0p', oldLen: '1p', newLen: '2p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED', newAddr: 'A+7p' },
    { op: 'mlock', addr: 'A+0p', len: '0xffffffffffe00000' },
    { op: 'touch', addr: 'NULL', access: 'read' },
    { op: 'madvise', addr: 'NULL', len: '1p', advice: 'MADV_DONTNEED' },
  ]);
}

function corruptText(r, text) {
  const b = Buffer.from(text);
  switch (r.int(7)) {
    case 0: return b.subarray(0, r.int(b.length));
    case 1: { const c = Buffer.from(b); for (let i = 0; i < 1 + r.int(4); i++) c[r.int(c.length)] = r.int(256); return c; }
    case 2: return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]);
    case 3: return Buffer.from('['.repeat(1 + r.int(200000)));
    case 4: return Buffer.from(`{"vmafuzz":1,"arenaPages":8,"calls":[],"calls":${text}}`);
    case 5: return Buffer.concat([b, Buffer.from([0, 0xff, 0xfe])]);
    default: return Buffer.from(text.replace(/"/g, r.chance(0.5) ? "'" : '"\u0000'));
  }
}

/** Write `count` hostile inputs into `dir`; returns [{ file, mustRefuse }]. */
export function makeHostile(dir, count, seed) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < count; i++) {
    const file = join(dir, `h${i}.json`);
    const kind = r.int(100);
    let mustRefuse = false;
    if (kind < 3) {
      // special files: nothing that is not a regular file of at most 4 MiB is read
      const s = r.int(9);
      if (s === 0) symlinkSync('/dev/zero', file);
      else if (s === 1) symlinkSync('/dev/urandom', file);
      else if (s === 2) execFileSync('mkfifo', [file]);
      else if (s === 3) mkdirSync(file);
      else if (s === 4) writeFileSync(file, ' '.repeat((4 << 20) + 1 + r.int(1000)));
      else if (s === 5) symlinkSync(file, file); // a loop
      else if (s === 6) symlinkSync(join(dir, 'missing'), file);
      else if (s === 7) symlinkSync('/dev/null', file);
      else writeFileSync(file, '');
      mustRefuse = true;
    } else if (kind < 18) {
      const j = base();
      j.calls.splice(1 + r.int(j.calls.length - 1), 0, dangerous(r));
      writeFileSync(file, JSON.stringify(j));
      mustRefuse = true;
    } else if (kind < 30) {
      writeFileSync(file, corruptText(r, JSON.stringify(base())));
    } else if (kind < 32) {
      // sequences at the size bounds: calls x arenaPages around 2^18
      const arena = r.pick([64, 256, 512, 1024]);
      const n = Math.min(4096, Math.floor((1 << 18) / arena) + (r.chance(0.5) ? 1 : 0));
      const calls = [{ op: 'mmap', addr: 'A+0p', len: `${arena}p`, prot: 'PROT_READ|PROT_WRITE', flags: MAP }];
      for (let k = 1; k < n; k++) calls.push(k < arena / 2 ? { op: 'mprotect', addr: `A+${2 * k}p`, len: '1p', prot: 'PROT_READ' } : { op: 'touch', addr: `A+${k % arena}p`, access: 'write' });
      writeFileSync(file, JSON.stringify({ vmafuzz: 1, arenaPages: arena, calls }));
      mustRefuse = n * arena > 1 << 18;
    } else {
      let j = base();
      for (let m = 0; m < 1 + r.int(3); m++) j = mutateValue(r, j);
      writeFileSync(file, JSON.stringify(j));
    }
    out.push({ file, mustRefuse });
  }
  return out;
}

function runBatch(files) {
  return new Promise((res) => {
    const t0 = Date.now();
    const p = spawn('/usr/bin/time', ['-f', '%M', process.execPath, CLI, 'replay', '--json', '--quiet', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out = [], err = [];
    let hung = false;
    const timer = setTimeout(() => ((hung = true), p.kill('SIGKILL')), 120_000);
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('close', (code) => {
      clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8');
      const lines = stderr.trimEnd().split('\n');
      const rssKb = Number(lines[lines.length - 1]) || 0;
      const m = /Command exited with non-zero status (\d+)/.exec(stderr);
      res({ code: m ? Number(m[1]) : code, stdout: Buffer.concat(out).toString('utf8'), stderr, seconds: (Date.now() - t0) / 1000, rssKb, hung });
    });
  });
}

/** Generate and run; returns the figures (and examples of each failure). */
export async function runHostile({ count = 4000, seed = 1, batch = 50, log = () => {} } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-hostile-'));
  try {
    const inputs = makeHostile(dir, count, seed);
    const f = { files: count, batches: 0, crashes: 0, hangs: 0, over1GB: 0, escapes: 0, refused: 0, replayed: 0, mustRefuseAccepted: 0, maxSeconds: 0, maxRssMB: 0, codes: {}, examples: [] };
    for (let i = 0; i < inputs.length; i += batch) {
      const part = inputs.slice(i, i + batch);
      const r = await runBatch(part.map((x) => x.file));
      f.batches++;
      f.codes[r.code] = (f.codes[r.code] ?? 0) + 1;
      f.maxSeconds = Math.max(f.maxSeconds, r.seconds);
      f.maxRssMB = Math.max(f.maxRssMB, Math.round(r.rssKb / 1024));
      if (r.hung || r.seconds > 60) { f.hangs++; f.examples.push({ hang: part[0].file, seconds: r.seconds }); }
      if (r.rssKb > 1 << 20) { f.over1GB++; f.examples.push({ memory: part[0].file, rssKb: r.rssKb }); }
      let doc = null;
      try {
        doc = JSON.parse(r.stdout);
      } catch {
        /* counted below */
      }
      const named = new Map();
      for (const x of doc?.results ?? []) named.set(x.file, 'replayed');
      for (const x of doc?.badInput ?? []) named.set(x.file, 'refused');
      const stack = /internal error|\n\s+at [^\n]*:\d+:\d+/.test(r.stderr);
      const covered = doc && part.every((x) => named.has(x.file)) && named.size === part.length;
      if (![0, 1, 2, 125].includes(r.code) || stack || !covered) {
        f.crashes++;
        f.examples.push({ crash: part.map((x) => x.file).slice(0, 3), code: r.code, stderr: r.stderr.slice(0, 400) });
      }
      for (const x of part) {
        const how = named.get(x.file);
        if (how === 'refused') f.refused++;
        if (how !== 'replayed') continue;
        f.replayed++;
        if (x.mustRefuse) { f.mustRefuseAccepted++; f.escapes++; f.examples.push({ accepted: x.file, text: readFileSync(x.file, 'utf8').slice(0, 300) }); continue; }
        const problems = outsideLanguage(JSON.parse(readFileSync(x.file, 'utf8')));
        if (problems.length) { f.escapes++; f.examples.push({ escape: x.file, problems }); }
      }
      log(`batch ${f.batches}: exit ${r.code}, ${r.seconds.toFixed(1)} s, ${Math.round(r.rssKb / 1024)} MB`);
    }
    return f;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const f = await runHostile({ count: arg('count', 4000), seed: arg('seed', 1), batch: arg('batch', 50), log: (s) => process.stderr.write(s + '\n') });
  process.stdout.write(JSON.stringify(f, null, 2) + '\n');
  process.exitCode = f.crashes || f.hangs || f.over1GB || f.escapes ? 1 : 0;
}
