// Kernel report titles and stacks (src/findings/kreport.ts) on report texts written in the formats
// of mm/kasan/report.c, kernel/panic.c:__warn, kernel/locking/lockdep.c, include/linux/maple_tree.h
// and mm/vma.c:validate_mm, and the console watcher collecting them from a console stream.

import { describe, expect, it } from 'vitest';
import { crashSignature } from '../src/findings/crash.js';
import { parseReport, stackFrames, symbolName } from '../src/findings/kreport.js';
import { ConsoleWatcher, classify, type ConsoleReport } from '../src/runner/qemu/console.js';

const ts = (lines: string) =>
  lines
    .trim()
    .split('\n')
    .map((l, i) => `[   ${(31 + i / 1e4).toFixed(6)}] ${l.replace(/^\| ?/, '')}`)
    .join('\n');

const KASAN = ts(`
==================================================================
BUG: KASAN: slab-use-after-free in mas_walk+0x5a1/0x640
Read of size 8 at addr ffff888007a1b2c8 by task harness/214
|
CPU: 0 UID: 0 PID: 214 Comm: harness Not tainted 7.3.4 #1 PREEMPT(voluntary)
Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 print_report+0xce/0x630
 ? mas_walk+0x5a1/0x640
 kasan_report+0xd8/0x110
 ? mas_walk+0x5a1/0x640
 mas_walk+0x5a1/0x640
 lock_vma_under_rcu+0x1b5/0x520
 do_user_addr_fault+0x2a0/0x8b0
 exc_page_fault+0x64/0xf0
 asm_exc_page_fault+0x26/0x30
 </TASK>
|
Allocated by task 213:
 kasan_save_stack+0x30/0x50
 vm_area_dup+0x26/0x2e0
 dup_mmap+0x3b4/0x1270
==================================================================`);

const WARN_7 = ts(`
------------[ cut here ]------------
WARNING: mm/vma.c:1307 at vma_complete+0x3c2/0x4e0, CPU#0: harness/77
Modules linked in:
CPU: 0 UID: 0 PID: 77 Comm: harness Not tainted 7.3.4 #1 PREEMPT(voluntary)
RIP: 0010:vma_complete+0x3c2/0x4e0
Code: 48 8b 45 00 e9 55 ff ff ff <0f> 0b e9 1d fd ff ff
RSP: 0018:ffffc90000507c38 EFLAGS: 00010246
Call Trace:
 <TASK>
 ? __warn+0x81/0x130
 ? vma_complete+0x3c2/0x4e0
 ? report_bug+0x171/0x1a0
 commit_merge+0x1d1/0x2c0
 vma_merge_existing_range+0x2ae/0x7c0
 vma_modify_flags+0x1ef/0x230
 mprotect_fixup+0x1be/0x3a0
 do_mprotect_pkey+0x3a9/0x5a0
 __x64_sys_mprotect+0x1b/0x30
 do_syscall_64+0x82/0x190
 entry_SYSCALL_64_after_hwframe+0x76/0x7e
 </TASK>
---[ end trace 0000000000000000 ]---`);

const LOCKDEP = ts(`
======================================================
WARNING: possible circular locking dependency detected
7.3.4 #1 Not tainted
------------------------------------------------------
harness/301 is trying to acquire lock:
ffff88800c3e1a18 (&mm->mmap_lock){++++}-{4:4}, at: __might_fault+0x8f/0x110
|
but task is already holding lock:
ffff88800b2d0b28 (&ctx->map_changing_lock){++++}-{4:4}, at: mfill_atomic+0x12e/0x1320
|
which lock already depends on the new lock.
|
stack backtrace:
CPU: 0 UID: 0 PID: 301 Comm: harness Not tainted 7.3.4 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x77/0xb0
 print_circular_bug+0x2a6/0x3e0
 check_noncircular+0x132/0x150
 __lock_acquire+0x13fd/0x2290
 lock_acquire+0xcf/0x2f0
 __might_fault+0xb5/0x110
 mfill_atomic+0x5c4/0x1320
 userfaultfd_ioctl+0x5b5/0x1d50
 __x64_sys_ioctl+0x97/0xd0
 </TASK>`);

const MAPLE = ts(`
BUG at mas_validate_gaps:6891 (1)
maple_tree(ffff888005d7a040) flags 30B, height 1 root ffff888005c1e40e
0-ffffffffffffffff: node ffff888005c1e400 depth 0 type 3 parent ffff888005d7a041 contents: 0 1000 ...
Pass: 1227 Run:1228
CPU: 0 UID: 0 PID: 98 Comm: harness Not tainted 7.3.4 #1
Call Trace:
 <TASK>
 dump_stack_lvl+0x5d/0x80
 mas_validate_gaps+0x3e7/0x470
 mt_validate+0xe1d/0xe80
 validate_mm+0x4f/0x1b0
 vms_complete_munmap_vmas+0x1c0/0x2a0
 do_vmi_align_munmap+0x1d8/0x270
 __vm_munmap+0xd8/0x190
 </TASK>`);

