// Address fields of the corpus format ("NULL" or "A+<n>p[+off]"), shared by src/seq/schema.ts and
// src/seq/schema-sysv.ts.

import { z } from 'zod';
import { type Addr, parseAddr } from './values.js';

/** An arena address or NULL. */
export const addrField = z.string().transform((s, ctx): Addr | null => {
  const r = parseAddr(s);
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r });
    return z.NEVER;
  }
  return r;
});

/** An arena address where NULL is refused with `nullMessage`. A transform, not a refine: its issue
 *  aborts, so cross-field checks never see a NULL. */
export function nonNullAddrField(nullMessage: string) {
  return z.string().transform((s, ctx): Addr => {
    const r = parseAddr(s);
    if (r === null || typeof r === 'string') {
      ctx.addIssue({ code: 'custom', message: r ?? nullMessage });
      return z.NEVER;
    }
    return r;
  });
}
