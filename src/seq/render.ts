// One line per call for reports and logs, e.g. `mprotect(A+3p, 2p, PROT_READ) = 0`.

import { errnoName, flagsToString, MAP, PROT, SIGNALS } from './consts.js';
import type { CallObs, Ret } from './observation.js';
import type { Call } from './schema.js';
import { addrToString, lenToString } from './values.js';

export function callToString(c: Call): string {
  const prot = (p: number) => flagsToString(p, PROT, 'PROT_NONE');
  switch (c.op) {
    case 'mmap':
      return `mmap(${addrToString(c.addr)}, ${lenToString(c.len)}, ${prot(c.prot)}, ${flagsToString(c.flags, MAP)}, -1, ${c.offset === undefined ? '0' : lenToString(c.offset)})`;
    case 'munmap':
      return `munmap(${addrToString(c.addr)}, ${lenToString(c.len)})`;
    case 'mprotect':
      return `mprotect(${addrToString(c.addr)}, ${lenToString(c.len)}, ${prot(c.prot)})`;
    case 'touch':
      return `touch(${addrToString(c.addr)}, ${c.access})`;
  }
}

export function retToString(r: Ret): string {
  switch (r.kind) {
    case 'int':
      return String(r.value);
    case 'addr':
      return addrToString({ page: r.page, off: r.off });
    case 'outside':
      return `0x${r.hex} (outside arena)`;
  }
}

export function resultToString(c: Call, o: CallObs): string {
  if (c.op === 'touch') return o.signal ? (SIGNALS[o.signal] ?? `signal ${o.signal}`) : 'ok';
  if (o.errno) return `-1 ${errnoName(o.errno)}`;
  return retToString(o.ret);
}

export function callLine(c: Call, o?: CallObs): string {
  return o ? `${callToString(c)} = ${resultToString(c, o)}` : callToString(c);
}
