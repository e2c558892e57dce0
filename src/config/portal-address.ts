/** "HOST:PORT" and "[v6]:PORT" as used by portals in config files and `--listen`. */
import { isIP } from 'node:net';

export interface HostPort {
  readonly address: string;
  readonly port: number;
}

const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i;

/** Why `address` cannot be listened on, or undefined when it is an IP literal or a host name. */
export function addressProblem(address: string): string | undefined {
  if (isIP(address) !== 0 || HOSTNAME.test(address)) return undefined;
  return `"${address}" is not an IPv4/IPv6 address or host name`;
}

/** Parses HOST:PORT, [IPV6]:PORT or a bare IPv6 literal with `defaultPort`. Throws a plain message. */
export function parseHostPort(text: string, defaultPort?: number): HostPort {
  const trimmed = text.trim();
  let address: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed !== null) {
    address = bracketed[1];
    portText = bracketed[2];
  } else if (isIP(trimmed) === 6) {
    address = trimmed;
  } else {
    const colon = trimmed.lastIndexOf(':');
    address = colon < 0 ? trimmed : trimmed.slice(0, colon);
    portText = colon < 0 ? undefined : trimmed.slice(colon + 1);
  }
  const problem = addressProblem(address);
  if (problem !== undefined) throw new Error(problem);
  if (portText === undefined) {
    if (defaultPort === undefined) throw new Error(`"${text}" has no port (use HOST:PORT or [IPV6]:PORT)`);
    return { address, port: defaultPort };
  }
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new Error(`"${portText}" is not a port (0..65535)`);
  return { address, port };
}

/** The form initiators and SendTargets use: 127.0.0.1:3260, [::1]:3260. */
export function formatHostPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
