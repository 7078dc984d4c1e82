// The kernel config of `vmafuzz kernels build`: `make allnoconfig` with a fragment forced on top
// (KCONFIG_ALLCONFIG), then `make olddefconfig`. The fragment is a minimal x86-64 QEMU guest that
// runs the harness as PID 1 (docs/kernels-build.md lists why each option is there), plus the
// chosen instrumentation. After configuring, every option of the fragment must have stuck: one
// whose dependencies were not met is an error naming it, not a silently weaker kernel.

import { createHash } from 'node:crypto';

/** One `CONFIG_<name>=<value>` line of the fragment and why it is there. */
export interface ConfigOption {
  name: string;
  /** "y", a number, or a quoted string, exactly as in .config */
  value: string;
  why: string;
  /** only set when the version's Kconfig defines the symbol (an option newer than some series) */
  optional?: boolean;
}

const y = (name: string, why: string, optional = false): ConfigOption => ({ name, value: 'y', why, ...(optional ? { optional } : {}) });

/** The guest: boot under QEMU (KVM or TCG), talk over ttyS0/ttyS1/hvc0, and give the harness every mm feature it probes. */
export const BASE_OPTIONS: readonly ConfigOption[] = [
  y('64BIT', 'x86-64 guest'),
  y('SMP', 'the runner may give the guest several CPUs'),
  y('PRINTK', 'console messages: the crash scanner reads them'),
  y('PRINTK_TIME', 'timestamps like the Debian kernels the console scanner already sees'),
  y('KALLSYMS', 'symbolised stacks: report titles name functions'),
  y('DEBUG_BUGVERBOSE', '"kernel BUG at file:line"'),
  y('TTY', 'consoles'),
  y('SERIAL_8250', 'ttyS0 console, ttyS1 protocol channel'),
  y('SERIAL_8250_CONSOLE', 'console=ttyS0'),
  y('MAGIC_SYSRQ', 'sysrq_always_enabled: the runner sends a break to dump a hung guest'),
  y('MAGIC_SYSRQ_SERIAL', 'a serial break triggers SysRq'),
  y('PCI', 'virtio devices are PCI'),
  y('VIRTIO_MENU', 'virtio drivers menu'),
  y('VIRTIO_PCI', 'virtio-serial-pci'),
  y('VIRTIO_CONSOLE', '/dev/hvc0, the fast protocol channel'),
  y('ACPI', 'power-off at the end of a session (RB_POWER_OFF)'),
  y('HYPERVISOR_GUEST', 'paravirt support under KVM'),
  y('PARAVIRT', 'paravirt ops'),
  y('KVM_GUEST', 'kvmclock: a stable clock under KVM'),
  y('BLK_DEV_INITRD', 'the harness comes in an initramfs'),
  y('BINFMT_ELF', 'the static harness is an ELF executable'),
  y('DEVTMPFS', 'init mounts /dev'),
  y('PROC_FS', '/proc/<pid>/maps, smaps, status'),
  y('SYSCTL', '/proc/sys/vm facts (max_map_count, overcommit, ...)'),
  y('PROC_PAGE_MONITOR', '/proc/<pid>/pagemap and smaps'),
  y('SYSFS', '/sys/kernel/mm facts'),
  y('MULTIUSER', 'uids, capabilities'),
  y('FUTEX', 'libc'),
  y('EPOLL', 'harness event loop'),
  y('SIGNALFD', 'libc'),
  y('TIMERFD', 'libc'),
  y('EVENTFD', 'libc'),
  y('POSIX_TIMERS', 'nanosleep/clock_* in the harness'),
  y('ADVISE_SYSCALLS', 'madvise, fadvise'),
  y('SYSVIPC', 'SysV shared memory segments'),
  y('SHMEM', 'shared anonymous and memfd mappings'),
  y('TMPFS', "the harness's tmpfs files (/dev/shm)"),
  y('MEMFD_CREATE', 'memfd mappings'),
  y('HUGETLBFS', 'hugetlb mappings'),
  y('HUGETLB_PAGE', 'hugetlb mappings'),
  y('TRANSPARENT_HUGEPAGE', 'THP, as in Debian'),
  y('TRANSPARENT_HUGEPAGE_ALWAYS', "the THP default of Debian's kernels"),
  y('USERFAULTFD', 'userfaultfd calls'),
  y('NET', 'needed by UNIX'),
  y('UNIX', 'socketpair(AF_UNIX) to the userfaultfd resolver process (harness-c/uffd.c:resolver_start); without it every uffd sequence is indeterminate'),
  y('PTE_MARKER_UFFD_WP', 'uffd write-protect of shmem/hugetlb and unpopulated ranges, as in Debian'),
  y('ANON_VMA_NAME', 'PR_SET_VMA_ANON_NAME'),
  y('CHECKPOINT_RESTORE', 'needed by MEM_SOFT_DIRTY'),
  y('MEM_SOFT_DIRTY', 'the "sd" VmFlag and pagemap soft-dirty bit, as in Debian'),
  y('KSM', 'MADV_MERGEABLE, as in Debian'),
  y('X86_MCE', 'needed by MEMORY_FAILURE on x86'),
  y('MEMORY_FAILURE', 'MADV_HWPOISON/SOFT_OFFLINE, as in Debian'),
  y('X86_INTEL_MEMORY_PROTECTION_KEYS', 'pkeys, as in Debian'),
  y('MIGRATION', 'page migration, as in Debian'),
  y('COMPACTION', 'compaction, as in Debian'),
  y('BLOCK', 'needed by SWAP'),
  y('SWAP', 'MADV_PAGEOUT/COLD semantics, as in Debian'),
  { name: 'DEFAULT_MMAP_MIN_ADDR', value: '65536', why: 'as in Debian' },
];