const VALIDATE_MM = ts(`
map_count 4 vma iterator 3
mm ffff888006543a00 task_size 140737488351232
kernel BUG at mm/vma.c:744!
Oops: invalid opcode: 0000 [#1] SMP KASAN NOPTI
CPU: 0 UID: 0 PID: 120 Comm: harness Not tainted 7.3.4 #1
RIP: 0010:validate_mm+0x185/0x1b0
Call Trace:
 <TASK>
 dup_mmap+0x9b2/0x1270
 copy_process+0x2a9d/0x4a30
 kernel_clone+0xbd/0x400
 __do_sys_fork+0x80/0xb0
 </TASK>
---[ end trace 0000000000000000 ]---`);

describe('report titles', () => {
  it('KASAN: bug type, access and function', () => {
    const p = parseReport(KASAN);
    expect(p.title).toBe('KASAN: slab-use-after-free Read in mas_walk');
    // the reporting machinery and unreliable "? " frames are not the stack; the alloc stack is a second trace
    expect(p.frames.slice(0, 3)).toEqual(['mas_walk', 'lock_vma_under_rcu', 'do_user_addr_fault']);
    expect(p.frames).not.toContain('vm_area_dup');
  });

  it('WARNING in the 7.x and the 6.x formats', () => {
    expect(parseReport(WARN_7).title).toBe('WARNING in vma_complete');
    expect(parseReport(WARN_7).frames.slice(0, 3)).toEqual(['vma_complete', 'commit_merge', 'vma_merge_existing_range']);
    const old = ts(`
WARNING: CPU: 1 PID: 4242 at mm/vma.c:1301 vma_merge_existing_range+0x2c/0x50
CPU: 1 UID: 0 PID: 4242 Comm: harness Not tainted 6.12.117+deb13-cloud-amd64 #1`);
    expect(parseReport(old).title).toBe('WARNING in vma_merge_existing_range');
  });

  it('lockdep: the lock site being acquired names the deadlock', () => {
    const p = parseReport(LOCKDEP);
    expect(p.title).toBe('possible deadlock in __might_fault');
    expect(p.frames.slice(0, 2)).toEqual(['mfill_atomic', 'userfaultfd_ioctl']);
    expect(parseReport(ts(`
WARNING: suspicious RCU usage
7.3.4 #1 Not tainted
-----------------------------
mm/mmap_lock.c:245 suspicious rcu_dereference_check() usage!`)).title).toBe('suspicious RCU usage at mm/mmap_lock.c:245');
  });

  it('maple tree validation and validate_mm', () => {
    expect(parseReport(MAPLE).title).toBe('maple tree BUG in mas_validate_gaps');
    expect(parseReport(MAPLE).frames.slice(0, 2)).toEqual(['vms_complete_munmap_vmas', 'do_vmi_align_munmap']);
    const v = parseReport(VALIDATE_MM);
    expect(v.title).toBe('validate_mm: map_count does not match the maple tree');
    expect(v.frames.slice(0, 2)).toEqual(['dup_mmap', 'copy_process']);
  });

  it('kernel BUG, sleeping in atomic, page faults', () => {
    expect(parseReport(ts(`
kernel BUG at mm/mmap.c:1288!
RIP: 0010:exit_mmap+0x3f1/0x400
Call Trace:
 <TASK>
 __mmput+0x3c/0x130`)).title).toBe('kernel BUG in exit_mmap');
    expect(parseReport(ts(`
BUG: sleeping function called from invalid context at mm/vma.c:512
in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 55, name: harness
Call Trace:
 <TASK>
 __might_resched+0x1a8/0x240
 vma_prepare+0x3e/0x290`)).title).toBe('BUG: sleeping function called from invalid context in vma_prepare');
    expect(parseReport(ts(`
BUG: unable to handle page fault for address: ffffffffffffff10
Oops: 0000 [#1] PREEMPT SMP NOPTI
RIP: 0010:unlink_anon_vmas+0x41/0x1d0`)).title).toBe('BUG: unable to handle kernel paging request in unlink_anon_vmas');
  });

  it('symbols lose offsets and compiler suffixes', () => {
    expect(symbolName('vma_modify.isra.0+0x12/0x40')).toBe('vma_modify');
    expect(symbolName('copy_page_range.cold+0x5/0x7')).toBe('copy_page_range');
    expect(symbolName('RSP: 0018')).toBeNull();
    expect(stackFrames(['Call Trace:', ' <TASK>', ' ? foo+0x1/0x2', ' bar+0x1/0x2', ' </TASK>'])).toEqual(['bar']);
  });
});

