/** All class declarations served (the same schema in every namespace; instances differ). */
import { associationClasses } from './classes/associations.ts';
import { coreClasses } from './classes/core.ts';
import { interopClasses } from './classes/interop.ts';
import { jobClasses } from './classes/job.ts';
import { msIscsiTargetClasses } from './classes/msiscsitarget.ts';
import { replicationClasses } from './classes/replication.ts';
import { systemClasses } from './classes/system.ts';
import { SchemaRegistry } from './registry.ts';

export const allClasses = [
  ...coreClasses, ...systemClasses, ...replicationClasses, ...jobClasses, ...associationClasses, ...interopClasses, ...msIscsiTargetClasses,
];

let shared: SchemaRegistry | undefined;

export function schema(): SchemaRegistry {
  shared ??= new SchemaRegistry(allClasses);
  return shared;
}
