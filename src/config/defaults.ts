/**
 * Values a config gets when it leaves a field out.
 */

export const DEFAULTS = {
  portalGroupTag: 1,
  iscsiPort: 3260,
  blockSize: 512,
  cimAddress: '127.0.0.1',
  cimPort: 5988,
  cimHttpsPort: 5989,
  metricsPort: 9464,
  /** RAM all memory LUNs of a system may allocate together (they are thin: sizes may add up to more). */
  memoryLimit: 1024 ** 3,
  keepAliveIdleSeconds: 15,
  keepAliveTimeoutSeconds: 15,
} as const;
