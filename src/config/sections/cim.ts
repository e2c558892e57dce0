/**
 * The `cim:` section: address, basic auth, HTTPS, and when an unauthenticated bind is allowed.
 */
import { resolve } from 'node:path';
import { DEFAULTS } from '../defaults.ts';
import { exposureProblem } from '../exposure.ts';
import { Fields, describe } from '../fields.ts';
import { addressProblem } from '../portal-address.ts';
import type { CimConfig, CimTlsConfig } from '../types.ts';

/**
 * No `cim` section: CIM off. A `cim` section: on (unless enabled: false), 127.0.0.1:5988 by default;
 * with `https` (true, or {cert, key}) HTTPS on 5989. Basic auth needs HTTPS unless allowBasicAuthOverHttp.
 */
export function cim(value: unknown, path: string, baseDir: string): CimConfig {
  if (value === undefined || value === null) return { enabled: false, address: DEFAULTS.cimAddress, port: DEFAULTS.cimPort };
  const fields = Fields.of(value, path, ['enabled', 'address', 'port', 'user', 'password', 'allowUnauthenticated', 'https', 'allowBasicAuthOverHttp']);
  const address = fields.optionalString('address') ?? DEFAULTS.cimAddress;
  const problem = addressProblem(address);
  if (problem !== undefined) fields.fail('address', problem);
  const user = fields.optionalString('user');
  const password = fields.optionalString('password');
  if ((user === undefined) !== (password === undefined)) fields.fail(user === undefined ? 'user' : 'password', 'HTTP basic auth needs both user and password');
  const enabled = fields.boolean('enabled', true);
  const allowUnauthenticated = fields.boolean('allowUnauthenticated', false);
  const exposure = exposureProblem({ field: path, what: 'CIM-XML', address, authenticated: user !== undefined });
  if (enabled && exposure !== undefined && !allowUnauthenticated) fields.fail('address', exposure);
  const https = cimHttps(fields, baseDir);
  const allowBasicAuthOverHttp = fields.boolean('allowBasicAuthOverHttp', false);
  if (user !== undefined && https === undefined && !allowBasicAuthOverHttp) {
    fields.fail('user', 'basic auth over plain HTTP sends the password in clear text: serve CIM over HTTPS (https: true, or https: {cert, key}) or set allowBasicAuthOverHttp: true');
  }
  return {
    enabled,
    address,
    port: fields.integer('port', 0, 65535, https === undefined ? DEFAULTS.cimPort : DEFAULTS.cimHttpsPort),
    ...(user === undefined ? {} : { user, password }),
    ...(allowUnauthenticated ? { allowUnauthenticated } : {}),
    ...(https === undefined ? {} : { https }),
    ...(allowBasicAuthOverHttp ? { allowBasicAuthOverHttp } : {}),
  };
}

/** `https: true` (self-signed in the state dir), `https: {cert, key}` (PEM files), or absent/false. */
function cimHttps(fields: Fields, baseDir: string): CimTlsConfig | undefined {
  const value = fields.raw('https');
  if (value === undefined || value === false) return undefined;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fields.fail('https', `expected true, false or {cert, key}, got ${describe(value)}`);
  const tls = Fields.of(value, fields.at('https'), ['cert', 'key']);
  const cert = tls.optionalString('cert');
  const key = tls.optionalString('key');
  if ((cert === undefined) !== (key === undefined)) tls.fail(cert === undefined ? 'cert' : 'key', 'needs both cert and key (PEM files), or neither for a self-signed certificate made in the state dir');
  if (cert === undefined || key === undefined) return {};
  return { cert: resolve(baseDir, cert), key: resolve(baseDir, key) };
}
