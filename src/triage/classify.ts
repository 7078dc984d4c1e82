// Triage of a finding across kernels: a pure function of the finding's replay outcomes on the host
// (the campaign's target) and on reference Debian kernels in QEMU (src/triage/run.ts produces them).
//
//   host-specific   the Debian kernel of the host's series behaves like the model and the newest
//                   does too: the host's divergence comes from its environment (a probed fact that
//                   differs, listed) or a vendor patch;
//   fixed-upstream  the newest kernel matches, an older reference diverges (the host's series does
//                   not match): named with the first matching kernel (bisection over the kernels at hand);
//   present         the newest kernel diverges too: a candidate upstream bug or a model error, with
//                   the decisive model rules a reviewer checks first;
//   indeterminate   the host run or a kernel needed for the verdict could not be tested (boot,
//                   fetch, unstable run): an infrastructure failure to retry, never a verdict.

import { z } from 'zod';
import { parseRelease } from '../model/profile.js';

export const TRIAGE_CLASSES = ['host-specific', 'fixed-upstream', 'present', 'indeterminate'] as const;
export type TriageClass = (typeof TRIAGE_CLASSES)[number];

/** One replay of the case on one kernel (the bisection's verdict plus the harness facts). */
export const observedSchema = z.strictObject({
  verdict: z.enum(['match', 'diverge', 'skip']),
  signature: z.string().optional(),
  release: z.string().optional(),
  detail: z.string(),
});
export type Observed = z.infer<typeof observedSchema> & { facts?: Record<string, string> };

export const TRIAGE_VERSION = 1;

/** What finding.json (and every --json output) records; versioned on its own. */
export const triageSchema = z.strictObject({
  version: z.literal(TRIAGE_VERSION),
  class: z.enum(TRIAGE_CLASSES),
  /** one sentence: why this class */
  reason: z.string(),
  at: z.string(),
  /** the file replayed: minimized.json, or a sample when there is no minimized form */
  file: z.string(),
  host: observedSchema,
  kernels: z.array(observedSchema.extend({ kernel: z.string() })),
  /** host-specific: the probed facts (harness hello) whose values differ between host and references */
  factsDiffer: z.array(z.strictObject({ fact: z.string(), host: z.string(), kernels: z.record(z.string(), z.string()) })).optional(),
  /** fixed-upstream: the first kernel that matches the model (and the last one that still diverges) */
  firstMatching: z.string().optional(),
  lastDiverging: z.string().optional(),
  /** present: the finding's decisive model rules (src/compare/signature.ts) */
  rules: z.array(z.string()).optional(),
  /**
   * where the reference kernels came from: given (--kernels), or the default - the host's series and
   * the newest series on the mirror (mirror), the newest cached kernel when the mirror could not be
   * listed (cache), or the host's series alone (host-series: offline with nothing cached)
   */
  referenceSource: z.enum(['given', 'mirror', 'cache', 'host-series']).optional(),
});
export type Triage = z.infer<typeof triageSchema>;

export interface Reference {
  /** as asked for ("7.3") */
  kernel: string;
  observed: Observed;
}

export interface ClassifyInput {
  host: Observed;
  /** reference kernels, oldest first; the last one is "the newest" */
  references: readonly Reference[];
  /** the host kernel's release (uname -r), for its series */
  hostRelease: string;
  /** decisive rules of the finding's signature */
  rules: readonly string[];
  /** fixed-upstream: the first matching and last diverging kernels, from a bisection */
  bisect?: { firstMatching: string; lastDiverging: string };
}

export type Classification = Omit<Triage, 'version' | 'at' | 'file'>;

/** The decisive rules of a signature text `layer|op|kind|rule,rule` (src/compare/signature.ts). */
export const rulesOf = (signatureText: string): string[] => (signatureText.split('|')[3] ?? '').split(',').filter(Boolean);

/** "6.18" of "6.18.44-fc-v1272" (null when the release is not a version). */
export function seriesOf(release: string): string | null {
  const v = parseRelease(release);
  return v ? `${v[0]}.${v[1] ?? 0}` : null;
}

/** The series of a reference: of the release it booted, else of what was asked for. */
const refSeries = (r: Reference) => (r.observed.release ? seriesOf(r.observed.release) : null) ?? seriesOf(r.kernel);

/** Probed facts whose values differ between the host and the references (release and paths left out). */
export function factsDiffer(host: Record<string, string>, refs: readonly Reference[]): NonNullable<Triage['factsDiffer']> {
  const IGNORE = new Set(['release', 'tmpfs_dir', 'accel', 'kernel_package_version']);
  const out: NonNullable<Triage['factsDiffer']> = [];
  const withFacts = refs.filter((r) => r.observed.facts);
  const keys = new Set([...Object.keys(host), ...withFacts.flatMap((r) => Object.keys(r.observed.facts!))]);
  for (const fact of [...keys].sort()) {
    if (IGNORE.has(fact)) continue;
    const h = host[fact] ?? '(absent)';
    const kernels: Record<string, string> = {};
    for (const r of withFacts) kernels[r.observed.release ?? r.kernel] = r.observed.facts![fact] ?? '(absent)';
    if (Object.values(kernels).some((v) => v !== h)) out.push({ fact, host: h, kernels });
  }
  return out;
}

