/**
 * In-memory CIM values shared by the codec, the schema, the model and the providers.
 * Types come from the class declarations (src/cim/schema); values here are plain JS values.
 */
export type KeyScalar = string | number | boolean;

/** An instance path: class + keys, optionally namespace and host (INSTANCEPATH / LOCALINSTANCEPATH). */
export interface ObjectPath {
  readonly className: string;
  readonly namespace?: string;
  readonly host?: string;
  readonly keys: Readonly<Record<string, KeyScalar | ObjectPath>>;
}

export type CimScalar = string | number | boolean | ObjectPath;
export type CimValue = CimScalar | readonly CimScalar[] | null;

export interface CimInstance {
  readonly className: string;
  readonly path: ObjectPath;
  readonly properties: Readonly<Record<string, CimValue>>;
}

export const TARGET_NAMESPACE = 'root/cimv2/storage/iscsitarget';
export const INTEROP_NAMESPACE = 'interop';

export function isObjectPath(v: unknown): v is ObjectPath {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && 'className' in v && 'keys' in v;
}

/** Namespaces compare case-insensitively, without leading/trailing slashes. */
export function normalizeNamespace(ns: string): string {
  return ns.replace(/^\/+|\/+$/g, '').toLowerCase();
}

function keyText(v: KeyScalar | ObjectPath): string {
  if (isObjectPath(v)) return pathKey(v);
  return String(v);
}

/** A canonical string for path equality: class name and key names case-insensitive, host ignored. */
export function pathKey(p: ObjectPath): string {
  const keys = Object.keys(p.keys)
    .map((k) => [k.toLowerCase(), keyText(p.keys[k])] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `${p.className.toLowerCase()}.${keys.join(',')}`;
}

export function samePath(a: ObjectPath, b: ObjectPath): boolean {
  return pathKey(a) === pathKey(b);
}

/** Same key bindings, whatever class name each path carries. */
export function sameKeys(a: ObjectPath, b: ObjectPath): boolean {
  return pathKey({ ...a, className: '' }) === pathKey({ ...b, className: '' });
}

/** Case-insensitive property lookup. */
export function getKey(p: ObjectPath, name: string): KeyScalar | ObjectPath | undefined {
  const lower = name.toLowerCase();
  for (const k of Object.keys(p.keys)) if (k.toLowerCase() === lower) return p.keys[k];
  return undefined;
}

export function getProperty(inst: CimInstance, name: string): CimValue | undefined {
  const lower = name.toLowerCase();
  for (const k of Object.keys(inst.properties)) if (k.toLowerCase() === lower) return inst.properties[k];
  return undefined;
}
