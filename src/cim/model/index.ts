/**
 * The object model: every instance of a namespace, rebuilt from the live sources on each request
 * (a system has tens of objects, so this is cheap and never stale).
 */
import { cimTimestamp } from '../datetime.ts';
import { INTEROP_NAMESPACE, normalizeNamespace, TARGET_NAMESPACE, type CimInstance, type ObjectPath } from '../types.ts';
import { capabilitiesInstance, collectionInstance, endpointInstance, jobInstance, serviceInstance, systemInstance, volumeInstance, type ActionLists } from './elements.ts';
import { localEndpoints } from './endpoints.ts';
import { CLS, collectionPath, endpointPath, jobPath, servicePath, systemPath } from './paths.ts';
import { atOwningServer } from './owner-host.ts';
import type { ModelSources } from './sources.ts';

export const NAMESPACES = [TARGET_NAMESPACE, INTEROP_NAMESPACE] as const;

export function knownNamespace(ns: string): string | undefined {
  const n = normalizeNamespace(ns);
  if (n === 'root/interop') return INTEROP_NAMESPACE;
  return NAMESPACES.find((x) => x === n);
}

function association(className: string, a: [string, ObjectPath], b: [string, ObjectPath], extra: Record<string, CimInstance['properties'][string]> = {}): CimInstance {
  const keys = { [a[0]]: a[1], [b[0]]: b[1] };
  return { className, path: { className, namespace: TARGET_NAMESPACE, keys }, properties: { ...keys, ...extra } };
}

/** Honest action lists: what answers without a job, what may start one. */
export function actionLists(sources: ModelSources): ActionLists {
  const engineOn = sources.engine.supportedReplicationTypes.length > 0;
  const engineActions = engineOn ? [2, 5, 10] : [];
  return {
    // Remote mirroring (4 Sync, 5 Async) is the design of the system; the engine lists what it serves.
    replicationTypes: engineOn ? sources.engine.supportedReplicationTypes : [4, 5],
    synchronous: [...engineActions, 9, 11, 23, 24, 25].sort((x, y) => x - y),
    asynchronous: [...(engineOn ? [2, 5] : []), 23, 24],
  };
}

function targetNamespace(s: ModelSources): CimInstance[] {
  const view = s.view;
  const me = view.name;
  const out: CimInstance[] = [];
  const sys = systemPath(me);
  out.push(systemInstance(me, me, true));
  out.push(serviceInstance(me), capabilitiesInstance(me, actionLists(s)));
  out.push(association('MSISCSITARGET_HostedService', ['Antecedent', sys], ['Dependent', servicePath(me)]));
  out.push(association('MSISCSITARGET_ElementCapabilities', ['ManagedElement', servicePath(me)], ['Capabilities', capabilitiesInstance(me, actionLists(s)).path]));
  for (const ep of localEndpoints(view)) {
    const inst = endpointInstance(ep);
    out.push(inst, association('MSISCSITARGET_HostedAccessPoint', ['Antecedent', sys], ['Dependent', inst.path]));
  }
  for (const t of view.targets) {
    for (const lun of t.luns) {
      const inst = volumeInstance(me, lun);
      out.push(inst, association('MSISCSITARGET_SystemDevice', ['GroupComponent', sys], ['PartComponent', inst.path]));
    }
  }
  for (const peer of s.peers.list()) {
    out.push(systemInstance(peer.name, peer.elementName, peer.reachable));
    for (const ep of peer.endpoints) {
      const inst = endpointInstance(ep);
      out.push(inst, association('MSISCSITARGET_HostedAccessPoint', ['Antecedent', systemPath(peer.name)], ['Dependent', inst.path]));
    }
  }
  for (const c of s.state.collections.values()) {
    const inst = collectionInstance(c);
    out.push(inst, association('MSISCSITARGET_HostedCollection', ['Antecedent', sys], ['Dependent', inst.path]));
    const members: ObjectPath[] = [
      ...c.localAccessPoints.map((n) => endpointPath(me, n)),
      ...c.remoteAccessPoints.map((r) => endpointPath(r.systemName, r.name)),
      ...c.remoteSystems.map(systemPath),
    ];
    for (const m of members) out.push(association('MSISCSITARGET_MemberOfCollection', ['Collection', inst.path], ['Member', m]));
  }
  s.jobs.sweep();
  for (const j of s.state.jobs.values()) {
    const inst = jobInstance(j);
    out.push(inst, association('MSISCSITARGET_OwningJobElement', ['OwningElement', servicePath(me)], ['OwnedElement', inst.path]));
    for (const id of j.affectedCollections) {
      if (s.state.collections.has(id)) out.push(association('MSISCSITARGET_AffectedJobElement', ['AffectedElement', collectionPath(id)], ['AffectingElement', jobPath(j.instanceId)]));
    }
    for (const element of j.affectedElements ?? []) {
      out.push(association('MSISCSITARGET_AffectedJobElement', ['AffectedElement', { ...element, namespace: TARGET_NAMESPACE }], ['AffectingElement', jobPath(j.instanceId)]));
    }
  }
  for (const sync of s.engine.synchronizations()) {
    out.push(association(CLS.synchronized, ['SystemElement', atOwningServer(sync.source, me, s.peers)], ['SyncedElement', atOwningServer(sync.target, me, s.peers)], {
      SyncType: 6, Mode: sync.mode, CopyState: sync.copyState, SyncState: sync.syncState, PercentSynced: sync.percentSynced,
      SyncMaintained: true, ReplicationType: sync.mode === 2 ? 4 : 5, WhenSynced: sync.whenSynced ? cimTimestamp(sync.whenSynced) : null,
      ProgressStatus: sync.progressStatus ?? null, EpochsBehind: sync.epochsBehind ?? null, BytesBehind: sync.bytesBehind ?? null, RPOSeconds: sync.rpoSeconds ?? null,
      OutOfSyncBytes: sync.outOfSyncBytes ?? null,
      SplitBrain: sync.splitBrain ?? null, PairID: sync.pairId ?? null,
    }));
  }
  return out;
}

