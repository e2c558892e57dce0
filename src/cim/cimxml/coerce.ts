/**
 * Types an untyped incoming value by its declaration (wbemcli sends no PARAMTYPE and lowercase
 * booleans; pywbem sends empty arrays as `<VALUE.ARRAY/>`). Wrong shapes are CIM_ERR_INVALID_PARAMETER.
 */
import { cimError } from '../errors.ts';
import type { TypeInfo } from '../schema/types.ts';
import type { CimScalar, CimValue } from '../types.ts';
import type { RawValue } from './parse.ts';

const INT_RANGES: Record<string, [number, number]> = {
  uint8: [0, 0xff], uint16: [0, 0xffff], uint32: [0, 0xffffffff], uint64: [0, Number.MAX_SAFE_INTEGER],
  sint8: [-0x80, 0x7f], sint16: [-0x8000, 0x7fff], sint32: [-0x80000000, 0x7fffffff], sint64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

function scalar(textValue: string, t: TypeInfo, what: string): CimScalar {
  const s = textValue.trim();
  switch (t.base) {
    case 'boolean': {
      const l = s.toLowerCase();
      if (l === 'true') return true;
      if (l === 'false') return false;
      throw cimError('INVALID_PARAMETER', `${what}: "${s}" is not a boolean`);
    }
    case 'string': case 'char16': case 'datetime':
      return textValue;
    case 'real32': case 'real64': {
      const n = Number(s);
      if (s === '' || !Number.isFinite(n)) throw cimError('INVALID_PARAMETER', `${what}: "${s}" is not a number`);
      return n;
    }
    case 'reference':
      throw cimError('INVALID_PARAMETER', `${what}: expected a reference`);
    default: {
      const range = INT_RANGES[t.base];
      const n = /^[+-]?(0x[0-9a-f]+|\d+)$/i.test(s) ? Number(s.replace(/^\+/, '')) : NaN;
      if (!Number.isInteger(n) || n < range[0] || n > range[1]) throw cimError('INVALID_PARAMETER', `${what}: "${s}" is not a ${t.base}`);
      return n;
    }
  }
}

export function coerce(raw: RawValue, t: TypeInfo, what: string): CimValue {
  if (raw.kind === 'null') return t.array ? null : null;
  if (t.base === 'reference') {
    if (t.array) {
      if (raw.kind === 'refarray') return raw.paths;
      if (raw.kind === 'ref') return [raw.path];
      if (raw.kind === 'array' && raw.items.every((i) => i.trim() === '')) return [];
      throw cimError('INVALID_PARAMETER', `${what}: expected an array of references`);
    }
    if (raw.kind === 'ref') return raw.path;
    if (raw.kind === 'instancename') return raw.path;
    throw cimError('INVALID_PARAMETER', `${what}: expected a reference`);
  }
  if (t.array) {
    if (raw.kind === 'array') {
      // wbemcli writes an empty array as <VALUE.ARRAY><VALUE></VALUE></VALUE.ARRAY>
      if (t.base !== 'string' && raw.items.length === 1 && raw.items[0].trim() === '') return [];
      return raw.items.map((i, n) => scalar(i, t, `${what}[${n}]`));
    }
    if (raw.kind === 'value') return [scalar(raw.text, t, what)];
    throw cimError('INVALID_PARAMETER', `${what}: expected an array of ${t.base}`);
  }
  if (raw.kind === 'value') return scalar(raw.text, t, what);
  throw cimError('INVALID_PARAMETER', `${what}: expected a ${t.base} value`);
}
