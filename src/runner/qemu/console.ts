// Watching the guest's serial console for kernel reports. A report starts at a line such as
// "BUG: ...", "WARNING: CPU: 0 PID: 1 at mm/vma.c:123 ...", "Oops: ...", "Kernel panic - not
// syncing", a KASAN/UBSAN splat or a lockup detector line, and ends at lib/bug.c's
// "---[ end trace <id> ]---", kernel/panic.c's "---[ end Kernel panic", after a pause, or when the
// VM dies. With oops=panic an Oops and the panic it causes form one report.

export type CrashKind = 'panic' | 'oops' | 'bug' | 'warning' | 'kasan' | 'ubsan' | 'gpf' | 'lockup' | 'lockdep' | 'maple';

export interface ConsoleReport {
  kind: CrashKind;
  /** the first line of the report, without the printk timestamp */
  title: string;
  /** the report's console lines (timestamps kept, as a maintainer would want to see them) */
  excerpt: string;
  /** a panic was part of it: the VM is going down */
  fatal: boolean;
  /** the "Comm:" of the task that hit it (from the "CPU: 0 PID: 42 Comm: ..." line), when printed */
  comm: string | null;
  /** context tag given by the owner when the report started (e.g. the running sequence) */
  tag: number | null;
}

// Order matters: the first matching rule names the kind. Patterns are matched against the line
// without its "[    1.234567] " timestamp.
const STARTS: readonly [RegExp, CrashKind][] = [
  [/^Kernel panic - not syncing/, 'panic'],
  [/^BUG: KASAN: /, 'kasan'],
  [/^UBSAN: /, 'ubsan'],
  [/^(watchdog: BUG: soft lockup|watchdog: Watchdog detected hard LOCKUP|rcu: INFO: rcu_\w+ (self-)?detected stall|INFO: task .* blocked for more than)/, 'lockup'],
  [/^(general protection fault|Oops: general protection)/, 'gpf'],
  // kernel/locking/lockdep.c (CONFIG_PROVE_LOCKING) and RCU-lockdep: no "end trace" line, the pause ends them
  [/^(WARNING: (possible circular locking dependency|possible recursive locking|inconsistent lock state|bad unlock balance|held lock freed|lock held when returning to user space|possible irq lock inversion|suspicious RCU usage)|INFO: possible circular locking)/, 'lockdep'],
  // CONFIG_DEBUG_MAPLE_TREE's MT_BUG_ON/MAS_WARN_ON (include/linux/maple_tree.h) and mm/vma.c:validate_mm
  [/^((BUG|WARN) at \w+:\d+ \(\d+\)$|map_count -?\d+ vma iterator -?\d+$)/, 'maple'],
  [/^(BUG: |kernel BUG at )/, 'bug'],
  [/^(Oops: |Oops\b)/, 'oops'],
  [/^WARNING: /, 'warning'],
];
const END = /^---\[ end (trace [0-9a-f]+|Kernel panic)/;
const TIMESTAMP = /^\[\s*\d+\.\d+\]\s?/;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g;
const MAX_LINES = 200;

export function stripTimestamp(line: string): string {
  return line.replace(TIMESTAMP, '');
}

export function classify(line: string): CrashKind | null {
  const l = stripTimestamp(line);
  for (const [re, kind] of STARTS) {
    if (re.test(l)) return kind;
  }
  return null;
}

export class ConsoleWatcher {
  /** the last lines of console output (for boot failure messages) */
  private readonly tail: string[] = [];
  private partial = '';
  private open: { lines: string[]; kind: CrashKind; title: string; fatal: boolean; tag: number | null } | null = null;
  private quietTimer: NodeJS.Timeout | null = null;
  /** what the owner wants recorded with a report that starts now */
  tag: number | null = null;

  constructor(
    private readonly onReport: (r: ConsoleReport) => void,
    private readonly quietMs = 1000,
  ) {}

  push(chunk: string): void {
    const text = (this.partial + chunk).replace(ANSI, '');
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    for (const raw of lines) this.line(raw.replace(/\r/g, ''));
  }

  private line(line: string): void {
    this.tail.push(line);
    if (this.tail.length > 60) this.tail.shift();
    const kind = classify(line);
    if (this.open) {
      this.open.lines.push(line);
      if (kind === 'panic') this.open.fatal = true;
      if (END.test(stripTimestamp(line)) || this.open.lines.length >= MAX_LINES) this.finish();
      else this.armQuiet();
      return;
    }
    if (!kind) return;
    // lib/bug.c prints "------------[ cut here ]------------" right before a WARNING or BUG
    const prev = this.tail[this.tail.length - 2];
    const lines = prev && /cut here/.test(prev) ? [prev, line] : [line];
    this.open = { lines, kind, title: stripTimestamp(line).trim(), fatal: kind === 'panic', tag: this.tag };
    this.armQuiet();
  }

  private armQuiet(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => this.finish(), this.quietMs);
    this.quietTimer.unref();
  }

  /** A report is being collected right now. */
  get collecting(): boolean {
    return this.open !== null;
  }

  /** End the open report (the VM died, or its owner needs it now). */
  finish(): void {
    if (this.quietTimer) clearTimeout(this.quietTimer);
    this.quietTimer = null;
    if (this.partial && this.open) {
      this.open.lines.push(this.partial);
      this.partial = '';
    }
    const o = this.open;
    if (!o) return;
    this.open = null;
    const excerpt = o.lines.join('\n');
    const comm = /\bComm: (\S+)/.exec(excerpt)?.[1] ?? null;
    this.onReport({ kind: o.kind, title: o.title, excerpt, fatal: o.fatal, comm, tag: o.tag });
  }

  lastLines(n = 30): string {
    return [...this.tail.slice(-n), ...(this.partial ? [this.partial] : [])].join('\n');
  }
}
