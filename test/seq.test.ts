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
