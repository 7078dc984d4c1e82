// The title and stack of a kernel report, in the manner of syzkaller's report titles ("KASAN:
// slab-use-after-free Read in vma_merge", "possible deadlock in mmap_read_lock", "WARNING in
// vma_complete"), so that findings are named and deduplicated by bug, not by the exact line printed.
// Formats, from the kernel's source:
//   mm/kasan/report.c        "BUG: KASAN: <type> in <fn>+0x.." then "<Read|Write> of size N at addr .."
//   kernel/panic.c __warn    "WARNING: <file>:<line> at <fn>+0x../0x.., CPU#N: comm/pid" (7.x)
//                            "WARNING: CPU: N PID: N at <file>:<line> <fn>+0x../0x.." (up to 6.x)
//   kernel/locking/lockdep.c "WARNING: possible circular locking dependency detected", then
//                            "comm/pid is trying to acquire lock:" and "<addr> (<name>){..}-{..}, at: <fn>+0x.."
//   include/linux/maple_tree.h (CONFIG_DEBUG_MAPLE_TREE) "BUG at <fn>:<line> (<n>)", "WARN at ..."
//   mm/vma.c validate_mm     "map_count N vma iterator N" before VM_BUG_ON_MM's "kernel BUG at mm/vma.c:N!"
//   arch/x86 dump            "RIP: 0010:<fn>+0x../0x..", "Call Trace:" then " <fn>+0x../0x.." frames

import { stripTimestamp } from '../runner/qemu/console.js';

export interface ParsedReport {
  title: string;
  /** the stack's function names, innermost first, without the reporting machinery */
  frames: string[];
}

/** "fn+0x1a/0x50" or "fn.isra.0+0x1a/0x50 [mod]" -> "fn"; null when the text is no symbol. */
export function symbolName(text: string): string | null {
  const m = /^([A-Za-z_][A-Za-z0-9_.]*)\+0x[0-9a-f]+\/0x[0-9a-f]+/.exec(text.trim());
  return m ? m[1]!.replace(/\.(isra|constprop|part|cold|llvm)(\.\d+)?/g, '') : null;
}

// Frames that are the reporting machinery, not the bug (syzkaller skips the same kind of frames).
const SKIP_FRAME = [
  /^(dump_stack|dump_stack_lvl|show_stack|print_report|print_address_description|kasan_report|__kasan_\w+|kasan_\w+|__asan_\w+|check_region_inline|kasan_check_range)$/,
  /^(__warn|warn_slowpath_fmt|report_bug|handle_bug|exc_invalid_op|asm_exc_invalid_op|__report_bug|bug_handler)$/,
  /^(lock_acquire|lock_release|__lock_acquire|lock_acquired|validate_chain|check_prev_add|check_prevs_add|check_noncircular|print_circular_bug|check_deadlock|print_deadlock_bug|mark_lock|mark_lock_irq|mark_usage|print_usage_bug|valid_state|lockdep_\w+|debug_lockdep_rcu_enabled|lockdep_rcu_suspicious|print_unlock_imbalance_bug)$/,
  /^(__might_sleep|__might_resched|__might_fault|might_fault|___might_sleep)$/,
  /^(mt_validate|mt_dump|mas_dump|mas_wr_dump|mt_validate_nulls|mas_validate_\w+|mt_dump_\w+|validate_mm|dump_mm|dump_vma)$/,
  /^(_raw_spin_lock\w*|_raw_read_lock\w*|_raw_write_lock\w*|down_read|down_write|up_read|up_write|mutex_lock_nested|__mutex_lock|mutex_lock)$/,
];
const skipped = (fn: string) => SKIP_FRAME.some((re) => re.test(fn));

/** Function names of the report's stack(s): "RIP: .." first, then "Call Trace:" frames (reliable ones). */
export function stackFrames(lines: readonly string[]): string[] {
  const out: string[] = [];
  let inTrace = false;
  for (const raw of lines) {
    const l = raw.trim();
    const rip = /^RIP: [0-9a-f]{4}:(\S+)/.exec(l);
    if (rip) {
      const fn = symbolName(rip[1]!);
      if (fn && !out.includes(fn) && !skipped(fn)) out.push(fn);
      continue;
    }
    if (/^Call Trace:/.test(l)) {
      inTrace = true;
      continue;
    }
    if (!inTrace) continue;
    if (/^<\/?(TASK|IRQ|NMI|SOFTIRQ)>$/.test(l)) continue;
    if (l.startsWith('? ')) continue; // unreliable frame
    const fn = symbolName(l);
    if (!fn) {
      // the end of one trace (a register dump, a blank, the next message)
      if (out.length) inTrace = false;
      continue;
    }
    if (!skipped(fn)) out.push(fn);
  }
  return out;
}

/** The function after " at: " of the first lock line following `after` (lockdep's print_lock). */
function lockSite(lines: readonly string[], after: RegExp): string | null {
  const i = lines.findIndex((l) => after.test(l));
  if (i < 0) return null;
  for (const l of lines.slice(i + 1, i + 4)) {
    const m = /, at: (\S+)/.exec(l);
    if (m) return symbolName(m[1]!);
  }
  return null;
}

