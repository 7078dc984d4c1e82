// Text from a corpus file (name, description, known.summary), a file name or a kernel string may
// hold terminal escapes ("\u001b[2J…ALL TESTS PASSED" clears the screen) or bidi overrides that
// reorder what a reader sees. Every human output goes through printable() at the sink.

// C0 controls except \t and \n, DEL, C1 controls, line/paragraph separators, bidi embeddings,
// overrides and isolates (the "Trojan Source" set).
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const esc = (c: string): string => {
  const n = c.charCodeAt(0);
  return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
};

/** Text safe for a terminal: controls shown as \xNN / \uNNNN; newlines and tabs kept. */
export function printable(s: string): string {
  return s.replace(UNSAFE, esc);
}

/** One field on one line: newlines and tabs escaped too. */
export function printableLine(s: string): string {
  return s.replace(UNSAFE_LINE, esc);
}
