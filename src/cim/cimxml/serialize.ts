/**
 * Pure CIM-XML writers (DSP0201). Wire rules forced by real clients: never a self-closing VALUE or
 * IRETURNVALUE (wbemcli's parser expects an end tag), no xml:lang on INSTANCE, PARAMTYPE on
 * RETURNVALUE (pywbem), VALUETYPE on every KEYVALUE, and NULL out parameters left out entirely.
 */
import type { ResolvedClass } from '../schema/registry.ts';
import { parseType, type PropertyDecl, type TypeInfo } from '../schema/types.ts';
import { isObjectPath, type CimInstance, type CimScalar, type CimValue, type KeyScalar, type ObjectPath } from '../types.ts';

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&apos;'));
}

const XML_HEADER = '<?xml version="1.0" encoding="utf-8" ?>\n';

/** Where references we write point (HOST of INSTANCEPATH). */
export interface WriteContext {
  readonly host: string;
  readonly defaultNamespace: string;
  /**
   * Write a reference array out parameter as VALUE.ARRAY of VALUE.REFERENCE instead of DSP0201's
   * VALUE.REFARRAY, which sblim wbemcli cannot parse ("Bad attribute list for VALUE"); see
   * server/client-dialect.ts for when.
   */
  readonly refArraysAsValueArray?: boolean;
}

function scalarText(v: KeyScalar): string {
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  return escapeXml(String(v));
}

/** One VALUE element of a scalar (booleans as TRUE/FALSE). */
export function value(v: KeyScalar): string {
  return `<VALUE>${scalarText(v)}</VALUE>`;
}

export function localNamespacePath(ns: string): string {
  return `<LOCALNAMESPACEPATH>${ns.split('/').filter(Boolean).map((n) => `<NAMESPACE NAME="${escapeXml(n)}"></NAMESPACE>`).join('')}</LOCALNAMESPACEPATH>`;
}

function keyValueType(v: KeyScalar): string {
  return typeof v === 'boolean' ? 'boolean' : typeof v === 'number' ? 'numeric' : 'string';
}

export function instanceName(path: ObjectPath, ctx: WriteContext): string {
  const bindings = Object.entries(path.keys).map(([k, v]) => {
    const inner = isObjectPath(v) ? reference(v, ctx) : `<KEYVALUE VALUETYPE="${keyValueType(v)}">${scalarText(v)}</KEYVALUE>`;
    return `<KEYBINDING NAME="${escapeXml(k)}">${inner}</KEYBINDING>`;
  });
  return `<INSTANCENAME CLASSNAME="${escapeXml(path.className)}">${bindings.join('')}</INSTANCENAME>`;
}

export function instancePath(path: ObjectPath, ctx: WriteContext): string {
  const ns = path.namespace ?? ctx.defaultNamespace;
  return `<INSTANCEPATH><NAMESPACEPATH><HOST>${escapeXml(path.host ?? ctx.host)}</HOST>${localNamespacePath(ns)}</NAMESPACEPATH>${instanceName(path, ctx)}</INSTANCEPATH>`;
}

export function reference(path: ObjectPath, ctx: WriteContext): string {
  return `<VALUE.REFERENCE>${instancePath(path, ctx)}</VALUE.REFERENCE>`;
}

function isScalarList(v: CimValue): v is readonly CimScalar[] {
  return Array.isArray(v);
}

