/**
 * Shared vocabulary of the replication engine: what a mirror pair is (PairRecord, kept in Redis and
 * in the source's state dir) and how it is doing (PairStatus, what CIM, the CLI and metrics read).
 */
import type { LinkConditions } from './link/link-conditions.ts';

export type ReplicationMode = 'sync' | 'async';

/** Where a LUN lives: system name + target IQN + LUN number. */
export interface LunAddress {
  readonly system: string;
  readonly targetIqn: string;
  readonly lun: number;
  /** The LUN's NAA designator (CIM StorageVolume DeviceID). */
  readonly naa: string;
}

export interface PairRecord {
  readonly pairId: string;
  /** The system whose LUN is written by initiators (the replication source right now). */
  readonly source: LunAddress;
  readonly target: LunAddress;
  readonly mode: ReplicationMode;
  readonly createdAt: string;
}

/**
 * Life of a pair on the source side. 'ahead' = the link or Redis is down (or too much is in flight):
 * only the dirty map is kept. 'resyncing' ships the dirty grains (replica inconsistent meanwhile).
 * 'failing-over', 'failing-back', 'reversing': the source is fenced and ships what the target lacks
 * before the writer role moves. 'split-brain': both sides wrote while disconnected; nothing moves
 * until the operator keeps one side.
 */
export type PairPhase =
  | 'initial-sync'
  | 'streaming'
  | 'ahead'
  | 'resyncing'
  | 'fractured'
  | 'suspended'
  | 'failing-over'
  | 'failed-over'
  | 'failing-back'
  | 'reversing'
  | 'split-brain'
  | 'detached';

/** CIM_StorageSynchronized.CopyState (DMTF value map). */
export const enum CopyState {
  Initialized = 2,
  Unsynchronized = 3,
  Synchronized = 4,
  Broken = 5,
  Fractured = 6,
  Split = 7,
  Inactive = 8,
  Suspended = 9,
  Failedover = 10,
  Aborted = 12,
  Skewed = 13,
}

/** CIM_StorageSynchronized.SyncState (DMTF value map). */
export const enum SyncState {
  Initialized = 2,
  PrepareInProgress = 3,
  Prepared = 4,
  ResyncInProgress = 5,
  Synchronized = 6,
  FractureInProgress = 7,
  QuiesceInProgress = 8,
  Quiesced = 9,
  RestoreInProgress = 10,
  Idle = 11,
  Broken = 12,
  Fractured = 13,
  Frozen = 14,
  CopyInProgress = 15,
}

export interface PairStatus {
  readonly pairId: string;
  readonly record: PairRecord;
  readonly role: 'source' | 'target';
  readonly phase: PairPhase;
  readonly copyState: CopyState;
  readonly syncState: SyncState;
  /** 0..100; 100 once the replica holds every grain the source had when the sync started. */
  readonly percentSynced: number;
  /** Replica content is a crash-consistent image of the source at some epoch boundary. */
  readonly replicaConsistent: boolean;
  readonly generation: number;
  readonly lastShippedEpoch: number;
  readonly lastAppliedEpoch: number;
  readonly epochsBehind: number;
  readonly bytesBehind: number;
  /** Grains the source still has to ship (dirty map population). */
  readonly dirtyGrains: number;
  readonly grainBytes: number;
  /** Bytes of the grains the replica may lack (dirty map population × grain), in every phase. */
  readonly outOfSyncBytes: number;
  /** now − oldest acknowledged write the replica does not hold, seconds; 0 only when it holds every one. */
  readonly rpoSeconds: number;
  /** When the replica last became identical to the source (ISO time); absent until it first did. */
  readonly whenSynced?: string;
  /** The dirty map could not be persisted (writes needing a new mark fail until it can); the error. */
  readonly dirtyMapError?: string;
  /** The emulated replication link's conditions when any is set (src/replication/link). */
  readonly link?: LinkConditions & { readonly description: string };
  /** false when nobody measured the lag (the source has not published a status lately): RPO unknown. */
  readonly lagKnown?: boolean;
  readonly bytesShipped: number;
  readonly bytesResynced: number;
  readonly throughputBytesPerSecond: number;
  readonly updatedAt: string;
  /** Data generation of the pair (bumped whenever the writable side changes). */
  readonly dataGeneration?: number;
  /** Split brain: grains each system changed while disconnected, by system name. */
  readonly splitBrain?: { readonly detectedAt: string; readonly changes: Readonly<Record<string, number>> };
  /** The last hand-over of the writer role (failback, reverse, graceful failover): what was shipped. */
  readonly lastTransfer?: { readonly operation: string; readonly from: string; readonly grains: number; readonly bytes: number; readonly at: string };
}

/**
 * A status read some time after the source published it: the RPO has grown by the time since, if
 * anything was behind (0 stays 0: the replica held everything and nothing newer is known).
 */
export function agedStatus(status: PairStatus, now = Date.now()): PairStatus {
  const elapsed = (now - Date.parse(status.updatedAt)) / 1000;
  if (!(status.rpoSeconds > 0) || !(elapsed > 0)) return status;
  return { ...status, rpoSeconds: status.rpoSeconds + elapsed };
}

export function copyStateOf(phase: PairPhase): CopyState {
  switch (phase) {
    case 'initial-sync': return CopyState.Unsynchronized;
    case 'streaming': return CopyState.Synchronized;
    case 'ahead': return CopyState.Unsynchronized;
    case 'resyncing': return CopyState.Unsynchronized;
    case 'fractured': return CopyState.Fractured;
    case 'suspended': return CopyState.Suspended;
    case 'failing-over': return CopyState.Unsynchronized;
    case 'failed-over': return CopyState.Failedover;
    case 'failing-back': return CopyState.Unsynchronized;
    case 'reversing': return CopyState.Unsynchronized;
    case 'split-brain': return CopyState.Broken;
    case 'detached': return CopyState.Inactive;
  }
}

export function syncStateOf(phase: PairPhase): SyncState {
  switch (phase) {
    case 'initial-sync': return SyncState.CopyInProgress;
    case 'streaming': return SyncState.Synchronized;
    case 'ahead': return SyncState.Idle;
    case 'resyncing': return SyncState.ResyncInProgress;
    case 'fractured': return SyncState.Fractured;
    case 'suspended': return SyncState.Frozen;
    case 'failing-over': return SyncState.ResyncInProgress;
    case 'failed-over': return SyncState.Idle;
    case 'failing-back': return SyncState.ResyncInProgress;
    case 'reversing': return SyncState.ResyncInProgress;
    case 'split-brain': return SyncState.Broken;
    case 'detached': return SyncState.Idle;
  }
}
