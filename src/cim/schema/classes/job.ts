/** CIM_Job / CIM_ConcreteJob (DMTF Core), with RequestStateChange and GetError. */
import type { ClassDecl } from '../types.ts';

export const jobClasses: readonly ClassDecl[] = [
  {
    name: 'CIM_Job', superClass: 'CIM_LogicalElement', abstract: true,
    properties: [
      { name: 'InstanceID', type: 'string', key: true },
      { name: 'JobStatus', type: 'string' },
      { name: 'TimeSubmitted', type: 'datetime' },
      { name: 'StartTime', type: 'datetime' },
      { name: 'ElapsedTime', type: 'datetime' },
      { name: 'PercentComplete', type: 'uint16' },
      { name: 'DeleteOnCompletion', type: 'boolean' },
      { name: 'ErrorCode', type: 'uint16' },
      { name: 'ErrorDescription', type: 'string' },
      { name: 'MethodName', type: 'string' },
    ],
  },
  {
    name: 'CIM_ConcreteJob', superClass: 'CIM_Job',
    properties: [
      { name: 'JobState', type: 'uint16', valueMap: ['2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'], values: ['New', 'Starting', 'Running', 'Suspended', 'Shutting Down', 'Completed', 'Terminated', 'Killed', 'Exception', 'Service', 'Query Pending'] },
      { name: 'TimeOfLastStateChange', type: 'datetime' },
      { name: 'TimeBeforeRemoval', type: 'datetime' },
    ],
    methods: [
      {
        name: 'RequestStateChange', returnType: 'uint32',
        valueMap: ['0', '1', '2', '3', '4', '5', '6', '4096'], values: ['Completed with No Error', 'Not Supported', 'Unknown/Unspecified Error', "Can NOT complete within Timeout Period", 'Failed', 'Invalid Parameter', 'In Use', 'Method Parameters Checked - Transition Started'],
        parameters: [
          { name: 'RequestedState', type: 'uint16', in: true },
          { name: 'TimeoutPeriod', type: 'datetime', in: true },
        ],
      },
      {
        name: 'GetError', returnType: 'uint32',
        valueMap: ['0', '1', '2', '3', '4'], values: ['Success', 'Not Supported', 'Unspecified Error', 'Timeout', 'Failed'],
        parameters: [{ name: 'Error', type: 'string', out: true, embeddedInstance: 'CIM_Error' }],
      },
    ],
  },
];
