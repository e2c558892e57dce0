/**
 * Associators, AssociatorNames, References, ReferenceNames (DSP0200 §5.3.2.14-17) with AssocClass,
 * ResultClass, Role and ResultRole filters, walking the association instances of the model.
 */
import { cimError } from '../errors.ts';
import { instancePath } from '../cimxml/serialize.ts';
import { isObjectPath, samePath, type CimInstance, type ObjectPath } from '../types.ts';
import type { IntrinsicContext } from './context.ts';
import { renderInstance } from './instances.ts';

interface Link {
  readonly association: CimInstance;
  readonly far: ObjectPath;
}

function refProps(inst: CimInstance): [string, ObjectPath][] {
  return Object.entries(inst.properties).filter((e): e is [string, ObjectPath] => isObjectPath(e[1]));
}

function links(ctx: IntrinsicContext, assocFilter: string | undefined): { object: ObjectPath; links: Link[] } {
  const named = ctx.instanceName('ObjectName');
  ctx.schema.get(named.className);
  const object = ctx.find(named)?.path ?? named;
  const role = ctx.string('Role')?.toLowerCase();
  const resultRole = ctx.string('ResultRole')?.toLowerCase();
  const out: Link[] = [];
  for (const a of ctx.instances()) {
    if (!ctx.schema.find(a.className)?.association) continue;
    if (assocFilter && !ctx.schema.isA(a.className, assocFilter)) continue;
    const refs = refProps(a);
    for (const [name, value] of refs) {
      if (!samePath(value, object) || (role && name.toLowerCase() !== role)) continue;
      for (const [farName, farValue] of refs) {
        if (farName === name || (resultRole && farName.toLowerCase() !== resultRole)) continue;
        out.push({ association: a, far: farValue });
      }
    }
  }
  return { object, links: out };
}

function resultClassFilter(ctx: IntrinsicContext): (className: string) => boolean {
  const rc = ctx.className('ResultClass', false);
  if (rc) ctx.schema.get(rc);
  return (c) => !rc || ctx.schema.isA(c, rc);
}

function assocClassParam(ctx: IntrinsicContext): string | undefined {
  const ac = ctx.className('AssocClass', false);
  if (ac && !ctx.schema.get(ac).association) throw cimError('INVALID_PARAMETER', `${ac} is not an association`);
  return ac;
}

function uniqueFar(ctx: IntrinsicContext): CimInstance[] {
  const { links: found } = links(ctx, assocClassParam(ctx));
  const accept = resultClassFilter(ctx);
  const out: CimInstance[] = [];
  for (const l of found) {
    const inst = ctx.find(l.far);
    if (!inst || !accept(inst.className) || out.some((o) => samePath(o.path, inst.path))) continue;
    out.push(inst);
  }
  return out;
}

function uniqueAssociations(ctx: IntrinsicContext): CimInstance[] {
  const accept = resultClassFilter(ctx);
  const out: CimInstance[] = [];
  for (const l of links(ctx, undefined).links) {
    if (!accept(l.association.className) || out.includes(l.association)) continue;
    out.push(l.association);
  }
  return out;
}

function withPath(ctx: IntrinsicContext, inst: CimInstance): string {
  return `<VALUE.OBJECTWITHPATH>${instancePath(inst.path, ctx.write)}${renderInstance(ctx, inst)}</VALUE.OBJECTWITHPATH>`;
}

function objectPath(ctx: IntrinsicContext, inst: CimInstance): string {
  return `<OBJECTPATH>${instancePath(inst.path, ctx.write)}</OBJECTPATH>`;
}

export const associators = (ctx: IntrinsicContext): string => uniqueFar(ctx).map((i) => withPath(ctx, i)).join('');
export const associatorNames = (ctx: IntrinsicContext): string => uniqueFar(ctx).map((i) => objectPath(ctx, i)).join('');
export const references = (ctx: IntrinsicContext): string => uniqueAssociations(ctx).map((i) => withPath(ctx, i)).join('');
export const referenceNames = (ctx: IntrinsicContext): string => uniqueAssociations(ctx).map((i) => objectPath(ctx, i)).join('');
