/**
 * The `metrics:` section: the system's HTTP server (Prometheus /metrics and the JSON API).
 */
import { ConfigError } from '../errors.ts';
import { DEFAULTS } from '../defaults.ts';
import { exposureProblem } from '../exposure.ts';
import { Fields } from '../fields.ts';
import type { MetricsConfig } from '../types.ts';
import { hostPort } from './values.ts';

/**
 * `"HOST:PORT"` or `{address, port, allowUnauthenticated?, token?}`. GET (/metrics, /api/sessions)
 * has no authentication; the controls (POST/DELETE /api/faults, ...) need the bearer token when one
 * is set. A non-loopback bind needs a token or allowUnauthenticated.
 */
export function metrics(value: unknown, path: string): MetricsConfig {
  const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
  const fields = isObject ? Fields.of(value, path, ['address', 'port', 'allowUnauthenticated', 'token']) : undefined;
  const allowUnauthenticated = fields?.boolean('allowUnauthenticated', false) ?? false;
  const token = fields?.optionalString('token');
  if (token !== undefined && !/^[\x21-\x7e]{16,}$/.test(token)) fields?.fail('token', 'must be at least 16 printable characters without spaces');
  const hostValue = isObject ? { address: (value as Record<string, unknown>).address, port: (value as Record<string, unknown>).port } : value;
  const { address, port } = hostPort(hostValue, path, DEFAULTS.metricsPort);
  const exposure = exposureProblem({ field: path, what: 'Prometheus /metrics', address, authenticated: token !== undefined });
  if (exposure !== undefined && !allowUnauthenticated) throw new ConfigError(typeof value === 'string' ? path : `${path}.address`, exposure);
  return { address, port, ...(allowUnauthenticated ? { allowUnauthenticated } : {}), ...(token === undefined ? {} : { token }) };
}
