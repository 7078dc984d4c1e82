// The command line against hostile input and hostile surroundings (issue 11): what it reads, what
// it prints and how it ends. Runs the built CLI on the host kernel.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayJson } from '../src/cli/json.js';
import { printable, printableLine } from '../src/util/text.js';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const vmafuzz = (args: string[]) => execa(process.execPath, [CLI, ...args], { reject: false, timeout: 120_000 });
const tmp = () => mkdtempSync(join(tmpdir(), 'vmafuzz-hard-'));
const GOOD = { vmafuzz: 1, arenaPages: 4, calls: [{ op: 'mmap', addr: 'A+0p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' }, { op: 'touch', addr: 'A+1p', access: 'write' }] };

describe('output reaches a slow reader in full', () => {
  it('replay --json to a pipe nobody reads for a while: every byte, then the exit code', async () => {
    const corpus = ['seed', 'regression'].flatMap((d) => readdirSync(join(ROOT, 'corpus', d)).map((f) => join(ROOT, 'corpus', d, f)));
    const files = Array.from({ length: 8 }, () => corpus).flat(); // > 64 KiB of JSON
    const { bytes, code } = await new Promise<{ bytes: Buffer; code: number | null }>((res) => {
      // A real pipe (64 KiB) whose reader sleeps: the CLI must wait for it, not exit with its output
      // queued. (Not a paused node stream: node's socketpair holds ~200 KiB, and node discards what a
      // listener-less stdout still holds when the child exits.) pipefail: the CLI's exit status.
      const p = spawn('bash', ['-o', 'pipefail', '-c', '"$0" "$@" | (sleep 3; cat)', process.execPath, CLI, 'replay', '--json', ...files], { stdio: ['ignore', 'pipe', 'ignore'] });
      const chunks: Buffer[] = [];
      p.stdout.on('data', (d: Buffer) => chunks.push(d));
      p.on('close', (c) => res({ bytes: Buffer.concat(chunks), code: c }));
    });
    expect(bytes.length).toBeGreaterThan(65536);
    const doc = replayJson.parse(JSON.parse(bytes.toString('utf8')));
    expect(doc.results).toHaveLength(files.length);
    expect([0, 1]).toContain(code);
  }, 120_000);
});

describe('what replay reads', () => {
  it('refuses devices, FIFOs and directories at once, without reading them', async () => {
    const dir = tmp();
    symlinkSync('/dev/zero', join(dir, 'zero.json'));
    execaSyncMkfifo(join(dir, 'fifo.json'));
    mkdirSync(join(dir, 'dir.json'));
    const t0 = Date.now();
    const r = await vmafuzz(['replay', join(dir, 'zero.json'), join(dir, 'fifo.json'), join(dir, 'dir.json')]);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'zero.json')}: (root): a character device, not a regular file`);
    expect(r.stderr).toContain(`${join(dir, 'fifo.json')}: (root): a FIFO, not a regular file`);
    expect(r.stderr).toContain(`${join(dir, 'dir.json')}: (root): a directory, not a regular file`);
  });

  it('refuses files over the 4 MiB limit', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'big.json'), ' '.repeat((4 << 20) + 1));
    const r = await vmafuzz(['replay', join(dir, 'big.json')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/big\.json: \(root\): 4194305 bytes: larger than the 4194304-byte limit/);
  });

  it('never quotes the content of a file that is not JSON (a symlink to a secret)', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'secret'), 'root:$6$SECRETHASH:19000:0:99999:7:::\n');
    symlinkSync(join(dir, 'secret'), join(dir, 'x.json'));
    writeFileSync(join(dir, 'y.json'), '{"vmafuzz": 1, "name": "SECRET2" oops}');
    const r = await vmafuzz(['replay', join(dir, 'x.json'), join(dir, 'y.json')]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('x.json: (root): not valid JSON');
    expect(r.stderr).toMatch(/y\.json: \(root\): not valid JSON at line 1, column 34/);
    expect(r.stderr + r.stdout).not.toMatch(/SECRET|root:/);
  });

  it('reports every bad file, replays the good ones, then exits 2', async () => {
    const dir = tmp();
    const a = join(dir, 'a.json'), b1 = join(dir, 'bad1.json'), b2 = join(dir, 'bad2.json'), c = join(dir, 'c.json');
    writeFileSync(a, JSON.stringify(GOOD));
    writeFileSync(b1, '{');
    writeFileSync(b2, JSON.stringify({ ...GOOD, calls: [{ op: 'touch', addr: 'NULL', access: 'read' }] }));
    writeFileSync(c, JSON.stringify(GOOD));
    const r = await vmafuzz(['replay', a, b1, b2, c]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${b1}: (root): not valid JSON`);
    expect(r.stderr).toContain(`${b2}: $.calls[0].addr: NULL is only allowed`);
    expect(r.stdout).toContain(`MATCH ${a}`);
    expect(r.stdout).toContain(`MATCH ${c}`);
    const j = await vmafuzz(['replay', '--json', a, b1]);
    expect(j.exitCode).toBe(2);
    const doc = replayJson.parse(JSON.parse(j.stdout));
    expect(doc.results.map((x) => x.file)).toEqual([a]);
    expect(doc.badInput?.map((x) => x.file)).toEqual([b1]);
    // matrix boots nothing on bad input, and names every bad file
    const m = await vmafuzz(['matrix', a, b1, b2, '--kernels', '6.12']);
    expect(m.exitCode).toBe(2);
    expect(m.stderr).toContain(`${b1}: (root): not valid JSON`);
    expect(m.stderr).toContain(`${b2}: $.calls[0].addr`);
    const none = await vmafuzz(['replay', '--json', b1]);
    expect(none.exitCode).toBe(2);
    expect(replayJson.parse(JSON.parse(none.stdout)).target).toBeNull();
  });
});

