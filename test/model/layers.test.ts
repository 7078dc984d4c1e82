// The VmFlags and pagemap layers (src/model/layers.ts) and the page state behind them: faults,
// fault-around on shmem (mm/memory.c:do_fault_around), THP faults, khugepaged, exec probes.
import { describe, expect, it } from 'vitest';
import { makeProfile, predict } from '../../src/model/index.js';
import { FORMAT_VERSION, type Sequence } from '../../src/seq/schema.js';
import { mmap, mprotect, touch, world } from './helpers.js';
import { exec, madvise, mlock2, pm, vmflags } from './helpers-mem.js';

const SIGSEGV = 11;

describe('VmFlags layer', () => {
  it('prints the mnemonics in kernel bit order', () => {
    const w = world(4).ok(mmap(0, 4, 'rw', 'fixed'), madvise(0, 4, 'MADV_RANDOM'), madvise(0, 4, 'MADV_DONTFORK'), madvise(0, 4, 'MADV_MERGEABLE'), mlock2(0, 4, 1));
    expect(vmflags(w)).toEqual(['rd wr mr mw me lo rr dc lf ac mg']);
  });

  it('6.1 has no mnemonic for VM_LOCKONFAULT: "??"', () => {
    const w = world(4, makeProfile('6.1.158', { base_map_count: '0', thp: 'madvise' })).ok(mmap(0, 4, 'rw', 'fixed'), mlock2(0, 4, 1));
    expect(vmflags(w)).toEqual(['rd wr mr mw me lo ?? ac']);
  });
});

describe('pagemap layer', () => {
  it("is '-' outside VMAs and for never-touched pages, 'P' for the zero page and written pages", () => {
    const w = world(6).ok(mmap(1, 4, 'rw', 'fixed'), touch(1, 'r'), touch(2, 'w'), mprotect(1, 2, 'none'));
    expect(pm(w)).toBe('-PP---'); // a PROT_NONE pte is still pte_present()
  });

  it('shmem read faults map the cached pages around them; write faults only themselves', () => {
    //      0123456789abcdef0123   one shared VMA of 20 pages
    //      .W.....W.......W....   written first (page cache now holds 1, 7, 15, 17)
    const w = world(20).ok(mmap(0, 20, 'rw', 'fixed', 'shared'), touch(1, 'w'), touch(7, 'w'), touch(15, 'w'), touch(17, 'w'));
    w.ok(madvise(0, 20, 'MADV_DONTNEED')); // ptes gone, the page cache stays
    expect(pm(w)).toBe('-'.repeat(20));
    w.ok(touch(3, 'r')); // window [0, 16): 1, 7, 15 are cached -> mapped with 3
    expect(pm(w)).toBe('-P-P---P-------P----');
    w.ok(touch(18, 'w')); // a write fault maps only its page
    expect(pm(w)).toBe('-P-P---P-------P--P-');
  });

  it('the fault-around window starts at the VMA when the VMA starts inside the 16-page block', () => {
    //      0123456789abcdef0123456789
    //      ....AAAAAAAAAAAAAAAAAAAA..   window of a fault at 6: from 4 (VMA start) for 16 pages
    const w = world(26).ok(mmap(4, 20, 'rw', 'fixed', 'shared'));
    for (const p of [4, 19, 20, 23]) w.ok(touch(p, 'w'));
    w.ok(madvise(4, 20, 'MADV_DONTNEED'), touch(6, 'r'));
    expect(pm(w)).toBe('----P-P------------P------');
  });

  it('a THP fault maps the whole 2 MiB block if the huge page could be had: maybe', () => {
    const w = world(1024).ok(mmap(0, 1024, 'rw', 'fixed'), madvise(0, 1024, 'MADV_HUGEPAGE'), touch(5, 'w'));
    const m = pm(w);
    expect(m[5]).toBe('P');
    expect(m.slice(0, 5) + m.slice(6, 512)).toBe('?'.repeat(511));
    expect(m.slice(512)).toBe('-'.repeat(512));
  });

  it('khugepaged may collapse a THP-eligible block that maps an anonymous page: its empty ptes are maybe', () => {
    //   the block's PMD had a page table (a 4 KiB fault before MADV_HUGEPAGE), so no THP fault
    const w = world(1024).ok(mmap(0, 1024, 'rw', 'fixed'), touch(7, 'r'), madvise(0, 1024, 'MADV_HUGEPAGE'), touch(9, 'r'));
    expect(pm(w).slice(0, 12)).toBe('-------P-P--');
    w.ok(touch(10, 'w'));
    expect(pm(w).slice(0, 12)).toBe('???????P?PP?');
    w.ok(madvise(0, 512, 'MADV_GUARD_INSTALL'), madvise(0, 1, 'MADV_GUARD_REMOVE')); // a marker blocks it
    expect(pm(w).slice(0, 3)).toBe('-GG');
  });

  it('exec probes: a fetch faults like a read, then needs VM_EXEC', () => {
    const w = world(4).ok(mmap(0, 2, 'rx', 'fixed'), mmap(2, 2, 'rw', 'fixed'));
    expect(w.run(exec(0)).signal).toBe(0);
    expect(w.run(exec(2)).signal).toBe(SIGSEGV);
    expect(w.hits).toEqual(['fault.read.zero_page_pmd_present', 'touch.segv.exec_nx']);
    expect(pm(w)).toBe('P-P-'); // the page was faulted in before the NX fault
    expect(w.run(exec(3)).signal).toBe(SIGSEGV);
    w.ok(mprotect(2, 2, 'none'));
    expect(w.run(exec(2)).signal).toBe(SIGSEGV);
    expect(w.hits).toEqual(['touch.segv.read_protected']);
  });

  it('predict() attaches the layers it is asked for to every snapshot', () => {
    const seq: Sequence = { vmafuzz: FORMAT_VERSION, arenaPages: 4, calls: [mmap(0, 2, 'rw', 'fixed'), touch(1, 'w')] };
    const p = predict(seq, makeProfile('6.18.44', { thp: 'madvise', base_map_count: '0' }), { snapshotEveryCall: true, layers: { vmflags: true, pagemap: true } });
    expect(p.snapshots.map((s) => s.pagemap)).toEqual(['----', '----', '-P--']);
    expect(p.snapshots[2]!.maps[0]!.vmflags).toBe('rd wr mr mw me ac');
    const bare = predict(seq, makeProfile('6.18.44', { thp: 'madvise', base_map_count: '0' }), { snapshotEveryCall: false });
    expect(bare.snapshots.every((s) => s.pagemap === undefined && s.maps.every((e) => e.vmflags === undefined))).toBe(true);
  });
});
