// `vmafuzz matrix` on real Debian kernels (6.1, 6.12, 7.3) in QEMU, through the built CLI as a
// user runs it (npm test builds first). A few seed corpus files keep it to a few boots. The table's
// labels and known-bug tags are also checked on a hand-made result, without booting.

import { execa } from 'execa';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { matrixJson } from '../src/cli/json.js';
import { fetchKernel } from '../src/kernels/index.js';
import { KnownBugs } from '../src/findings/known.js';
import { loadSequenceFile } from '../src/seq/io.js';
import type { MatrixResult } from '../src/matrix/matrix.js';
import { columnLabels, matrixDocument, renderMatrix } from '../src/matrix/render.js';
import { makeProfile } from '../src/model/index.js';
import { ensureCommand } from './helpers/system.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');
const vmafuzz = (args: string[]) => execa(process.execPath, [CLI, ...args], { reject: false, cwd: join(import.meta.dirname, '..') });

// Three files that touch the documented 6.1 vs 7.3 differences (src/model/profile-rows.ts), one that does not.
const ROWS = ['anon-vma-distinct-refuse-merge', 'noreserve-stack-flags', 'vm-account-mprotect'].map((f) => `corpus/seed/${f}.json`);
const FILES = [...ROWS, 'corpus/seed/mmap-errnos.json'];
// TCG's -cpu max has PKU (harness fact pkeys=1), unlike this host: execute-only pkeys are only tried here
const PKEY = 'corpus/seed/pkey-exec-only-populate.json';
// both sides of the 6.17 mremap rows (mremap.check_params_first, mremap.multi_vma): each kernel matches its own profile
const MREMAP_ORDER = 'corpus/seed/mremap-check-order.json';
const VERDICT = /^(match|#\d+ (result|probe|maps|vmflags|pagemap))$/;

beforeAll(async () => {
  await ensureCommand('qemu-system-x86_64', ['qemu-system-x86']);
  for (const v of ['6.1', '6.12', '7.3']) await fetchKernel(v);
}, 900_000);

// The table of a matrix result, without booting: what a column is called and how a known bug shows.
describe('matrix rendering', () => {
  const ROOT = join(import.meta.dirname, '..');
  const known = KnownBugs.load(join(ROOT, 'corpus', 'regression'), ROOT);
  const [sig, bugs] = [...known.bySignature.entries()][0]!; // a real known bug, by its exact signature
  const bug = bugs[0]!;
  const calls = loadSequenceFile(join(ROOT, bug.file)).calls; // its own calls meet its `requires`
  const build = '/home/dev/src/linux-with-a-rather-long-worktree-name/arch/x86/boot/bzImage';
  const col = (kernel: string, release: string | null, cells: MatrixResult['kernels'][number]['cells']) => ({
    kernel,
    target: release ? { runner: 'qemu', release, facts: {} } : null,
    profile: release ? makeProfile(release, {}) : null,
    ...(release ? {} : { error: `--kernel-image ${kernel}: no such file` }),
    seconds: 1,
    cells,
  });
  const diverge = { status: 'diverge' as const, divergence: { call: 3, layer: 'maps' as const, kind: 'k', detail: 'd' }, signature: sig, signatureText: 'maps|mremap|k|' };
  const r: MatrixResult = {
    files: ['a.json', 'b.json'],
    kernels: [
      col('6.12', '6.12.117+deb13-cloud-amd64', [{ status: 'match' }, { ...diverge, known: known.lookup({ signature: sig, signatureText: diverge.signatureText, calls }, '6.12.117+deb13-cloud-amd64')! }]),
      col(build, '7.3.0-rc7-00123-g0123456789ab-dirty', [{ status: 'match' }, diverge]),
      col('/tmp/other-build/arch/x86/boot/bzImage', '7.3.0-rc7-00123-g0123456789ab-dirty', [{ status: 'match' }, { status: 'match' }]),
      col('/nonexistent/bzImage', null, [{ status: 'untested' }, { status: 'untested' }]),
    ],
  };
  it('labels a column by the kernel as given, else the booted release (shortened), else the file name; unique', () => {
    expect(columnLabels(r.kernels)).toEqual(['6.12', '7.3.0-rc7-00123-g012345678..', '7.3.0-rc7-00123-g012345678..#2', 'bzImage']);
  });
  it('prints short headers with a legend, and tags the known bug in its cell', () => {
    const text = renderMatrix(r, { runner: 'qemu' });
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^file\s+6\.12\s+7\.3\.0-rc7-00123-g012345678\.\.\s+7\.3\.0-rc7-00123-g012345678\.\.#2\s+bzImage$/);
    expect(lines[0]!.length).toBeLessThan(120);
    expect(lines[2]).toMatch(/^b\.json\s+#3 maps \[k1\]\s+#3 maps\s+match\s+-$/);
    expect(text).toContain(`known kernel bugs (the cells still count as divergences):\n  [k1] known kernel bug: ${bug.known.summary} (${bug.file}; `);
    expect(text).toContain(`  7.3.0-rc7-00123-g012345678..: ${build}\n      7.3.0-rc7-00123-g0123456789ab-dirty, 1.0 s`);
    expect(text).toContain(`  b.json on 6.12: maps at call 3 (k), signature ${sig}: d\n      [k1] known kernel bug: ${bug.known.summary}`);
    expect(text).toMatch(/^summary: 4 match, 2 diverge \(1 known\), 0 crash, 0 timeout, 0 infra, 2 untested$/m);
    const doc = matrixJson.parse(matrixDocument(r, { runner: 'qemu' }));
    expect(doc.kernels.map((k) => k.label)).toEqual(columnLabels(r.kernels));
    expect(doc.rows[1]!.cells[0]!.known).toMatchObject({ file: bug.file, summary: bug.known.summary });
    expect(doc.rows[1]!.cells[1]!.known).toBeUndefined();
    expect(doc.exitCode).toBe(1); // a known bug is still a divergence
  });
});

describe('vmafuzz matrix', () => {
  it('prints a files x kernels table over 6.1, 6.12 and 7.3, each kernel judged with its own profile', async () => {
    const files = [...FILES, PKEY, MREMAP_ORDER];
    const r = await vmafuzz(['matrix', ...files, '--kernels', '6.1,6.12,7.3', '--jobs', '2']);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^file\s+6\.1\s+6\.12\s+7\.3$/);
    const cells = files.map((f, i) => {
      const cols = lines[i + 1]!.split(/\s{2,}/);
      expect(cols[0]).toBe(f);
      return cols.slice(1);
    });
    // verdicts, never an infrastructure failure, a timeout or an untested kernel
    for (const row of cells) {
      expect(row).toHaveLength(3);
      for (const c of row) expect(c).toMatch(VERDICT);
    }
    const diverging = cells.flat().filter((c) => c !== 'match').length;
    expect(r.exitCode).toBe(diverging ? 1 : 0);
    expect(r.stdout).toMatch(/^ {2}6\.1: 6\.1\.0-\d+-cloud-amd64 .*\n {6}model profile 6\.1\.0 .*pre-7\.3 rows: .*mprotect\.unaccount_unfaulted/m);
    expect(r.stdout).toMatch(/^ {2}6\.12: 6\.12\.\d+\+deb\d+-cloud-amd64 .*\n {6}model profile 6\.12\.\d+ /m);
    expect(r.stdout).toMatch(/^ {2}7\.3: 7\.3\.\d+\+deb\d+-cloud-amd64 .*\n {6}model profile 7\.3\.\d+ .*pre-7\.3 rows: none/m);
    expect(cells[files.indexOf(PKEY)]).toEqual(['match', 'match', 'match']);
    expect(cells[files.indexOf(MREMAP_ORDER)]).toEqual(['match', 'match', 'match']);
    expect(r.stdout).toMatch(new RegExp(`^summary: ${3 * files.length - diverging} match, ${diverging} diverge, 0 crash, 0 timeout, 0 infra$`, 'm'));
  }, 300_000);

  it('shows 6.1 diverging from the 7.3 model where the kernels differ (--profile 7.3 --json)', async () => {
    const r = await vmafuzz(['matrix', ...FILES, '--kernels', '6.1,7.3', '--profile', '7.3', '--jobs', '2', '--json']);
    expect(r.exitCode).toBe(1);
    const doc = matrixJson.parse(JSON.parse(r.stdout));
    expect(doc.profile).toBe('7.3');
    expect(doc.kernels.map((k) => [k.kernel, k.status, k.profile?.version])).toEqual([['6.1', 'tested', '7.3.0'], ['7.3', 'tested', '7.3.0']]);
    expect(doc.kernels[0]!.target!.release).toMatch(/^6\.1\.0-/);
    expect(doc.rows.map((row) => row.file)).toEqual(FILES);
    const col = (k: number) => doc.rows.map((row) => row.cells[k]!);
    // 6.1 keeps the old behaviour in each of the three row files, seen in the first layer that shows
    // it: maps for the merge order and VM_ACCOUNT rows; VmFlags for MAP_STACK (no "nh" on 6.1), which
    // shows at the mmap itself, before the merge it prevents
    const layers = ['maps', 'vmflags', 'maps'];
    expect(col(0).slice(0, 3).map((c) => [c.status, c.divergence?.layer, c.label === `#${c.divergence?.call} ${c.divergence?.layer}`])).toEqual(layers.map((l) => ['diverge', l, true]));
    expect(col(0)[1]!.divergence?.kind).toBe('vmflags:-nh');
    col(0).slice(0, 3).forEach((c, i) => {
      expect(c.signature).toMatch(/^[0-9a-f]{16}$/);
      expect(c.replay).toBe(`vmafuzz replay ${ROWS[i]} --runner qemu --kernel 6.1`);
    });
    expect(col(0)[3]!.status).toBe('match');
    expect(col(1).map((c) => c.status)).toEqual(['match', 'match', 'match', 'match']);
    expect(doc.summary).toEqual({ match: 5, diverge: 3, crash: 0, timeout: 0, infra: 0, untested: 0 });
    expect(doc.exitCode).toBe(1);
  }, 300_000);

  it('names a --kernel-image column by the release the booted kernel reported, with the path in the legend', async () => {
    const k = await fetchKernel('6.12');
    const r = await vmafuzz(['matrix', FILES[3]!, '--kernels', `6.12,${k.vmlinuz}`]);
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`file${' '.repeat(FILES[3]!.length - 4)}  6.12   ${k.release}`);
    expect(r.stdout).toContain(`\n  ${k.release}: ${k.vmlinuz}\n      ${k.release}, `);
  }, 300_000);

  it('tags a divergence that pins a known kernel bug, and still exits 1', async () => {
    // MADV_COLLAPSE inside one 2 MiB block: EINVAL up to 7.2 (corpus/regression, fixed in 7.3)
    const f = 'corpus/regression/madvise-collapse-sub-pmd.json';
    const r = await vmafuzz(['matrix', f, '--kernels', '6.12']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout.split('\n')[1]).toMatch(new RegExp(`^${f}\\s+#\\d+ result \\[k1\\]$`));
    expect(r.stdout).toMatch(/^ {2}\[k1\] known kernel bug: MADV_COLLAPSE .*\(corpus\/regression\/madvise-collapse-sub-pmd\.json; .*fixed in 7\.3\)$/m);
    expect(r.stdout).toMatch(/^summary: 0 match, 1 diverge \(1 known\), /m);
  }, 300_000);

  it('exits 125 when a kernel cannot be tested, and 2 on bad usage', async () => {
    const r = await vmafuzz(['matrix', FILES[3]!, '--kernels', '/nonexistent/bzImage', '--json']);
    expect(r.exitCode).toBe(125);
    const doc = matrixJson.parse(JSON.parse(r.stdout));
    expect(doc.kernels[0]).toMatchObject({ kernel: '/nonexistent/bzImage', label: 'bzImage', status: 'cannot-test' });
    expect(doc.kernels[0]!.error).toMatch(/no such file/);
    expect(doc.rows[0]!.cells.map((c) => c.status)).toEqual(['untested']);
    expect((await vmafuzz(['matrix', FILES[3]!, '--kernels', '6.12', '--jobs', '0'])).exitCode).toBe(2);
    expect((await vmafuzz(['matrix', FILES[3]!])).exitCode).toBe(2);
  });
});
