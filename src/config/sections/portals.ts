/**
 * `portals:` entries (address, port, portal group tag) and their duplicates.
 */
import { ConfigError } from '../errors.ts';
import { DEFAULTS } from '../defaults.ts';
import { Fields } from '../fields.ts';
import type { PortalConfig } from '../types.ts';
import { hostPort } from './values.ts';

export function portal(value: unknown, path: string): PortalConfig {
  if (typeof value === 'string') return { ...hostPort(value, path, DEFAULTS.iscsiPort), portalGroupTag: DEFAULTS.portalGroupTag };
  const fields = Fields.of(value, path, ['address', 'port', 'portalGroupTag']);
  const { address, port } = hostPort({ address: fields.raw('address'), port: fields.raw('port') }, path, DEFAULTS.iscsiPort);
  // RFC 7143 §13.9: TargetPortalGroupTag is a 16-bit value.
  return { address, port, portalGroupTag: fields.integer('portalGroupTag', 1, 65535, DEFAULTS.portalGroupTag) };
}

export function checkDuplicatePortals(portals: readonly PortalConfig[], path: string): void {
  const seen = new Map<string, number>();
  portals.forEach((p, index) => {
    if (p.port === 0) return; // each port-0 portal gets its own ephemeral port
    const key = `${p.address.toLowerCase()}|${p.port}`;
    const first = seen.get(key);
    if (first !== undefined) throw new ConfigError(`${path}[${index}]`, `${p.address}:${p.port} is already used by ${path}[${first}]`);
    seen.set(key, index);
  });
}