/** The instrumentation `--with` chooses from, in the order a kernel's name lists them. */
export const INSTRUMENTS: Readonly<Record<string, readonly ConfigOption[]>> = {
  kasan: [
    y('DEBUG_KERNEL', 'debug options'),
    y('KASAN', 'memory-safety reports'),
    y('KASAN_GENERIC', 'the software mode x86-64 supports'),
    y('KASAN_INLINE', 'faster at run time than outline'),
    y('KASAN_VMALLOC', 'vmalloc areas too', true),
    y('STACKTRACE', 'alloc/free stacks in reports'),
  ],
  lockdep: [
    y('DEBUG_KERNEL', 'debug options'),
    y('PROVE_LOCKING', 'lock-order and lock-state splats'),
    y('DEBUG_ATOMIC_SLEEP', 'sleeping in atomic context'),
  ],
  'debug-vm': [
    y('DEBUG_KERNEL', 'debug options'),
    y('DEBUG_VM', 'VM_BUG_ON/VM_WARN_ON checks'),
    y('DEBUG_VM_MAPLE_TREE', 'validate_mm: the maple tree against the VMAs after each change'),
  ],
  'fault-injection': [
    y('DEBUG_KERNEL', 'debug options'),
    y('DEBUG_FS', 'the fault-injection knobs under /sys/kernel/debug'),
    y('FAULT_INJECTION', '/proc/thread-self/fail-nth'),
    y('FAILSLAB', 'slab allocations can fail'),
    y('FAIL_PAGE_ALLOC', 'page allocations can fail'),
    y('FAULT_INJECTION_DEBUG_FS', 'failslab/fail_page_alloc ignore-gfp-wait must be cleared, or GFP_KERNEL allocations never fail'),
  ],
};

export const INSTRUMENT_NAMES = Object.keys(INSTRUMENTS);

/** "kasan,fault-injection" -> canonical order; an unknown name is an error naming it. */
export function parseInstruments(list: string): string[] {
  const want = list
    .split(/[,+]/)
    .map((s) => s.trim())
    .filter(Boolean);
  for (const w of want) {
    if (!(w in INSTRUMENTS)) throw new Error(`unknown instrumentation "${w}" (known: ${INSTRUMENT_NAMES.join(', ')})`);
  }
  return INSTRUMENT_NAMES.filter((n) => want.includes(n));
}

