/**
 * What `serve` prints once every portal listens: one stdout line `iscsi-sim ready: {JSON}` for
 * scripts and tests (portals, targets, LUNs, CIM URL), and a human summary for the log.
 */
import { formatHostPort } from '../config/portal-address.ts';
import { formatSize } from '../config/size.ts';
import type { SystemSummary } from './system.ts';

export const READY_PREFIX = 'iscsi-sim ready: ';

export function readyLine(summary: SystemSummary): string {
  return `${READY_PREFIX}${JSON.stringify(summary)}`;
}

/** Parses a ready line back (tests and scripts); undefined for any other line. */
export function parseReadyLine(line: string): SystemSummary | undefined {
  const at = line.indexOf(READY_PREFIX);
  if (at < 0) return undefined;
  try {
    return JSON.parse(line.slice(at + READY_PREFIX.length)) as SystemSummary;
  } catch {
    return undefined;
  }
}

export function readySummaryText(summary: SystemSummary): string {
  const portals = summary.portals.map((p) => `${formatHostPort(p.address, p.port)},${p.portalGroupTag}`).join(' ');
  const targets = summary.targets
    .map((t) => `${t.iqn} [${t.luns.map((l) => `LUN ${l.lun} ${formatSize(l.sizeBytes)}`).join(', ')}]`)
    .join('; ');
  const cim = summary.cimUrl === undefined ? '' : ` cim ${summary.cimUrl}`;
  const http = summary.httpUrl === undefined ? '' : ` http ${summary.httpUrl} (/metrics, /healthz, /api/sessions, dashboard /dashboard/)`;
  return `system ${summary.name} ready: portals ${portals} targets ${targets}${cim}${http}`;
}
