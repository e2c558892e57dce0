/**
 * The parts a System is assembled from, behind small interfaces so the assembly can be tested with
 * fakes. `defaultComponents()` (src/app/default-components.ts) wires the real backstore, SCSI core, fabric and
 * CIM server.
 */
import type { CimConfig, KeepAliveConfig, LunConfig, PortalConfig, TargetConfig } from '../config/types.ts';
import type { ScsiTargetDevice } from '../scsi/command.ts';
import type { IoListener, LunIoTotals } from '../scsi/io-counters.ts';
import type { Backstore, ObservableBackstore } from '../storage/backstore.ts';
import type { TargetCatalog } from '../iscsi/catalog.ts';
import type { BackstoreOpenContext } from './backstore-registry.ts';
import type { SessionSummary } from '../iscsi/fabric.ts';
import type { SystemView } from './view.ts';

/** The per-LUN SCSI state whose write protection the system exposes (the SCSI core's LogicalUnit). */
export interface UnitHandle {
  writeProtected: boolean;
}

export interface UnitSpec {
  readonly config: LunConfig;
  readonly backstore: ObservableBackstore;
  readonly naa: string;
  readonly serial: string;
  /** APTPL state file (identity.ts lunIdentity); absent for a memory LUN. */
  readonly persistentReservationFile?: string;
}

/** Live counters of one SCSI target (the SCSI core updates them; readers only look). */
export interface TargetCounters {
  /** EXTENDED COPY operations completed and the bytes they moved (copy offload, e.g. qemu-img convert -C). */
  readonly copyOperations: { readonly count: number; readonly bytes: number };
  /** Per-LUN read/write totals and each completion (absent in fakes). */
  readonly io?: {
    readonly luns: ReadonlyMap<number, Readonly<LunIoTotals>>;
    observe(listener: IoListener): () => void;
  };
}

export interface BuiltTarget {
  readonly device: ScsiTargetDevice;
  /** One handle per LUN number. */
  readonly units: ReadonlyMap<number, UnitHandle>;
  /** Absent when the SCSI core keeps none (fakes). */
  readonly counters?: TargetCounters;
  /** A LUN grew: CAPACITY DATA HAS CHANGED to every I_T nexus (absent in fakes). */
  capacityChanged?(lun: number): void;
}

export interface BoundPortal {
  readonly address: string;
  readonly port: number;
}

export interface Fabric {
  listen(portal: PortalConfig): Promise<BoundPortal>;
  /** Closes all portals and sessions. */
  close(): Promise<void>;
  /** Sessions logged in right now, discovery ones included (absent in fakes). */
  sessions?(): readonly SessionSummary[];
}

export interface CimServerHandle {
  readonly url: string;
  /** Over HTTPS: the certificate's PEM file. */
  readonly certificateFile?: string;
  /** What the CIM state file could not save (collections, jobs); undefined when it is current. */
  persistProblem?(): string | undefined;
  close(): Promise<void>;
}

/** Fabric settings from the system's config. */
export interface FabricSettings {
  readonly keepAlive?: KeepAliveConfig;
}

export interface SystemComponents {
  /** The plug-in `lun.backstore` names (backstore-registry.ts); the system wraps it for change capture. */
  openBackstore(lun: LunConfig, context: BackstoreOpenContext): Promise<Backstore>;
  buildTarget(target: TargetConfig, units: readonly UnitSpec[]): BuiltTarget;
  createFabric(catalog: TargetCatalog, options?: FabricSettings): Fabric;
  /** Undefined while the CIM server is not part of the build. */
  startCim?: (view: SystemView, cim: CimConfig) => Promise<CimServerHandle>;
}
