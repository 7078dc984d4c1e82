// `vmafuzz report`: the HTML report of a campaign that found something, opened in a real headless
// browser (Debian's chromium), renders every finding and its pictures; the JUnit XML has one
// testcase per finding; --json is versioned and validated; a clean campaign reports clean.

import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { inflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { reportJson } from '../src/cli/json.js';
import { FindingStore, findingTarget } from '../src/campaign/findings.js';
import { judge, type Predictor } from '../src/findings/judge.js';
import { makeProfile } from '../src/model/index.js';
import { NativeRunner } from '../src/runner/native.js';
import { DETAIL_RUN } from '../src/runner/types.js';
import { loadSequenceFile } from '../src/seq/io.js';
import { TRIAGE_VERSION, type Triage } from '../src/triage/classify.js';
import { ensureBuilt, ROOT, SMALL_LAYOUT, vmafuzz, WRONG_PROFILE } from './campaign-support.js';
import { ensureCommand } from './helpers/system.js';
import { wrongChildFlags, wrongFirstErrno, wrongFirstPage, wrongNoEvent } from './helpers/wrong-model.js';
import { absoluteReplay, splitReplay } from '../src/report/replay.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'vmafuzz-report-'));

beforeAll(async () => {
  await ensureBuilt();
  await ensureCommand('chromium', ['chromium']);
}, 900_000);

function chromium(args: string[]) {
  const profile = mkdtempSync(join(tmpdir(), 'vmafuzz-chromium-'));
  return execa('chromium', ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, ...args], { timeout: 120_000 });
}

/** Decode an 8-bit RGB/RGBA PNG (what chromium writes) into RGBA pixels. */
function decodePng(buf: Buffer): { width: number; height: number; rgba: Uint8Array } {
  expect(buf.subarray(0, 8).toString('latin1')).toBe('\x89PNG\r\n\x1a\n');
  let pos = 8;
  let width = 0;
  let height = 0;
  let channels = 4;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.subarray(pos + 4, pos + 8).toString('latin1');
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      expect(data[8]).toBe(8);
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      expect(channels).toBeGreaterThan(0);
      expect(data[12]).toBe(0); // no interlace
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(width * height * 4);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      const p = a + b - c;
      const pr = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      cur[i] = (line[i]! + [0, a, b, (a + b) >> 1, pr][f]!) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out.set([cur[x * channels]!, cur[x * channels + 1]!, cur[x * channels + 2]!, channels === 4 ? cur[x * channels + 3]! : 255], (y * width + x) * 4);
    }
    prev = cur;
  }
  return { width, height, rgba: out };
}

function countColor(img: { rgba: Uint8Array }, hex: string, tol = 6): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < img.rgba.length; i += 4) if (Math.abs(img.rgba[i]! - r!) <= tol && Math.abs(img.rgba[i + 1]! - g!) <= tol && Math.abs(img.rgba[i + 2]! - b!) <= tol) n++;
  return n;
}

