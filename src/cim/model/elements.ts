/** Instances of the non-association classes in root/cimv2/storage/iscsitarget. */
import { cimInterval, cimTimestamp } from '../datetime.ts';
import type { CollectionRecord, JobRecord } from '../providers/state-store.ts';
import type { CimInstance } from '../types.ts';
import type { EndpointInfo } from './endpoints.ts';
import { capabilitiesPath, CLS, collectionPath, endpointPath, jobPath, REPLICATION_SERVICE_NAME, servicePath, systemPath, volumePath } from './paths.ts';
import type { LunView } from '../../system/view.ts';

export function systemInstance(name: string, elementName: string | undefined, reachable: boolean): CimInstance {
  return {
    className: CLS.system, path: systemPath(name),
    properties: {
      CreationClassName: CLS.system, Name: name, NameFormat: 'Other', ElementName: elementName ?? name,
      Caption: 'iscsi-sim storage system', Dedicated: [3, 15],
      OperationalStatus: reachable ? [2] : [0], HealthState: reachable ? 5 : 0, EnabledState: reachable ? 2 : 0,
    },
  };
}

export function endpointInstance(ep: EndpointInfo): CimInstance {
  return {
    className: CLS.endpoint, path: endpointPath(ep.systemName, ep.name),
    properties: {
      SystemCreationClassName: CLS.system, SystemName: ep.systemName, CreationClassName: CLS.endpoint, Name: ep.name,
      ElementName: ep.name, NameFormat: 'iSCSI Name', ProtocolIFType: 4096, Identifier: `0x${ep.portalGroupTag.toString(16)}`,
      Role: 3, OperationalStatus: [2], EnabledState: 2,
      PortalAddresses: ep.portals, TargetPortalGroupTag: ep.portalGroupTag, TargetName: ep.targetName,
    },
  };
}

export function serviceInstance(systemName: string): CimInstance {
  return {
    className: CLS.service, path: servicePath(systemName),
    properties: {
      SystemCreationClassName: CLS.system, SystemName: systemName, CreationClassName: CLS.service, Name: REPLICATION_SERVICE_NAME,
      ElementName: 'Replication Service', OperationalStatus: [2], EnabledState: 2,
    },
  };
}

export interface ActionLists {
  readonly replicationTypes: readonly number[];
  readonly synchronous: readonly number[];
  readonly asynchronous: readonly number[];
}

export function capabilitiesInstance(systemName: string, lists: ActionLists): CimInstance {
  const path = capabilitiesPath(systemName);
  return {
    className: CLS.capabilities, path,
    properties: {
      InstanceID: path.keys.InstanceID as string, ElementName: 'Replication Service Capabilities',
      SupportedReplicationTypes: lists.replicationTypes, SupportedStorageObjects: [2],
      SupportedSynchronousActions: lists.synchronous, SupportedAsynchronousActions: lists.asynchronous,
    },
  };
}

export function volumeInstance(systemName: string, lun: LunView): CimInstance {
  const blocks = Math.floor(lun.sizeBytes / lun.blockSize);
  return {
    className: CLS.volume, path: volumePath(systemName, lun.naa),
    properties: {
      SystemCreationClassName: CLS.system, SystemName: systemName, CreationClassName: CLS.volume, DeviceID: lun.naa,
      Name: lun.naa, NameFormat: 9, NameNamespace: 2, ElementName: `${lun.targetIqn}/${lun.lun}`,
      BlockSize: lun.blockSize, NumberOfBlocks: blocks, ConsumableBlocks: blocks,
      OperationalStatus: [2], EnabledState: 2, TargetName: lun.targetIqn, LUN: lun.lun,
    },
  };
}

export function collectionInstance(c: CollectionRecord): CimInstance {
  return {
    className: CLS.collection, path: collectionPath(c.instanceId),
    properties: {
      InstanceID: c.instanceId, ElementName: c.elementName, Active: c.active,
      DeleteOnUnassociated: c.deleteOnUnassociated, ConnectivityStatus: c.connectivityStatus,
    },
  };
}

export function jobInstance(j: JobRecord): CimInstance {
  return {
    className: CLS.job, path: jobPath(j.instanceId),
    properties: {
      InstanceID: j.instanceId, Name: j.methodName, MethodName: j.methodName, ElementName: j.elementName,
      JobState: j.jobState, OperationalStatus: j.operationalStatus, PercentComplete: j.percentComplete,
      JobStatus: jobStatusText(j), TimeSubmitted: cimTimestamp(j.timeSubmitted), StartTime: cimTimestamp(j.timeSubmitted),
      TimeOfLastStateChange: cimTimestamp(j.timeOfLastStateChange), TimeBeforeRemoval: cimInterval(j.timeBeforeRemovalMs),
      DeleteOnCompletion: true, ErrorCode: j.errorCode ?? null, ErrorDescription: j.errorDescription ?? null,
    },
  };
}

function jobStatusText(j: JobRecord): string {
  switch (j.jobState) {
    case 7: return 'Completed';
    case 8: return 'Terminated';
    case 10: return `Exception: ${j.errorDescription ?? 'failed'}`;
    default: return 'Running';
  }
}
