// KVM or TCG? A /dev/kvm that opens is not enough: on some hosts (nested virtualisation without
// the CPU features a stock kernel wants) KVM starts and the guest dies or spins in emulation
// failures. So the first boot of the process tries KVM for real, with a short deadline, and the
// verdict holds for the rest of the process.

import { closeSync, constants, openSync } from 'node:fs';
import type { Accel } from './vm.js';

let verdict: Promise<{ accel: Accel; why: string }> | null = null;

function kvmOpens(): string | null {
  try {
    closeSync(openSync('/dev/kvm', constants.O_RDWR));
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/**
 * The accelerator to use. `tryKvm` boots a guest with KVM and resolves true when the harness
 * answered; it is called at most once per process.
 */
export function chooseAccel(tryKvm: () => Promise<boolean>): Promise<{ accel: Accel; why: string }> {
  const forced = process.env.VMAFUZZ_QEMU_ACCEL;
  if (forced === 'kvm' || forced === 'tcg') return Promise.resolve({ accel: forced, why: 'VMAFUZZ_QEMU_ACCEL' });
  return (verdict ??= (async () => {
    const err = kvmOpens();
    if (err) return { accel: 'tcg' as const, why: `/dev/kvm unusable (${err})` };
    try {
      if (await tryKvm()) return { accel: 'kvm' as const, why: 'a KVM boot probe answered' };
      return { accel: 'tcg' as const, why: 'a KVM boot probe did not answer' };
    } catch (e) {
      return { accel: 'tcg' as const, why: `a KVM boot probe failed: ${(e as Error).message.split('\n')[0]}` };
    }
  })());
}

/** Forget the verdict (tests). */
export function resetAccelVerdict(): void {
  verdict = null;
}
