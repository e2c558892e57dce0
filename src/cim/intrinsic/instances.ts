/** EnumerateInstances, EnumerateInstanceNames, GetInstance (DSP0200 §5.3.2.2, .2.10, .2.11). */
import { cimError } from '../errors.ts';
import { instance, instanceName } from '../cimxml/serialize.ts';
import type { CimInstance } from '../types.ts';
import type { IntrinsicContext } from './context.ts';

/** The INSTANCE element of `inst`, limited by PropertyList (and by the requested class when not deep). */
export function renderInstance(ctx: IntrinsicContext, inst: CimInstance, limitToClass?: string): string {
  const cls = ctx.schema.get(inst.className);
  let list = ctx.propertyList();
  if (limitToClass) {
    const own = new Set(ctx.schema.get(limitToClass).properties.map((p) => p.name.toLowerCase()));
    list = new Set([...own].filter((p) => !list || list.has(p)));
  }
  return instance(inst, cls, ctx.write, list);
}

export function enumerateInstanceNames(ctx: IntrinsicContext): string {
  const name = ctx.className('ClassName', true) as string;
  return ctx.instancesOf(name).map((i) => instanceName(i.path, ctx.write)).join('');
}

export function enumerateInstances(ctx: IntrinsicContext): string {
  const name = ctx.className('ClassName', true) as string;
  const deep = ctx.bool('DeepInheritance', true);
  return ctx.instancesOf(name)
    .map((i) => `<VALUE.NAMEDINSTANCE>${instanceName(i.path, ctx.write)}${renderInstance(ctx, i, deep ? undefined : name)}</VALUE.NAMEDINSTANCE>`)
    .join('');
}

export function getInstance(ctx: IntrinsicContext): string {
  const path = ctx.instanceName('InstanceName');
  ctx.schema.get(path.className);
  const found = ctx.find({ ...path, namespace: undefined });
  if (!found || !ctx.schema.isA(found.className, path.className)) throw cimError('NOT_FOUND', `no instance ${path.className}`);
  return renderInstance(ctx, found);
}
