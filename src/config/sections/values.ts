/**
 * Field values several config sections share: host:port, sizes, URLs, iSCSI and system names.
 */
import { ConfigError } from '../errors.ts';
import { Fields, describe } from '../fields.ts';
import { iscsiNameProblem, normalizeIscsiName } from '../names.ts';
import { addressProblem, parseHostPort } from '../portal-address.ts';
import { parseSize } from '../size.ts';

export const SYSTEM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function hostPort(value: unknown, path: string, defaultPort: number): { address: string; port: number } {
  if (typeof value === 'string') {
    try {
      return parseHostPort(value, defaultPort);
    } catch (error) {
      throw new ConfigError(path, (error as Error).message);
    }
  }
  const fields = Fields.of(value, path, ['address', 'port']);
  const address = fields.string('address');
  const problem = addressProblem(address);
  if (problem !== undefined) fields.fail('address', problem);
  return { address, port: fields.integer('port', 0, 65535, defaultPort) };
}

export function iscsiName(fields: Fields, key: string, text: string): string {
  const problem = iscsiNameProblem(text);
  if (problem !== undefined) fields.fail(key, problem);
  return normalizeIscsiName(text);
}

/** A size field: 512, "64K", "1G", "10T". */
export function size(fields: Fields, key: string): number {
  const value = fields.raw(key);
  const parsed = typeof value === 'string' || typeof value === 'number' ? parseSize(value) : undefined;
  if (parsed === undefined) fields.fail(key, `${describe(value)} is not a size (use 512, 64K, 1G, 10T)`);
  return parsed;
}

export function url(fields: Fields, key: string, protocols: readonly string[]): string {
  const text = fields.string(key);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return fields.fail(key, `"${text}" is not a URL`);
  }
  if (!protocols.includes(parsed.protocol)) fields.fail(key, `"${text}" must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  return text;
}
