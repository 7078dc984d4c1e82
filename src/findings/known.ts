// Known kernel bugs: the regression corpus (corpus/regression/*.json) pins each one with a `known`
// label and the divergence signatures replaying it gives. A campaign finding with one of those
// signatures is labelled with the bug, so the morning report says "known: <summary>" next to it.
// The label never hides a finding: it is still recorded, counted and reported (exit status 1);
// a bug is never a model profile row. A known bug seen on a release at or past its fix is flagged
// as such, since that is a regression of the fix or a different bug with the same signature.

import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadSequenceFile } from '../seq/io.js';
import type { Known } from '../seq/schema.js';
import { parseRelease } from '../model/profile.js';

export interface KnownBug {
  /** the regression file, relative to the project root */
  file: string;
  known: Known;
}

/** What a finding records about the known bug it matches. */
export interface KnownLabel {
  file: string;
  summary: string;
  reference: string;
  fixedIn?: string;
  /** the target's release is at or past fixedIn */
  afterFix: boolean;
}

/** Index of the known bugs of a regression corpus directory by signature (bad files throw InputError). */
export function loadKnownBugs(dir: string, root: string): Map<string, KnownBug> {
  const index = new Map<string, KnownBug>();
  if (!existsSync(dir)) return index;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const path = join(dir, f);
    const seq = loadSequenceFile(path);
    if (!seq.known?.signatures) continue;
    for (const sig of seq.known.signatures) if (!index.has(sig)) index.set(sig, { file: relative(root, path), known: seq.known });
  }
  return index;
}

const cmp = (a: number[], b: number[]) => {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
};

export function knownLabel(bug: KnownBug, release: string): KnownLabel {
  const rel = parseRelease(release);
  const fixed = bug.known.fixedIn?.split('.').map(Number);
  return {
    file: bug.file,
    summary: bug.known.summary,
    reference: bug.known.reference,
    ...(bug.known.fixedIn ? { fixedIn: bug.known.fixedIn } : {}),
    afterFix: !!(rel && fixed && cmp(rel, fixed) >= 0),
  };
}

/** One line for terminals and text reports. */
export function knownText(k: KnownLabel): string {
  const fix = k.fixedIn ? `; fixed in ${k.fixedIn}${k.afterFix ? ' - but this kernel is at or past that release: a regression of the fix, or another bug' : ''}` : '';
  return `known kernel bug: ${k.summary} (${k.file}; ${k.reference}${fix})`;
}
