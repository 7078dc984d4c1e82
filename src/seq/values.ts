// Parsing and printing of the scalar notations used in corpus files and reports:
//   address  "A+3p", "A+3p+0x11", "NULL"      (pages relative to the arena base, plus a byte offset)
//   length   "2p", "0x1001", "4097", "0"       (bytes; "p" suffix = pages; u64)
//   flags    "PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS|0x80000000", "0"
// Addresses never name absolute host locations: only the arena (and NULL) can be written down.

import { PAGE_SIZE, type FlagTable } from './consts.js';

export interface Addr {
  /** page index relative to the arena base */
  page: number;
  /** extra byte offset (0..4095); non-zero only to exercise misaligned-address errnos */
  off: number;
}

export const U64_MAX = (1n << 64n) - 1n;

export function parseAddr(s: string): Addr | null | string {
  if (s === 'NULL') return null;
  const m = /^A\+(\d+)p(?:\+0x([0-9a-f]+))?$/.exec(s);
  if (!m) return `expected "NULL", "A+<pages>p" or "A+<pages>p+0x<bytes>", got ${JSON.stringify(s)}`;
  const page = Number(m[1]);
  const off = m[2] ? parseInt(m[2], 16) : 0;
  if (!Number.isSafeInteger(page)) return `page index too large in ${JSON.stringify(s)}`;
  if (off >= PAGE_SIZE) return `byte offset must be below 0x1000 in ${JSON.stringify(s)}`;
  return { page, off };
}

export function addrToString(a: Addr | null): string {
  if (a === null) return 'NULL';
  return a.off ? `A+${a.page}p+0x${a.off.toString(16)}` : `A+${a.page}p`;
}

export function addrBytes(a: Addr): bigint {
  return BigInt(a.page) * BigInt(PAGE_SIZE) + BigInt(a.off);
}

export function parseLen(s: string): bigint | string {
  let m = /^(\d{1,20})p$/.exec(s);
  if (m) {
    const v = BigInt(m[1]!) * BigInt(PAGE_SIZE);
    if (v <= U64_MAX) return v;
    return `length ${JSON.stringify(s)} is 2^64 bytes or more (at most ${U64_MAX / BigInt(PAGE_SIZE)}p)`;
  }
  m = /^0x([0-9a-f]{1,16})$/.exec(s);
  if (m) return BigInt('0x' + m[1]);
  m = /^(\d{1,20})$/.exec(s);
  if (m) {
    const v = BigInt(m[1]!);
    if (v <= U64_MAX) return v;
  }
  return `expected a length like "3p", "0x1001" or "4097" (u64), got ${JSON.stringify(s)}`;
}

export function lenToString(v: bigint): string {
  if (v === 0n) return '0';
  if (v % BigInt(PAGE_SIZE) === 0n && v < 1n << 40n) return `${v / BigInt(PAGE_SIZE)}p`;
  return '0x' + v.toString(16);
}

export function parseFlags(s: string, table: FlagTable): number | string {
  if (s === '0') return 0;
  let v = 0;
  for (const part of s.split('|')) {
    const p = part.trim();
    // Own keys only: "toString" or "__proto__" are not flag names.
    if (Object.hasOwn(table, p)) v |= table[p]!;
    else if (/^0x[0-9a-f]{1,8}$/.test(p)) v |= parseInt(p.slice(2), 16);
    else return `unknown flag ${JSON.stringify(p)} (known: ${Object.keys(table).join(', ')}, or a hex value)`;
  }
  return v >>> 0;
}
