/**
 * Logged-in sessions as the system reports them (`/api/sessions`, `iscsi-sim sessions`): one flat,
 * JSON-ready record per session, like `targetcli sessions detail` shows them, built from the
 * fabric's session registry listing.
 */
import { formatHostPort } from '../config/portal-address.ts';
import type { SessionSummary } from '../iscsi/fabric.ts';

export interface SessionInfo {
  /** Undefined for discovery sessions. */
  readonly target: string | undefined;
  readonly sessionType: 'Normal' | 'Discovery';
  readonly initiatorName: string;
  readonly initiatorAlias?: string;
  /** "address:port" of the initiator's connection. */
  readonly initiatorAddress: string;
  /** The portal it came in through: "address:port,tpgt". */
  readonly portal: string;
  /** 12 hex digits. */
  readonly isid: string;
  readonly tsih: number;
  readonly headerDigest: 'CRC32C' | 'None';
  readonly dataDigest: 'CRC32C' | 'None';
  readonly connections: number;
  /** ISO 8601. */
  readonly loggedInAt: string;
  readonly outstandingTasks: number;
}

export function sessionInfo(session: SessionSummary): SessionInfo {
  return {
    target: session.target,
    sessionType: session.sessionType,
    initiatorName: session.initiatorName,
    ...(session.initiatorAlias === undefined ? {} : { initiatorAlias: session.initiatorAlias }),
    initiatorAddress: session.initiatorAddress,
    portal: `${formatHostPort(session.portal.address, session.portal.port)},${session.portal.portalGroupTag}`,
    isid: session.isid,
    tsih: session.tsih,
    headerDigest: session.parameters.headerDigest ? 'CRC32C' : 'None',
    dataDigest: session.parameters.dataDigest ? 'CRC32C' : 'None',
    connections: session.connections,
    loggedInAt: session.startedAt.toISOString(),
    outstandingTasks: session.outstandingTasks,
  };
}
