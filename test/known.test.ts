// Known kernel bugs (src/findings/known.ts): the regression corpus indexed by signature, the label a
// finding gets, and on the host kernel a campaign that meets a pinned bug: the finding is still
// recorded and reported (exit 1), labelled "known" with the regression file and the source reference.

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readFinding } from '../src/campaign/findings.js';
import { fuzzJson, reportJson } from '../src/cli/json.js';
import { KnownBugs, knownLabel, knownText, matchesPattern } from '../src/findings/known.js';
import { parseRelease } from '../src/model/index.js';
import { loadSequenceFile, parseSequence, sequenceToJson } from '../src/seq/io.js';
import { MREMAP } from '../src/seq/consts.js';
import type { Sequence } from '../src/seq/schema.js';
import { ensureBuilt, ROOT, vmafuzz } from './campaign-support.js';

const REGRESSION = join(ROOT, 'corpus', 'regression');
const SELF_MERGE = 'corpus/regression/mremap-dontunmap-self-merge.json';

describe('known kernel bugs of the regression corpus', () => {
  it('indexes every listed signature to its file', () => {
    const index = KnownBugs.load(REGRESSION, ROOT).bySignature;
    expect(index.size).toBeGreaterThanOrEqual(17);
    expect(index.get('4d8952ac084954f0')?.[0]?.file).toBe(SELF_MERGE);
    for (const [sig, bugs] of index) for (const bug of bugs) expect(loadSequenceFile(join(ROOT, bug.file)).known?.signatures).toContain(sig);
  });

  it('flags a known bug seen at or past the release that fixed it', () => {
    const bug = KnownBugs.load(REGRESSION, ROOT).bySignature.get('4d8952ac084954f0')![0]!;
    expect(bug.known.fixedIn).toBe('7.3');
    expect(knownLabel(bug, '6.18.44-fc-v657').afterFix).toBe(false);
    expect(knownLabel(bug, '7.3.4-cloud-amd64').afterFix).toBe(true);
    expect(knownText(knownLabel(bug, '7.3.4'))).toMatch(/^known kernel bug: .*mremap-dontunmap-self-merge\.json.*fixed in 7\.3 - but this kernel is at or past that release/);
  });

  it('rejects a malformed signature list, naming the file and the field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmafuzz-known-'));
    const doc = JSON.parse(readFileSync(join(ROOT, SELF_MERGE), 'utf8'));
    doc.known.signatures = ['not-a-signature'];
    mkdirSync(join(dir, 'regression'));
    writeFileSync(join(dir, 'regression', 'bad.json'), JSON.stringify(doc));
    expect(() => KnownBugs.load(join(dir, 'regression'), dir)).toThrow(/bad\.json.*known\.signatures\[0\]/s);
  });

  it('matches patterns on layer, op, kind and required rules, the most specific first, naming the others', () => {
    expect(matchesPattern('maps|mremap|kernel-merged|a.b', 'maps|mremap|kernel-merged|a.b,c.d')).toBe(true);
    expect(matchesPattern('maps|mremap|kernel-merged|a.b,x', 'maps|mremap|kernel-merged|a.b,c.d')).toBe(false);
    expect(matchesPattern('maps|mremap|kernel-merged|a.b', 'maps|mremap|kernel-split|a.b')).toBe(false);
    expect(matchesPattern('result|madvise|errno:0!=22|', 'result|madvise|errno:0!=22|anything')).toBe(true);
    const kb = KnownBugs.load(REGRESSION, ROOT);
    // the pre-split bug with a uffd reset: both bugs' patterns match; the pre-split file sorts first
    const calls = loadSequenceFile(join(REGRESSION, 'mremap-dontunmap-mlock-presplit-after.json')).calls; // uffd_register, mremap(DONTUNMAP)
    const both = kb.lookup({ signature: '0000000000000000', signatureText: 'maps|mremap|kernel-merged|mremap.dontunmap,mremap.dontunmap.presplit,mremap.move.pgoff_reset,mremap.uffd_reset', calls }, '6.18.44')!;
    expect(both.file).toMatch(/mremap-dontunmap-mlock-presplit/);
    expect(both.pattern).toBe('maps|mremap|kernel-merged|mremap.dontunmap.presplit');
    expect(both.also).toEqual(['corpus/regression/mremap-uffd-source-registration-lost.json']);
    expect(knownText(both)).toMatch(/matched by its pattern .*, as are corpus\/regression\/mremap-uffd-source-registration-lost\.json\)$/);
    expect(kb.lookup({ signature: '0000000000000000', signatureText: 'maps|mremap|kernel-merged|mremap.dontunmap,mremap.move.pgoff_reset', calls }, '6.18.44')).toBeUndefined();
  });

  // The stale-pgoff bug pins the signature of `maps|mmap|kernel-split|` (no decisive rule): any
  // unexpected split at an mmap has it, e.g. a fault that got an anon_vma the model did not expect.
  it('labels a pinned signature only when the sequence has the bug\'s required calls', () => {
    const kb = KnownBugs.load(REGRESSION, ROOT);
    const pgoff = loadSequenceFile(join(REGRESSION, 'mremap-dontunmap-pgoff.json'));
    const sig = pgoff.known!.signatures![0]!;
    const query = (calls: Sequence['calls']) => ({ signature: sig, signatureText: 'maps|mmap|kernel-split|', calls });
    expect(kb.lookup(query(pgoff.calls), '6.18.44')?.file).toBe('corpus/regression/mremap-dontunmap-pgoff.json');
    // another cause, same layer|op|kind: a read fault, then a neighbouring mmap that does not merge
    const other = parseSequence({
      vmafuzz: 1,
      arenaPages: 8,
      calls: [
        { op: 'mmap', addr: 'A+0p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
        { op: 'touch', addr: 'A+0p', access: 'read' },
        { op: 'mremap', addr: 'A+0p', oldLen: '2p', newLen: '2p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED', newAddr: 'A+4p' },
        { op: 'mmap', addr: 'A+2p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
      ],
    }, 'other.json');
    expect(kb.lookup(query(other.calls), '6.18.44')).toBeUndefined();
    // the required call after the divergent call does not count (the caller passes calls up to it)
    const dontunmapLast = [...pgoff.calls.filter((c) => !(c.op === 'mremap' && c.flags & MREMAP.MREMAP_DONTUNMAP))];
    expect(kb.lookup(query(dontunmapLast), '6.18.44')).toBeUndefined();
    // a pattern match needs the calls too: the self-merge pattern's rules, without MREMAP_DONTUNMAP
    const text = 'maps|mremap|kernel-merged|mremap.dontunmap.no_self_merge';
    expect(kb.lookup({ signature: '0000000000000000', signatureText: text, calls: other.calls }, '6.18.44')).toBeUndefined();
    expect(kb.lookup({ signature: '0000000000000000', signatureText: text, calls: pgoff.calls }, '6.18.44')?.file).toBe(SELF_MERGE);
  });

  it('writes every known block back as it is written (requires too)', () => {
    for (const f of readdirSync(REGRESSION).filter((n) => n.endsWith('.json'))) {
      const known = (text: string) => JSON.stringify((JSON.parse(text) as { known: unknown }).known);
      expect(known(sequenceToJson(loadSequenceFile(join(REGRESSION, f)))), f).toBe(known(readFileSync(join(REGRESSION, f), 'utf8')));
    }
  });

  it('rejects a known block without required calls, one its own calls lack, and a pattern without rules', () => {
    const doc = JSON.parse(readFileSync(join(ROOT, SELF_MERGE), 'utf8'));
    const bad = (known: object) => () => parseSequence({ ...doc, known: { ...doc.known, ...known } }, 'x.json');
    expect(bad({ requires: undefined })).toThrow(/known\.requires/);
    expect(bad({ requires: [{ op: 'madvise', advice: 'MADV_COLLAPSE' }] })).toThrow(/known\.requires.*lack madvise\(MADV_COLLAPSE\)/s);
    expect(bad({ requires: [{ op: 'mremap', flags: 'MREMAP_DONTUNMAPP' }] })).toThrow(/known\.requires\[0\]\.flags/);
    expect(bad({ patterns: ['maps|mremap|kernel-merged|'] })).toThrow(/known\.patterns\[0\]/);
  });
});

