// `vmafuzz fuzz --threads N` end to end on the host kernel, and its usage errors (exit 2).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../src/runner/harness-build.js';

const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-threads-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (args: string[]) => execa(join(projectRoot(), 'vmafuzz'), args, { reject: false, all: true });

describe('fuzz --threads', () => {
  it('runs a concurrent campaign and writes its summary', async () => {
    const out = join(dir, 'c');
    const r = await cli(['fuzz', '--threads', '2', '--count', '96', '--seed', '5', '--batch', '32', '--out', out]);
    expect([0, 1]).toContain(r.exitCode); // 1: a run no order explains (a known kernel bug of the host, say)
    expect(r.all).toMatch(/96 concurrent sequences \(2 threads\)/);
    const s = JSON.parse(readFileSync(join(out, 'races-summary.json'), 'utf8')) as { sequences: number; pass: number; fail: number; indeterminate: number };
    expect(s.sequences).toBe(96);
    expect(s.pass + s.fail + s.indeterminate).toBe(96);
    expect(s.pass).toBeGreaterThan(80);
  }, 180_000);

  it('refuses bad thread counts, a missing budget, --resume and --json (exit 2)', async () => {
    for (const args of [['--threads', '1', '--count', '1'], ['--threads', '5', '--count', '1'], ['--threads', '3'], ['--threads', '3', '--count', '1', '--json'], ['--threads', '3', '--resume', dir]]) {
      const r = await cli(['fuzz', ...args, '--out', join(dir, 'x')]);
      expect(r.exitCode, args.join(' ')).toBe(2);
    }
  }, 120_000);
});
