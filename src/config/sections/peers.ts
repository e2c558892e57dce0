/**
 * `peers:` entries (the other systems' CIM servers) and their duplicate names.
 */
import { resolve } from 'node:path';
import { ConfigError } from '../errors.ts';
import { Fields } from '../fields.ts';
import type { PeerConfig } from '../types.ts';
import { SYSTEM_NAME, url } from './values.ts';

export function checkPeers(peers: PeerConfig[], systemName: string, path: string): PeerConfig[] {
  const seen = new Map<string, number>();
  peers.forEach((entry, index) => {
    if (entry.name === systemName) throw new ConfigError(`${path}[${index}].name`, `"${entry.name}" is this system's own name`);
    const first = seen.get(entry.name);
    if (first !== undefined) throw new ConfigError(`${path}[${index}].name`, `"${entry.name}" is already used by ${path}[${first}]`);
    seen.set(entry.name, index);
  });
  return peers;
}

export function peer(value: unknown, path: string, baseDir: string): PeerConfig {
  const fields = Fields.of(value, path, ['name', 'cimUrl', 'user', 'password', 'ca', 'insecure']);
  const name = fields.string('name');
  if (!SYSTEM_NAME.test(name)) fields.fail('name', `"${name}" must be 1-63 letters, digits, '.', '_' or '-'`);
  const user = fields.optionalString('user');
  const password = fields.optionalString('password');
  const cimUrl = url(fields, 'cimUrl', ['http:', 'https:']);
  const ca = fields.optionalString('ca');
  const insecure = fields.boolean('insecure', false);
  if ((ca !== undefined || insecure) && !cimUrl.startsWith('https:')) fields.fail(ca !== undefined ? 'ca' : 'insecure', `applies to an https cimUrl only (cimUrl is ${cimUrl})`);
  if (ca !== undefined && insecure) fields.fail('insecure', 'give ca (trust that certificate) or insecure (trust any), not both');
  return {
    name,
    cimUrl,
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    ...(ca === undefined ? {} : { ca: resolve(baseDir, ca) }),
    ...(insecure ? { insecure } : {}),
  };
}
