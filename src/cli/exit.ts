// The one way the CLI ends. process.exit() drops what is still queued for a pipe (stdout to a
// pipe is asynchronous: `replay --json | wc -c` lost everything past the first 64 KiB), so set
// the exit code, wait until stdout and stderr have handed every byte to the kernel, then exit
// (exit at all because runners or timers may still hold the event loop).

/** Resolves once everything written to `s` so far has been flushed (or the stream is gone). */
function flushed(s: NodeJS.WriteStream): Promise<void> {
  if (s.destroyed || s.writableEnded) return Promise.resolve();
  // Write callbacks run in order: the empty write's runs after every earlier chunk is out.
  return new Promise((res) => {
    try {
      s.write('', () => res());
    } catch {
      res();
    }
  });
}

export async function exitAfterFlush(code: number): Promise<never> {
  process.exitCode = code;
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

/**
 * A reader that goes away (`vmafuzz replay … | head -1`) is not an internal error: stop writing
 * and end with the code the command had so far.
 */
export function exitQuietlyOnEpipe(): void {
  for (const s of [process.stdout, process.stderr]) {
    s.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      // any other failure to write the output (EIO, ENOSPC): the result is lost, so no verdict
      if (s !== process.stderr) process.stderr.write(`vmafuzz: cannot write the output: ${e.code ?? e.message}\n`);
      process.exit(125);
    });
  }
}
