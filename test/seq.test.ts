import { describe, expect, it } from 'vitest';
import { parseSequence, sequenceToJson } from '../src/seq/io.js';
import { InputError } from '../src/util/errors.js';
import { callLine } from '../src/seq/render.js';
import { formatMapsLine, parseMapsLine } from '../src/seq/maps.js';

const ok = {
  vmafuzz: 1,
  arenaPages: 16,
  calls: [
    { op: 'mmap', addr: 'A+0p', len: '4p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' },
    { op: 'mprotect', addr: 'A+1p', len: '2p', prot: 'PROT_READ' },
    { op: 'touch', addr: 'A+1p', access: 'write' },
    { op: 'munmap', addr: 'A+3p+0x10', len: '0xfffffffffffff000' },
  ],
};

function err(json: unknown): InputError {
  try {
    parseSequence(json, 'bad.json');
  } catch (e) {
    if (e instanceof InputError) return e;
    throw e;
  }
  throw new Error('expected an InputError');
}

describe('corpus format', () => {
  it('parses and renders one line per call', () => {
    const s = parseSequence(ok, 'ok.json');
    expect(s.calls.map((c) => callLine(c))).toEqual([
      'mmap(A+0p, 4p, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_FIXED|MAP_ANONYMOUS, -1, 0)',
      'mprotect(A+1p, 2p, PROT_READ)',
      'touch(A+1p, write)',
      'munmap(A+3p+0x10, 0xfffffffffffff000)',
    ]);
  });

  it('round-trips through JSON', () => {
    const s = parseSequence(ok, 'ok.json');
    expect(parseSequence(JSON.parse(sequenceToJson(s)), 'again.json')).toEqual(s);
  });

  it('names the JSON path and the problem of a malformed call', () => {
    const bad = structuredClone(ok);
    (bad.calls[1] as Record<string, string>).prot = 'PROT_READ|PROT_BOGUS';
    const e = err(bad);
    expect(e.file).toBe('bad.json');
    expect(e.jsonPath).toBe('$.calls[1].prot');
    expect(e.problem).toMatch(/unknown flag "PROT_BOGUS"/);
  });

  it('rejects unknown ops, fields and versions', () => {
    expect(err({ ...ok, calls: [{ op: 'execve', addr: 'A+0p' }] }).jsonPath).toBe('$.calls[0].op');
    expect(err({ ...ok, calls: [{ ...ok.calls[1], extra: 1 }] }).problem).toMatch(/extra/);
    expect(err({ ...ok, vmafuzz: 2 }).problem).toMatch(/version 2/);
    expect(err({ ...ok, arenaPages: 0 }).jsonPath).toBe('$.arenaPages');
  });

  it('never lets a range leave the arena', () => {
    // ends one page past the arena
    expect(err({ ...ok, calls: [{ op: 'munmap', addr: 'A+15p', len: '2p' }] }).problem).toMatch(/outside the 16-page arena/);
    // a length that is large but does not wrap would walk VMAs above the arena
    expect(err({ ...ok, calls: [{ op: 'mprotect', addr: 'A+0p', len: '0x8000000000000000', prot: 'PROT_READ' }] }).problem).toMatch(/outside/);
    expect(err({ ...ok, calls: [{ op: 'touch', addr: 'A+16p', access: 'read' }] }).problem).toMatch(/outside/);
    expect(err({ ...ok, calls: [{ op: 'munmap', addr: 'NULL', len: '1p' }] }).problem).toMatch(/NULL/);
    // host addresses cannot even be written down
    expect(err({ ...ok, calls: [{ op: 'munmap', addr: '0x7fff00000000', len: '1p' }] }).jsonPath).toBe('$.calls[0].addr');
    // wrapping and zero lengths are fine: the kernel rejects them before touching a VMA
    expect(() => parseSequence({ ...ok, calls: [{ op: 'mprotect', addr: 'A+3p', len: '0xffffffffffffe000', prot: 'PROT_READ' }, { op: 'munmap', addr: 'A+16p', len: '0' }] }, 'x')).not.toThrow();
    // an mmap(NULL) may ask for the whole arena, not more, unless it is an impossible length
    expect(err({ ...ok, calls: [{ op: 'mmap', addr: 'NULL', len: '17p', prot: '0', flags: 'MAP_PRIVATE|MAP_ANONYMOUS' }] }).problem).toMatch(/exceeds the arena/);
    expect(() => parseSequence({ ...ok, calls: [{ op: 'mmap', addr: 'NULL', len: '0x8000000000000000', prot: '0', flags: 'MAP_PRIVATE|MAP_ANONYMOUS' }] }, 'x')).not.toThrow();
  });
});

