/**
 * Management surfaces never open by accident: CIM-XML can fail over, detach and create collections,
 * and /metrics describes the system, so a bind reachable from other hosts without authentication is
 * a config error unless the section says `allowUnauthenticated: true` (then `serve` warns at start).
 */
import { isIP } from 'node:net';
import type { SystemConfig } from './types.ts';

/** Only the loopback network: 127.0.0.0/8, ::1, ::ffff:127.x and the name localhost. */
export function isLoopbackAddress(address: string): boolean {
  const lower = address.toLowerCase();
  if (lower === 'localhost') return true;
  if (isIP(lower) === 4) return lower.startsWith('127.');
  if (isIP(lower) === 6) return lower === '::1' || /^::ffff:127\./.test(lower) || /^(0{1,4}:){7}0{0,3}1$/.test(lower);
  return false;
}

export interface HttpSurface {
  /** The config section, for messages: `cim`, `metrics`. */
  readonly field: string;
  readonly what: string;
  readonly address: string;
  readonly authenticated: boolean;
}

/** Why this surface may not be served as configured, or undefined when it may. */
export function exposureProblem(surface: HttpSurface): string | undefined {
  if (surface.authenticated || isLoopbackAddress(surface.address)) return undefined;
  return `${surface.what} on ${surface.address} (not loopback) without authentication is reachable by anyone on the network; bind 127.0.0.1, set user and password (cim) or a token (metrics), or set allowUnauthenticated: true`;
}

export function exposureWarning(surface: HttpSurface): string {
  return `${surface.what} is served on ${surface.address} without authentication (${surface.field}.allowUnauthenticated: true): anyone who can reach it can use it`;
}

/** What `serve` warns about at start: surfaces opened to the network on purpose (allowUnauthenticated). */
export function startupExposureWarnings(config: SystemConfig): string[] {
  const surfaces: HttpSurface[] = [];
  if (config.cim.enabled) surfaces.push({ field: 'cim', what: 'CIM-XML', address: config.cim.address, authenticated: config.cim.user !== undefined });
  if (config.metrics !== undefined) surfaces.push({ field: 'metrics', what: 'Prometheus /metrics', address: config.metrics.address, authenticated: config.metrics.token !== undefined });
  return surfaces.filter((surface) => exposureProblem(surface) !== undefined).map(exposureWarning);
}
