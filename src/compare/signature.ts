// Deduplication signature of a divergence: what went wrong, not where. It combines the layer, the
// op of the divergent call, the shape of the difference and the decisive model rules that fired
// at that call; absolute addresses, page counts and unrelated calls do not enter it, so the same model or
// kernel bug found from different sequences (or on another machine) gets the same signature.

import { createHash } from 'node:crypto';
import type { Call } from '../seq/schema.js';
import type { Divergence } from './compare.js';

export interface SignatureInput {
  divergence: Divergence;
  calls: readonly Call[];
  /** model rule ids that fired at the divergent call (sorted, deduplicated by the caller or here) */
  rules: readonly string[];
}

// Rules that describe the shape of what happened (which neighbour merged, which end split) or a
// side effect, rather than a decision that can be wrong on its own. The same wrong decision shows
// up with many shapes, so keeping them would give one bug many signatures.
const SHAPE_RULES = [
  'merge.new.', 'merge.existing.', 'split.head', 'split.tail', 'munmap.', 'anon_vma.new', 'anon_vma.dup',
  'anon_vma.reuse.', 'mprotect.unchanged', 'mprotect.account_', 'mprotect.locked_populate', 'populate.', 'pgtable.',
  'mmap.fixed_replace', 'mmap.shared_anon', 'mmap.flags.', 'mmap.populate',
  'mremap.move', 'mremap.fixed_unmap', 'mremap.multi',
];
// Where a mapping landed decides the result (an address); for a later layer it is set-up.
const PLACEMENT_RULES = ['mmap.place.'];
// Fault rules decide probe outcomes; elsewhere (a fault that gave a VMA its anon_vma) they are set-up.
const FAULT_RULES = ['fault.', 'touch.'];

/** The rules that enter the signature of a divergence in `layer`. */
export function decisiveRules(layer: string, rules: readonly string[]): string[] {
  const shape = (r: string) => SHAPE_RULES.some((p) => r.startsWith(p) && !r.startsWith('mremap.move.pgoff_'));
  const keep = (r: string) =>
    !shape(r) && (layer === 'probe' || !FAULT_RULES.some((p) => r.startsWith(p))) && (layer === 'result' || !PLACEMENT_RULES.some((p) => r.startsWith(p)));
  return [...new Set(rules.filter(keep))].sort();
}

export function signatureText({ divergence, calls, rules }: SignatureInput): string {
  const op = divergence.call >= 0 ? (calls[divergence.call]?.op ?? '?') : 'initial';
  const r = decisiveRules(divergence.layer, rules).join(',');
  return `${divergence.layer}|${op}|${divergence.kind}|${r}`;
}

export function signature(input: SignatureInput): string {
  return createHash('sha256').update(signatureText(input)).digest('hex').slice(0, 16);
}