describe('maps lines', () => {
  it('formats like fs/proc/task_mmu.c:show_map_vma and parses back', () => {
    const base = 0x7f0000200000n;
    const anon = { start: 1, end: 3, perms: 'rw-p', offset: 0, dev: '00:00', inode: 0, name: '' };
    expect(formatMapsLine(base, anon)).toBe('7f0000201000-7f0000203000 rw-p 00000000 00:00 0 ');
    const shm = { start: 0, end: 1, perms: 'r--s', offset: 0, dev: '00:01', inode: 4242, name: '/dev/zero (deleted)' };
    const line = formatMapsLine(base, shm);
    expect(line).toBe('7f0000200000-7f0000201000 r--s 00000000 00:01 4242                       /dev/zero (deleted)');
    expect(line.indexOf('/dev')).toBe(73);
    expect(parseMapsLine(base, line)).toEqual(shm);
    expect(parseMapsLine(base, formatMapsLine(base, anon))).toEqual(anon);
  });
});

describe('corpus safety: nothing outside the arena', () => {
  it('refuses MAP_FIXED at NULL and MREMAP_FIXED without a destination', () => {
    expect(err({ ...ok, calls: [{ op: 'mmap', addr: 'NULL', len: '1p', prot: 'PROT_READ', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' }] }).problem).toMatch(/page 0/);
    expect(err({ ...ok, calls: [{ op: 'mmap', addr: 'NULL', len: '1p', prot: 'PROT_READ', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED_NOREPLACE' }] }).problem).toMatch(/page 0/);
    expect(err({ ...ok, calls: [{ op: 'mremap', addr: 'A+0p', oldLen: '1p', newLen: '1p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED' }] }).problem).toMatch(/newAddr/);
    expect(err({ ...ok, calls: [{ op: 'mremap', addr: 'A+0p', oldLen: '1p', newLen: '2p', flags: 'MREMAP_MAYMOVE|MREMAP_FIXED', newAddr: 'A+15p' }] }).problem).toMatch(/outside/);
  });

  it('refuses files and userfaultfds that were not declared or created', () => {
    expect(err({ ...ok, calls: [{ op: 'mmap', addr: 'A+0p', len: '1p', prot: 'PROT_READ', flags: 'MAP_SHARED|MAP_FIXED', fd: 0 }] }).jsonPath).toBe('$.calls[0].fd');
    expect(err({ ...ok, calls: [{ op: 'uffd_register', uffd: 0, addr: 'A+0p', len: '1p', mode: 'UFFDIO_REGISTER_MODE_MISSING' }] }).jsonPath).toBe('$.calls[0].uffd');
    expect(err({ ...ok, files: [{ kind: 'tmpfs', size: '1p', path: '/etc/passwd' }], calls: [] }).problem).toMatch(/path/);
  });
});

/** F(x): a 4-page arena, two pages mapped, then the call x (the reproductions). */
const F = (x: Record<string, unknown>) => ({
  vmafuzz: 1,
  arenaPages: 4,
  calls: [{ op: 'mmap', addr: 'A+0p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' }, x],
});
const madv = (advice: string) => F({ op: 'madvise', addr: 'A+0p', len: '1p', advice });

describe('corpus safety: calls that act on the machine', () => {
  it('refuses MADV_HWPOISON and MADV_SOFT_OFFLINE by name and by number, naming why', () => {
    for (const a of ['100', '101', '0x64', '0x65', 'MADV_HWPOISON', 'MADV_SOFT_OFFLINE']) {
      expect(err(madv(a)).message).toMatch(/advice: refused: MADV_(HWPOISON|SOFT_OFFLINE) \(10[01]\) .*host memory/);
    }
    // the 32-bit alias of 100 is out of int range, not a way around the refusal
    expect(err(madv('4294967396')).message).toMatch(/outside int range/);
  });

  it('takes advice numbers in int range only, never wrapping at 32 bits', () => {
    expect(err(madv('4294967296')).message).toMatch(/advice 4294967296 is outside int range/);
    expect(err(madv('2147483648')).message).toMatch(/outside int range/);
    expect(err(madv('0x100000064')).message).toMatch(/unknown advice/); // hex is at most the 32-bit pattern
    expect(parseSequence(madv('0xffffffff'), 'ok.json').calls[1]).toMatchObject({ advice: -1 });
    const s = parseSequence(madv('-1'), 'ok.json');
    expect(s.calls[1]).toMatchObject({ advice: -1 });
    expect(parseSequence(JSON.parse(sequenceToJson(s)), 'again.json').calls[1]).toMatchObject({ advice: -1 });
    expect(parseSequence(madv('2147483647'), 'ok.json').calls[1]).toMatchObject({ advice: 0x7fffffff });
  });
});

describe('corpus names come from own keys only', () => {
  it('rejects prototype-chain names as advice, prot and flags', () => {
    for (const a of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(err(madv(a)).message).toMatch(/unknown advice/);
    expect(err(F({ op: 'mprotect', addr: 'A+0p', len: '1p', prot: 'toString' })).message).toMatch(/\.prot: unknown flag "toString"/);
    const mm = (flags: string) => ({ ...F({ op: 'fork' }), calls: [{ op: 'mmap', addr: 'A+0p', len: '1p', prot: 'PROT_READ', flags }] });
    expect(err(mm('MAP_PRIVATE|__proto__')).message).toMatch(/\.flags: unknown flag "__proto__"/);
    expect(err(mm('MAP_PRIVATE|valueOf')).message).toMatch(/unknown flag "valueOf"/);
  });
});

describe('corpus robustness: a clear message, never an internal error', () => {
  it('refuses NULL where only an address will do', () => {
    expect(err(F({ op: 'touch', addr: 'NULL', access: 'read' })).message).toMatch(/\$\.calls\[1\]\.addr: NULL is only allowed/);
    expect(err(F({ op: 'mremap', addr: 'NULL', oldLen: '1p', newLen: '1p', flags: '0' })).message).toMatch(/\$\.calls\[1\]\.addr: NULL is only allowed/);
    expect(err(F({ op: 'mprotect', addr: 'NULL', len: '1p', prot: '0' })).message).toMatch(/NULL is only allowed/);
  });

  it('refuses page-notation lengths of 2^64 bytes or more', () => {
    expect(err(F({ op: 'madvise', addr: 'A+0p', len: '4503599627370496p', advice: 'MADV_NORMAL' })).message).toMatch(/\.len: length "4503599627370496p" is 2\^64 bytes or more/);
    expect(err(F({ op: 'munmap', addr: 'A+0p', len: '99999999999999999999999p' })).message).toMatch(/expected a length/);
    expect(parseSequence(F({ op: 'munmap', addr: 'A+0p', len: '4503599627370495p' }), 'ok.json').calls[1]).toMatchObject({ len: (1n << 64n) - 4096n });
  });

  it('takes a length as wrapping only where it wraps from every arena base (the model\'s boundary)', () => {
    // 2^64 - 2 MiB: start + len wraps only for a base of at least 2 MiB exactly; the model does
    // not take it as wrapping (src/model/syscalls.ts classifyLen), so it is refused, not declined.
    for (const op of ['mprotect', 'madvise', 'mlock', 'mseal', 'munlock']) {
      const extra = op === 'mprotect' ? { prot: 'PROT_READ' } : op === 'madvise' ? { advice: 'MADV_NORMAL' } : op === 'mseal' ? { flags: '0' } : {};
      expect(err(F({ op, addr: 'A+0p', len: '0xffffffffffe00000', ...extra })).message).toMatch(/reaches outside the 4-page arena without wrapping/);
      expect(parseSequence(F({ op, addr: 'A+0p', len: '0xffffffffffe00001', ...extra }), 'ok.json').calls).toHaveLength(2);
    }
  });
});

describe('corpus size bounds', () => {
  const many = (arenaPages: number, n: number) => ({
    vmafuzz: 1,
    arenaPages,
    calls: Array.from({ length: n }, (_, i) => ({ op: 'touch', addr: `A+${i % arenaPages}p`, access: 'read' })),
  });
  it('bounds calls x arenaPages (each call snapshots the whole arena), naming both', () => {
    // the file: 4096 calls on a 4096-page arena took 145 s and 2.9 GB
    expect(err(many(4096, 4096)).message).toMatch(/\$\.calls: 4096 calls on a 4096-page arena: calls x arenaPages = 16777216 is over the limit of 262144/);
    expect(err(many(512, 513)).message).toMatch(/over the limit/);
    expect(parseSequence(many(512, 512), 'ok.json').calls).toHaveLength(512);
    expect(parseSequence(many(64, 4096), 'ok.json').calls).toHaveLength(4096);
  });
});
