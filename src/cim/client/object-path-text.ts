/**
 * The textual object path form (DSP0207 style, as wbemcli prints it): `[ns:]Class.Key="v",N=3,B=true`.
 * Used by the CLI to read references from arguments and to print them.
 */
import { isObjectPath, type KeyScalar, type ObjectPath } from '../types.ts';

function quote(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function formatObjectPath(p: ObjectPath, withNamespace = false): string {
  const keys = Object.entries(p.keys).map(([k, v]) => `${k}=${isObjectPath(v) ? quote(formatObjectPath(v, true)) : typeof v === 'string' ? quote(v) : String(v)}`);
  const ns = withNamespace && p.namespace ? `${p.namespace}:` : '';
  return `${ns}${p.className}${keys.length ? `.${keys.join(',')}` : ''}`;
}

/** `[ns:]Class.Key=` at the start: a quoted key value of this shape is a reference (DSP0207), not a string. */
const REFERENCE_TEXT = /^(?:[A-Za-z0-9_/]+:)?[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*=/;

/** Whether `text` is an object path with keys (what `formatObjectPath` prints for an instance). */
export function looksLikeObjectPath(text: string): boolean {
  return REFERENCE_TEXT.test(text.trim());
}

/**
 * Parses `[namespace:]Class[.K=V,...]`; V is "quoted" (\" and \\ escapes), a number, true or false.
 * A quoted V that is itself an object path (a reference key such as StorageSynchronized's
 * SystemElement, as `formatObjectPath` prints it) becomes a nested path.
 */
export function parseObjectPath(text: string, defaultNamespace?: string): ObjectPath {
  const s = text.trim();
  const dot = s.indexOf('.');
  const head = dot < 0 ? s : s.slice(0, dot);
  const colon = head.lastIndexOf(':');
  const namespace = colon < 0 ? defaultNamespace : head.slice(0, colon);
  const className = colon < 0 ? head : head.slice(colon + 1);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(className)) throw new Error(`bad class name in object path: ${text}`);
  const keys: Record<string, KeyScalar | ObjectPath> = {};
  let i = dot < 0 ? s.length : dot + 1;
  while (i < s.length) {
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`missing '=' in object path: ${text}`);
    const name = s.slice(i, eq).trim();
    i = eq + 1;
    let value: KeyScalar;
    if (s[i] === '"') {
      let out = '';
      i++;
      for (; i < s.length && s[i] !== '"'; i++) {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        out += s[i];
      }
      if (s[i] !== '"') throw new Error(`unterminated string in object path: ${text}`);
      i++;
      value = out;
      if (looksLikeObjectPath(out)) {
        keys[name] = parseObjectPath(out, defaultNamespace);
        if (i < s.length) {
          if (s[i] !== ',') throw new Error(`expected ',' at ${i} in object path: ${text}`);
          i++;
        }
        continue;
      }
    } else {
      const end = s.indexOf(',', i);
      const raw = s.slice(i, end < 0 ? s.length : end).trim();
      i = end < 0 ? s.length : end;
      value = raw === 'true' ? true : raw === 'false' ? false : Number.isFinite(Number(raw)) && raw !== '' ? Number(raw) : raw;
    }
    keys[name] = value;
    if (i < s.length) {
      if (s[i] !== ',') throw new Error(`expected ',' at ${i} in object path: ${text}`);
      i++;
    }
  }
  return { className, namespace, keys };
}