const LOCKDEP_TITLES: readonly [RegExp, string, RegExp | null][] = [
  [/^WARNING: possible circular locking dependency detected/, 'possible deadlock', /is trying to acquire lock:/],
  [/^WARNING: possible recursive locking detected/, 'possible deadlock', /is trying to acquire lock:/],
  [/^WARNING: inconsistent lock state/, 'inconsistent lock state', /takes:$|^\S+\/\d+ .*takes:/],
  [/^WARNING: bad unlock balance detected!/, 'bad unlock balance', /is trying to release lock/],
  [/^WARNING: held lock freed!/, 'held lock freed', /is freeing memory/],
  [/^WARNING: lock held when returning to user space!/, 'lock held when returning to user space', /is leaving the kernel with locks still held/],
  [/^WARNING: possible irq lock inversion dependency detected/, 'possible deadlock', /just changed the state of lock:/],
];

/** Title and frames of one report's lines (as the console watcher collected them). */
export function parseReport(excerpt: string): ParsedReport {
  const lines = excerpt.split('\n').map((l) => stripTimestamp(l).replace(/\s+$/, ''));
  const trimmed = lines.map((l) => l.trim());
  const frames = stackFrames(lines);
  const top = frames[0] ?? null;
  const inTop = (t: string) => (top ? `${t} in ${top}` : t);
  for (let i = 0; i < trimmed.length; i++) {
    const l = trimmed[i]!;
    let m = /^BUG: KASAN: (\S+) in (\S+)/.exec(l);
    if (m) {
      const access = trimmed.slice(i + 1, i + 4).map((x) => /^(Read|Write) of size/.exec(x)?.[1]).find(Boolean);
      return { title: `KASAN: ${m[1]}${access ? ` ${access}` : ''} in ${symbolName(m[2]!) ?? m[2]}`, frames };
    }
    for (const [re, name, site] of LOCKDEP_TITLES) {
      if (!re.test(l)) continue;
      const fn = (site && lockSite(trimmed, site)) ?? top;
      return { title: fn ? `${name} in ${fn}` : name, frames };
    }
    if (/^WARNING: suspicious RCU usage/.test(l)) {
      const where = trimmed.slice(i + 1, i + 5).map((x) => /^(\S+:\d+) suspicious /.exec(x)?.[1]).find(Boolean);
      return { title: where ? `suspicious RCU usage at ${where}` : inTop('suspicious RCU usage'), frames };
    }
    m = /^(BUG|WARN) at (\w+):\d+ \(\d+\)$/.exec(l);
    if (m) return { title: `maple tree ${m[1]} in ${m[2]}`, frames };
    if (/^map_count -?\d+ vma iterator -?\d+$/.test(l)) return { title: 'validate_mm: map_count does not match the maple tree', frames };
    m = /^WARNING: \S+:\d+ at (\S+), CPU#/.exec(l) ?? /^WARNING: CPU: \d+ PID: \d+ at \S+ (\S+)/.exec(l) ?? /^WARNING: at (\S+), CPU#/.exec(l);
    if (m) return { title: `WARNING in ${symbolName(m[1]!) ?? top ?? '?'}`, frames };
    m = /^kernel BUG at (\S+?)!?$/.exec(l);
    if (m) return { title: top ? `kernel BUG in ${top}` : `kernel BUG at ${m[1]!.replace(/:\d+$/, '')}`, frames };
    m = /^BUG: (sleeping function called from invalid context|scheduling while atomic|Bad page state|Bad page map|Bad rss-counter state|workqueue leaked lock)/.exec(l);
    if (m) return { title: inTop(`BUG: ${m[1]}`), frames };
    if (/^BUG: unable to handle page fault/.test(l) || /^BUG: kernel NULL pointer dereference/.test(l)) return { title: inTop('BUG: unable to handle kernel paging request'), frames };
    if (/^(general protection fault|Oops: general protection)/.test(l)) return { title: inTop('general protection fault'), frames };
    m = /^UBSAN: (\S+) in /.exec(l);
    if (m) return { title: inTop(`UBSAN: ${m[1]}`), frames };
    if (/^BUG: /.test(l)) return { title: inTop(l.replace(/:.*$/, '').replace(/\s+\S*\d\S*$/, '')), frames };
  }
  const panic = trimmed.find((l) => /^Kernel panic - not syncing/.test(l));
  return { title: panic ?? trimmed.find(Boolean) ?? '', frames };
}

/** How many frames below the title tell two reports with the same title apart. */
export const SIGNATURE_FRAMES = 4;

/** The text a report is deduplicated by: its title and the top of its stack. */
export function reportKey(excerpt: string): string {
  const p = parseReport(excerpt);
  return [p.title, ...p.frames.slice(0, SIGNATURE_FRAMES)].join('\n');
}
