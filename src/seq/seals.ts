// memfd_create flags and file seals (include/uapi/linux/memfd.h, include/uapi/linux/fcntl.h), for
// the `flags` of a declared memfd and the `add_seals` call (fcntl F_ADD_SEALS).

export const MFD = {
  MFD_CLOEXEC: 0x1,
  MFD_ALLOW_SEALING: 0x2,
  MFD_NOEXEC_SEAL: 0x8,
  MFD_EXEC: 0x10,
} as const;

export const F_SEAL = {
  F_SEAL_SEAL: 0x1,
  F_SEAL_SHRINK: 0x2,
  F_SEAL_GROW: 0x4,
  F_SEAL_WRITE: 0x8,
  F_SEAL_FUTURE_WRITE: 0x10,
  F_SEAL_EXEC: 0x20,
} as const;

/** fcntl commands (include/uapi/linux/fcntl.h: F_LINUX_SPECIFIC_BASE 1024 + 9 / + 10) */
export const F_ADD_SEALS = 1033;
export const F_GET_SEALS = 1034;
