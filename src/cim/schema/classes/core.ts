/** Root classes of the CIM core schema (DMTF CIM_ManagedElement hierarchy), trimmed to what we serve. */
import type { ClassDecl } from '../types.ts';

export const coreClasses: readonly ClassDecl[] = [
  {
    name: 'CIM_ManagedElement', abstract: true,
    properties: [
      { name: 'Caption', type: 'string' },
      { name: 'Description', type: 'string' },
      { name: 'ElementName', type: 'string' },
    ],
  },
  {
    name: 'CIM_ManagedSystemElement', superClass: 'CIM_ManagedElement', abstract: true,
    properties: [
      { name: 'InstallDate', type: 'datetime' },
      { name: 'Name', type: 'string' },
      { name: 'OperationalStatus', type: 'uint16[]', valueMap: ['0', '2', '3', '6', '10', '17'], values: ['Unknown', 'OK', 'Degraded', 'Error', 'Stopped', 'Completed'] },
      { name: 'StatusDescriptions', type: 'string[]' },
      { name: 'HealthState', type: 'uint16', valueMap: ['0', '5', '10', '15', '20', '25', '30'], values: ['Unknown', 'OK', 'Degraded/Warning', 'Minor failure', 'Major failure', 'Critical failure', 'Non-recoverable error'] },
    ],
  },
  { name: 'CIM_LogicalElement', superClass: 'CIM_ManagedSystemElement', abstract: true, properties: [] },
  {
    name: 'CIM_EnabledLogicalElement', superClass: 'CIM_LogicalElement', abstract: true,
    properties: [
      { name: 'EnabledState', type: 'uint16', valueMap: ['0', '2', '3', '5'], values: ['Unknown', 'Enabled', 'Disabled', 'Not Applicable'] },
      { name: 'RequestedState', type: 'uint16' },
      { name: 'EnabledDefault', type: 'uint16' },
    ],
  },
  {
    name: 'CIM_Collection', superClass: 'CIM_ManagedElement', abstract: true, properties: [],
  },
  {
    name: 'CIM_SystemSpecificCollection', superClass: 'CIM_Collection',
    properties: [{ name: 'InstanceID', type: 'string', key: true }],
  },
  {
    name: 'CIM_Capabilities', superClass: 'CIM_ManagedElement', abstract: true,
    properties: [{ name: 'InstanceID', type: 'string', key: true }],
  },
  {
    name: 'CIM_Error', description: 'Embedded in GetError output (DSP0223).',
    properties: [
      { name: 'ErrorType', type: 'uint16' },
      { name: 'OwningEntity', type: 'string' },
      { name: 'MessageID', type: 'string' },
      { name: 'Message', type: 'string' },
      { name: 'PerceivedSeverity', type: 'uint16' },
      { name: 'ProbableCause', type: 'uint16' },
      { name: 'CIMStatusCode', type: 'uint32' },
      { name: 'ErrorSource', type: 'string' },
    ],
  },
];
