// One line per call for reports and logs, e.g. `mprotect(A+3p, 2p, PROT_READ) = 0`.

import { adviceName, errnoName, flagsToString, MAP, MLOCK, MREMAP, PROT, SIGNALS, UFFD_FEATURE, UFFDIO_REGISTER_MODE } from './consts.js';
import type { CallObs, Ret } from './observation.js';
import type { Call } from './schema.js';
import { F_SEAL } from './seals.js';
import { addrToString, lenToString, type Addr } from './values.js';
import { SHM } from './schema-sysv.js';

export function callToString(c: Call): string {
  const prot = (p: number) => flagsToString(p, PROT, 'PROT_NONE');
  const range = (a: Addr, l: bigint) => `${addrToString(a)}, ${lenToString(l)}`;
  switch (c.op) {
    case 'mmap':
      return `mmap(${addrToString(c.addr)}, ${lenToString(c.len)}, ${prot(c.prot)}, ${flagsToString(c.flags, MAP)}, ${c.fd === undefined ? '-1' : `file${c.fd}`}, ${c.offset === undefined ? '0' : lenToString(c.offset)})`;
    case 'munmap':
      return `munmap(${range(c.addr, c.len)})`;
    case 'mprotect':
      return `mprotect(${range(c.addr, c.len)}, ${prot(c.prot)})`;
    case 'touch':
      return `touch(${addrToString(c.addr)}, ${c.access})`;
    case 'madvise':
      return `madvise(${range(c.addr, c.len)}, ${adviceName(c.advice)})`;
    case 'mremap':
      return `mremap(${addrToString(c.addr)}, ${lenToString(c.oldLen)}, ${lenToString(c.newLen)}, ${flagsToString(c.flags, MREMAP)}, ${addrToString(c.newAddr ?? null)})`;
    case 'mlock':
    case 'munlock':
      return `${c.op}(${range(c.addr, c.len)})`;
    case 'mlock2':
      return `mlock2(${range(c.addr, c.len)}, ${flagsToString(c.flags, MLOCK)})`;
    case 'mseal':
      return `mseal(${range(c.addr, c.len)}, ${flagsToString(c.flags, {})})`;
    case 'anon_name':
      return `prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, ${range(c.addr, c.len)}, ${c.name === null ? 'NULL' : JSON.stringify(c.name)})`;
    case 'ftruncate':
      return `ftruncate(file${c.file}, ${lenToString(c.len)})`;
    case 'uffd_create':
      return `userfaultfd(UFFDIO_API, ${flagsToString(c.features, UFFD_FEATURE)})`;
    case 'uffd_register':
      return `ioctl(uffd${c.uffd}, UFFDIO_REGISTER, ${range(c.addr, c.len)}, ${flagsToString(c.mode, UFFDIO_REGISTER_MODE)})`;
    case 'uffd_unregister':
      return `ioctl(uffd${c.uffd}, UFFDIO_UNREGISTER, ${range(c.addr, c.len)})`;
    case 'fork':
      return c.until === 'exit' ? 'fork(until exit)' : 'fork()';
    case 'exit': // the block's child _exit(0)s; the parent records its wait status
      return 'exit()';
    case 'add_seals':
      return `fcntl(file${c.file}, F_ADD_SEALS, ${flagsToString(c.seals, F_SEAL, '0')})`;
    case 'probe':
      return `probe(${addrToString(c.addr)})`;
    case 'shmat':
      return `shmat(shm${c.shm}, ${addrToString(c.addr)}, ${flagsToString(c.flags, SHM)})`;
    case 'shmdt':
      return `shmdt(${addrToString(c.addr)})`;
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
  if (c.op === 'probe') return o.signal ? (SIGNALS[o.signal] ?? `signal ${o.signal}`) : o.ret.kind === 'int' ? `0x${o.ret.value.toString(16).padStart(2, '0')}` : retToString(o.ret);
  if (o.errno) return `-1 ${errnoName(o.errno)}`;
  return retToString(o.ret);
}

export function callLine(c: Call, o?: CallObs): string {
  return o ? `${callToString(c)} = ${resultToString(c, o)}` : callToString(c);
}
