/**
 * The replication engine as CIM sees it (src/cim/providers/replication-engine.ts): StorageVolume
 * paths in, pair operations out. Return codes follow SMI-S: 0 done, 4 Failed, 5 Invalid Parameter,
 * 6 In Use, 4096 job started (initial sync / resync runs on as a ConcreteJob).
 */
import type {
  CreateReplicaRequest, MethodOutcome, ReplicationEngine as CimReplicationEngine, SynchronizationView, VerifyOutcome,
} from '../cim/providers/replication-engine.ts';
import { CLS, volumePath } from '../cim/model/paths.ts';
import { getKey, type ObjectPath } from '../cim/types.ts';
import { EngineError, type PairOperation, type ReplicationEngine } from '../replication/engine.ts';
import { isSplitBrainPolicy, SPLIT_BRAIN_POLICIES } from '../replication/mirror/admin-transitions.ts';
import type { PairPhase, PairStatus, ReplicationMode } from '../replication/pair-types.ts';

/** ModifyReplicaSynchronization.Operation value map (CIM_ReplicationService). */
const OPERATIONS: ReadonlyMap<number, PairOperation> = new Map([
  [8, 'detach'], [9, 'detach'], [10, 'failover'], [11, 'failback'], [12, 'fracture'],
  [14, 'resync'], [16, 'resume'], [20, 'reverse-roles'], [21, 'fracture'], [22, 'suspend'],
]);

/** ModifyReplicaSynchronization 17 Reset To Sync, 18 Reset To Async: the mirror's mode. */
const MODE_OPERATIONS: ReadonlyMap<number, ReplicationMode> = new Map([[17, 'sync'], [18, 'async']]);

/** CIM_Synchronized.ProgressStatus by phase (others: 3 Dormant). */
const PROGRESS: ReadonlyMap<PairPhase, number> = new Map([
  ['streaming', 2], ['initial-sync', 6], ['resyncing', 7],
]);

const SYNC_JOB_TIMEOUT_MS = 24 * 3600 * 1000;

/** Operations whose effect continues after the reply (a drain, a resync, the other system's part): 4096 + job. */
const JOB_OPERATIONS: ReadonlySet<PairOperation> = new Set(['resume', 'resync', 'failover', 'failback', 'reverse-roles']);

export class CimReplicationAdapter implements CimReplicationEngine {
  /** 4 Synchronous Mirror Remote, 5 Asynchronous Mirror Remote. */
  readonly supportedReplicationTypes = [4, 5];
  readonly supportedOperations = [...OPERATIONS.keys(), ...MODE_OPERATIONS.keys()];

  constructor(private readonly engine: ReplicationEngine) {}

  synchronizations(): readonly SynchronizationView[] {
    return this.engine.pairs().map((status) => this.view(status));
  }

  async createElementReplica(req: CreateReplicaRequest): Promise<MethodOutcome> {
    const sourceSystem = String(getKey(req.source, 'SystemName') ?? '');
    const sourceNaa = String(getKey(req.source, 'DeviceID') ?? '');
    if (sourceSystem !== this.engine.systemName) return { returnValue: 5, description: 'SourceElement must be a volume of this system' };
    const lun = this.engine.localLunByNaa(sourceNaa);
    if (!lun) return { returnValue: 5, description: `no volume ${sourceNaa} on this system` };
    const target = req.target
      ? { system: String(getKey(req.target, 'SystemName') ?? ''), naa: String(getKey(req.target, 'DeviceID') ?? '') }
      : await this.engine.findFreeRemoteVolume(lun.sizeBytes);
    if (!target) return { returnValue: 5, description: 'no TargetElement given and no free volume of that size on a peer' };
    try {
      const status = await this.engine.createMirror({
        source: { targetIqn: lun.targetIqn, lun: lun.lun },
        target: { system: target.system, naa: target.naa, targetIqn: '', lun: -1 },
        mode: req.mode === 2 ? 'sync' : 'async',
      });
      return {
        returnValue: 4096,
        completion: this.untilSynchronized(status.pairId),
        synchronization: this.synchronizationPath(status),
      };
    } catch (err) {
      return failure(err);
    }
  }

  async modifyReplicaSynchronization(operation: number, synchronization: ObjectPath, force = false): Promise<MethodOutcome> {
    const mode = MODE_OPERATIONS.get(operation);
    if (mode) return this.setMode(synchronization, mode);
    const op = OPERATIONS.get(operation);
    if (!op) return { returnValue: 1, description: `operation ${operation} not supported` };
    return this.onPair(synchronization, async (pairId) => {
      const published = await this.engine.modify(pairId, op, force);
      if (JOB_OPERATIONS.has(op)) return { returnValue: 4096, completion: this.engine.waitOperation(published, SYNC_JOB_TIMEOUT_MS) };
      return { returnValue: 0 };
    });
  }