function interopNamespace(s: ModelSources): CimInstance[] {
  const me = s.view.name;
  const out: CimInstance[] = [];
  const profiles: [string, string][] = [['Array', '1.8.0'], ['Replication Services', '1.8.0']];
  const profilePaths: ObjectPath[] = [];
  for (const [name, version] of profiles) {
    const id = `SNIA:${name.replace(/ /g, '_')}:${version}`;
    const path: ObjectPath = { className: 'CIM_RegisteredProfile', namespace: INTEROP_NAMESPACE, keys: { InstanceID: id } };
    profilePaths.push(path);
    out.push({ className: 'CIM_RegisteredProfile', path, properties: { InstanceID: id, RegisteredOrganization: 11, RegisteredName: name, RegisteredVersion: version, AdvertiseTypes: [2], ElementName: name } });
  }
  const conforms = (profile: ObjectPath, element: ObjectPath): CimInstance => {
    const keys = { ConformantStandard: profile, ManagedElement: element };
    return { className: 'CIM_ElementConformsToProfile', path: { className: 'CIM_ElementConformsToProfile', namespace: INTEROP_NAMESPACE, keys }, properties: keys };
  };
  out.push(conforms(profilePaths[0], systemPath(me)), conforms(profilePaths[1], servicePath(me)));
  const omKeys = { SystemCreationClassName: CLS.system, SystemName: me, CreationClassName: 'CIM_ObjectManager', Name: 'iscsi-sim' };
  const omPath: ObjectPath = { className: 'CIM_ObjectManager', namespace: INTEROP_NAMESPACE, keys: omKeys };
  out.push({ className: 'CIM_ObjectManager', path: omPath, properties: { ...omKeys, ElementName: 'iscsi-sim CIM-XML server', OperationalStatus: [2], EnabledState: 2 } });
  for (const ns of NAMESPACES) {
    const keys = { SystemCreationClassName: CLS.system, SystemName: me, ObjectManagerCreationClassName: 'CIM_ObjectManager', ObjectManagerName: 'iscsi-sim', CreationClassName: 'CIM_Namespace', Name: ns };
    const path: ObjectPath = { className: 'CIM_Namespace', namespace: INTEROP_NAMESPACE, keys };
    out.push({ className: 'CIM_Namespace', path, properties: { ...keys, ClassInfo: 2 } });
    const ak = { Antecedent: omPath, Dependent: path };
    out.push({ className: 'CIM_NamespaceInManager', path: { className: 'CIM_NamespaceInManager', namespace: INTEROP_NAMESPACE, keys: ak }, properties: ak });
  }
  return out;
}

/** All instances of a (known, normalized) namespace. */
export function buildNamespace(sources: ModelSources, namespace: string): CimInstance[] {
  return namespace === INTEROP_NAMESPACE ? interopNamespace(sources) : targetNamespace(sources);
}
