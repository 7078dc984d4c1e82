// The selftest-derived scenarios of corpus/selftest/ (memfd seals: memfd-*, fork whose child exits:
// fork-*), replayed on the host kernel: the model must predict every one exactly (calls, maps,
// VmFlags, pagemap, in every process). Each file cites the selftest function it comes from.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { replayJson } from '../src/cli/json.js';
import { loadSequenceFile } from '../src/seq/io.js';
import { predict, hostProfile } from '../src/model/index.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const DIR = join(import.meta.dirname, '..', 'corpus', 'selftest');
const mine = readdirSync(DIR)
  .filter((f) => /^(memfd|fork)-.*\.json$/.test(f))
  .map((f) => join(DIR, f));
const SELFTEST = /tools\/testing\/selftests\/(memfd\/memfd_test\.c:(test_|mfd_)|mm\/(guard-regions\.c:guard_regions\/|cow\.c:(test_|run_with_)|merge\.c:merge\/|uffd-unit-tests\.c:uffd_))/;

describe('selftest-derived scenarios (memfd seals, fork with the parent resuming)', () => {
  it('holds at least 56 scenarios, one per file, each citing its selftest function', () => {
    expect(mine.length).toBeGreaterThanOrEqual(56);
    for (const f of mine) {
      const seq = loadSequenceFile(f);
      expect(seq.description, f).toMatch(SELFTEST);
      expect(seq.name, f).toBe(f.slice(DIR.length + 1, -'.json'.length));
      // the model predicts every call (nothing declined), whatever the kernel does
      expect(predict(seq, hostProfile(), { snapshotEveryCall: true }).unsupported, f).toBeUndefined();
    }
    const seals = mine.map((f) => loadSequenceFile(f)).filter((s) => s.calls.some((c) => c.op === 'add_seals'));
    const blocks = mine.map((f) => loadSequenceFile(f)).filter((s) => s.calls.some((c) => c.op === 'exit'));
    expect(seals.length).toBeGreaterThanOrEqual(25);
    expect(blocks.length).toBeGreaterThanOrEqual(25);
  });

  it('replays every one on the host kernel exactly as the model predicts', async () => {
    const r = await execa(process.execPath, [CLI, 'replay', '--json', ...mine], { reject: false });
    const out = replayJson.parse(JSON.parse(r.stdout));
    const bad = out.results.filter((x) => x.status !== 'match').map((x) => `${x.file}: ${x.status} ${JSON.stringify(x).slice(0, 400)}`);
    expect(bad).toEqual([]);
    expect(out.results.length).toBe(mine.length);
    expect(r.exitCode).toBe(0);
  }, 300_000);
});
