/**
 * The concrete MSISCSITARGET_* classes, derived from CIM_* as the Windows iSCSI Target SMI-S provider
 * (SmIscsiTarget.mof) does. Vendor additions are marked.
 */
import type { ClassDecl } from '../types.ts';

function derive(name: string, superClass: string, extra: ClassDecl['properties'] = []): ClassDecl {
  return { name: `MSISCSITARGET_${name}`, superClass, properties: extra };
}

export const msIscsiTargetClasses: readonly ClassDecl[] = [
  derive('ComputerSystem', 'CIM_ComputerSystem'),
  {
    ...derive('ReplicationService', 'CIM_ReplicationService'),
    // Vendor: SMI-S has no verify operation; digests of source and replica compared chunk by chunk.
    methods: [{
      name: 'VerifyReplica', returnType: 'uint32',
      valueMap: ['0', '1', '4', '5'], values: ['Completed with No Error', 'Not Supported', 'Failed', 'Invalid Parameter'],
      parameters: [
        { name: 'Synchronization', type: 'ref:CIM_Synchronized', in: true, required: true },
        { name: 'Repair', type: 'boolean', in: true },
        { name: 'ChunkBytes', type: 'uint64', out: true },
        { name: 'ComparedChunks', type: 'uint64', out: true },
        { name: 'InFluxChunks', type: 'uint64', out: true },
        { name: 'DivergentOffsets', type: 'uint64[]', out: true },
        { name: 'Repaired', type: 'boolean', out: true },
      ],
    }, {
      // Vendor: split brain (both sides wrote while disconnected) is never resolved silently; this
      // names the system whose data survives, the other resyncs the diverged grains from it.
      name: 'ResolveSplitBrain', returnType: 'uint32',
      valueMap: ['0', '1', '4', '5', '4096'], values: ['Completed with No Error', 'Not Supported', 'Failed', 'Invalid Parameter', 'Method Parameters Checked - Job Started'],
      parameters: [
        { name: 'Synchronization', type: 'ref:CIM_Synchronized', in: true, required: true },
        { name: 'KeepSystem', type: 'string', in: true, required: true },
        { name: 'Job', type: 'ref:CIM_ConcreteJob', out: true },
      ],
    }, {
      // Vendor: opt-in automatic split-brain resolution (DRBD after-sb policies); default manual.
      name: 'SetSplitBrainPolicy', returnType: 'uint32',
      valueMap: ['0', '1', '4', '5'], values: ['Completed with No Error', 'Not Supported', 'Failed', 'Invalid Parameter'],
      parameters: [
        { name: 'Synchronization', type: 'ref:CIM_Synchronized', in: true, required: true },
        { name: 'Policy', type: 'string', in: true, required: true },
      ],
    }],
  },
  derive('ReplicationServiceCapabilities', 'CIM_ReplicationServiceCapabilities'),
  derive('iSCSIProtocolEndpoint', 'CIM_iSCSIProtocolEndpoint', [
    // Vendor: where an initiator (or a peer's probe) reaches this portal group.
    { name: 'PortalAddresses', type: 'string[]', description: 'host:port of each portal in the group' },
    { name: 'TargetPortalGroupTag', type: 'uint16' },
    { name: 'TargetName', type: 'string' },
  ]),
  derive('StorageVolume', 'CIM_StorageVolume', [
    { name: 'TargetName', type: 'string' },
    { name: 'LUN', type: 'uint16' },
  ]),
  derive('RemoteReplicationCollection', 'CIM_RemoteReplicationCollection'),
  derive('ConcreteJob', 'CIM_ConcreteJob'),
  derive('StorageSynchronized', 'CIM_StorageSynchronized', [
    // Vendor: replication lag of the pair (ARCHITECTURE.md "Lag is observable").
    { name: 'EpochsBehind', type: 'uint64' },
    { name: 'BytesBehind', type: 'uint64' },
    { name: 'RPOSeconds', type: 'real64' },
    { name: 'OutOfSyncBytes', type: 'uint64' },
    // Vendor: CopyState 5 Broken because both sides wrote while disconnected (DR lifecycle).
    { name: 'SplitBrain', type: 'boolean' },
    // Vendor: the pair's id as `iscsi-sim status` and `iscsi-sim pair` name it.
    { name: 'PairID', type: 'string' },
  ]),
  derive('HostedAccessPoint', 'CIM_HostedAccessPoint'),
  derive('HostedService', 'CIM_HostedService'),
  derive('HostedCollection', 'CIM_HostedCollection'),
  derive('SystemDevice', 'CIM_SystemDevice'),
  derive('MemberOfCollection', 'CIM_MemberOfCollection'),
  derive('ElementCapabilities', 'CIM_ElementCapabilities'),
  derive('AffectedJobElement', 'CIM_AffectedJobElement'),
  derive('OwningJobElement', 'CIM_OwningJobElement'),
];
