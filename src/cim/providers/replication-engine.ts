/**
 * What the replication layer plugs into CIM. The replication helper implements this (src/replication);
 * until it is registered, `unsupportedEngine` answers 1 Not Supported and lists no relationships.
 * Keep it small: CIM validates references and types, the engine only acts.
 */
import type { ObjectPath } from '../types.ts';

export interface MethodOutcome {
  /** 0 done, 1 Not Supported, 4 Failed, 5 Invalid Parameter, 6 In Use, 4096 job started. */
  readonly returnValue: number;
  readonly description?: string;
  /** For 4096: settles when the work ends (throws = job Exception with its message). */
  readonly completion?: Promise<void>;
  readonly synchronization?: ObjectPath;
}

/** One StorageSynchronized relationship as the engine sees it. */
export interface SynchronizationView {
  /** Source volume, local or on a peer (paths as built by src/cim/model/paths.ts). */
  readonly source: ObjectPath;
  readonly target: ObjectPath;
  /** 2 Synchronous, 3 Asynchronous. */
  readonly mode: number;
  /** CIM_Synchronized.CopyState: 2 Initialized, 4 Synchronized, 6 Fractured, 9 Suspended, ... */
  readonly copyState: number;
  /** CIM_StorageSynchronized.SyncState, e.g. 6 Synchronized, 15 Copy In Progress. */
  readonly syncState: number;
  readonly percentSynced: number;
  readonly whenSynced?: number;
  /** Lag (shown as vendor properties of MSISCSITARGET_StorageSynchronized when given). */
  readonly epochsBehind?: number;
  readonly bytesBehind?: number;
  /** now − oldest acknowledged write the replica does not hold, seconds (0 only when it holds all). */
  readonly rpoSeconds?: number;
  /** Bytes of the grains the replica may lack (the source's dirty map). */
  readonly outOfSyncBytes?: number;
  /** CIM_Synchronized.ProgressStatus: 2 Completed, 3 Dormant, 6 Synchronizing, 7 Resyncing. */
  readonly progressStatus?: number;
  /** Both sides wrote while disconnected (CopyState 5 Broken); vendor property SplitBrain. */
  readonly splitBrain?: boolean;
  /** The engine's id of the pair (vendor property PairID). */
  readonly pairId?: string;
}

/** Outcome of the vendor method VerifyReplica (digest comparison, chunk by chunk). */
export interface VerifyOutcome extends MethodOutcome {
  readonly chunkBytes?: number;
  readonly comparedChunks?: number;
  readonly inFluxChunks?: number;
  /** Divergent chunks' byte offsets. */
  readonly divergentOffsets?: readonly number[];
  readonly repaired?: boolean;
}

export interface CreateReplicaRequest {
  readonly elementName?: string;
  readonly syncType: number;
  readonly mode?: number;
  readonly source: ObjectPath;
  readonly target?: ObjectPath;
  readonly collectionId?: string;
}

export interface ReplicationEngine {
  /** Replication types (CIM_ReplicationServiceCapabilities.SupportedReplicationTypes) really served. */
  readonly supportedReplicationTypes: readonly number[];
  /** ModifyReplicaSynchronization operations accepted (2 Abort ... 22 Suspend). */
  readonly supportedOperations: readonly number[];
  synchronizations(): readonly SynchronizationView[];
  createElementReplica(req: CreateReplicaRequest): Promise<MethodOutcome>;
  modifyReplicaSynchronization(operation: number, synchronization: ObjectPath, force: boolean): Promise<MethodOutcome>;
  /** Vendor extension (MSISCSITARGET_ReplicationService.VerifyReplica); absent = Not Supported. */
  verifyReplica?(synchronization: ObjectPath, repair: boolean): Promise<VerifyOutcome>;
  /** Vendor ResolveSplitBrain: keep `keepSystem`'s data; absent = Not Supported. */
  resolveSplitBrain?(synchronization: ObjectPath, keepSystem: string): Promise<MethodOutcome>;
  /** Vendor SetSplitBrainPolicy; absent = Not Supported. */
  setSplitBrainPolicy?(synchronization: ObjectPath, policy: string): Promise<MethodOutcome>;
}

const NOT_SUPPORTED: MethodOutcome = { returnValue: 1, description: 'replication engine not available' };

export const unsupportedEngine: ReplicationEngine = {
  supportedReplicationTypes: [],
  supportedOperations: [],
  synchronizations: () => [],
  createElementReplica: () => Promise.resolve(NOT_SUPPORTED),
  modifyReplicaSynchronization: () => Promise.resolve(NOT_SUPPORTED),
};
