// Reading the kernel release out of an x86 bzImage, so that a developer's own build (given with
// --kernel-image) is named by the same `uname -r` string as a Debian package. Layout from
// Documentation/arch/x86/boot.rst: the setup header at 0x1f1, "HdrS" at 0x202, and at 0x20e the
// offset (minus 0x200) of a NUL-terminated "<release> (<builder>) #<n> ..." string.

import { closeSync, openSync, readSync } from 'node:fs';

export interface BzImageInfo {
  release: string;
  /** the whole kernel_version string (release, builder, build number, date) */
  banner: string;
  protocol: string;
}

/** Returns null when `path` is not a bzImage. */
export function readBzImage(path: string): BzImageInfo | null {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(0x400);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n < 0x270 || head.toString('latin1', 0x202, 0x206) !== 'HdrS') return null;
    const protocol = head.readUInt16LE(0x206);
    const verOff = head.readUInt16LE(0x20e);
    if (protocol < 0x200 || verOff === 0) return null;
    const buf = Buffer.alloc(256);
    readSync(fd, buf, 0, buf.length, verOff + 0x200);
    const end = buf.indexOf(0);
    const banner = buf.toString('latin1', 0, end < 0 ? buf.length : end);
    const release = banner.split(' ')[0] ?? '';
    if (!/^[0-9]+\.[0-9]+/.test(release)) return null;
    return { release, banner, protocol: `${protocol >> 8}.${(protocol & 0xff).toString().padStart(2, '0')}` };
  } finally {
    closeSync(fd);
  }
}
