// Triage runs: replay one case on the host (the campaign's target, native by default) and on
// reference Debian kernels in QEMU, bisect when it was fixed, and classify (classify.ts). Data flows
// one way: a sequence in, a Triage out; the finding store is written by the caller.
//
// Default references: the newest of the host's series and the newest series the mirror offers
// (both fetched when missing); when the mirror cannot be listed (offline), the newest cached kernel
// instead of the mirror's newest series. The result records which (referenceSource). A series that
// cannot be fetched or booted is reported in the result, not fatal; when the host's series cannot be
// tested, the newest kernel below it (cached, or a series on the mirror) stands in (it can show
// "fixed upstream", never "host-specific"). QEMU missing: installed with apt-get when root on Debian
// (src/util/ensure.ts), else every reference is untested with a message naming the package.

import { bisectKernels, kernelTester, type KernelTest, type Verdict } from '../findings/bisect.js';
import { cachedKernels, kernelSeries, listKernels } from '../kernels/index.js';
import { parseRelease } from '../model/profile.js';
import { cmpVersion } from '../model/profile-rows.js';
import { createRunner, type RunnerOptions } from '../runner/index.js';
import type { Runner } from '../runner/types.js';
import type { Sequence } from '../seq/schema.js';
import { ensureCommand } from '../util/ensure.js';
import { classify, rulesOf, seriesOf, TRIAGE_VERSION, type Observed, type Reference, type Triage } from './classify.js';

export interface TriageOptions {
  /** the host: the target the finding was found on (default native) */
  target?: RunnerOptions;
  /** reference kernels (Debian versions or bzImage paths); default: see above */
  kernels?: readonly string[];
  /** runs per kernel; differing verdicts make it untestable (default 2) */
  runs?: number;
  /** QEMU options of the reference runs */
  qemu?: { memory?: string; append?: string };
  /** the name recorded as `file` */
  file: string;
  log?: (line: string) => void;
  /** ms since epoch: kernels not started by then are not tested (they make the result indeterminate) */
  deadline?: number;
  /** tests: a fake runner factory */
  makeRunner?: (o: RunnerOptions) => Promise<Runner>;
  /** bisect "fixed upstream" over the mirror's series between the two references too (fetching them) */
  bisectFetch?: boolean;
  /** tests: the cached kernels' releases, oldest first */
  cached?: () => string[];
  /** tests: the series the mirror offers a fetchable kernel of, oldest first (throws when offline) */
  mirrorSeries?: () => Promise<string[]>;
  /** tests: null when QEMU can run, else why not (default: src/util/ensure.ts; none with makeRunner) */
  ensureQemu?: () => Promise<string | null>;
}

const defaultMirrorSeries = async () => kernelSeries(await listKernels()).map((s) => s.series);
const seriesKey = (k: string) => {
  const s = seriesOf(k.split('/').pop()!.replace(/^vmlinuz-/, ''));
  return s ? parseRelease(s) : null;
};

const observed = (v: Verdict): Observed => ({
  verdict: v.kind,
  ...(v.kind === 'diverge' ? { signature: v.signature } : {}),
  ...(v.release ? { release: v.release } : {}),
  detail: v.detail.replace(/\s*\n\s*/g, ' '),
  ...(v.facts ? { facts: v.facts } : {}),
});

const versionKey = (k: string) => parseRelease(k.split('/').pop()!.replace(/^vmlinuz-/, ''));
/** Oldest first when every kernel is a version; as given otherwise (bzImage paths). */
function ordered(kernels: readonly string[]): string[] {
  const keys = kernels.map(versionKey);
  if (keys.some((k) => !k)) return [...kernels];
  return kernels.map((k, i) => ({ k, v: keys[i]! })).sort((a, b) => cmpVersion(a.v, b.v)).map((x) => x.k);
}

