/** Tunables of the replication engine, with the defaults used when a config leaves them out. */

export interface ReplicationOptions {
  /** Dirty-map grain: one bit covers this many bytes (power of two). @defaultValue 64 KiB */
  readonly grainBytes: number;
  /** On-disk activity-log extent of the dirty map (one synchronous metadata write per newly touched extent). @defaultValue 4 MiB */
  readonly activityExtentBytes: number;
  /** Extents marked ahead of a newly touched one, so sequential writers sync the map less often. @defaultValue 8 */
  readonly activityLookahead: number;
  /** An open epoch is closed after this long. @defaultValue 25 ms */
  readonly epochMaxMs: number;
  /** An open epoch is closed once it holds this many bytes. @defaultValue 4 MiB */
  readonly epochMaxBytes: number;
  /** Bytes shipped but not yet applied by the replica before the pair goes ahead. @defaultValue 256 MiB */
  readonly maxInFlightBytes: number;
  /** Sync mode: a write waits at most this long for the replica, then the pair goes ahead. @defaultValue 10 s */
  readonly syncTimeoutMs: number;
  /** No progress from the replica for this long while epochs are pending → ahead. @defaultValue 15 s */
  readonly stallTimeoutMs: number;
  /** How often an 'ahead' pair probes Redis and the replica. @defaultValue 500 ms */
  readonly probeIntervalMs: number;
  /** Resync / initial sync: bytes per shipped epoch. @defaultValue 4 MiB */
  readonly resyncChunkBytes: number;
  /** Lazy persistence of cleaned dirty-map bits. @defaultValue 1 s */
  readonly cleanPersistMs: number;
  /** Payload keys expire after this long even if never applied (garbage after outages). @defaultValue 1 day */
  readonly payloadTtlMs: number;
  /** BullMQ worker concurrency on the replica side (ordering comes from epoch numbers). @defaultValue 4 */
  readonly applyConcurrency: number;
}

export const defaultReplicationOptions: ReplicationOptions = {
  grainBytes: 64 * 1024,
  activityExtentBytes: 4 * 1024 * 1024,
  activityLookahead: 8,
  epochMaxMs: 25,
  epochMaxBytes: 4 * 1024 * 1024,
  maxInFlightBytes: 256 * 1024 * 1024,
  syncTimeoutMs: 10_000,
  stallTimeoutMs: 15_000,
  probeIntervalMs: 500,
  resyncChunkBytes: 4 * 1024 * 1024,
  cleanPersistMs: 1000,
  payloadTtlMs: 24 * 3600 * 1000,
  applyConcurrency: 4,
};

export function replicationOptions(overrides: Partial<ReplicationOptions> = {}): ReplicationOptions {
  const options = { ...defaultReplicationOptions, ...overrides };
  if (!Number.isInteger(Math.log2(options.grainBytes))) throw new Error(`grainBytes must be a power of two, got ${options.grainBytes}`);
  return options;
}