describe('signatures', () => {
  it('same title and stack, different addresses, PIDs and offsets: one finding', () => {
    const other = KASAN.replace(/ffff888007a1b2c8/, 'ffff88800aaaa000').replace(/harness\/214/, 'harness/999').replace(/mas_walk\+0x5a1/g, 'mas_walk+0x5a3');
    expect(crashSignature({ excerpt: other, title: '' }).signature).toBe(crashSignature({ excerpt: KASAN, title: '' }).signature);
    expect(crashSignature({ excerpt: KASAN, title: '' }).signatureText.split('\n')[0]).toBe('KASAN: slab-use-after-free Read in mas_walk');
  });
  it('same title, different stack below: two findings', () => {
    const viaFork = KASAN.replace('lock_vma_under_rcu+', 'dup_mmap+');
    expect(crashSignature({ excerpt: viaFork, title: '' }).signature).not.toBe(crashSignature({ excerpt: KASAN, title: '' }).signature);
  });
});

describe('console watcher', () => {
  it('collects lockdep and maple tree reports as their own kinds', async () => {
    expect(classify('[ 1.0] WARNING: possible circular locking dependency detected')).toBe('lockdep');
    expect(classify('BUG at mas_validate_gaps:6891 (1)')).toBe('maple');
    expect(classify('map_count 4 vma iterator 3')).toBe('maple');
    expect(classify('WARNING: mm/vma.c:1307 at vma_complete+0x3c2/0x4e0, CPU#0: harness/77')).toBe('warning');
    // not reports: fault injection's own message and an allocation failure warning
    expect(classify('FAULT_INJECTION: forcing a failure.')).toBeNull();
    expect(classify('harness: page allocation failure: order:0, mode:0xcc0(GFP_KERNEL), nodemask=(null)')).toBeNull();
    const got: ConsoleReport[] = [];
    const w = new ConsoleWatcher((r) => got.push(r), 50);
    w.push('[    1.0] boot noise\n' + LOCKDEP + '\n');
    await new Promise((r) => setTimeout(r, 120));
    w.push(MAPLE + '\n');
    w.finish();
    expect(got.map((r) => r.kind)).toEqual(['lockdep', 'maple']);
    expect(parseReport(got[0]!.excerpt).title).toBe('possible deadlock in __might_fault');
    expect(got[0]!.comm).toBe('harness');
  });
});

describe('crash minimization', () => {
  it('keeps the calls the report needs, with their failNth', async () => {
    const { minimizeCrash } = await import('../src/findings/minimize-crash.js');
    const { parseSequence } = await import('../src/seq/io.js');
    const { crashSignature } = await import('../src/findings/crash.js');
    const RW = 'PROT_READ|PROT_WRITE';
    const ANON = 'MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED';
    const seq = parseSequence(
      {
        vmafuzz: 1,
        arenaPages: 32,
        calls: [
          { op: 'mmap', addr: 'A+0p', len: '4p', prot: RW, flags: ANON },
          { op: 'mprotect', addr: 'A+0p', len: '1p', prot: 'PROT_READ' },
          { op: 'mmap', addr: 'A+8p', len: '4p', prot: RW, flags: ANON },
          { op: 'fork', failNth: 7 },
          { op: 'munmap', addr: 'A+8p', len: '4p' },
          { op: 'mprotect', addr: 'A+1p', len: '1p', prot: 'PROT_READ' },
        ],
      },
      'test',
    );
    // A kernel (scripted: the console of a guest is what is under test elsewhere) that prints the
    // VALIDATE_MM report whenever a fork with fail-nth 7 runs after a mapping at A+8p exists.
    let pending: ReturnType<typeof crashOf>[] = [];
    function crashOf() {
      return { kind: 'maple' as const, title: 'map_count 4 vma iterator 3', excerpt: VALIDATE_MM, fatal: false, comm: 'harness', tag: null, release: '7.3.4', batchIndex: 0, sequence: null, consoleLog: '', at: '' };
    }
    const runner = {
      name: 'scripted',
      start: async () => ({}) as never,
      close: async () => {},
      takeCrashes: () => {
        const c = pending;
        pending = [];
        return c;
      },
      run: async (batch: readonly (typeof seq)[]) => {
        for (const s of batch) {
          const fork = s.calls.findIndex((c) => c.op === 'fork' && c.failNth === 7);
          if (fork >= 0 && s.calls.slice(0, fork).some((c) => c.op === 'mmap' && c.addr?.page === 8)) pending.push(crashOf());
        }
        return batch.map(() => ({ calls: [], snapshots: [], status: 'ok' as const }));
      },
    };
    const sig = crashSignature(crashOf()).signature;
    const r = await minimizeCrash(runner, seq, sig);
    expect(r.confirmed).toBe(true);
    expect(r.seq.calls.map((c) => c.op)).toEqual(['mmap', 'fork']);
    expect(r.seq.calls[1]!.failNth).toBe(7);
    // a report with another signature does not count
    const other = await minimizeCrash(runner, seq, '0123456789abcdef');
    expect(other.confirmed).toBe(false);
  });
});
