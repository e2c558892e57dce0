/**
 * A read-and-control view of one running simulated system, shared by the CIM providers, the CLI and
 * replication. Implemented by src/system/system.ts over the live objects: nothing here holds state
 * of its own.
 */
import type { ObservableBackstore } from '../storage/backstore.ts';

export interface PortalView {
  readonly address: string;
  readonly port: number;
  readonly portalGroupTag: number;
  /** Whether the net.Server is listening right now. */
  readonly listening: boolean;
}

export interface LunView {
  readonly targetIqn: string;
  readonly lun: number;
  /** The backing file; absent for a memory LUN. */
  readonly file?: string;
  readonly sizeBytes: number;
  readonly blockSize: number;
  /** NAA designator (VPD 0x83), 16 hex digits, unique per LUN; used as the StorageVolume DeviceID. */
  readonly naa: string;
  readonly serial: string;
  /** Wrapped for change capture (ObservedBackstore), whatever the plug-in underneath. */
  readonly backstore: ObservableBackstore;
  /** Read-only to ordinary initiators (e.g. while a mirror target): writes get DATA PROTECT. */
  writeProtected: boolean;
}

export interface TargetView {
  readonly iqn: string;
  readonly alias?: string;
  readonly portalGroupTags: readonly number[];
  readonly luns: readonly LunView[];
}

export interface PeerView {
  readonly name: string;
  readonly cimUrl: string;
  readonly user?: string;
  readonly password?: string;
  /** PEM file to trust for an https cimUrl. */
  readonly ca?: string;
  /** Accept any certificate from an https cimUrl. */
  readonly insecure?: boolean;
}

export interface SystemView {
  readonly name: string;
  readonly stateDir: string;
  readonly portals: readonly PortalView[];
  readonly targets: readonly TargetView[];
  readonly peers: readonly PeerView[];
  /** The CIM endpoint of this system (for references others make to it). */
  readonly cimUrl: string | undefined;
  lun(targetIqn: string, lun: number): LunView | undefined;
}
