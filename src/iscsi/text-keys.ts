/**
 * Text key=value pairs of login and text PDUs (RFC 7143 §6.1): UTF-8, each pair NUL-terminated.
 */

export type KeyValue = readonly [key: string, value: string];

/** Parses a (possibly reassembled) text data segment. Pairs without '=' are reported as invalid. */
export function parseKeys(data: Buffer): { pairs: KeyValue[]; invalid: string[] } {
  const pairs: KeyValue[] = [];
  const invalid: string[] = [];
  let start = 0;
  while (start < data.length) {
    let end = data.indexOf(0, start);
    if (end < 0) end = data.length;
    if (end > start) {
      const text = data.toString('utf8', start, end);
      const eq = text.indexOf('=');
      if (eq <= 0) invalid.push(text);
      else pairs.push([text.slice(0, eq), text.slice(eq + 1)]);
    }
    start = end + 1;
  }
  return { pairs, invalid };
}

export function encodeKeys(pairs: readonly KeyValue[]): Buffer {
  if (pairs.length === 0) return Buffer.alloc(0);
  return Buffer.from(pairs.map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8');
}

/** RFC 7143 §6.1: numerical values in decimal or 0x-hex; undefined when not a valid number. */
export function parseNumber(value: string): number | undefined {
  if (/^[0-9]+$/.test(value)) return Number.parseInt(value, 10);
  if (/^0[xX][0-9a-fA-F]+$/.test(value)) return Number.parseInt(value.slice(2), 16);
  return undefined;
}

export function parseBoolean(value: string): boolean | undefined {
  if (value === 'Yes') return true;
  if (value === 'No') return false;
  return undefined;
}
