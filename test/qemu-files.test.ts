// Disk files in QEMU: the runner formats an ext4 image on the host and attaches it as an NVMe disk
// with a throw-away overlay; the guest harness (PID 1) mounts it and reports `fs=ext4`. ext4
// selftest scenarios then match the model on the guest kernel, and xfs/btrfs (modules the
// initramfs lacks) are declined by the model as facts of the target.
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
let runner: QemuRunner;

beforeAll(async () => {
  await ensureCommand('qemu-system-x86_64', ['qemu-system-x86']);
  runner = new QemuRunner({ image: await fetchKernel('7.3'), logDir: logs });
}, 900_000);
afterAll(async () => {
  await runner?.close();
  rmSync(logs, { recursive: true, force: true });
});

describe('QEMU: ext4 scratch disk', () => {
  it('the guest harness mounts it; ext4 scenarios match the model, xfs ones are declined', async () => {
    const info = await runner.start();
    expect(info.facts['fs']).toBe('ext4');
    const profile = makeProfile(info.release, info.facts);
    const names = ['guard-regions-file-basic', 'guard-regions-file-map-private', 'guard-regions-file-truncation', 'map-populate-private-cow-ext4', 'guard-regions-xfs-basic'];
    const seqs = names.map((n) => loadSequenceFile(join(ROOT, 'corpus', 'selftest', `${n}.json`)));
    const kernel = await runner.run(seqs, DETAIL_RUN);
    seqs.forEach((seq, i) => {
      const m = predictAgainst(seq, kernel[i]!, profile, true);
      if (seq.files!.some((f) => f.kind === 'xfs')) {
        expect(kernel[i]!.status).toBe('infra');
        expect(m.unsupported?.reason).toMatch(/no xfs directory/);
        return;
      }
      expect(kernel[i]!.status, names[i]).toBe('ok');
      expect(m.unsupported, names[i]).toBeUndefined();
      expect(divergenceOf(seq, m, kernel[i]!), names[i]).toBeNull();
    });
  }, 900_000);
});