/** Minimal XML well-formedness: balanced tags, quoted attributes, only the five entities. */
function checkXml(xml: string): void {
  const stack: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const re = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>|&(?!(?:amp|lt|gt|quot|apos);)|<(?![/A-Za-z])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(body))) {
    if (m[2] === undefined) throw new Error(`stray markup at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
    if (m[1]) expect(stack.pop(), `closing ${m[2]}`).toBe(m[2]);
    else if (!m[4]) stack.push(m[2]);
  }
  expect(stack).toEqual([]);
}

describe('vmafuzz report', () => {
  it('renders a campaign with findings: HTML in headless chromium, JUnit XML, JSON', async () => {
    const dir = join(tmp(), 'c');
    const run = await vmafuzz(['fuzz', '--count', '1600', '--seed', '21', '--jobs', '1', '--out', dir, '--profile-override', WRONG_PROFILE, '--no-minimize', '--progress', 'off', ...SMALL_LAYOUT]);
    expect(run.exitCode, run.stderr).toBe(1);
    const html = join(dir, '..', 'report.html');
    const junit = join(dir, '..', 'junit.xml');
    const r = await vmafuzz(['report', dir, '--html', html, '--junit', junit, '--json']);
    expect(r.exitCode, r.stderr).toBe(1);
    const j = reportJson.parse(JSON.parse(r.stdout));
    expect(j.findings.length).toBeGreaterThan(2);
    expect(j.totals.sequences).toBe(1600);
    expect(j.findings.every((f) => f.replay?.startsWith('vmafuzz replay ') && f.divergence)).toBe(true);
    // the file replayed is absolute: the command runs from any directory
    for (const f of j.findings) expect(existsSync(f.replay!.split(' ')[2]!), f.replay).toBe(true);

    // the DOM after load: every finding has its section and arena picture, and the browser laid out the VMA bars
    const dom = (await chromium(['--dump-dom', `file://${html}`])).stdout;
    const body = /<body([^>]*)>/.exec(dom)![1]!;
    expect(body).toContain(`data-findings="${j.findings.length}"`);
    const rendered = Number(/data-rendered-vmas="(\d+)"/.exec(body)?.[1] ?? 0);
    expect(rendered).toBeGreaterThan(4 * j.findings.length); // at least one VMA in each of 4 rows
    for (const f of j.findings) {
      const sec = new RegExp(`<section class="finding" id="f-${f.signature}"[\\s\\S]*?</section>`).exec(dom)?.[0];
      expect(sec, f.signature).toBeDefined();
      expect(sec).toContain('<svg class="arena"');
      expect(sec).toContain(`${f.layer}</b> layer`);
      expect(sec).toMatch(/<tr class="div">/); // the divergent call is marked in the calls table
      expect(sec).toContain('<th>model</th><th>kernel</th>');
    }
    expect((dom.match(/<svg class="chart"/g) ?? []).length).toBe(4);

    // the whole page as painted: VMA bars in their protection colours, and the red outline of VMAs
    // that differ (a maps-layer finding has some)
    const height = Number(/data-height="(\d+)"/.exec(body)?.[1] ?? 0);
    expect(height).toBeGreaterThan(2000);
    const png = join(dir, '..', 'shot.png');
    await chromium([`--window-size=1200,${Math.min(height + 50, 30000)}`, '--hide-scrollbars', `--screenshot=${png}`, `file://${html}`]);
    const img = decodePng(readFileSync(png));
    expect(img.width).toBe(1200);
    const bars = ['#4e79a7', '#59a14f', '#bab0ac', '#f28e2b', '#e15759', '#edc948'].reduce((n, c) => n + countColor(img, c), 0);
    expect(bars).toBeGreaterThan(300 * j.findings.length);
    expect(j.findings.some((f) => f.layer === 'maps')).toBe(true);
    expect(countColor(img, '#d50000', 20)).toBeGreaterThan(50);

    const xml = readFileSync(junit, 'utf8');
    checkXml(xml);
    for (const f of j.findings) expect(xml).toContain(`\n${f.replay}</system-out>`);
    expect((xml.match(/<testcase /g) ?? []).length).toBe(j.findings.length + j.flaky.length + 1);
    expect((xml.match(/<failure /g) ?? []).length).toBe(j.findings.length);
    expect(xml).toMatch(new RegExp(`<testsuite name="vmafuzz" tests="${j.findings.length + j.flaky.length + 1}" failures="${j.findings.length}"`));
    for (const f of j.findings) expect(xml).toContain(`name="${f.signature} ${f.layer} ${f.op} ${f.diff.replace(/!/g, '!')}"`);
  }, 600_000);

  it('reports a clean campaign as clean (exit 0, one passing testcase)', async () => {
    const dir = join(tmp(), 'clean');
    // core calls only: campaigns over other families meet the host's known kernel bugs (corpus/regression)
    expect((await vmafuzz(['fuzz', '--count', '400', '--seed', '2', '--ops', 'core', '--jobs', '1', '--out', dir, '--progress', 'off'])).exitCode).toBe(0);
    const html = join(dir, 'r.html');
    const junit = join(dir, 'r.xml');
    const r = await vmafuzz(['report', dir, '--html', html, '--junit', junit]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(html, 'utf8')).toContain('No divergence');
    const xml = readFileSync(junit, 'utf8');
    checkXml(xml);
    expect(xml).toContain('tests="1" failures="0"');
    expect((await vmafuzz(['report', dir, join(dir, 'x')])).exitCode).toBe(2);
    expect((await vmafuzz(['report', '/nonexistent/campaign'])).stderr).toMatch(/not a campaign directory/);
  }, 300_000);

  it("draws the layer that diverges: a fork child's VmFlags, the pagemap page by page; known and triage columns", async () => {
    // a clean campaign to hold them, then two findings of deliberately wrong models on the real kernel
    const dir = join(tmp(), 'layers');
    expect((await vmafuzz(['fuzz', '--count', '40', '--seed', '2', '--ops', 'core', '--jobs', '1', '--out', dir, '--progress', 'off'])).exitCode).toBe(0);
    const runner = new NativeRunner();
    const target = await runner.start();
    const profile = makeProfile(target.release, target.facts);
    const store = new FindingStore(dir, (q) =>
      // a stand-in label (any regression file will do) on the VmFlags finding only: the report must show it
      q.signatureText.startsWith('vmflags') ? { file: 'corpus/regression/mremap-dontunmap-pgoff.json', summary: 'stand-in known bug for the report test', reference: 'none', afterFix: false } : undefined,
    );
    const record = async (file: string, wrong: Predictor) => {
      const seq = loadSequenceFile(join(ROOT, 'corpus', 'seed', file));
      const [k] = await runner.run([seq], DETAIL_RUN);
      const j = judge(wrong, profile, seq, k!);
      expect(j.divergence, file).not.toBeNull();
      return { j, r: store.record(j, findingTarget(target), (f) => `vmafuzz replay ${relative(process.cwd(), f)}`, 'divergence') };
    };
    const flagsF = await record('fork-anon-vma-children.json', wrongChildFlags);
    const pageF = await record('madvise-discard.json', wrongFirstPage);
    const errnoF = await record('mmap-errnos.json', wrongFirstErrno);
    const eventF = await record('uffd-events.json', wrongNoEvent);
    await runner.close();
    expect(errnoF.j.divergence).toMatchObject({ layer: 'result' });
    expect(eventF.j.divergence).toMatchObject({ layer: 'probe' });
    expect(flagsF.j.divergence).toMatchObject({ layer: 'vmflags', proc: 1 });
    expect(pageF.j.divergence).toMatchObject({ layer: 'pagemap' });
    const triage = (cls: Triage['class']): Triage => ({ version: TRIAGE_VERSION, class: cls, reason: `test: ${cls}`, at: new Date().toISOString(), file: 'x.json', host: { verdict: 'diverge', detail: '' }, kernels: [] });
    store.attachTriage(flagsF.r.finding.signature, 'divergence', triage('fixed-upstream'));
    store.attachTriage(pageF.r.finding.signature, 'divergence', triage('present'));

    const html = join(dir, 'layers.html');
    const r = await vmafuzz(['report', dir, '--html', html]);
    expect(r.exitCode, r.stderr).toBe(1);
    const doc = readFileSync(html, 'utf8');
    const section = (sig: string) => new RegExp(`<section class="finding" id="f-${sig}"[\\s\\S]*?</section>`).exec(doc)![0];

    // the fork child's arena after the fork, its VMAs drawn (not "nothing mapped"), the flag difference on the VMA and in the table
    const fs = section(flagsF.r.finding.signature);
    const call = flagsF.j.divergence!.call;
    expect(fs).toContain('in <b>fork child 1</b>');
    expect(fs).toContain(`kernel, after #${call}, child 1`);
    const childSvg = fs.slice(fs.indexOf('<svg class="arena"'), fs.indexOf('</svg>'));
    const childVmas = flagsF.j.kernel.snapshots.find((s) => s.after === call && s.proc === 1)!.maps;
    for (const v of childVmas) expect(childSvg).toContain(`A+${v.start}p-A+${v.end}p ${v.perms}`);
    expect(childSvg).toMatch(/<text class="note"[^>]*>\+me -dd<\/text>/);
    expect(fs).toMatch(/<table class="vmflags">[\s\S]*<tr class="diff">[\s\S]*<b class="flagdiff">dd<\/b>[\s\S]*<b class="flagdiff">me<\/b>[\s\S]*\+me -dd<\/td>/);
    expect(fs).not.toContain('(nothing mapped)');

    // the pagemap strip: the first present page differs (model '-', kernel 'P'), outlined
    const ps = section(pageF.r.finding.signature);
    const pageCall = pageF.j.divergence!.call;
    const kpm = pageF.j.kernel.snapshots.find((s) => s.after === pageCall)!.pagemap!;
    const first = kpm.indexOf('P');
    expect(ps).toContain('<svg class="pagemap"');
    expect(ps).toContain(`<g class="page diff" data-page="${first}"><title>A+${first}p: - not present (differs)</title>`);
    expect(ps).toContain(`<g class="page diff" data-page="${first}"><title>A+${first}p: P present (differs)</title>`);
    expect((ps.match(/<g class="page diff"/g) ?? []).length).toBe(2);
    expect(ps).toContain(`A+${first}p model - kernel P`);

    // a result and a uffd-event divergence: the divergent call's two results differ, outlined
    for (const f of [errnoF, eventF]) {
      const sec = section(f.r.finding.signature);
      const row = /<tr class="div">[\s\S]*?<\/tr>/.exec(sec)![0];
      const cells = [...row.matchAll(/<td class="mono diff">([^<]*)<\/td>/g)].map((m) => m[1]);
      expect(cells.length, row).toBe(2);
      expect(cells[0]).not.toBe(cells[1]);
    }
    expect(section(eventF.r.finding.signature)).toMatch(/<tr class="div">.*\[uffd \w+\]/);

    // the table: triage and known columns, present first; replay commands with absolute files that exist
    const table = /<table class="findings">[\s\S]*?<\/table>/.exec(doc)![0];
    expect(table).toContain('<th>triage</th><th>known bug</th>');
    const rows = table.match(/<tr data-triage="[^"]+">/g)!;
    expect(rows).toEqual(['<tr data-triage="present">', '<tr data-triage="none">', '<tr data-triage="none">', '<tr data-triage="fixed-upstream">']);
    expect(table).toContain('stand-in known bug for the report test');
    expect(table).toMatch(/<a class="mono" href="file:\/\/[^"]*\/corpus\/regression\/mremap-dontunmap-pgoff.json">corpus\/regression\/mremap-dontunmap-pgoff.json<\/a>/);
    expect(doc.indexOf(`id="f-${pageF.r.finding.signature}"`)).toBeLessThan(doc.indexOf(`id="f-${flagsF.r.finding.signature}"`));
    for (const m of doc.matchAll(/Replay \(from any directory\): <code class="replay">vmafuzz replay ([^\s<]+)/g)) {
      expect(m[1]!.startsWith('/'), m[1]).toBe(true);
      expect(existsSync(m[1]!), m[1]).toBe(true);
    }
    expect((doc.match(/Replay \(from any directory\)/g) ?? []).length).toBe(4);
    // the text report says the same
    const txt = readFileSync(join(flagsF.r.dir, 'report.txt'), 'utf8');
    expect(txt).toContain('in fork child 1');
    expect(txt).toMatch(/!! .* \+me -dd/);
    expect(readFileSync(join(pageF.r.dir, 'report.txt'), 'utf8')).toMatch(/differs +\^/);

    // as painted: the red outlines of the differing VMA and pages, and the flag-difference tag
    const png = join(dir, 'layers.png');
    await chromium(['--window-size=1200,2600', '--hide-scrollbars', `--screenshot=${png}`, `file://${html}`]);
    console.log(`[report] screenshot ${png}`);
    const img = decodePng(readFileSync(png));
    expect(countColor(img, '#d50000', 20)).toBeGreaterThan(100);
    expect(countColor(img, '#b71c1c', 20)).toBeGreaterThan(20);
  }, 300_000);

  it('makes replay commands absolute: quoted and unquoted files, against a directory or the finding', () => {
    expect(splitReplay("vmafuzz replay 'a b/it'\\''s.json' --runner qemu")).toEqual({ prefix: 'vmafuzz replay ', file: "a b/it's.json", rest: ' --runner qemu' });
    expect(absoluteReplay('vmafuzz replay out/f/sample-1.json --kernel 6.12', { cwd: '/home/u' })).toBe('vmafuzz replay /home/u/out/f/sample-1.json --kernel 6.12');
    expect(absoluteReplay('vmafuzz replay /abs/s.json', { cwd: '/x' })).toBe('vmafuzz replay /abs/s.json');
    expect(absoluteReplay('vmafuzz replay rel/s.json', {})).toBeNull();
    expect(absoluteReplay('vmafuzz replay x.json', { cwd: '/dir with space' })).toBe("vmafuzz replay '/dir with space/x.json'");
  });
});