describe('a campaign that meets a known bug', () => {
  beforeAll(ensureBuilt, 600_000);

  it('records and reports it, labelled with the regression file, on kernels that have it', async () => {
    const out = mkdtempSync(join(tmpdir(), 'vmafuzz-known-camp-'));
    const dir = join(out, 'c');
    // case 46 of this seed is a MREMAP_DONTUNMAP self-merge (the file's own replay; generator version 5)
    const r = await vmafuzz(['fuzz', '--count', '400', '--seed', '20261239', '--jobs', '1', '--no-minimize', '--progress', 'off', '--out', dir, '--json']);
    const j = fuzzJson.parse(JSON.parse(r.stdout));
    const host = parseRelease(j.target.release)!.join('.');
    const seenIn = loadSequenceFile(join(ROOT, SELF_MERGE)).known!.seenIn;
    const f = j.findings.find((x) => x.signature === '4d8952ac084954f0');
    if (!seenIn.some((v) => host === v || host.startsWith(v + '.'))) {
      // a kernel without the bug: nothing to label (the regression replay test covers the file)
      expect(f).toBeUndefined();
      return;
    }
    expect(r.exitCode, r.stderr).toBe(1); // a known bug is still a finding
    expect(f?.known).toMatch(/copy of an unfaulted VMA merges into its own kept source/);
    expect(r.stderr).toContain('known finding 4d8952ac084954f0');
    expect(r.stderr).not.toContain('NEW finding 4d8952ac084954f0');
    expect(r.stderr).toMatch(/unique \(\d+ known kernel bugs?\)/);
    const finding = readFinding(join(dir, 'findings', '4d8952ac084954f0'));
    expect(finding.known).toMatchObject({ file: SELF_MERGE, fixedIn: '7.3', afterFix: false });
    expect(finding.count).toBeGreaterThanOrEqual(1);
    expect(finding.samples.map((s) => s.file)).toContain('sample-20261239-46.json');
    expect(readFileSync(join(dir, 'findings', '4d8952ac084954f0', 'report.txt'), 'utf8')).toContain('known kernel bug: ');

    const rep = await vmafuzz(['report', dir, '--json', '--html', join(out, 'r.html'), '--junit', join(out, 'j.xml')]);
    const rj = reportJson.parse(JSON.parse(rep.stdout));
    expect(rj.findings.find((x) => x.signature === '4d8952ac084954f0')?.known?.file).toBe(SELF_MERGE);
    expect(readFileSync(join(out, 'r.html'), 'utf8')).toMatch(/<p class="known">known kernel bug: /);
    expect(readFileSync(join(out, 'j.xml'), 'utf8')).toMatch(/<failure message="[^"]*known kernel bug: /);
  }, 120_000);
});