/** One PROPERTY / PROPERTY.ARRAY / PROPERTY.REFERENCE element; NULL = element without a value. */
export function property(decl: PropertyDecl, v: CimValue | undefined, ctx: WriteContext, classOrigin?: string): string {
  const t = parseType(decl.type);
  const name = escapeXml(decl.name);
  const origin = classOrigin ? ` CLASSORIGIN="${escapeXml(classOrigin)}"` : '';
  if (t.base === 'reference') {
    const body = v !== null && v !== undefined && isObjectPath(v) ? reference(v, ctx) : '';
    return `<PROPERTY.REFERENCE NAME="${name}" REFERENCECLASS="${escapeXml(t.refClass ?? '')}"${origin}>${body}</PROPERTY.REFERENCE>`;
  }
  if (t.array) {
    const body = v !== null && v !== undefined && isScalarList(v) ? `<VALUE.ARRAY>${v.map((x) => value(x as KeyScalar)).join('')}</VALUE.ARRAY>` : '';
    return `<PROPERTY.ARRAY NAME="${name}" TYPE="${t.base}"${origin}>${body}</PROPERTY.ARRAY>`;
  }
  const body = v !== null && v !== undefined && !isScalarList(v) && !isObjectPath(v) ? value(v) : '';
  return `<PROPERTY NAME="${name}" TYPE="${t.base}"${origin}>${body}</PROPERTY>`;
}

/** INSTANCE with the class's declared properties, optionally limited to a PropertyList. */
export function instance(inst: CimInstance, cls: ResolvedClass, ctx: WriteContext, propertyList?: ReadonlySet<string>): string {
  const values = new Map(Object.entries(inst.properties).map(([k, v]) => [k.toLowerCase(), v]));
  const props = cls.properties
    .filter((p) => !propertyList || propertyList.has(p.name.toLowerCase()))
    .map((p) => property(p, values.get(p.name.toLowerCase()) ?? null, ctx));
  return `<INSTANCE CLASSNAME="${escapeXml(inst.className)}">${props.join('')}</INSTANCE>`;
}

function qualifier(name: string, type: string, v: KeyScalar | readonly string[]): string {
  if (Array.isArray(v)) return `<QUALIFIER NAME="${name}" TYPE="${type}"><VALUE.ARRAY>${v.map((x: string) => value(x)).join('')}</VALUE.ARRAY></QUALIFIER>`;
  return `<QUALIFIER NAME="${name}" TYPE="${type}">${value(v as KeyScalar)}</QUALIFIER>`;
}

function declQualifiers(d: { key?: boolean; valueMap?: readonly string[]; values?: readonly string[]; description?: string; writable?: boolean }): string {
  let q = '';
  if (d.key) q += qualifier('Key', 'boolean', true);
  if (d.description) q += qualifier('Description', 'string', d.description);
  if (d.valueMap) q += qualifier('ValueMap', 'string', d.valueMap);
  if (d.values) q += qualifier('Values', 'string', d.values);
  if (d.writable) q += qualifier('Write', 'boolean', true);
  return q;
}

function parameterElement(p: { name: string; type: string; in?: boolean; out?: boolean; required?: boolean; embeddedInstance?: string }, t: TypeInfo): string {
  let q = qualifier('IN', 'boolean', p.in ?? false) + qualifier('OUT', 'boolean', p.out ?? false);
  if (p.required) q += qualifier('Required', 'boolean', true);
  if (p.embeddedInstance) q += qualifier('EmbeddedInstance', 'string', p.embeddedInstance);
  const name = escapeXml(p.name);
  if (t.base === 'reference') {
    const el = t.array ? 'PARAMETER.REFARRAY' : 'PARAMETER.REFERENCE';
    return `<${el} NAME="${name}" REFERENCECLASS="${escapeXml(t.refClass ?? '')}">${q}</${el}>`;
  }
  const el = t.array ? 'PARAMETER.ARRAY' : 'PARAMETER';
  return `<${el} NAME="${name}" TYPE="${t.base}">${q}</${el}>`;
}

