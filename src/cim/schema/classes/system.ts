/** Systems, services, service access points and logical devices (DMTF Core/System/Network). */
import type { ClassDecl } from '../types.ts';

export const systemClasses: readonly ClassDecl[] = [
  {
    name: 'CIM_System', superClass: 'CIM_EnabledLogicalElement', abstract: true,
    properties: [
      { name: 'CreationClassName', type: 'string', key: true },
      { name: 'Name', type: 'string', key: true },
      { name: 'NameFormat', type: 'string' },
      { name: 'PrimaryOwnerName', type: 'string' },
    ],
  },
  {
    name: 'CIM_ComputerSystem', superClass: 'CIM_System',
    properties: [
      { name: 'Dedicated', type: 'uint16[]', valueMap: ['3', '15'], values: ['Storage', 'Block Server'] },
      { name: 'OtherIdentifyingInfo', type: 'string[]' },
      { name: 'IdentifyingDescriptions', type: 'string[]' },
    ],
  },
  {
    name: 'CIM_Service', superClass: 'CIM_EnabledLogicalElement', abstract: true,
    properties: [
      { name: 'SystemCreationClassName', type: 'string', key: true },
      { name: 'SystemName', type: 'string', key: true },
      { name: 'CreationClassName', type: 'string', key: true },
      { name: 'Name', type: 'string', key: true },
    ],
  },
  {
    name: 'CIM_ServiceAccessPoint', superClass: 'CIM_EnabledLogicalElement', abstract: true,
    properties: [
      { name: 'SystemCreationClassName', type: 'string', key: true },
      { name: 'SystemName', type: 'string', key: true },
      { name: 'CreationClassName', type: 'string', key: true },
      { name: 'Name', type: 'string', key: true },
    ],
  },
  {
    name: 'CIM_ProtocolEndpoint', superClass: 'CIM_ServiceAccessPoint',
    properties: [
      { name: 'NameFormat', type: 'string' },
      { name: 'ProtocolIFType', type: 'uint16', valueMap: ['1', '4096'], values: ['Other', 'DMTF Reserved'] },
      { name: 'OtherTypeDescription', type: 'string' },
    ],
  },
  {
    name: 'CIM_iSCSIProtocolEndpoint', superClass: 'CIM_ProtocolEndpoint',
    properties: [
      { name: 'Identifier', type: 'string' },
      { name: 'Role', type: 'uint16', valueMap: ['0', '2', '3', '4'], values: ['Unknown', 'Initiator', 'Target', 'Both Initiator and Target'] },
    ],
  },
  {
    name: 'CIM_LogicalDevice', superClass: 'CIM_EnabledLogicalElement', abstract: true,
    properties: [
      { name: 'SystemCreationClassName', type: 'string', key: true },
      { name: 'SystemName', type: 'string', key: true },
      { name: 'CreationClassName', type: 'string', key: true },
      { name: 'DeviceID', type: 'string', key: true },
    ],
  },
  {
    name: 'CIM_StorageExtent', superClass: 'CIM_LogicalDevice',
    properties: [
      { name: 'BlockSize', type: 'uint64' },
      { name: 'NumberOfBlocks', type: 'uint64' },
      { name: 'ConsumableBlocks', type: 'uint64' },
      { name: 'NameFormat', type: 'uint16', valueMap: ['0', '9'], values: ['Unknown', 'NAA'] },
      { name: 'NameNamespace', type: 'uint16', valueMap: ['0', '2'], values: ['Unknown', 'VPD83Type3'] },
    ],
  },
  { name: 'CIM_StorageVolume', superClass: 'CIM_StorageExtent', properties: [] },
];
