// Corpus format of the new calls: memfd_create flags, add_seals, fork {until: exit} blocks and
// their exit; refused forms are named with their JSON path; the wire form of a block.
import { describe, expect, it } from 'vitest';
import { parseSequence, sequenceToJson } from '../src/seq/io.js';
import { toWire } from '../src/runner/protocol.js';
import { callToString } from '../src/seq/render.js';

const MAP = { op: 'mmap', addr: 'A+0p', len: '2p', prot: 'PROT_READ|PROT_WRITE', flags: 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED' };
const doc = (calls: object[], files?: object[]) => ({ vmafuzz: 1, arenaPages: 8, ...(files ? { files } : {}), calls });

describe('corpus: seals and fork blocks', () => {
  it('reads and writes back memfd flags, seals and a block', () => {
    const s = parseSequence(
      doc([MAP, { op: 'add_seals', file: 0, seals: 'F_SEAL_WRITE|F_SEAL_SHRINK' }, { op: 'fork', until: 'exit' }, { op: 'touch', addr: 'A+0p', access: 'write' }, { op: 'exit' }], [{ kind: 'memfd', size: '2p', flags: 'MFD_ALLOW_SEALING|MFD_NOEXEC_SEAL' }]),
      'x.json',
    );
    expect(s.files![0]!.flags).toBe(0x2 | 0x8);
    expect(callToString(s.calls[1]!)).toBe('fcntl(file0, F_ADD_SEALS, F_SEAL_SHRINK|F_SEAL_WRITE)');
    const again = parseSequence(JSON.parse(sequenceToJson(s)), 'y.json');
    expect(again).toEqual(s);
    // the wire: a closed block is fork_block <exit index>; files carry their flags
    const w = toWire(s);
    expect(w.lines.slice(1)).toEqual(['add_seals 0 a', 'fork_block 4', 'touch 0 0 w', 'exit']);
    expect(w.files).toEqual(['file memfd 2000 0 0 a']);
  });

  it('a block left open is a plain fork on the wire', () => {
    const s = parseSequence(doc([MAP, { op: 'fork', until: 'exit' }, { op: 'touch', addr: 'A+0p', access: 'read' }]), 'x.json');
    expect(toWire(s).lines[1]).toBe('fork');
  });

  it('refuses an exit without a block, a fork inside a block, seals of an undeclared file, memfd flags on tmpfs', () => {
    expect(() => parseSequence(doc([MAP, { op: 'exit' }]), 'a.json')).toThrow(/a\.json.*\$\.calls\[1\].*exit without an open fork/s);
    expect(() => parseSequence(doc([{ op: 'fork', until: 'exit' }, { op: 'fork' }, { op: 'exit' }]), 'b.json')).toThrow(/\$\.calls\[1\].*blocks do not nest/s);
    expect(() => parseSequence(doc([{ op: 'add_seals', file: 1, seals: 'F_SEAL_SEAL' }], [{ kind: 'memfd', size: '1p' }]), 'c.json')).toThrow(/\$\.calls\[0\]\.file.*not declared/s);
    expect(() => parseSequence(doc([], [{ kind: 'tmpfs', size: '1p', flags: 'MFD_ALLOW_SEALING' }]), 'd.json')).toThrow(/\$\.files\[0\]\.flags.*kind memfd/s);
    expect(() => parseSequence(doc([{ op: 'add_seals', file: 0, seals: 'F_SEAL_WRTE' }], [{ kind: 'memfd', size: '1p' }]), 'e.json')).toThrow(/\$\.calls\[0\]\.seals.*F_SEAL_WRTE/s);
  });
});
