// corpus/selftest: scenarios derived from the kernel's mm selftests (each file's description names
// the selftest function), replayed on the host kernel and predicted by the model. Every file must
// match exactly, with nothing declined - except a file needing a disk filesystem the host harness
// has no directory for (no root for loop mounts), which the model must then decline as a fact.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { divergenceOf, predictAgainst } from '../src/campaign/check.js';
import { makeProfile } from '../src/model/index.js';
import { NativeRunner } from '../src/runner/native.js';
import { DETAIL_RUN } from '../src/runner/types.js';
import { loadSequenceFile } from '../src/seq/io.js';
import { ROOT } from './campaign-support.js';

const DIR = join(ROOT, 'corpus', 'selftest');
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();
const DISK = ['ext4', 'xfs', 'btrfs'];

let runner: NativeRunner;
beforeAll(() => {
  runner = new NativeRunner();
});
afterAll(() => runner.close());

describe('selftest-derived corpus', () => {
  it('holds the guard-regions, merge, map_populate and madv_populate scenarios, one per file, each citing its selftest', () => {
    const mine = FILES.filter((f) => /^(guard-regions|merge|map-populate|madv-populate)-/.test(f));
    expect(mine.length).toBeGreaterThanOrEqual(56);
    for (const f of FILES) {
      const seq = loadSequenceFile(join(DIR, f));
      expect(seq.name, f).toBe(f.replace(/\.json$/, ''));
      expect(seq.description, f).toMatch(/tools\/testing\/selftests\/(mm|memfd)\/[a-z_-]+\.c:/);
    }
    // the disk filesystems, read-only files and pre-filled data are all represented
    const seqs = mine.map((f) => loadSequenceFile(join(DIR, f)));
    for (const kind of DISK) expect(seqs.some((s) => s.files?.some((x) => x.kind === kind))).toBe(true);
    expect(seqs.filter((s) => s.files?.some((x) => x.readOnly)).length).toBeGreaterThanOrEqual(5);
    expect(seqs.filter((s) => s.calls.some((c) => c.op === 'probe')).length).toBeGreaterThanOrEqual(56);
  });

  it('every file replays on the host exactly as the model predicts', async () => {
    const info = await runner.start();
    const profile = makeProfile(info.release, info.facts);
    const seqs = FILES.map((f) => loadSequenceFile(join(DIR, f)));
    const kernel = await runner.run(seqs, DETAIL_RUN);
    const bad: string[] = [];
    let matched = 0;
    seqs.forEach((seq, i) => {
      const k = kernel[i]!;
      const m = predictAgainst(seq, k, profile, true);
      const missing = seq.files?.find((x) => DISK.includes(x.kind) && !profile.fsKinds.includes(x.kind));
      if (missing) {
        // a fact of this host: the harness cannot create the file, the model declines at call 0
        if (m.unsupported?.call !== 0 || !m.unsupported.reason.includes(missing.kind)) bad.push(`${FILES[i]}: ${missing.kind} unavailable but not declined`);
        return;
      }
      if (k.status !== 'ok') bad.push(`${FILES[i]}: kernel status ${k.status} ${k.detail ?? ''}`);
      else if (m.unsupported) bad.push(`${FILES[i]}: model declined call ${m.unsupported.call}: ${m.unsupported.reason}`);
      else {
        const d = divergenceOf(seq, m, k);
        if (d) bad.push(`${FILES[i]}: ${d.layer} at call ${d.call}: ${d.kind} ${d.detail ?? ''}`);
        else matched++;
      }
    });
    expect(bad).toEqual([]);
    // on a host with every filesystem (root) nothing may be skipped
    if (DISK.every((k) => profile.fsKinds.includes(k))) expect(matched).toBe(FILES.length);
  }, 300_000);
});
