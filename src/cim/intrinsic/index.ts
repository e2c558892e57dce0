/** The intrinsic operation table; anything absent answers CIM_ERR_NOT_SUPPORTED. */
import { associatorNames, associators, referenceNames, references } from './associations.ts';
import { enumerateClasses, enumerateClassNames, getClass } from './classes.ts';
import type { IntrinsicHandler } from './context.ts';
import { enumerateInstanceNames, enumerateInstances, getInstance } from './instances.ts';
import { modifyInstance } from './modify-instance.ts';

export const intrinsicOperations: ReadonlyMap<string, IntrinsicHandler> = new Map<string, IntrinsicHandler>([
  ['getclass', getClass],
  ['enumerateclassnames', enumerateClassNames],
  ['enumerateclasses', enumerateClasses],
  ['enumerateinstancenames', enumerateInstanceNames],
  ['enumerateinstances', enumerateInstances],
  ['getinstance', getInstance],
  ['associators', associators],
  ['associatornames', associatorNames],
  ['references', references],
  ['referencenames', referenceNames],
  ['modifyinstance', modifyInstance],
]);
