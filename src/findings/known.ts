// Known kernel bugs: the regression corpus (corpus/regression/*.json) pins each one with a `known`
// label: the calls without which no sequence can exhibit it (`requires`, e.g. an mremap with
// MREMAP_DONTUNMAP), the divergence signatures replaying it gives and, optionally, patterns that
// describe the bug whatever incidental rules come with it. A campaign finding is labelled with the
// bug only when its sequence (the minimized one once there is one) has the required calls up to the
// divergent call AND its signature is pinned or its signature text matches a pattern (which names
// at least one decisive rule). Signatures alone are not enough: one without decisive rules
// (`maps|mmap|kernel-split|`) is the shape of many unrelated bugs. The morning report then says
// "known: <summary>" next to it. The label never hides a finding: it is still recorded, counted and
// reported (exit status 1); a bug is never a model profile row. A known bug seen on a release at or
// past its fix is flagged as such: a regression of the fix, or a different bug with its signature.

import { existsSync, readdirSync } from 'node:fs';
import { z } from 'zod';
import { join, relative } from 'node:path';
import { loadSequenceFile } from '../seq/io.js';
import { requiresMet, type Call, type Known } from '../seq/schema.js';
import { parseRelease } from '../model/profile.js';
import { cmpVersion } from '../model/profile-rows.js';

export interface KnownBug {
  /** the regression file, relative to the project root */
  file: string;
  known: Known;
}

/** What a finding records about the known bug it matches (finding.json, report --json). */
export const knownLabelSchema = z.strictObject({
  file: z.string(),
  summary: z.string(),
  reference: z.string(),
  fixedIn: z.string().optional(),
  /** the target's release is at or past fixedIn */
  afterFix: z.boolean(),
  /** how it matched: the exact signature, or a pattern of the file (given); the required calls always */
  pattern: z.string().optional(),
  /** other known bugs whose patterns match too (their files) */
  also: z.array(z.string()).optional(),
});
export type KnownLabel = z.infer<typeof knownLabelSchema>;

/**
 * A pattern is `layer|op|kind|rule,rule,...` in the form of a signature text
 * (src/compare/signature.ts): layer, op and kind must be equal, the listed rules must all be among
 * the finding's decisive rules (others may come along).
 */
export function matchesPattern(pattern: string, signatureText: string): boolean {
  const [pl, po, pk, pr = ''] = pattern.split('|');
  const [l, o, k, r = ''] = signatureText.split('|');
  if (pl !== l || po !== o || pk !== k) return false;
  const have = new Set(r.split(',').filter(Boolean));
  return pr.split(',').filter(Boolean).every((x) => have.has(x));
}

const ruleCount = (pattern: string) => (pattern.split('|')[3] ?? '').split(',').filter(Boolean).length;

export class KnownBugs {
  /** the bugs pinning each signature (several files may share a signature with different calls) */
  readonly bySignature = new Map<string, KnownBug[]>();
  readonly patterns: Array<{ pattern: string; bug: KnownBug }> = [];

  /** The known bugs of a regression corpus directory (bad files throw InputError naming the file). */
  static load(dir: string, root: string): KnownBugs {
    const kb = new KnownBugs();
    if (!existsSync(dir)) return kb;
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
      const path = join(dir, f);
      const seq = loadSequenceFile(path);
      if (!seq.known) continue;
      const bug = { file: relative(root, path), known: seq.known };
      for (const sig of seq.known.signatures ?? []) kb.bySignature.set(sig, [...(kb.bySignature.get(sig) ?? []), bug]);
      for (const pattern of seq.known.patterns ?? []) kb.patterns.push({ pattern, bug });
    }
    return kb;
  }

  /**
   * The bug a finding pins: among the bugs whose required calls `calls` has (the finding's sequence up
   * to its divergent call), by exact signature, else by the most specific matching pattern (most
   * required rules; ties go to the first file by name). Other bugs that also match are named.
   */
  lookup(f: KnownQuery, release: string): KnownLabel | undefined {
    const has = (bug: KnownBug) => requiresMet(bug.known.requires, f.calls);
    const exact = this.bySignature.get(f.signature)?.filter(has)[0];
    if (exact) return knownLabel(exact, release);
    const hits = this.patterns.filter((p) => has(p.bug) && matchesPattern(p.pattern, f.signatureText)).sort((a, b) => ruleCount(b.pattern) - ruleCount(a.pattern));
    if (!hits.length) return undefined;
    const best = hits[0]!;
    const also = [...new Set(hits.filter((h) => h.bug.known.summary !== best.bug.known.summary).map((h) => h.bug.file))];
    return { ...knownLabel(best.bug, release), pattern: best.pattern, ...(also.length ? { also } : {}) };
  }
}

export type KnownLookup = (f: KnownQuery, release: string) => KnownLabel | undefined;

/** What a finding offers for labelling. */
export interface KnownQuery {
  signature: string;
  signatureText: string;
  /** its sequence up to the divergent call (the minimized one when there is one) */
  calls: readonly Call[];
}

export function knownLabel(bug: KnownBug, release: string): KnownLabel {
  const rel = parseRelease(release);
  const fixed = bug.known.fixedIn ? parseRelease(bug.known.fixedIn) : null;
  return {
    file: bug.file,
    summary: bug.known.summary,
    reference: bug.known.reference,
    ...(bug.known.fixedIn ? { fixedIn: bug.known.fixedIn } : {}),
    afterFix: !!(rel && fixed && cmpVersion(rel, fixed) >= 0),
  };
}

/** One line for terminals and text reports. */
export function knownText(k: KnownLabel): string {
  const fix = k.fixedIn ? `; fixed in ${k.fixedIn}${k.afterFix ? ' - but this kernel is at or past that release: a regression of the fix, or another bug' : ''}` : '';
  const how = k.pattern ? `; matched by its pattern ${k.pattern}${k.also ? `, as are ${k.also.join(', ')}` : ''}` : '';
  return `known kernel bug: ${k.summary} (${k.file}; ${k.reference}${fix}${how})`;
}
