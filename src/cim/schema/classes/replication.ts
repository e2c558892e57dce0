/**
 * CIM_ReplicationService (DMTF 2.41 Device/CIM_ReplicationService.mof), its capabilities, the remote
 * replication collection and the StorageSynchronized association. Method signatures follow the MOF;
 * only the methods we answer are declared.
 */
import type { ClassDecl, MethodDecl, ParameterDecl } from '../types.ts';

const RETURN_MAP = { valueMap: ['0', '1', '2', '3', '4', '5', '6', '4096'], values: ['Completed with No Error', 'Not Supported', 'Unknown', 'Timeout', 'Failed', 'Invalid Parameter', 'In Use', 'Method Parameters Checked - Job Started'] };
const JOB_OUT: ParameterDecl = { name: 'Job', type: 'ref:CIM_ConcreteJob', out: true };

function method(name: string, parameters: ParameterDecl[]): MethodDecl {
  return { name, returnType: 'uint32', parameters, ...RETURN_MAP };
}

export const replicationMethods: readonly MethodDecl[] = [
  method('CreateRemoteReplicationCollection', [
    { name: 'ElementName', type: 'string', in: true },
    { name: 'LocalAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', in: true },
    { name: 'RemoteAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', in: true },
    { name: 'RemoteComputerSystem', type: 'ref:CIM_ComputerSystem', in: true },
    { name: 'Active', type: 'boolean', in: true },
    { name: 'DeleteOnUnassociated', type: 'boolean', in: true },
    JOB_OUT,
    { name: 'ConnectivityCollection', type: 'ref:CIM_ConnectivityCollection', out: true },
  ]),
  method('AddToRemoteReplicationCollection', [
    { name: 'LocalAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', in: true },
    { name: 'RemoteAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', in: true },
    { name: 'RemoteComputerSystem', type: 'ref:CIM_ComputerSystem', in: true },
    JOB_OUT,
    { name: 'ConnectivityCollection', type: 'ref:CIM_ConnectivityCollection', in: true, required: true },
  ]),
  method('RemoveFromRemoteReplicationCollection', [
    { name: 'LocalAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', in: true },
    { name: 'RemoteAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', in: true },
    { name: 'RemoteComputerSystem', type: 'ref:CIM_ComputerSystem', in: true },
    JOB_OUT,
    { name: 'ConnectivityCollection', type: 'ref:CIM_ConnectivityCollection', in: true, required: true },
  ]),
  method('GetPeerSystems', [
    { name: 'Options', type: 'uint16', in: true },
    JOB_OUT,
    { name: 'Systems', type: 'ref:CIM_ComputerSystem[]', out: true },
    { name: 'LocalAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', out: true },
    { name: 'RemoteAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', out: true },
  ]),
  method('GetServiceAccessPoints', [
    { name: 'System', type: 'ref:CIM_ComputerSystem', in: true, required: true },
    JOB_OUT,
    { name: 'ServiceAccessPoints', type: 'ref:CIM_ServiceAccessPoint[]', out: true },
  ]),
  method('CreateElementReplica', [
    { name: 'ElementName', type: 'string', in: true },
    { name: 'SyncType', type: 'uint16', in: true, required: true },
    { name: 'Mode', type: 'uint16', in: true },
    { name: 'SourceElement', type: 'ref:CIM_LogicalElement', in: true, required: true },
    { name: 'TargetElement', type: 'ref:CIM_LogicalElement', in: true, out: true },
    { name: 'ConnectivityCollection', type: 'ref:CIM_ConnectivityCollection', in: true },
    JOB_OUT,
    { name: 'Synchronization', type: 'ref:CIM_Synchronized', out: true },
  ]),
  method('ModifyReplicaSynchronization', [
    { name: 'Operation', type: 'uint16', in: true, required: true },
    { name: 'Synchronization', type: 'ref:CIM_Synchronized', in: true, required: true },
    { name: 'Force', type: 'boolean', in: true },
    { name: 'WaitForCopyState', type: 'uint16', in: true },
    JOB_OUT,
  ]),
  method('GetReplicationRelationships', [
    { name: 'Type', type: 'uint16', in: true },
    { name: 'SyncType', type: 'uint16', in: true },
    { name: 'Mode', type: 'uint16', in: true },
    { name: 'Locality', type: 'uint16', in: true },
    { name: 'CopyState', type: 'uint16', in: true },
    JOB_OUT,
    { name: 'Synchronizations', type: 'ref:CIM_Synchronized[]', out: true },
  ]),
];

