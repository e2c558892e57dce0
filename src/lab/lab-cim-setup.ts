/**
 * The lab sets replication up the way an external SMI-S client would: CreateRemoteReplicationCollection
 * then CreateElementReplica on the primary's ReplicationService over CIM-XML, polling the ConcreteJobs.
 * A lab restarted on the same state dir finds its collection (and mirror) again instead of failing.
 */
import { CimClient, rawString } from '../cim/client/client.ts';
import {
  CLS, collectionPath, endpointName, endpointPath, servicePath, systemPath, volumePath,
} from '../cim/model/paths.ts';
import { TARGET_NAMESPACE, type ObjectPath } from '../cim/types.ts';
import type { PairRecord } from '../replication/pair-types.ts';
import type { SystemSummary } from '../system/system.ts';

export const LAB_COLLECTION_NAME = 'iscsi-sim lab';

const JOB_POLL_MS = 250;

function withNs(path: ObjectPath): ObjectPath {
  return { ...path, namespace: TARGET_NAMESPACE };
}

function endpointsOf(system: SystemSummary): ObjectPath[] {
  const paths: ObjectPath[] = [];
  for (const target of system.targets) {
    for (const tag of target.portalGroupTags) paths.push(withNs(endpointPath(system.name, endpointName(target.iqn, tag))));
  }
  return paths;
}

/** Polls a ConcreteJob until it ends; throws with its ErrorDescription when it failed. */
export async function waitForJob(client: CimClient, job: ObjectPath, timeoutMs: number, onPoll?: (percent: number) => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const instance = await client.getInstance(withNs(job));
    const state = Number(rawString(instance, 'JobState'));
    onPoll?.(Number(rawString(instance, 'PercentComplete') ?? 0));
    if (state === 7) return;
    if (state === 8 || state === 9 || state === 10) {
      throw new Error(`CIM job ${String(job.keys.InstanceID)} ended in state ${state}: ${rawString(instance, 'ErrorDescription') ?? 'no description'}`);
    }
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
  }
  throw new Error(`CIM job ${String(job.keys.InstanceID)} did not finish within ${timeoutMs / 1000} s`);
}

/** The lab's RemoteReplicationCollection on the primary (created when missing). */
export async function ensureCollection(client: CimClient, primary: SystemSummary, peer: SystemSummary): Promise<ObjectPath> {
  const existing = await client.enumerateInstances(TARGET_NAMESPACE, CLS.collection);
  const found = existing.find((c) => rawString(c.instance, 'ElementName') === LAB_COLLECTION_NAME);
  if (found) return withNs(collectionPath(String(found.path.keys.InstanceID)));
  const result = await client.invokeMethod(withNs(servicePath(primary.name)), 'CreateRemoteReplicationCollection', {
    ElementName: LAB_COLLECTION_NAME,
    LocalAccessPoints: endpointsOf(primary),
    RemoteAccessPoints: endpointsOf(peer),
    RemoteComputerSystem: withNs(systemPath(peer.name)),
    Active: true,
  });
  if (result.returnValue === 4096) {
    const job = result.out.Job;
    if (job?.kind !== 'ref') throw new Error('CreateRemoteReplicationCollection returned 4096 without a Job');
    await waitForJob(client, job.path, 60_000);
    return ensureCollection(client, primary, peer);
  }
  const collection = result.out.ConnectivityCollection;
  if (result.returnValue !== 0 || collection?.kind !== 'ref') {
    throw new Error(`CreateRemoteReplicationCollection answered ${result.returnValue}`);
  }
  return withNs(collection.path);
}

/**
 * CreateElementReplica (SyncType 6 Mirror) from the primary's LUN `index` (of its first target) to the
 * peer's LUN `targetIndex` (the same by default). Returns the job to follow, or undefined when the mirror was done at once.
 */
export async function createMirror(client: CimClient, primary: SystemSummary, peer: SystemSummary, collection: ObjectPath, mode: 'sync' | 'async', index = 0, targetIndex = index): Promise<ObjectPath | undefined> {
  const sourceLun = primary.targets[0]?.luns[index];
  const targetLun = peer.targets[0]?.luns[targetIndex];
  if (!sourceLun || !targetLun) throw new Error(`no LUN ${index} on ${primary.name} or no LUN ${targetIndex} on ${peer.name}`);
  const result = await client.invokeMethod(withNs(servicePath(primary.name)), 'CreateElementReplica', {
    ElementName: index === 0 ? 'lab mirror' : `lab mirror ${index}`,
    SyncType: 6,
    Mode: mode === 'sync' ? 2 : 3,
    SourceElement: withNs(volumePath(primary.name, sourceLun.naa)),
    TargetElement: withNs(volumePath(peer.name, targetLun.naa)),
    ConnectivityCollection: collection,
  });
  if (result.returnValue === 0) return undefined;
  const job = result.out.Job;
  if (result.returnValue === 4096 && job?.kind === 'ref') return job.path;
  throw new Error(`CreateElementReplica answered ${result.returnValue}`);
}

/**
 * Switches an existing mirror to `mode` the way an SMI-S client would: ModifyReplicaSynchronization
 * with Operation 17 (Reset To Sync) or 18 (Reset To Async) on the pair's StorageSynchronized.
 */
export async function setMirrorMode(client: CimClient, system: string, record: PairRecord, mode: 'sync' | 'async'): Promise<void> {
  const synchronization = withNs({
    className: CLS.synchronized,
    keys: { SystemElement: withNs(volumePath(record.source.system, record.source.naa)), SyncedElement: withNs(volumePath(record.target.system, record.target.naa)) },
  });
  const operation = mode === 'sync' ? 17 : 18;
  const result = await client.invokeMethod(withNs(servicePath(system)), 'ModifyReplicaSynchronization', { Operation: operation, Synchronization: synchronization });
  if (result.returnValue !== 0) {
    throw new Error(`ModifyReplicaSynchronization ${operation} (Reset To ${mode === 'sync' ? 'Sync' : 'Async'}) answered ${result.returnValue}`);
  }
}
