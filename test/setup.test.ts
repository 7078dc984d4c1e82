// scripts/setup.mjs and ./vmafuzz build only when an input changed (tsc takes 15-25 s on a loaded
// machine; ./vmafuzz runs it on every call, also under `git bisect run`).
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

describe('setup', () => {
  it('does not rebuild when nothing changed since the last build', async () => {
    // The first call builds if this checkout changed since the last build (npm test ran it already).
    await execa(process.execPath, [join(ROOT, 'scripts/setup.mjs')], { cwd: ROOT });
    const stamp = statSync(join(ROOT, 'dist/.build-stamp')).mtimeMs;
    const again = await execa(process.execPath, [join(ROOT, 'scripts/setup.mjs')], { cwd: ROOT });
    expect(again.stderr).not.toContain('building TypeScript');
    expect(statSync(join(ROOT, 'dist/.build-stamp')).mtimeMs).toBe(stamp);
    const v = await execa(join(ROOT, 'vmafuzz'), ['--version'], { cwd: ROOT });
    expect(v.stdout).toBe('0.1.0');
    expect(v.stderr).toBe('');
  }, 300_000);
});
