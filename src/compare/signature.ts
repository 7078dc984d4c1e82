// Deduplication signature of a divergence: what went wrong, not where. It combines the layer, the
// op of the divergent call, the shape of the difference and the model rules that fired at that
// call; absolute addresses, page counts and unrelated calls do not enter it, so the same model or
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

export function signatureText({ divergence, calls, rules }: SignatureInput): string {
  const op = divergence.call >= 0 ? (calls[divergence.call]?.op ?? '?') : 'initial';
  const r = [...new Set(rules)].sort().join(',');
  return `${divergence.layer}|${op}|${divergence.kind}|${r}`;
}

export function signature(input: SignatureInput): string {
  return createHash('sha256').update(signatureText(input)).digest('hex').slice(0, 16);
}
