/**
 * What the dashboard page receives (JSON over /api/dashboard and its SSE stream), the same for one
 * system's page and the lab's aggregate: a list of systems, the mirror pairs, samples over time and
 * recent events. Plain data, no behaviour.
 */
import type { SessionInfo } from '../../system/session-info.ts';

export interface LunState {
  readonly lun: number;
  readonly sizeBytes: number;
  readonly blockSize: number;
  readonly naa: string;
  readonly file?: string;
  /** Writes get DATA PROTECT (a mirror target, a fenced source, readOnly). */
  readonly writeProtected: boolean;
  readonly readBytesPerSecond: number;
  readonly writeBytesPerSecond: number;
  readonly readOpsPerSecond: number;
  readonly writeOpsPerSecond: number;
}

export interface TargetState {
  readonly iqn: string;
  readonly alias?: string;
  readonly luns: readonly LunState[];
}

export interface PortalState {
  /** "address:port" ([v6]:port), with the portal group tag apart. */
  readonly hostPort: string;
  readonly portalGroupTag: number;
  readonly listening: boolean;
}

/** A mirror pair as one system sees it (the source's figures are the authoritative ones). */
export interface PairState {
  readonly pairId: string;
  /** "system:iqn/lun". */
  readonly source: string;
  readonly target: string;
  readonly mode: string;
  readonly phase: string;
  readonly role: 'source' | 'target';
  /** Which system reported it. */
  readonly reportedBy: string;
  readonly percentSynced: number;
  /** The highest RPO seen since the previous sample (a spike between samples is not lost). */
  readonly rpoSeconds: number;
  /** The most bytes behind seen since the previous sample. */
  readonly bytesBehind: number;
  readonly throughputBytesPerSecond: number;
  /** false: the source has not published its lag lately (RPO unknown). */
  readonly lagKnown: boolean;
  readonly splitBrain?: { readonly detectedAt: string; readonly changes: Readonly<Record<string, number>> };
  readonly lastTransfer?: { readonly operation: string; readonly from: string; readonly grains: number; readonly bytes: number; readonly at: string };
  readonly dirtyMapError?: string;
  /** The emulated replication link's conditions when any is set ("partitioned", "latency 50 ms, …"). */
  readonly link?: string;
}

export interface SystemState {
  readonly name: string;
  /** The lab's role for it. */
  readonly role?: 'primary' | 'peer';
  /** false when the lab could not read it (then `error` says why and the rest is empty). */
  readonly reachable: boolean;
  readonly error?: string;
  readonly ready: boolean;
  readonly problems: readonly string[];
  readonly portals: readonly PortalState[];
  readonly targets: readonly TargetState[];
  readonly sessions: readonly SessionInfo[];
  readonly pairs: readonly PairState[];
  /** The system's fault rules (as GET /api/faults lists them: id, target, lun, action, seen, fired…); absent without fault injection. */
  readonly faults?: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

/** One point of every plotted series, taken once a second. */
export interface DashboardSample {
  /** Unix time, seconds. */
  readonly t: number;
  /** Per pair id. */
  readonly pairs: Readonly<Record<string, { readonly rpoSeconds: number | null; readonly bytesBehind: number; readonly throughputBytesPerSecond: number }>>;
  /** Per "system:iqn/lun". */
  readonly luns: Readonly<Record<string, { readonly readBytesPerSecond: number; readonly writeBytesPerSecond: number }>>;
}

export type DashboardEventKind = 'failover' | 'failback' | 'resync' | 'split-brain' | 'phase' | 'transfer' | 'link' | 'fault' | 'session' | 'system';

export interface DashboardEvent {
  /** ISO 8601. */
  readonly at: string;
  readonly kind: DashboardEventKind;
  readonly message: string;
  readonly pairId?: string;
  readonly system?: string;
}

export interface DashboardState {
  /** The page's title: the system's name, or "lab". */
  readonly title: string;
  readonly at: string;
  readonly systems: readonly SystemState[];
  /** Every pair once (the source's report preferred). */
  readonly pairs: readonly PairState[];
}

/** What every message to the page carries: the state now and the events since the last message. */
interface DashboardMessage {
  readonly state: DashboardState;
  /** Oldest first. */
  readonly events: readonly DashboardEvent[];
}

/** GET /api/dashboard and the stream's first message. */
export interface DashboardSnapshot extends DashboardMessage {
  /** Oldest first; up to the last 15 minutes. */
  readonly samples: readonly DashboardSample[];
}

/** Each later stream message. */
export interface DashboardUpdate extends DashboardMessage {
  readonly sample: DashboardSample;
}
