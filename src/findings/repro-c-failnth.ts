// Fault injection in C reproducers: a call with failNth arms /proc/thread-self/fail-nth right
// before it and says afterwards when the injected failure did not fire, as the harness does
// (harness-c/failnth.c). The C is harness-c/repro/fail-nth.c, embedded as it is.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../runner/harness-build.js';

export function failNthC(): string {
  return readFileSync(join(projectRoot(), 'harness-c', 'repro', 'fail-nth.c'), 'utf8');
}

/** The statements of call i with fail-nth k around its own statement. */
export function failNthStatements(i: number, k: number, statement: string): string[] {
  return [
    `\tfail_nth_arm(${k});`,
    `\t${statement}`,
    '\tif (!fail_nth_fired())',
    `\t\tfprintf(stderr, "call ${i}: the injected failure (fail-nth ${k}) did not fire\\n");`,
  ];
}
