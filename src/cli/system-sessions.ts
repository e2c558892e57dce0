/**
 * Reads the sessions of running systems from their HTTP servers (GET /api/sessions, see
 * src/metrics/http-server.ts) and prints them per target, as `targetcli sessions detail` does:
 * initiator name, address:port, ISID, TSIH, digests, connections. `iscsi-sim sessions` and
 * `iscsi-sim status` use it.
 */
import type { SessionsListing } from '../metrics/index.ts';
import type { SessionInfo } from '../system/session-info.ts';

export interface SessionsSource {
  readonly name: string;
  /** The system's HTTP server, e.g. http://127.0.0.1:9464 (no path). */
  readonly url: string;
}

export interface SystemSessions {
  readonly name: string;
  readonly url: string;
  readonly listing?: SessionsListing;
  /** Why the listing could not be read. */
  readonly error?: string;
}

export const SESSIONS_DEADLINE_MS = 2000;

/** The HTTP server's base URL from its /metrics URL (what lab.json and configs name). */
export function httpBaseOf(metricsUrl: string): string {
  return metricsUrl.replace(/\/metrics\/?$/, '');
}

export async function readSessions(sources: readonly SessionsSource[], timeoutMs = SESSIONS_DEADLINE_MS): Promise<SystemSessions[]> {
  return Promise.all(sources.map(async (source): Promise<SystemSessions> => {
    const url = `${source.url}/api/sessions`;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      if (!response.ok) return { ...source, error: `${url} answered ${response.status}` };
      const listing = await response.json() as SessionsListing;
      return { name: listing.system, url: source.url, listing };
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : (cause?.code ?? cause?.message ?? (error as Error).message);
      return { ...source, error: `not answering on ${url} (${reason})` };
    }
  }));
}

export function sessionsLines(systems: readonly SystemSessions[]): string[] {
  const lines: string[] = [];
  for (const system of systems) {
    lines.push(system.name === system.url ? `system at ${system.url}` : `system ${system.name} (${system.url})`);
    if (system.listing === undefined) {
      lines.push(`  ${system.error ?? 'no listing'}`);
      continue;
    }
    const { targets, sessions } = system.listing;
    for (const iqn of targets) lines.push(...group(`target ${iqn}`, sessions.filter((s) => s.target === iqn)));
    const discovery = sessions.filter((s) => s.target === undefined);
    if (discovery.length > 0) lines.push(...group('discovery', discovery));
  }
  return lines;
}

function group(title: string, sessions: readonly SessionInfo[]): string[] {
  if (sessions.length === 0) return [`  ${title}: no sessions`];
  const lines = [`  ${title}: ${sessions.length} session${sessions.length === 1 ? '' : 's'}`];
  for (const s of sessions) {
    lines.push(`    ${s.initiatorName}${s.initiatorAlias === undefined ? '' : ` (alias ${s.initiatorAlias})`}`);
    lines.push(`      address: ${s.initiatorAddress} via ${s.portal}  isid: ${s.isid}  tsih: ${s.tsih}`);
    lines.push(`      digests: header ${s.headerDigest}, data ${s.dataDigest}  connections: ${s.connections}  logged in: ${s.loggedInAt}`);
  }
  return lines;
}