/** The name a built kernel goes by: "7.3+kasan+fault-injection" ("7.3" alone: no instrumentation). */
export function buildName(series: string, instruments: readonly string[]): string {
  return [series, ...instruments].join('+');
}

/** "7.3+kasan" -> series and instruments, or null when the name has no "+instrument" part known to us. */
export function parseBuildName(name: string): { series: string; instruments: string[] } | null {
  const parts = name.split('+');
  if (parts.length < 2 || !/^[0-9]+\.[0-9]+$/.test(parts[0]!)) return null;
  const inst = parts.slice(1);
  if (!inst.every((p) => p in INSTRUMENTS)) return null;
  return { series: parts[0]!, instruments: INSTRUMENT_NAMES.filter((n) => inst.includes(n)) };
}

/** `uname -r` suffix of a build: "7.3.4-vmafuzz+kasan", never the release of a Debian package. */
export function localVersion(instruments: readonly string[]): string {
  return `-vmafuzz${instruments.map((i) => `+${i}`).join('')}`;
}

/** Base options plus the instruments', each name once (a later duplicate must agree). */
export function fragmentOptions(instruments: readonly string[]): ConfigOption[] {
  const out = new Map<string, ConfigOption>();
  const release: ConfigOption = { name: 'LOCALVERSION', value: JSON.stringify(localVersion(instruments)), why: 'a release of its own: --kernel <release> and crash findings name this build, not a Debian kernel' };
  for (const o of [...BASE_OPTIONS, release, ...instruments.flatMap((i) => INSTRUMENTS[i] ?? [])]) {
    const have = out.get(o.name);
    if (have && have.value !== o.value) throw new Error(`CONFIG_${o.name}: ${have.value} and ${o.value} both requested`);
    if (!have) out.set(o.name, o);
  }
  return [...out.values()];
}

/** The fragment file (KCONFIG_ALLCONFIG) for a set of options, with the reasons as comments. */
export function fragmentText(options: readonly ConfigOption[]): string {
  return options.map((o) => `# ${o.why}${o.optional ? ' (when the version has it)' : ''}\nCONFIG_${o.name}=${o.value}\n`).join('');
}

/**
 * The cache key of a build: the exact source (Debian package version), the fragment's options and
 * the compiler. Any change to one of them is a different kernel.
 */
export function buildKey(sourceVersion: string, fragment: string, compiler: string): string {
  // the options only: a reworded reason is the same kernel
  const options = fragment.split('\n').filter((l) => l.startsWith('CONFIG_')).join('\n');
  return createHash('sha256').update(`${sourceVersion}\n${compiler}\n${options}`).digest('hex').slice(0, 16);
}

/** .config text -> option name (without CONFIG_) -> value; "is not set" lines become "n". */
export function parseDotConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const set = /^CONFIG_([A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (set) out.set(set[1]!, set[2]!);
    const unset = /^# CONFIG_([A-Za-z0-9_]+) is not set$/.exec(line);
    if (unset) out.set(unset[1]!, 'n');
  }
  return out;
}

/**
 * Options of the fragment the resulting .config does not have as asked. `defined` tells whether
 * the version's Kconfig knows a symbol: an optional option it does not know is skipped.
 */
export function missingOptions(options: readonly ConfigOption[], dotConfig: string, defined: (name: string) => boolean): { missing: { option: ConfigOption; got: string | null }[]; skipped: string[] } {
  const got = parseDotConfig(dotConfig);
  const missing: { option: ConfigOption; got: string | null }[] = [];
  const skipped: string[] = [];
  for (const o of options) {
    const v = got.get(o.name) ?? null;
    if (v === o.value) continue;
    if (o.optional && !defined(o.name)) {
      skipped.push(o.name);
      continue;
    }
    missing.push({ option: o, got: v });
  }
  return { missing, skipped };
}