const strip = (o: Observed) => {
  const { facts: _facts, ...rest } = o;
  return rest;
};

export function classify(input: ClassifyInput): Classification {
  const host = strip(input.host);
  const kernels = input.references.map((r) => ({ kernel: r.kernel, ...strip(r.observed) }));
  const base = { host, kernels };
  const indeterminate = (reason: string): Classification => ({ class: 'indeterminate', reason, ...base });
  if (input.host.verdict === 'skip') return indeterminate(`the host run could not be judged: ${input.host.detail}`);
  if (input.host.verdict === 'match') return indeterminate('the case does not diverge on the host now (re-run the triage; it may be flaky)');
  const newest = input.references.at(-1);
  if (!newest) return indeterminate('no reference kernel was given');
  const skipped = input.references.filter((r) => r.observed.verdict === 'skip').map((r) => `${r.kernel} (${r.observed.detail})`);
  if (newest.observed.verdict === 'skip') return indeterminate(`the newest reference kernel could not be tested: ${skipped.join('; ')}`);
  if (newest.observed.verdict === 'diverge') {
    const same = newest.observed.signature === input.host.signature ? 'with the same signature' : `with signature ${newest.observed.signature} (host ${input.host.signature})`;
    return {
      class: 'present',
      reason: `the newest reference kernel ${newest.observed.release ?? newest.kernel} diverges too, ${same}: a candidate upstream bug or a model error; check the decisive rules${input.rules.length ? '' : ' (none: the divergence is in what the model did not decide)'}`,
      ...base,
      rules: [...input.rules],
    };
  }
  // The newest matches: did the kernels of the host's series or older have it?
  const hostSeries = seriesOf(input.hostRelease);
  const diverging = input.references.filter((r) => r.observed.verdict === 'diverge');
  const ownSeries = input.references.filter((r) => r.observed.verdict !== 'skip' && hostSeries !== null && refSeries(r) === hostSeries);
  if (ownSeries.length && ownSeries.every((r) => r.observed.verdict === 'match')) {
    const facts = factsDiffer(input.host.facts ?? {}, ownSeries);
    const what = facts.length ? `probed facts that differ: ${facts.map((f) => `${f.fact} ${f.host} vs ${Object.values(f.kernels).join('/')}`).join(', ')}` : 'no probed fact differs: a vendor patch, or an environment fact the harness does not probe yet';
    return {
      class: 'host-specific',
      reason: `the Debian kernel of the host's series (${ownSeries.map((r) => r.observed.release ?? r.kernel).join(', ')}) and the newest (${newest.observed.release ?? newest.kernel}) match the model; ${what}`,
      ...base,
      factsDiffer: facts,
    };
  }
  // some reference diverges (the host's series, an older one standing in, or a newer one): fixed later
  const lastDiv = diverging.at(-1);
  if (lastDiv) {
    const i = input.references.indexOf(lastDiv);
    const firstMatch = input.references.slice(i + 1).find((r) => r.observed.verdict === 'match')!;
    const b = input.bisect ?? { lastDiverging: lastDiv.observed.release ?? lastDiv.kernel, firstMatching: firstMatch.observed.release ?? firstMatch.kernel };
    return {
      class: 'fixed-upstream',
      reason: `${b.lastDiverging} still diverges, ${b.firstMatching} is the first kernel that matches the model${skipped.length ? `; untested: ${skipped.join('; ')}` : ''}`,
      ...base,
      firstMatching: b.firstMatching,
      lastDiverging: b.lastDiverging,
    };
  }
  return indeterminate(
    `every tested reference kernel matches, but none of the host's series ${hostSeries ?? '?'} was tested, so host-specific and fixed upstream cannot be told apart` +
      (skipped.length ? `; untested: ${skipped.join('; ')}` : ''),
  );
}

export const CLASS_NAMES: Record<TriageClass, string> = {
  'host-specific': 'host-specific',
  'fixed-upstream': 'fixed upstream',
  present: 'present through the newest kernel',
  indeterminate: 'indeterminate (retry)',
};

/** One line for terminals and text reports. */
export function triageText(t: Triage): string {
  const extra =
    t.class === 'present' && t.rules?.length ? `; decisive model rules to check: ${t.rules.join(', ')}` : '';
  return `triage: ${CLASS_NAMES[t.class]} - ${t.reason}${extra}`;
}

/** "2 present, 1 fixed upstream" of the classes of some findings ("" when none is triaged). */
export function triageCounts(classes: ReadonlyArray<TriageClass | undefined>, untriaged = true): string {
  const n = (c: TriageClass) => classes.filter((x) => x === c).length;
  const parts = TRIAGE_CLASSES.filter((c) => n(c)).map((c) => `${n(c)} ${c === 'present' ? 'present' : CLASS_NAMES[c].replace(' (retry)', '')}`);
  const none = classes.filter((x) => x === undefined).length;
  if (untriaged && none && parts.length) parts.push(`${none} not triaged`);
  return parts.join(', ');
}
