// makeProfile(): facts parsing and the per-version rows.
import { describe, expect, it } from 'vitest';
import { environmentText, makeProfile, PROFILE_ROWS, ROW_IDS, unusualFacts } from '../../src/model/index.js';

describe('makeProfile', () => {
  it('parses the harness hello facts (hex)', () => {
    const p = makeProfile('6.18.44-fc-v657', {
      thp: 'always', max_map_count: 'fffa', mmap_min_addr: '1000', base_map_count: '1a', soft_dirty: '1', overcommit: '2',
      rlimit_stack: '800000', pkeys: '1', memlock: '10000', cap_ipc_lock: '0', guard: 'anon', pm_guard: '0', anon_name: '1', mseal: '1',
      zero_page: '0', thp_zero_page: '0',
    });
    expect(p.version).toEqual([6, 18, 44]);
    expect(p).toMatchObject({ thp: 'always', maxMapCount: 65530, mmapMinAddr: 4096, baseMapCount: 26, softDirty: true, overcommitNever: true, rlimitStackPages: 2048, execOnlyPkey: true, memlockPages: 16 });
    // facts win over the version rows (a 6.18.44 kernel would have file guards and PM_GUARD_REGION)
    expect(p).toMatchObject({ guard: 'anon', pmGuard: false, anonVmaName: true, mseal: true });
    expect(p).toMatchObject({ zeroPage: false, thpZeroPage: false });
    // ... and say so: a backport, a config or a wrong row (mseal=1 agrees with its row)
    expect(p.warnings).toEqual([expect.stringMatching(/^fact guard=anon disagrees with .*madvise\.guard_file.*\(file\)/), expect.stringMatching(/^fact pm_guard=0 disagrees with .*pagemap\.guard_bit.*\(1\)/)]);
    expect(makeProfile('6.1.158', { thp: 'never', base_map_count: '0', zero_page: '1', anon_name: '1', mseal: '1', guard: 'none', pm_guard: '0' }).warnings).toEqual([expect.stringMatching(/^fact mseal=1 disagrees with the version row mseal\.syscall for 6\.1\.158 \(0\)/)]);
    expect(makeProfile('7.3.4', { thp: 'never', base_map_count: '0', zero_page: '1', anon_name: '1', rlimit_as: '40000000' }).warnings).toEqual([expect.stringMatching(/RLIMIT_AS is limited/)]);
  });

  it('reads the facts of the real harness hello line', () => {
    const hello = {
      release: '6.18.44-fc-v657', page: '1000', thp: 'madvise', max_map_count: 'fffa', mmap_min_addr: '1000', window: '4000000',
      base_map_count: 'e', soft_dirty: '0', pkeys: '0', cap_ipc_lock: '1', thp_shmem: 'never', overcommit: '0',
      memlock: '800000', rlimit_stack: '800000', stack_guard_gap: '100', euid: '0', guard: 'file', pm_guard: '1', anon_name: '0', mseal: '1',
      zero_page: '1', thp_zero_page: '1',
    };
    const p = makeProfile(hello.release, hello);
    expect(p).toMatchObject({ baseMapCount: 14, memlockPages: null, shmemHugePages: 0, stackGuardGapPages: 256, rlimitStackPages: 2048 });
    expect(p).toMatchObject({ guard: 'file', pmGuard: true, anonVmaName: false, mseal: true });
    expect(p).toMatchObject({ zeroPage: true, thpZeroPage: true });
    expect(p.warnings).toEqual([]);
    expect(makeProfile('7.3.4', { ...hello, cap_ipc_lock: '0', thp_shmem: 'advise' })).toMatchObject({ memlockPages: 2048, shmemHugePages: 512 });
    // root without CAP_SYS_PTRACE (a container's default capability set): EVENT_FORK is refused
    expect(makeProfile(hello.release, hello).capSysPtrace).toBe(true); // no fact: euid 0 assumed to have it
    expect(makeProfile(hello.release, { ...hello, cap_sys_ptrace: '0' }).capSysPtrace).toBe(false);
    expect(makeProfile(hello.release, { ...hello, euid: '3e8', cap_sys_ptrace: '1' }).capSysPtrace).toBe(true);
  });

  it('warns about missing facts and defaults sensibly', () => {
    const p = makeProfile('7.3.4', {});
    expect(p.thp).toBe('madvise');
    expect(p.maxMapCount).toBe(65530);
    expect(p.memlockPages).toBeNull();
    expect(p.warnings.join('\n')).toMatch(/base_map_count/);
    expect(p.warnings.join('\n')).toMatch(/thp/);
    // an older harness (or a failed probe) says nothing about the zero page: upstream default
    expect(p).toMatchObject({ zeroPage: true, thpZeroPage: true });
    expect(p.warnings.join('\n')).toMatch(/zero_page/);
  });

  it('names the facts that differ from upstream defaults (campaign header, finding.json)', () => {
    expect(unusualFacts({ zero_page: '1', thp_zero_page: '1', thp: 'always' })).toEqual({});
    expect(unusualFacts({ zero_page: '0', thp_zero_page: '0' })).toEqual({ zero_page: '0', thp_zero_page: '0' });
    expect(unusualFacts({ zero_page: '-' })).toEqual({}); // not probed: the default is assumed
    expect(environmentText({ zero_page: '1' })).toBe('zero page present');
    expect(environmentText({ zero_page: '0', thp_zero_page: '0' })).toMatch(/^zero page FORBIDDEN .*, thp_zero_page=0$/);
    expect(environmentText({})).toMatch(/not probed/);
  });

  it('sets each row by version: 6.1 old everywhere, 6.12 partly, 6.18.44 and 7.3 new', () => {
    const rows = (r: string) => makeProfile(r, { thp: 'madvise', base_map_count: '0' }).rows;
    expect(Object.values(rows('6.1.158')).every((v) => !v)).toBe(true);
    expect(rows('6.12.107')).toEqual({
      'anon_vma.merge_faulted_into_unfaulted': false,
      'mprotect.unaccount_unfaulted': true,
      'mmap.map_stack_nohugepage': true,
      'mmap.thp_align_anon': true,
      'mmap.map_droppable': true,
      'merge.new_range_prefers_prev': true,
      // src/model/profile-rows-mem.ts
      'madvise.guard_regions': false,
      'madvise.guard_file': false,
      'madvise.maybe_guard_flag': false,
      'pagemap.guard_bit': false,
      'madvise.populate_hole_enomem': true,
      'madvise.dontneed_reclaims_pt': false,
      'smaps.lf_mnemonic': true,
      'mseal.syscall': true,
      'anon_name.shmem': true,
      // src/model/profile-rows-files.ts
      'merge.anon_pgoff': false,
      'uffd.register_drop_wp_ebusy': false,
      'mremap.multi_vma': false,
      'mremap.map_count_exact': false,
      'uffd.zeropage_forbidden_folio': true,
      'uffd.zeropage_shmem_cache': false,
      'mremap.new_addr_checked_first': false,
      'mremap.check_params_first': false,
      'uffd.unregister_same_ctx': false,
      // src/model/profile-rows-seals.ts
      'memfd.seal_exec': true,
      'memfd.exec_seal_implies_write': true,
      'memfd.seal_check_in_do_mmap': true,
      // src/model/profile-rows-hugeshm.ts
      'merge.close_hook_remove_only': true,
      'mmap.hugetlb_hint_align_up': false,
      'mmap.fixed_unmap_error_kept': true,
      'madvise.dofork_special': false,
      // src/model/profile-rows-content.ts: since 6.12.117 (a stable backport)
      'fault.around_eof_folio_no_table': false,
    });
    expect(rows('6.12.117')['fault.around_eof_folio_no_table']).toBe(true);
    // rows whose new behaviour is only known from 7.3 source are old on the 6.18.44 host
    const only73 = ['merge.anon_pgoff', 'uffd.register_drop_wp_ebusy', 'mremap.map_count_exact', 'uffd.zeropage_shmem_cache', 'madvise.dofork_special'];
    expect(Object.entries(rows('6.18.44')).filter(([, v]) => !v).map(([k]) => k).sort()).toEqual(only73.sort());
    expect(Object.values(rows('7.3.4')).every((v) => v)).toBe(true);
    // QEMU anchors on both sides of 6.17 (corpus/seed/mremap-check-order.json, uffd-register.json)
    const at617 = ['mremap.multi_vma', 'mremap.check_params_first', 'uffd.unregister_same_ctx'] as const;
    for (const id of at617) {
      expect(rows('6.16.12')[id], id).toBe(false);
      expect(rows('6.17.13')[id], id).toBe(true);
    }
    expect(rows('6.16.12')['mremap.new_addr_checked_first']).toBe(true);
  });

  it('warns for versions between verified anchors', () => {
    expect(makeProfile('6.14.2', { base_map_count: '0', thp: 'never' }).warnings.join('\n')).toMatch(/anon_vma\.merge_faulted_into_unfaulted/);
    expect(makeProfile('6.9.0', { base_map_count: '0', thp: 'never' }).warnings.join('\n')).toMatch(/6\.7-6\.11/);
  });

  it('the row table is complete and cites kernel source', () => {
    expect(PROFILE_ROWS.map((r) => r.id)).toEqual([...ROW_IDS]);
    for (const r of PROFILE_ROWS) expect(r.ref).toMatch(/mm\/\w+\.c:|include\/linux\/\w+\.h:|fs\/proc\/\w+\.c:/);
  });
});
