/**
 * Decodes CIM-XML requests (DSP0201 §3.2.6 MESSAGE/SIMPLEREQ, IMETHODCALL and METHODCALL) into
 * untyped values; typing happens against the schema in the handlers. Accepts what real clients send:
 * INSTANCENAME, LOCALINSTANCEPATH or INSTANCEPATH inside VALUE.REFERENCE (HOST ignored), empty
 * VALUE.REFERENCE / VALUE as placeholders for empty arrays (wbemcli), `<VALUE.ARRAY/>` (pywbem).
 */
import { cimError } from '../errors.ts';
import type { KeyScalar, ObjectPath } from '../types.ts';
import { attr, child, children, elementNames, parseXml, requireChild, text, type XmlNode } from './xml-node.ts';

export type RawValue =
  | { readonly kind: 'null' }
  | { readonly kind: 'value'; readonly text: string }
  | { readonly kind: 'array'; readonly items: readonly string[] }
  | { readonly kind: 'ref'; readonly path: ObjectPath }
  | { readonly kind: 'refarray'; readonly paths: readonly ObjectPath[] }
  | { readonly kind: 'classname'; readonly name: string }
  | { readonly kind: 'instancename'; readonly path: ObjectPath }
  | { readonly kind: 'instance'; readonly instance: RawInstance }
  | { readonly kind: 'namedinstance'; readonly path: ObjectPath; readonly instance: RawInstance };

export interface RawProperty {
  readonly name: string;
  readonly type?: string;
  readonly value: RawValue;
}

export interface RawInstance {
  readonly className: string;
  readonly properties: readonly RawProperty[];
}

export interface RawParam {
  readonly name: string;
  readonly paramType?: string;
  readonly value: RawValue;
}

export interface IntrinsicCall {
  readonly kind: 'intrinsic';
  readonly messageId: string;
  readonly method: string;
  readonly namespace: string;
  readonly params: readonly RawParam[];
}

export interface ExtrinsicCall {
  readonly kind: 'extrinsic';
  readonly messageId: string;
  readonly method: string;
  readonly namespace: string;
  /** An instance path, or a class path (keys empty) for static calls. */
  readonly target: ObjectPath;
  readonly isClassTarget: boolean;
  readonly params: readonly RawParam[];
}

export type CimRequest = IntrinsicCall | ExtrinsicCall;

/** Best effort: the MESSAGE ID of a request we could not otherwise decode (to echo in the error). */
export function sniffMessageId(body: string): string {
  const m = /<MESSAGE\s[^>]*ID\s*=\s*"([^"]{0,64})"/i.exec(body);
  return m ? m[1] : '0';
}

export function parseRequest(body: string): CimRequest {
  const doc = parseXml(body);
  const cim = requireChild(doc, 'CIM', 'document');
  const message = requireChild(cim, 'MESSAGE', 'CIM');
  const messageId = attr(message, 'ID') ?? '0';
  const simple = child(message, 'SIMPLEREQ');
  if (!simple) {
    if (child(message, 'MULTIREQ')) throw cimError('NOT_SUPPORTED', 'multiple requests are not supported');
    throw cimError('INVALID_PARAMETER', 'MESSAGE: missing <SIMPLEREQ>');
  }
  const icall = child(simple, 'IMETHODCALL');
  if (icall) {
    const method = attr(icall, 'NAME');
    if (!method) throw cimError('INVALID_PARAMETER', 'IMETHODCALL without NAME');
    const namespace = decodeLocalNamespace(requireChild(icall, 'LOCALNAMESPACEPATH', 'IMETHODCALL'));
    const params = children(icall, 'IPARAMVALUE').map((p) => decodeParam(p, 'IPARAMVALUE'));
    return { kind: 'intrinsic', messageId, method, namespace, params };
  }
  const call = child(simple, 'METHODCALL');
  if (call) {
    const method = attr(call, 'NAME');
    if (!method) throw cimError('INVALID_PARAMETER', 'METHODCALL without NAME');
    const params = children(call, 'PARAMVALUE').map((p) => decodeParam(p, 'PARAMVALUE'));
    const lip = child(call, 'LOCALINSTANCEPATH');
    if (lip) {
      const path = decodeLocalInstancePath(lip);
      return { kind: 'extrinsic', messageId, method, namespace: path.namespace ?? '', target: path, isClassTarget: false, params };
    }
    const lcp = child(call, 'LOCALCLASSPATH');
    if (lcp) {
      const namespace = decodeLocalNamespace(requireChild(lcp, 'LOCALNAMESPACEPATH', 'LOCALCLASSPATH'));
      const className = attr(requireChild(lcp, 'CLASSNAME', 'LOCALCLASSPATH'), 'NAME') ?? '';
      return { kind: 'extrinsic', messageId, method, namespace, target: { className, namespace, keys: {} }, isClassTarget: true, params };
    }
    throw cimError('INVALID_PARAMETER', 'METHODCALL: missing LOCALINSTANCEPATH or LOCALCLASSPATH');
  }
  throw cimError('NOT_SUPPORTED', 'SIMPLEREQ: only IMETHODCALL and METHODCALL are supported');
}

export function decodeLocalNamespace(node: XmlNode): string {
  const parts = children(node, 'NAMESPACE').map((n) => attr(n, 'NAME') ?? '');
  if (parts.length === 0 || parts.some((p) => p === '')) throw cimError('INVALID_NAMESPACE', 'empty namespace');
  return parts.join('/');
}