  /** Vendor ResolveSplitBrain: keep `keep`'s data, the other system resyncs the diverged grains. */
  async resolveSplitBrain(synchronization: ObjectPath, keep: string): Promise<MethodOutcome> {
    return this.onPair(synchronization, async (pairId) => {
      const published = await this.engine.resolve(pairId, keep);
      return { returnValue: 4096, completion: this.engine.waitOperation(published, SYNC_JOB_TIMEOUT_MS) };
    });
  }

  /** Vendor SetSplitBrainPolicy: manual (default), discard-zero-changes, discard-least-changes. */
  async setSplitBrainPolicy(synchronization: ObjectPath, policy: string): Promise<MethodOutcome> {
    return this.onPair(synchronization, async (pairId) => {
      if (!isSplitBrainPolicy(policy)) return { returnValue: 5, description: `Policy must be one of ${SPLIT_BRAIN_POLICIES.join(', ')}` };
      await this.engine.setSplitBrainPolicy(pairId, policy);
      return { returnValue: 0 };
    });
  }

  private async setMode(synchronization: ObjectPath, mode: ReplicationMode): Promise<MethodOutcome> {
    return this.onPair(synchronization, async (pairId) => {
      await this.engine.setMode(pairId, mode);
      return { returnValue: 0 };
    });
  }

  /** Runs `action` on the pair `synchronization` names: 5 when there is none, engine errors as their CIM failure. */
  private async onPair(synchronization: ObjectPath, action: (pairId: string) => Promise<MethodOutcome>): Promise<MethodOutcome> {
    const pair = this.findPair(synchronization);
    if (!pair) return { returnValue: 5, description: 'Synchronization does not exist' };
    try {
      return await action(pair.pairId);
    } catch (err) {
      return failure(err);
    }
  }

  async verifyReplica(synchronization: ObjectPath, repair: boolean): Promise<VerifyOutcome> {
    const pair = this.findPair(synchronization);
    if (!pair) return { returnValue: 5, description: 'Synchronization does not exist' };
    try {
      const report = await this.engine.verify(pair.pairId, { repair });
      return {
        returnValue: 0,
        chunkBytes: report.chunkBytes,
        comparedChunks: report.compared,
        inFluxChunks: report.inFlux,
        divergentOffsets: report.divergent.map((extent) => extent.offset),
        repaired: report.repaired,
      };
    } catch (err) {
      return failure(err);
    }
  }

  private async untilSynchronized(pairId: string): Promise<void> {
    const ok = await this.engine.waitSynchronized(pairId, SYNC_JOB_TIMEOUT_MS);
    if (!ok) throw new Error(`mirror ${pairId} did not reach Synchronized`);
  }

  private findPair(synchronization: ObjectPath): PairStatus | undefined {
    const source = getKey(synchronization, 'SystemElement');
    const target = getKey(synchronization, 'SyncedElement');
    const naaOf = (v: unknown) => (typeof v === 'object' && v !== null ? String(getKey(v as ObjectPath, 'DeviceID') ?? '').toLowerCase() : '');
    const [a, b] = [naaOf(source), naaOf(target)];
    // Either orientation: a path taken before a failover (which reverses the relationship) still names the pair.
    return this.engine.pairs().find((p) => {
      const [s, t] = [p.record.source.naa.toLowerCase(), p.record.target.naa.toLowerCase()];
      return (s === a && t === b) || (s === b && t === a);
    });
  }

  private view(status: PairStatus): SynchronizationView {
    const whenSynced = status.whenSynced === undefined ? undefined : Date.parse(status.whenSynced);
    return {
      source: volumePath(status.record.source.system, status.record.source.naa),
      target: volumePath(status.record.target.system, status.record.target.naa),
      mode: status.record.mode === 'sync' ? 2 : 3,
      copyState: status.copyState,
      syncState: status.syncState,
      percentSynced: status.percentSynced,
      progressStatus: PROGRESS.get(status.phase) ?? 3,
      epochsBehind: status.epochsBehind,
      bytesBehind: status.bytesBehind,
      // Unknown lag (no status from the source lately) is shown as NULL, never as 0.
      ...(status.lagKnown === false ? {} : { rpoSeconds: status.rpoSeconds, outOfSyncBytes: status.outOfSyncBytes }),
      splitBrain: status.phase === 'split-brain',
      pairId: status.pairId,
      ...(whenSynced === undefined ? {} : { whenSynced }),
    };
  }

  private synchronizationPath(status: PairStatus): ObjectPath {
    const view = this.view(status);
    return { className: CLS.synchronized, keys: { SystemElement: view.source, SyncedElement: view.target } };
  }
}

function failure(err: unknown): MethodOutcome {
  if (err instanceof EngineError) {
    return { returnValue: err.kind === 'invalid' ? 5 : err.kind === 'in-use' ? 6 : 4, description: err.message };
  }
  return { returnValue: 4, description: (err as Error).message };
}
