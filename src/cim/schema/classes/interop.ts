/** The interop namespace: registered profiles, namespaces, the object manager (DSP1033). */
import type { ClassDecl } from '../types.ts';

export const interopClasses: readonly ClassDecl[] = [
  {
    name: 'CIM_RegisteredProfile', superClass: 'CIM_ManagedElement',
    properties: [
      { name: 'InstanceID', type: 'string', key: true },
      { name: 'RegisteredOrganization', type: 'uint16', valueMap: ['1', '2', '11'], values: ['Other', 'DMTF', 'SNIA'] },
      { name: 'RegisteredName', type: 'string' },
      { name: 'RegisteredVersion', type: 'string' },
      { name: 'AdvertiseTypes', type: 'uint16[]', valueMap: ['1', '2', '3'], values: ['Other', 'Not Advertised', 'SLP'] },
    ],
  },
  {
    name: 'CIM_Namespace', superClass: 'CIM_ManagedElement',
    properties: [
      { name: 'SystemCreationClassName', type: 'string', key: true },
      { name: 'SystemName', type: 'string', key: true },
      { name: 'ObjectManagerCreationClassName', type: 'string', key: true },
      { name: 'ObjectManagerName', type: 'string', key: true },
      { name: 'CreationClassName', type: 'string', key: true },
      { name: 'Name', type: 'string', key: true },
      { name: 'ClassInfo', type: 'uint16', valueMap: ['0', '2'], values: ['Unknown', 'CIM 2.0'] },
    ],
  },
  { name: 'CIM_WBEMService', superClass: 'CIM_Service', properties: [] },
  { name: 'CIM_ObjectManager', superClass: 'CIM_WBEMService', properties: [] },
];
