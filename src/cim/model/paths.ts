/** Instance paths of the objects we model, in one place so every builder and provider agrees. */
import { TARGET_NAMESPACE, type ObjectPath } from '../types.ts';

export const CLS = {
  system: 'MSISCSITARGET_ComputerSystem',
  endpoint: 'MSISCSITARGET_iSCSIProtocolEndpoint',
  service: 'MSISCSITARGET_ReplicationService',
  capabilities: 'MSISCSITARGET_ReplicationServiceCapabilities',
  volume: 'MSISCSITARGET_StorageVolume',
  collection: 'MSISCSITARGET_RemoteReplicationCollection',
  job: 'MSISCSITARGET_ConcreteJob',
  synchronized: 'MSISCSITARGET_StorageSynchronized',
} as const;

export const REPLICATION_SERVICE_NAME = 'ReplicationService';

export function systemPath(systemName: string): ObjectPath {
  return { className: CLS.system, namespace: TARGET_NAMESPACE, keys: { CreationClassName: CLS.system, Name: systemName } };
}

function scoped(className: string, systemName: string, keyName: string, value: string): ObjectPath {
  return {
    className, namespace: TARGET_NAMESPACE,
    keys: { SystemCreationClassName: CLS.system, SystemName: systemName, CreationClassName: className, [keyName]: value },
  };
}

export function endpointPath(systemName: string, name: string): ObjectPath {
  return scoped(CLS.endpoint, systemName, 'Name', name);
}

export function servicePath(systemName: string): ObjectPath {
  return scoped(CLS.service, systemName, 'Name', REPLICATION_SERVICE_NAME);
}

export function volumePath(systemName: string, deviceId: string): ObjectPath {
  return scoped(CLS.volume, systemName, 'DeviceID', deviceId);
}

export function capabilitiesPath(systemName: string): ObjectPath {
  return { className: CLS.capabilities, namespace: TARGET_NAMESPACE, keys: { InstanceID: `ISCSISIM:${systemName}:ReplicationServiceCapabilities` } };
}

export function collectionPath(instanceId: string): ObjectPath {
  return { className: CLS.collection, namespace: TARGET_NAMESPACE, keys: { InstanceID: instanceId } };
}

export function jobPath(instanceId: string): ObjectPath {
  return { className: CLS.job, namespace: TARGET_NAMESPACE, keys: { InstanceID: instanceId } };
}

/** iSCSIProtocolEndpoint Name for a target portal group: `<iqn>,t,0x<tpgt>` (SMI-S iSCSI Target Ports). */
export function endpointName(iqn: string, portalGroupTag: number): string {
  return `${iqn},t,0x${portalGroupTag.toString(16)}`;
}

export function formatPortal(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}