export async function triageSequence(seq: Sequence, opts: TriageOptions): Promise<Triage> {
  const log = opts.log ?? (() => {});
  const runs = opts.runs ?? 2;
  const make = opts.makeRunner ?? createRunner;
  const target = opts.target ?? { runner: 'native' as const };
  const base = { runner: 'qemu' as const, ...(opts.qemu?.memory ? { memory: opts.qemu.memory } : {}), ...(opts.qemu?.append ? { append: opts.qemu.append } : {}) };
  const memo = new Map<string, Verdict>();
  // QEMU is checked (and installed) once, when a kernel run first needs it
  const ensure = opts.ensureQemu ?? (opts.makeRunner ? async () => null : () => ensureCommand('qemu-system-x86_64', 'qemu-system-x86', (l) => log(`triage: ${l}`)));
  let qemuCheck: Promise<string | null> | null = null;
  const qemuProblem = () => (qemuCheck ??= ensure());
  const refTest = kernelTester(seq, { runs, runner: base, makeRunner: make });
  const test: KernelTest = async (k) => {
    const hit = memo.get(k);
    if (hit) return hit;
    let v: Verdict;
    if (opts.deadline !== undefined && Date.now() > opts.deadline) {
      v = { kind: 'skip', detail: 'the triage time budget was used up before this kernel' };
      memo.set(k, v);
      return v;
    }
    const noQemu = await qemuProblem();
    if (noQemu) {
      v = { kind: 'skip', detail: noQemu };
      log(`triage: ${k}: skip (${noQemu})`);
      memo.set(k, v);
      return v;
    }
    log(`triage: replaying on ${k} (QEMU)`);
    try {
      v = await refTest(k);
    } catch (e) {
      // a kernel that cannot be fetched or booted is reported, never fatal
      v = { kind: 'skip', detail: (e as Error).message.split('\n')[0]! };
    }
    log(`triage: ${k}${v.release && v.release !== k ? ` (${v.release})` : ''}: ${v.kind}${v.kind === 'diverge' ? ` ${v.signature}` : ''}${v.kind === 'skip' ? ` (${v.detail})` : ''}`);
    memo.set(k, v);
    return v;
  };

  log(`triage: replaying on the host (${target.runner})`);
  let hv: Verdict;
  try {
    const noQemu = target.runner === 'qemu' ? await qemuProblem() : null;
    if (noQemu) throw new Error(noQemu);
    hv = await kernelTester(seq, { runs, makeRunner: () => make(target) })('host');
  } catch (e) {
    hv = { kind: 'skip', detail: (e as Error).message.split('\n')[0]! };
  }
  const host = observed(hv);
  const hostRelease = hv.release ?? '';
  const rules = hv.kind === 'diverge' && hv.signatureText ? rulesOf(hv.signatureText) : [];
  const stamp = (t: Omit<Triage, 'version' | 'at' | 'file'>): Triage => ({ version: TRIAGE_VERSION, at: new Date().toISOString(), file: opts.file, ...t });
  if (hv.kind !== 'diverge') return stamp(classify({ host, references: [], hostRelease, rules }));

  const cached = (opts.cached ?? (() => cachedKernels().map((m) => m.release)))();
  const series = seriesOf(hostRelease);
  let kernels: string[];
  let source: NonNullable<Triage['referenceSource']> = 'given';
  let mirror: string[] = [];
  if (opts.kernels?.length) kernels = ordered(opts.kernels);
  else {
    let newest: string | undefined;
    try {
      mirror = ordered(await (opts.mirrorSeries ?? defaultMirrorSeries)());
      newest = mirror.at(-1);
    } catch (e) {
      log(`triage: the mirror cannot be listed (${(e as Error).message.split('\n')[0]})`);
    }
    if (newest) source = 'mirror';
    else if ((newest = ordered(cached).at(-1))) source = 'cache';
    else source = 'host-series';
    kernels = ordered([...new Set([...(series ? [series] : []), ...(newest ? [newest] : [])])]);
    const what = { mirror: `the newest series on the mirror, ${newest}`, cache: `the newest cached kernel, ${newest} (the mirror could not be listed)`, 'host-series': 'nothing newer (the mirror could not be listed and no kernel is cached)' }[source];
    log(`triage: references: the host's series ${series ?? '?'} and ${what}`);
  }
  const refs = async (ks: string[]): Promise<Reference[]> => {
    const out: Reference[] = [];
    for (const k of ks) out.push({ kernel: k, observed: observed(await test(k)) });
    return out;
  };
  let references = await refs(kernels);
  // The host's series could not be tested: the newest cached kernel below it stands in.
  const own = references.find((r) => r.kernel === series);
  if (!opts.kernels?.length && series && own?.observed.verdict === 'skip' && !(await qemuProblem())) {
    // a cached kernel, or a series on the mirror (fetched); a cached one wins within a series
    const below = ordered([...cached, ...mirror.filter((m) => !cached.some((c) => seriesOf(c) === m))]).filter((k) => {
      const s = seriesKey(k);
      return s && cmpVersion(s, versionKey(series)!) < 0;
    });
    const stand = below.at(-1);
    if (stand) {
      log(`triage: the host's series ${series} could not be tested; ${stand} stands in`);
      kernels = ordered([...kernels, stand]);
      references = await refs(kernels);
    }
  }
  let c = classify({ host, references, hostRelease, rules });
  if (c.class === 'fixed-upstream' && c.lastDiverging && c.firstMatching) {
    // Name the first matching kernel: bisect over the cached kernels between the two references.
    const lo = references.find((r) => (r.observed.release ?? r.kernel) === c.lastDiverging)!;
    const hi = references.find((r) => (r.observed.release ?? r.kernel) === c.firstMatching)!;
    const lv = versionKey(lo.observed.release ?? lo.kernel);
    const hv2 = versionKey(hi.observed.release ?? hi.kernel);
    let between = lv && hv2 ? ordered(cached).filter((k) => {
      const v = versionKey(k);
      return v && cmpVersion(v, lv) > 0 && cmpVersion(v, hv2) < 0 && !kernels.includes(k);
    }) : [];
    if (opts.bisectFetch && lv && hv2) {
      // series strictly between the two references' series that no cached kernel already stands for
      let offered = mirror;
      if (!offered.length) offered = await (opts.mirrorSeries ?? defaultMirrorSeries)().catch(() => []);
      const sl = seriesKey(lo.observed.release ?? lo.kernel)!;
      const sh = seriesKey(hi.observed.release ?? hi.kernel)!;
      const extra = offered.filter((m) => {
        const v = parseRelease(m);
        return v && cmpVersion(v, sl) > 0 && cmpVersion(v, sh) < 0 && !between.some((c) => seriesOf(c) === m) && !kernels.includes(m);
      });
      between = ordered([...between, ...extra]);
    }
    if (between.length) {
      const b = await bisectKernels([lo.kernel, ...between, hi.kernel], test); // test() logs each kernel
      if (b.status === 'changed' && b.lastSame && b.firstChanged) {
        const rel = (k: string) => memo.get(k)?.release ?? k;
        c = classify({ host, references, hostRelease, rules, bisect: { lastDiverging: rel(b.lastSame), firstMatching: rel(b.firstChanged) } });
        c.kernels.push(...between.filter((k) => memo.has(k)).map((k) => ({ kernel: k, ...stripFacts(observed(memo.get(k)!)) })));
        const order = ordered(c.kernels.map((k) => k.release ?? k.kernel));
        c.kernels.sort((a, b) => order.indexOf(a.release ?? a.kernel) - order.indexOf(b.release ?? b.kernel));
      }
    }
  }
  return stamp({ ...c, referenceSource: source });
}

const stripFacts = (o: Observed) => {
  const { facts: _f, ...rest } = o;
  return rest;
};