function decodeParam(node: XmlNode, element: string): RawParam {
  const name = attr(node, 'NAME');
  if (!name) throw cimError('INVALID_PARAMETER', `${element} without NAME`);
  return { name, paramType: attr(node, 'PARAMTYPE'), value: decodeValueElement(node) };
}

/** The value carried by a PARAMVALUE/IPARAMVALUE/PROPERTY*: whichever value element is present. */
export function decodeValueElement(node: XmlNode): RawValue {
  for (const name of elementNames(node)) {
    const el = child(node, name);
    if (!el) continue;
    switch (name) {
      case 'VALUE': return { kind: 'value', text: text(el) };
      case 'VALUE.ARRAY': return { kind: 'array', items: children(el, 'VALUE').map(text) };
      case 'VALUE.REFERENCE': {
        const path = decodeReference(el);
        return path ? { kind: 'ref', path } : { kind: 'null' };
      }
      case 'VALUE.REFARRAY': {
        const paths = children(el, 'VALUE.REFERENCE').map(decodeReference).filter((p): p is ObjectPath => p !== undefined);
        return { kind: 'refarray', paths };
      }
      case 'CLASSNAME': return { kind: 'classname', name: attr(el, 'NAME') ?? '' };
      case 'INSTANCENAME': return { kind: 'instancename', path: decodeInstanceName(el) };
      case 'INSTANCE': return { kind: 'instance', instance: decodeInstance(el) };
      case 'VALUE.NAMEDINSTANCE': return {
        kind: 'namedinstance',
        path: decodeInstanceName(requireChild(el, 'INSTANCENAME', 'VALUE.NAMEDINSTANCE')),
        instance: decodeInstance(requireChild(el, 'INSTANCE', 'VALUE.NAMEDINSTANCE')),
      };
      case 'QUALIFIER': continue;
      default: throw cimError('INVALID_PARAMETER', `unsupported value element <${name}>`);
    }
  }
  return { kind: 'null' };
}

/** VALUE.REFERENCE content; undefined for an empty element (wbemcli's NULL placeholder). */
export function decodeReference(node: XmlNode): ObjectPath | undefined {
  const ip = child(node, 'INSTANCEPATH');
  if (ip) {
    const nsPath = requireChild(ip, 'NAMESPACEPATH', 'INSTANCEPATH');
    const host = text(child(nsPath, 'HOST') ?? {}) || undefined;
    const namespace = decodeLocalNamespace(requireChild(nsPath, 'LOCALNAMESPACEPATH', 'NAMESPACEPATH'));
    return { ...decodeInstanceName(requireChild(ip, 'INSTANCENAME', 'INSTANCEPATH')), namespace, host };
  }
  const lip = child(node, 'LOCALINSTANCEPATH');
  if (lip) return decodeLocalInstancePath(lip);
  const inn = child(node, 'INSTANCENAME');
  if (inn) return decodeInstanceName(inn);
  for (const name of ['CLASSPATH', 'LOCALCLASSPATH', 'CLASSNAME']) {
    if (child(node, name)) throw cimError('INVALID_PARAMETER', `class references (${name}) are not accepted here`);
  }
  return undefined;
}

function decodeLocalInstancePath(node: XmlNode): ObjectPath {
  const namespace = decodeLocalNamespace(requireChild(node, 'LOCALNAMESPACEPATH', 'LOCALINSTANCEPATH'));
  return { ...decodeInstanceName(requireChild(node, 'INSTANCENAME', 'LOCALINSTANCEPATH')), namespace };
}

export function decodeInstanceName(node: XmlNode): ObjectPath {
  const className = attr(node, 'CLASSNAME');
  if (!className) throw cimError('INVALID_PARAMETER', 'INSTANCENAME without CLASSNAME');
  const keys: Record<string, KeyScalar | ObjectPath> = {};
  for (const kb of children(node, 'KEYBINDING')) {
    const name = attr(kb, 'NAME');
    if (!name) throw cimError('INVALID_PARAMETER', 'KEYBINDING without NAME');
    const kv = child(kb, 'KEYVALUE');
    if (kv) {
      keys[name] = decodeKeyValue(kv);
      continue;
    }
    const ref = child(kb, 'VALUE.REFERENCE');
    const path = ref ? decodeReference(ref) : undefined;
    if (!path) throw cimError('INVALID_PARAMETER', `KEYBINDING ${name} without a value`);
    keys[name] = path;
  }
  return { className, keys };
}

function decodeKeyValue(node: XmlNode): KeyScalar {
  const raw = text(node);
  switch ((attr(node, 'VALUETYPE') ?? 'string').toLowerCase()) {
    case 'boolean': return raw.trim().toLowerCase() === 'true';
    case 'numeric': {
      const n = Number(raw.trim());
      if (!Number.isFinite(n)) throw cimError('INVALID_PARAMETER', `bad numeric key value ${raw}`);
      return n;
    }
    default: return raw;
  }
}

export function decodeInstance(node: XmlNode): RawInstance {
  const className = attr(node, 'CLASSNAME');
  if (!className) throw cimError('INVALID_PARAMETER', 'INSTANCE without CLASSNAME');
  const properties: RawProperty[] = [];
  for (const element of ['PROPERTY', 'PROPERTY.ARRAY', 'PROPERTY.REFERENCE']) {
    for (const p of children(node, element)) {
      const name = attr(p, 'NAME');
      if (!name) throw cimError('INVALID_PARAMETER', `${element} without NAME`);
      properties.push({ name, type: attr(p, 'TYPE') ?? (element === 'PROPERTY.REFERENCE' ? 'reference' : undefined), value: decodeValueElement(p) });
    }
  }
  return { className, properties };
}
