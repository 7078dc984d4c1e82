// The contents of a file declared with `fill pattern` (docs/harness-protocol.md "Files"), shared by
// the harness (fsfiles.c) and the C reproducers (src/findings/repro-c-files.ts embeds this file):
// every byte of page k of declared file i, up to the file's size, is fill_byte(i, k). The value is
// never 0 (a hole, or bytes past EOF) nor 0x5a (what `touch w` writes), so a `probe` tells the
// page cache, a zero-filled page and a written byte apart.
#ifndef VMAFUZZ_FILL_H
#define VMAFUZZ_FILL_H
#include <stdint.h>
static inline unsigned char fill_byte(unsigned file, uint64_t page) {
    return (unsigned char)(0x80 | ((file * 16 + page) & 0x7f));
}
#endif
