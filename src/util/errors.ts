// Exit codes shared by every command (and by `git bisect run`): 0 good, 1 divergence/bad,
// 2 bad usage or bad input, 125 cannot test (skip).
export const EXIT = { OK: 0, DIVERGENCE: 1, USAGE: 2, CANNOT_TEST: 125 } as const;

/** Bad input: names the file, the JSON path and the problem. */
export class InputError extends Error {
  constructor(
    readonly file: string,
    readonly jsonPath: string,
    readonly problem: string,
  ) {
    super(`${file}: ${jsonPath || '(root)'}: ${problem}`);
  }
}

/** The target cannot be tested at all (no compiler, no engine, boot failure...). */
export class CannotTestError extends Error {}

/** Bad command-line usage (exit 2). */
export class UsageError extends Error {}
