/**
 * ModifyInstance (DSP0200 §5.3.2.5): only RemoteReplicationCollection.ElementName, Active and
 * DeleteOnUnassociated are writable; keys must match; other properties are read-only.
 */
import { coerce } from '../cimxml/coerce.ts';
import { cimError } from '../errors.ts';
import { StatePersistError } from '../providers/state-store.ts';
import { parseType } from '../schema/types.ts';
import { getKey, getProperty } from '../types.ts';
import type { IntrinsicContext } from './context.ts';

export async function modifyInstance(ctx: IntrinsicContext): Promise<null> {
  const v = ctx.param('ModifiedInstance');
  if (!v || v.kind !== 'namedinstance') throw cimError('INVALID_PARAMETER', 'ModifiedInstance must be a VALUE.NAMEDINSTANCE');
  const cls = ctx.schema.get(v.path.className);
  const current = ctx.find(v.path);
  if (!current) throw cimError('NOT_FOUND', `no instance ${v.path.className}`);
  if (!ctx.schema.isA(current.className, 'CIM_RemoteReplicationCollection')) throw cimError('NOT_SUPPORTED', `${current.className} instances cannot be modified`);
  const record = ctx.sources.state.collections.get(String(getKey(current.path, 'InstanceID')));
  if (!record) throw cimError('NOT_FOUND', 'collection vanished');
  const list = ctx.propertyList();
  const changes: { name: string; value: unknown }[] = [];
  for (const p of v.instance.properties) {
    const decl = cls.propertyIndex.get(p.name.toLowerCase());
    if (!decl) throw cimError('NO_SUCH_PROPERTY', `${cls.name} has no property ${p.name}`);
    if (list && !list.has(decl.name.toLowerCase())) continue;
    const value = coerce(p.value, parseType(decl.type), decl.name);
    if (decl.key) {
      if (String(value) !== String(getProperty(current, decl.name))) throw cimError('INVALID_PARAMETER', `key ${decl.name} cannot change`);
      continue;
    }
    if (!decl.writable) {
      if (JSON.stringify(value) === JSON.stringify(getProperty(current, decl.name) ?? null)) continue;
      throw cimError('NOT_SUPPORTED', `${decl.name} is read-only`);
    }
    changes.push({ name: decl.name, value });
  }
  for (const c of changes) {
    if (c.name === 'ElementName' && (typeof c.value !== 'string' || c.value === '')) throw cimError('INVALID_PARAMETER', 'ElementName must be a non-empty string');
    if ((c.name === 'Active' || c.name === 'DeleteOnUnassociated') && typeof c.value !== 'boolean') throw cimError('INVALID_PARAMETER', `${c.name} must be a boolean`);
  }
  try {
    await ctx.sources.state.change(() => {
      for (const c of changes) {
        if (c.name === 'ElementName') record.elementName = c.value as string;
        else if (c.name === 'Active') record.active = c.value as boolean;
        else if (c.name === 'DeleteOnUnassociated') record.deleteOnUnassociated = c.value as boolean;
      }
    });
  } catch (err) {
    if (err instanceof StatePersistError) throw cimError('FAILED', err.message);
    throw err;
  }
  return null;
}