describe('what the CLI prints', () => {
  it('shows control characters and bidi overrides escaped, keeping newlines', () => {
    expect(printable('\u001b[2JALL TESTS PASSED\nnext\tcol\r\u202e')).toBe('\\x1b[2JALL TESTS PASSED\nnext\tcol\\x0d\\u202e');
    expect(printableLine('a\nb\u009b')).toBe('a\\x0ab\\x9b');
  });

  it('escapes terminal escapes in a file name it prints', async () => {
    const dir = tmp();
    const f = join(dir, '\u001b[2JALL TESTS PASSED.json');
    writeFileSync(f, JSON.stringify(GOOD));
    const r = await vmafuzz(['replay', f]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('MATCH');
    expect(r.stdout).toContain('\\x1b[2JALL TESTS PASSED.json');
    expect(r.stdout + r.stderr).not.toContain('\u001b');
  });

  it('lists the exit codes in every command\'s help', async () => {
    for (const cmd of [['fuzz'], ['replay'], ['report'], ['minimize'], ['repro'], ['bisect'], ['matrix'], ['kernels', 'list']]) {
      const r = await vmafuzz([...cmd, '--help']);
      expect(r.exitCode, cmd.join(' ')).toBe(0);
      expect(r.stdout, cmd.join(' ')).toMatch(/Exit codes:\n(.|\n)*  2    bad usage or bad input(.|\n)*  125  cannot test/);
    }
    expect((await vmafuzz(['replay', '--help'])).stdout).toMatch(/  0    every file matches the model\n  1    a divergence/);
  });
});

describe('damaged campaign records and unusable paths', () => {
  it('report and fuzz --resume name a damaged finding.json (exit 2, no stack)', async () => {
    const dir = join(tmp(), 'camp');
    const made = await vmafuzz(['fuzz', '--count', '5', '--seed', '3', '--ops', 'mmap,munmap', '--jobs', '1', '--out', dir]);
    expect(made.exitCode, made.stderr).toBe(0);
    mkdirSync(join(dir, 'findings', '0123456789abcdef'), { recursive: true });
    const bad = join(dir, 'findings', '0123456789abcdef', 'finding.json');
    writeFileSync(bad, '{"vmafuzz": 1,');
    for (const args of [['report', dir], ['fuzz', '--resume', dir]]) {
      const r = await vmafuzz(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`${bad}: (root): not valid JSON`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });

  it('an --out that cannot be a directory is bad usage in one line', async () => {
    const r = await vmafuzz(['fuzz', '--count', '5', '--out', '/dev/null/x']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe('vmafuzz: cannot use /dev/null/x: ENOTDIR (mkdir)');
  });
});

function execaSyncMkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}
