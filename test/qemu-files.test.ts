// Disk files in QEMU: the runner formats ext4, xfs and btrfs images on the host and attaches them as
// namespaces of one NVMe disk with throw-away overlays; the kernel's xfs and btrfs modules (with
// their dependencies, from its Debian package) ride in the initramfs. The guest harness (PID 1)
// mounts ext4 at boot and xfs/btrfs on the first sequence that declares such a file, and reports
// `fs=ext4,xfs,btrfs`. Selftest scenarios of every kind then match the model on the guest kernel.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { divergenceOf, predictAgainst } from '../src/campaign/check.js';
import { fetchKernel } from '../src/kernels/index.js';
import { makeProfile } from '../src/model/index.js';
import { QemuRunner } from '../src/runner/qemu.js';
import { DETAIL_RUN } from '../src/runner/types.js';
import { loadSequenceFile } from '../src/seq/io.js';
import { ROOT } from './campaign-support.js';
import { ensureCommand } from './helpers/system.js';

const logs = mkdtempSync(join(tmpdir(), 'vmafuzz-qemu-files-'));
const runners: QemuRunner[] = [];

beforeAll(async () => {
  await ensureCommand('qemu-system-x86_64', ['qemu-system-x86']);
  await ensureCommand('mkfs.xfs', ['xfsprogs']);
  await ensureCommand('mkfs.btrfs', ['btrfs-progs']);
}, 900_000);
afterAll(async () => {
  for (const r of runners) await r.close();
  rmSync(logs, { recursive: true, force: true });
});

// ext4, then xfs and btrfs interleaved: the first xfs and btrfs files mount their disks mid-batch
const SCENARIOS = [
  'guard-regions-file-basic',
  'guard-regions-file-truncation',
  'map-populate-private-cow-ext4',
  'guard-regions-xfs-basic',
  'guard-regions-btrfs-basic',
  'guard-regions-xfs-truncation',
  'guard-regions-btrfs-map-private',
  'map-populate-private-cow-xfs',
  'madv-populate-file-holes-btrfs',
  'guard-regions-xfs-fault-around',
  'guard-regions-btrfs-hole-punch',
];

describe.each(['7.3', '6.12'])('QEMU %s: ext4, xfs and btrfs scratch disks', (version) => {
  it('the guest reports all three; scenarios on each match the model', async () => {
    const runner = new QemuRunner({ image: await fetchKernel(version), logDir: join(logs, version) });
    runners.push(runner);
    const info = await runner.start();
    expect(info.facts['fs']).toBe('ext4,xfs,btrfs');
    expect(info.facts['fs_noexec']).toBe('-');
    const profile = makeProfile(info.release, info.facts);
    // and a partly written EOF page on each kind: fault-around maps it only if it is uptodate, which
    // needs one block per page (the ext4 image had 1 KiB blocks once, and this diverged)
    const eof = loadSequenceFile(join(ROOT, 'corpus', 'seed', 'file-fault-around-eof-partial-page.json'));
    const names = [...SCENARIOS, ...(['ext4', 'xfs', 'btrfs'] as const).map((k) => `eof-partial-page-${k}`)];
    const seqs = [
      ...SCENARIOS.map((n) => loadSequenceFile(join(ROOT, 'corpus', 'selftest', `${n}.json`))),
      ...(['ext4', 'xfs', 'btrfs'] as const).map((kind) => ({ ...eof, files: eof.files!.map((f) => ({ ...f, kind })) })),
    ];
    expect(new Set(seqs.flatMap((s) => s.files!.map((f) => f.kind)))).toEqual(new Set(['ext4', 'xfs', 'btrfs']));
    const kernel = await runner.run(seqs, DETAIL_RUN);
    seqs.forEach((seq, i) => {
      const m = predictAgainst(seq, kernel[i]!, profile, true);
      expect(kernel[i]!.status, `${names[i]}: ${kernel[i]!.detail ?? ''}`).toBe('ok');
      expect(m.unsupported, names[i]).toBeUndefined();
      expect(divergenceOf(seq, m, kernel[i]!), names[i]).toBeNull();
    });
    await runner.close();
  }, 900_000);
});

describe('QEMU --kernel-image (no Debian package, so no modules)', () => {
  it('the guest mounts only the built-in ext4; xfs and btrfs scenarios are declined as facts of the target', async () => {
    const image = await fetchKernel('7.3');
    const runner = new QemuRunner({ kernelImage: image.vmlinuz, logDir: join(logs, 'image') });
    runners.push(runner);
    const info = await runner.start();
    expect(info.facts['fs']).toBe('ext4');
    const profile = makeProfile(info.release, info.facts);
    const names = ['guard-regions-xfs-basic', 'guard-regions-btrfs-basic'];
    const seqs = names.map((n) => loadSequenceFile(join(ROOT, 'corpus', 'selftest', `${n}.json`)));
    const kernel = await runner.run(seqs, DETAIL_RUN);
    seqs.forEach((seq, i) => {
      expect(kernel[i]!.status).toBe('infra');
      expect(kernel[i]!.detail).toMatch(/file-setup-failed/);
      expect(predictAgainst(seq, kernel[i]!, profile, true).unsupported?.reason).toMatch(new RegExp(`no ${seq.files![0]!.kind} directory`));
    });
    await runner.close();
  }, 900_000);
});
