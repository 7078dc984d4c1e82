// The command line as a user meets it: exit codes, messages naming what is wrong, and a real
// native campaign and replay on the host kernel. Runs the built CLI (npm test builds first).
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, writeFileSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fuzzJson, replayJson } from '../src/cli/json.js';
import { KnownBugs } from '../src/findings/known.js';
import { loadSequenceFile } from '../src/seq/io.js';
import { parseRelease } from '../src/model/index.js';


const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const vmafuzz = (args: string[], env: Record<string, string> = {}) => execa(process.execPath, [CLI, ...args], { reject: false, env, all: false });

describe('vmafuzz CLI', () => {
  it('rejects a malformed corpus file with exit 2, naming file, JSON path and problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-cli-'));
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ vmafuzz: 1, arenaPages: 8, calls: [{ op: 'mprotect', addr: 'A+1p', len: '2p', prot: 'PROT_RAED' }] }));
    const r = await vmafuzz(['replay', bad]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toContain('$.calls[0].prot');
    expect(r.stderr).toContain('unknown flag "PROT_RAED"');
    const notJson = join(dir, 'nojson.json');
    writeFileSync(notJson, '{ "vmafuzz": 1,');
    const r2 = await vmafuzz(['replay', notJson]);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toMatch(/nojson\.json: .*not valid JSON/);
  });

  it('exits 2 on bad usage', async () => {
    expect((await vmafuzz(['fuzz'])).exitCode).toBe(2);
    expect((await vmafuzz(['fuzz', '--count', 'many'])).stderr).toMatch(/--count expects/);
    expect((await vmafuzz(['fuzz', '--count', '1', '--ops', 'mmap,bogus'])).stderr).toMatch(/unknown op "bogus"/);
    expect((await vmafuzz(['frobnicate'])).exitCode).toBe(2);
  });

  it('exits 125 when the target cannot be tested', async () => {
    const r = await vmafuzz(['replay', 'corpus/seed/merge-new-prev-next.json'], { VMAFUZZ_HARNESS: '/nonexistent/harness' });
    expect(r.exitCode).toBe(125);
    expect(r.stderr).toMatch(/cannot test: VMAFUZZ_HARNESS/);
  });

  it('replays the whole corpus on the host kernel: every file matches the model', async () => {
    const files = ['seed', 'regression']
      .flatMap((d) => {
        try {
          return readdirSync(join('corpus', d)).map((f) => join('corpus', d, f));
        } catch {
          return [];
        }
      })
      .filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThan(10);
    const r = await vmafuzz(['replay', '--json', ...files]);
    const out = replayJson.parse(JSON.parse(r.stdout));
    // Files labelled as a known kernel bug must still diverge on the kernels where it was seen: the
    // label explains a finding, it never hides one. Everything else must match the model.
    const host = parseRelease(out.target.release)!.join('.');
    const expected = (f: string) => {
      const known = loadSequenceFile(f).known;
      if (!known) return ['match'];
      return known.seenIn.some((v) => host === v || host.startsWith(v + '.')) ? ['diverge'] : ['match', 'diverge'];
    };
    const bad = out.results.filter((x) => !expected(x.file).includes(x.status));
    expect(bad, JSON.stringify(bad, null, 2)).toEqual([]);
    // A known bug lists the signatures its replay gives: campaigns label their findings by them.
    const stale = out.results.filter((x) => x.status === 'diverge' && !loadSequenceFile(x.file).known?.signatures?.includes(x.signature!));
    expect(stale, JSON.stringify(stale, null, 2)).toEqual([]);
    // and each file's own replay gets its label (its signature, with its required calls)
    const kb0 = KnownBugs.load('corpus/regression', '.');
    const unlabelled = out.results
      .filter((x) => x.status === 'diverge' && loadSequenceFile(x.file).known)
      .filter((x) => kb0.lookup({ signature: x.signature!, signatureText: x.signatureText!, calls: loadSequenceFile(x.file).calls.slice(0, x.divergence!.call + 1) }, out.target.release)?.summary !== loadSequenceFile(x.file).known!.summary)
      .map((x) => x.file);
    expect(unlabelled).toEqual([]);
    // and the patterns alone (a signature no file lists) attribute every pinned shape to its own bug
    const kb = KnownBugs.load('corpus/regression', '.');
    const misfiled = out.results
      .filter((x) => x.status === 'diverge' && x.signatureText !== undefined)
      .filter((x) => kb.patterns.some((p) => p.bug.known.summary === loadSequenceFile(x.file).known?.summary)) // bugs with patterns
      .filter((x) => kb.lookup({ signature: '-', signatureText: x.signatureText!, calls: loadSequenceFile(x.file).calls.slice(0, x.divergence!.call + 1) }, out.target.release)?.summary !== loadSequenceFile(x.file).known?.summary)
      .map((x) => [x.file, x.signatureText]);
    if (out.results.some((x) => x.status === 'diverge')) expect(misfiled).toEqual([]);
    expect(r.exitCode).toBe(out.results.some((x) => x.status === 'diverge') ? 1 : 0);
  });

  it('runs a native campaign with a versioned JSON summary and no divergence', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vmafuzz-fuzz-'));
    // The core calls: the host kernel has known bugs in other families (corpus/regression), which a
    // campaign over them reports, as it should.
    const r = await vmafuzz(['fuzz', '--count', '3000', '--seed', '11', '--ops', 'core', '--out', out, '--json']);
    const s = fuzzJson.parse(JSON.parse(r.stdout));
    expect(r.stderr.split('\n')[0]).toBe('vmafuzz fuzz: seed 11');
    expect(s.sequences).toBe(3000);
    expect(s.findings, readFileSafe(out)).toEqual([]);
    expect(r.exitCode).toBe(0);
    // the header and the summary name the probed zero-page fact, whichever it is on this host
    const zero = s.target.facts['zero_page'];
    expect(zero).toMatch(/^[01]$/);
    expect(r.stderr.match(/^environment: .*$/gm)).toEqual(Array(2).fill(expect.stringMatching(zero === '1' ? /^environment: zero page present/ : /^environment: zero page FORBIDDEN/)));
    // default jobs: every CPU; lanes are bound to distinct CPUs, or (CPUs taken by a concurrent
    // test's campaign) none is, and the header says which
    expect(s.cpus).toHaveLength(s.jobs);
    const bound = s.cpus.filter((c) => c !== null);
    if (bound.length) {
      expect(new Set(bound).size).toBe(s.jobs);
      expect(r.stderr).toContain(`${s.jobs} job${s.jobs > 1 ? 's' : ''} on CPU${s.jobs > 1 ? 's' : ''} ${bound.join(',')};`);
    } else expect(r.stderr).toMatch(/not bound to CPUs: /);
  });
});

function readFileSafe(out: string): string {
  try {
    const d = join(out, 'findings');
    return readdirSync(d)
      .map((f) => readFileSync(join(d, f, 'report.txt'), 'utf8'))
      .join('\n');
  } catch {
    return '';
  }
}
