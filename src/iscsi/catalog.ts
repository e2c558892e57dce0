/**
 * What the fabric needs to know about the system it serves: targets (with their SCSI device, ACLs,
 * CHAP) and portal groups (for SendTargets). The system assembly (src/system) implements it over the
 * live objects, so CIM, the CLI and the fabric all see the same state.
 */
import type { ScsiTargetDevice } from '../scsi/command.ts';

export interface ChapCredentials {
  /** What the initiator must answer with (target authenticates initiator). */
  readonly user: string;
  readonly secret: string;
  /** Mutual CHAP: what the target answers with when the initiator challenges it. */
  readonly mutualUser?: string;
  readonly mutualSecret?: string;
}

export interface PortalAddress {
  readonly address: string;
  readonly port: number;
  readonly portalGroupTag: number;
}

export interface TargetEntry {
  readonly iqn: string;
  readonly alias?: string;
  /** Portal group tags this target is reachable through. */
  readonly portalGroupTags: readonly number[];
  /** Initiator names allowed to log in; empty = any initiator. */
  readonly allowedInitiators: readonly string[];
  readonly chap?: ChapCredentials;
  readonly device: ScsiTargetDevice;
}

export interface TargetCatalog {
  targets(): readonly TargetEntry[];
  target(iqn: string): TargetEntry | undefined;
  /** Portals of one portal group, as listening (address, port). */
  portalsOfGroup(portalGroupTag: number): readonly PortalAddress[];
  /** CHAP credentials for discovery sessions, if discovery requires authentication. */
  readonly discoveryChap?: ChapCredentials;
}