/** CLASS with Key qualifiers and METHOD/PARAMETER declarations (wbemcli cm types arguments from it). */
export function classElement(cls: ResolvedClass, ctx: WriteContext): string {
  const sup = cls.superClass ? ` SUPERCLASS="${escapeXml(cls.superClass)}"` : '';
  let body = '';
  if (cls.association) body += qualifier('Association', 'boolean', true);
  if (cls.decl.description) body += qualifier('Description', 'string', cls.decl.description);
  for (const p of cls.properties) {
    const el = property(p, null, ctx);
    const close = el.lastIndexOf('</');
    body += el.slice(0, el.indexOf('>') + 1) + declQualifiers(p) + el.slice(close);
  }
  for (const m of cls.methods) {
    const params = m.parameters.map((p) => parameterElement(p, parseType(p.type))).join('');
    body += `<METHOD NAME="${escapeXml(m.name)}" TYPE="${m.returnType ?? 'uint32'}">${declQualifiers(m)}${params}</METHOD>`;
  }
  return `<CLASS NAME="${escapeXml(cls.name)}"${sup}>${body}</CLASS>`;
}

function envelope(messageId: string, inner: string): string {
  return `${XML_HEADER}<CIM CIMVERSION="2.0" DTDVERSION="2.0"><MESSAGE ID="${escapeXml(messageId)}" PROTOCOLVERSION="1.0"><SIMPLERSP>${inner}</SIMPLERSP></MESSAGE></CIM>\n`;
}

/** IMETHODRESPONSE; `content` null = no IRETURNVALUE at all (e.g. ModifyInstance). */
export function intrinsicResponse(messageId: string, method: string, content: string | null): string {
  const ret = content === null ? '' : `<IRETURNVALUE>${content}</IRETURNVALUE>`;
  return envelope(messageId, `<IMETHODRESPONSE NAME="${escapeXml(method)}">${ret}</IMETHODRESPONSE>`);
}

export interface OutParam {
  readonly name: string;
  readonly type: string;
  readonly value: CimValue;
  /** A string holding an embedded INSTANCE (DSP0201 EmbeddedObject="instance"). */
  readonly embedded?: boolean;
}

function outParam(p: OutParam, ctx: WriteContext): string {
  const t = parseType(p.type);
  const name = escapeXml(p.name);
  if (t.base === 'reference') {
    if (t.array) {
      const paths = (p.value as readonly CimScalar[]).filter(isObjectPath);
      const element = ctx.refArraysAsValueArray === true ? 'VALUE.ARRAY' : 'VALUE.REFARRAY';
      return `<PARAMVALUE NAME="${name}" PARAMTYPE="reference"><${element}>${paths.map((x) => reference(x, ctx)).join('')}</${element}></PARAMVALUE>`;
    }
    return `<PARAMVALUE NAME="${name}" PARAMTYPE="reference">${reference(p.value as ObjectPath, ctx)}</PARAMVALUE>`;
  }
  if (t.array) {
    return `<PARAMVALUE NAME="${name}" PARAMTYPE="${t.base}"><VALUE.ARRAY>${(p.value as readonly KeyScalar[]).map(value).join('')}</VALUE.ARRAY></PARAMVALUE>`;
  }
  const embedded = p.embedded ? ' EmbeddedObject="instance"' : '';
  return `<PARAMVALUE NAME="${name}" PARAMTYPE="${t.base}"${embedded}>${value(p.value as KeyScalar)}</PARAMVALUE>`;
}

export function extrinsicResponse(messageId: string, method: string, returnValue: number, out: readonly OutParam[], ctx: WriteContext): string {
  const params = out.filter((p) => p.value !== null && p.value !== undefined).map((p) => outParam(p, ctx)).join('');
  return envelope(messageId, `<METHODRESPONSE NAME="${escapeXml(method)}"><RETURNVALUE PARAMTYPE="uint32">${value(returnValue)}</RETURNVALUE>${params}</METHODRESPONSE>`);
}

export function errorResponse(messageId: string, method: string, intrinsic: boolean, code: number, description: string): string {
  const el = intrinsic ? 'IMETHODRESPONSE' : 'METHODRESPONSE';
  return envelope(messageId, `<${el} NAME="${escapeXml(method)}"><ERROR CODE="${code}" DESCRIPTION="${escapeXml(description)}"></ERROR></${el}>`);
}
