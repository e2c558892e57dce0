/**
 * Redis key and BullMQ naming for one mirror pair. Every key of a pair carries the same hash tag
 * (`{pairId}`) so a Redis Cluster keeps a pair's queue, payloads and acks in one slot.
 */

export const PAIR_EVENTS_CHANNEL = 'iscsi-sim:pair-events';

export interface PairKeys {
  /** BullMQ prefix (hash-tagged) and queue name. */
  readonly queuePrefix: string;
  readonly queueName: string;
  /** JSON PairRecord. */
  readonly config: string;
  /** Current stream generation (set by the source when a generation starts). */
  readonly generation: string;
  /** JSON {generation, applied} last recorded by the replica. */
  readonly ack: string;
  readonly ackChannel: string;
  /** The instance id of the process on `system` running this pair's replica (pipeline/replica-liveness.ts). */
  replicaOn(system: string): string;
  /** JSON status snapshot written by the source for other processes (CLI, CIM on the peer). */
  readonly status: string;
  /** Set of grain numbers a side changed while it was not the source (failover, reverse): resync them. */
  readonly handoverGrains: string;
  payload(generation: number, epoch: number): string;
  jobId(generation: number, epoch: number): string;
  verifyDigests(requestId: string): string;
}

export function pairKeys(pairId: string): PairKeys {
  if (!/^[A-Za-z0-9_.-]+$/.test(pairId)) throw new Error(`invalid pair id ${JSON.stringify(pairId)}`);
  const base = `iscsi-sim:{${pairId}}`;
  return {
    queuePrefix: base,
    queueName: 'epochs',
    config: `${base}:config`,
    generation: `${base}:generation`,
    ack: `${base}:ack`,
    ackChannel: `${base}:ack-channel`,
    status: `${base}:status`,
    handoverGrains: `${base}:handover-grains`,
    payload: (generation, epoch) => `${base}:payload:g${generation}:e${epoch}`,
    // BullMQ: custom ids must not contain ':' nor be all digits.
    jobId: (generation, epoch) => `${pairId}-g${generation}-e${epoch}`,
    verifyDigests: (requestId) => `${base}:verify:${requestId}`,
    replicaOn: (system) => `${base}:replica-on:${system}`,
  };
}

export interface SystemKeys {
  /** The instance id of the system's running process, with a TTL refreshed while it runs replicas. */
  readonly alive: string;
}

/** Keys of one system (single-key commands only, so the tag only keeps them together). */
export function systemKeys(system: string): SystemKeys {
  return { alive: `iscsi-sim:system:{${system}}:alive` };
}