export const replicationClasses: readonly ClassDecl[] = [
  { name: 'CIM_ReplicationService', superClass: 'CIM_Service', properties: [], methods: replicationMethods },
  {
    name: 'CIM_ReplicationServiceCapabilities', superClass: 'CIM_Capabilities',
    properties: [
      { name: 'SupportedReplicationTypes', type: 'uint16[]', valueMap: ['2', '3', '4', '5'], values: ['Synchronous Mirror Local', 'Asynchronous Mirror Local', 'Synchronous Mirror Remote', 'Asynchronous Mirror Remote'] },
      { name: 'SupportedStorageObjects', type: 'uint16[]', valueMap: ['2'], values: ['StorageVolume'] },
      { name: 'SupportedAsynchronousActions', type: 'uint16[]', valueMap: ['2', '5', '9', '10', '11', '23', '24', '25'], values: ['CreateElementReplica', 'ModifyReplicaSynchronization', 'GetPeerSystems', 'GetReplicationRelationships', 'GetServiceAccessPoints', 'CreateRemoteReplicationCollection', 'AddToRemoteReplicationCollection', 'RemoveFromRemoteReplicationCollection'] },
      { name: 'SupportedSynchronousActions', type: 'uint16[]', valueMap: ['2', '5', '9', '10', '11', '23', '24', '25'], values: ['CreateElementReplica', 'ModifyReplicaSynchronization', 'GetPeerSystems', 'GetReplicationRelationships', 'GetServiceAccessPoints', 'CreateRemoteReplicationCollection', 'AddToRemoteReplicationCollection', 'RemoveFromRemoteReplicationCollection'] },
    ],
  },
  {
    name: 'CIM_ConnectivityCollection', superClass: 'CIM_SystemSpecificCollection',
    properties: [{ name: 'ConnectivityStatus', type: 'uint16', valueMap: ['0', '2', '3', '4'], values: ['Unknown', 'Up', 'Down', 'Partitioned'] }],
  },
  {
    name: 'CIM_RemoteReplicationCollection', superClass: 'CIM_ConnectivityCollection',
    properties: [
      { name: 'ElementName', type: 'string', writable: true },
      { name: 'Active', type: 'boolean', writable: true },
      { name: 'DeleteOnUnassociated', type: 'boolean', writable: true },
    ],
  },
  {
    name: 'CIM_Synchronized', association: true, abstract: true,
    properties: [
      { name: 'SystemElement', type: 'ref:CIM_ManagedElement', key: true },
      { name: 'SyncedElement', type: 'ref:CIM_ManagedElement', key: true },
      { name: 'SyncMaintained', type: 'boolean' },
      { name: 'WhenSynced', type: 'datetime' },
      { name: 'SyncType', type: 'uint16', valueMap: ['6', '7', '8'], values: ['Mirror', 'Snapshot', 'Clone'] },
      { name: 'Mode', type: 'uint16', valueMap: ['2', '3'], values: ['Synchronous', 'Asynchronous'] },
      { name: 'CopyState', type: 'uint16' },
      { name: 'ProgressStatus', type: 'uint16' },
      { name: 'PercentSynced', type: 'uint16' },
    ],
  },
  {
    name: 'CIM_StorageSynchronized', superClass: 'CIM_Synchronized',
    properties: [
      { name: 'SyncState', type: 'uint16' },
      { name: 'ReplicationType', type: 'uint16' },
    ],
  },
];
