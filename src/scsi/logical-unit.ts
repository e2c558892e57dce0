/**
 * One logical unit: a backstore plus everything the SCSI layer keeps per LU — identity (INQUIRY,
 * VPD 0x80/0x83), mode pages, unit attentions per I_T nexus, the SPC-2 reservation, medium removal
 * prevention, a range lock for COMPARE AND WRITE, and its personality: a removable medium (loaded or
 * not), the physical block exponent (512e) and the sanitize state.
 */
import type { Backstore } from '../storage/backstore.ts';
import { BufferPool } from '../storage/buffer-pool.ts';
import type { LunFaults } from './faults/lun-faults.ts';
import { deriveNaa, deriveSerial } from './identity.ts';
import { PersistentReservations } from './pr/persistent-reservations.ts';
import { RangeLock } from './range-lock.ts';
import { Sanitizer } from './sbc/sanitizer.ts';
import { senseFailure, type SenseFailure } from './sense.ts';
import { ModePages } from './spc/mode-pages.ts';
import { UnitAttentions } from './unit-attentions.ts';

export interface LogicalUnitOptions {
  readonly lun: number;
  readonly backstore: Backstore;
  /** VPD 0x80 serial; derived from `naa` when absent. */
  readonly serial?: string;
  /**
   * 16 hex digits (NAA 3 locally assigned, see identity.ts lunIdentity). The system always passes the
   * identity it derived from its config; unit tests may leave it out (then derived from serial or LUN number).
   */
  readonly naa?: string;
  readonly vendor?: string;
  readonly product?: string;
  readonly revision?: string;
  /** Refuse writes with DATA PROTECT / WRITE PROTECTED (read-only LUNs, replica mirror targets). */
  readonly writeProtected?: boolean;
  /** Report LBPME and accept UNMAP / WRITE SAME with UNMAP; default: whether the backstore deallocates. */
  readonly thinProvisioning?: boolean;
  /** Where APTPL persistent reservations are saved (identity.ts lunIdentity); absent: kept in memory only. */
  readonly persistentReservationFile?: string;
  /** Buffers for Data-In (shared by the units of a system); a pool of its own when absent. */
  readonly readBuffers?: BufferPool;
  /** Fault rules injected into this LUN's commands (src/scsi/faults); none when absent. */
  readonly faults?: LunFaults;
  /** RMB=1: START STOP UNIT may eject and load the medium, PREVENT ALLOW MEDIUM REMOVAL guards it. */
  readonly removable?: boolean;
  /** LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (READ CAPACITY(16)); 3 with 512-byte blocks is 512e. */
  readonly physicalBlockExponent?: number;
  /** SANITIZE offered, each operation lasting at least this many milliseconds; absent = not offered. */
  readonly sanitizeMinimumMs?: number;
}

export class LogicalUnit {
  readonly lun: number;
  readonly backstore: Backstore;
  readonly serial: string;
  readonly naa: string;
  readonly vendor: string;
  readonly product: string;
  readonly revision: string;
  readonly thinProvisioning: boolean;
  /** Settable at run time (replication makes a mirror target read-only). */
  writeProtected: boolean;
  readonly removable: boolean;
  readonly physicalBlockExponent: number;
  /** Absent when SANITIZE is not offered. */
  readonly sanitizer: Sanitizer | undefined;
  /** A removable medium is loaded (always true for a fixed disk). */
  mediumPresent = true;

  /** The backstore's (fixed for its life): kept here, every READ/WRITE asks for it. */
  readonly blockSize: number;
  readonly modePages = new ModePages();
  readonly unitAttentions = new UnitAttentions();
  readonly rangeLock = new RangeLock();
  readonly persistentReservations: PersistentReservations;
  readonly readBuffers: BufferPool;
  readonly faults: LunFaults | undefined;
  /** SPC-2 RESERVE(6/10) holder. */
  reservationHolder: string | undefined;
  /** Nexuses that issued PREVENT ALLOW MEDIUM REMOVAL with PREVENT=1. */
  readonly preventingNexuses = new Set<string>();

  constructor(options: LogicalUnitOptions) {
    this.lun = options.lun;
    this.backstore = options.backstore;
    this.blockSize = options.backstore.blockSize;
    this.naa = (options.naa ?? deriveNaa(options.serial ?? `lun/${options.lun}`)).toLowerCase();
    if (!/^[0-9a-f]{16}$/.test(this.naa)) throw new Error(`naa must be 16 hex digits (got ${options.naa})`);
    this.serial = options.serial ?? deriveSerial(this.naa);
    this.vendor = options.vendor ?? 'ISCSISIM';
    this.product = options.product ?? 'iscsi-sim LUN';
    this.revision = options.revision ?? '0001';
    this.writeProtected = options.writeProtected ?? false;
    // On by default when the backstore really deallocates (a file with punch-hole, memory).
    this.thinProvisioning = options.thinProvisioning ?? options.backstore.capabilities.deallocate;
    // APTPL state (SPC-4 §5.12.5: survives power loss) where the LUN's identity says.
    this.persistentReservations = new PersistentReservations(options.persistentReservationFile);
    this.readBuffers = options.readBuffers ?? new BufferPool();
    this.faults = options.faults;
    this.removable = options.removable ?? false;
    this.physicalBlockExponent = options.physicalBlockExponent ?? 0;
    if (!Number.isInteger(this.physicalBlockExponent) || this.physicalBlockExponent < 0 || this.physicalBlockExponent > 15) {
      throw new Error(`physicalBlockExponent must be 0..15 (got ${options.physicalBlockExponent})`);
    }
    this.sanitizer = options.sanitizeMinimumMs === undefined ? undefined : new Sanitizer(options.sanitizeMinimumMs, `LUN ${this.lun}`);
  }

  /** Logical blocks per physical block (8 for 512e). */
  get logicalBlocksPerPhysicalBlock(): number {
    return 2 ** this.physicalBlockExponent;
  }

  /** Why the LU cannot serve media commands right now: a sanitize running, or no medium loaded. */
  notReady(): SenseFailure | undefined {
    return this.sanitizer?.notReady() ?? (this.mediumPresent ? undefined : senseFailure('medium-not-present'));
  }

  /** Capacity in logical blocks. */
  get blocks(): number {
    return Math.floor(this.backstore.sizeBytes / this.blockSize);
  }

  /** Write protection from any source (configuration, replication role, Control page SWP). */
  get isWriteProtected(): boolean {
    return this.writeProtected || this.modePages.softwareWriteProtect;
  }

  /** Writes without FUA must still be stable when the initiator turned the write cache off. */
  get writeCacheEnabled(): boolean {
    return this.modePages.writeCacheEnabled;
  }
}
