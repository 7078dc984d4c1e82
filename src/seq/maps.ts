// The /proc/<pid>/maps line format (fs/proc/task_mmu.c:show_vma_header_prefix, show_map_vma):
//   "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " then, if there is a name, padding to column 73
//   (25 + 6*sizeof(void*) - 1 = 72 characters, then one more space) and the name. Lines without a
//   name end with the space after the inode.

import { PAGE_SIZE } from './consts.js';
import type { MapsEntry } from './observation.js';

const PAD_TO = 25 + 6 * 8 - 1;

export function formatMapsLine(base: bigint, e: MapsEntry): string {
  const hex8 = (v: bigint) => v.toString(16).padStart(8, '0');
  const start = base + BigInt(e.start) * BigInt(PAGE_SIZE);
  const end = base + BigInt(e.end) * BigInt(PAGE_SIZE);
  let line = `${hex8(start)}-${hex8(end)} ${e.perms} ${hex8(BigInt(e.offset))} ${e.dev} ${e.inode} `;
  if (e.name) line = line.padEnd(PAD_TO, ' ') + ' ' + e.name;
  return line;
}

const LINE = /^([0-9a-f]+)-([0-9a-f]+) ([r-][w-][x-][sp]) ([0-9a-f]+) ([0-9a-f]+:[0-9a-f]+) (\d+) ?\s*(.*)$/;

/** Parse one maps line; addresses become arena-relative pages. Returns null for a malformed line. */
export function parseMapsLine(base: bigint, line: string): MapsEntry | null {
  const m = LINE.exec(line);
  if (!m) return null;
  const toPage = (h: string) => Number((BigInt('0x' + h) - base) / BigInt(PAGE_SIZE));
  return {
    start: toPage(m[1]!),
    end: toPage(m[2]!),
    perms: m[3]!,
    offset: parseInt(m[4]!, 16),
    dev: m[5]!,
    inode: Number(m[6]!),
    name: m[7]!,
  };
}

export function mapsEntryToString(e: MapsEntry): string {
  const name = e.name ? ' ' + e.name : '';
  const file = e.inode || e.dev !== '00:00' ? ` ${e.offset.toString(16).padStart(8, '0')} ${e.dev} ${e.inode}` : '';
  return `A+${e.start}p-A+${e.end}p ${e.perms}${file}${name}`;
}

/** The harness's private tmpfs directory is chosen at start-up (docs/harness-protocol.md "Files"),
 *  so names of declared tmpfs files are compared with this placeholder for the directory. */
export const TMPFS_DIR = '<tmpfs>';

/** `<tmpfs_dir>/f<n> (deleted)` of the harness (mkdtemp `vmafuzz-XXXXXX`, or `/vmafuzz-tmpfs` in
 *  init mode) becomes `<tmpfs>/f<n> (deleted)`; every other name is returned unchanged. */
export function canonicalFileName(name: string): string {
  // a disk filesystem's private directory (harness-c/fsfiles.c: vmafuzz-<pid>-<kind>-XXXXXX)
  const fs = /^\/(?:[^ ]*\/)?vmafuzz-(?:\d+-)?(ext4|xfs|btrfs)(?:-[^/]*)?\/(f\d+ \(deleted\))$/.exec(name);
  if (fs) return `<${fs[1]}>/${fs[2]}`;
  const m = /^\/(?:[^ ]*\/)?vmafuzz-[^/]*\/(f\d+ \(deleted\))$/.exec(name);
  return m ? `${TMPFS_DIR}/${m[1]}` : name;
}
