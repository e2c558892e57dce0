/**
 * The contract between the fabric (src/iscsi) and the SCSI core (src/scsi). The fabric decodes PDUs,
 * collects all Data-Out for a command, then hands one ScsiCommand to a ScsiTargetDevice and sends
 * back what the ScsiResponse holds. The SCSI core never sees PDUs; the fabric never parses CDBs.
 */

/** An I_T nexus: one iSCSI session seen from the SCSI layer (reservations, unit attentions). */
export interface ItNexus {
  /** Stable while the session lives: `${initiatorName},i,0x${isid}` + target port. */
  readonly id: string;
  readonly initiatorName: string;
  /** 6-byte ISID as 12 hex digits. */
  readonly isid: string;
  readonly targetName: string;
  readonly portalGroupTag: number;
}

export const enum ScsiStatus {
  Good = 0x00,
  CheckCondition = 0x02,
  ConditionMet = 0x04,
  Busy = 0x08,
  ReservationConflict = 0x18,
  TaskSetFull = 0x28,
  AcaActive = 0x30,
  TaskAborted = 0x40,
}

export const enum TaskAttribute {
  Untagged = 0,
  Simple = 1,
  Ordered = 2,
  HeadOfQueue = 3,
  Aca = 4,
}

export interface ScsiCommand {
  readonly cdb: Buffer;
  readonly lun: number;
  readonly nexus: ItNexus;
  readonly taskAttribute: TaskAttribute;
  /** iSCSI ExpectedDataTransferLength (bytes the initiator expects to move, either direction). */
  readonly expectedLength: number;
  /** Whether the initiator set the R (read) / W (write) flags. */
  readonly readFlag: boolean;
  readonly writeFlag: boolean;
  /** Write payload in arrival order (views into receive buffers); total ≤ expectedLength. */
  readonly dataOut: readonly Buffer[];
  /** Total bytes in dataOut, counted once by the fabric as the data arrived. */
  readonly dataOutLength: number;
  /** Aborted by task management (ABORT TASK, LUN RESET, ...). */
  readonly signal: AbortSignal;
  /**
   * The same as `signal.aborted`, without creating the signal: producers that make signals lazily
   * offer it so the per-command check stays allocation-free.
   */
  readonly aborted?: boolean;
}

export interface ScsiResponse {
  readonly status: ScsiStatus;
  /** Sense data (fixed format, without the iSCSI 2-byte SenseLength prefix). */
  readonly sense?: Buffer;
  /**
   * Data-In as it was produced (chunks are sent back to back, never concatenated). Its total may be
   * more or less than expectedLength: the fabric sends min(total, expectedLength) and reports the
   * residual.
   */
  readonly dataIn?: readonly Buffer[];
  /**
   * Bytes the command's CDB asked to move (for residual reporting when it differs from
   * expectedLength); defaults to the dataIn total for reads and the dataOut total for writes.
   */
  readonly transferLength?: number;
  /** Called by the fabric once dataIn has been written to the socket (returns pooled buffers). */
  readonly release?: () => void;
  /**
   * Fault injection (a drop-connection rule): the fabric closes the connection instead of answering,
   * as a target that lost its link does; the reason is logged.
   */
  readonly dropConnection?: string;
}

export const enum TaskManagementFunction {
  AbortTask = 1,
  AbortTaskSet = 2,
  ClearAca = 3,
  ClearTaskSet = 4,
  LogicalUnitReset = 5,
  TargetWarmReset = 6,
  TargetColdReset = 7,
  TaskReassign = 8,
}

/** What the fabric needs from the SCSI side of one target. */
export interface ScsiTargetDevice {
  /** LUNs this target exposes, in order. */
  readonly luns: readonly number[];
  /**
   * The response, or a promise of it when the command must wait: a command served from memory (a
   * READ from the page cache) is answered in the same turn. Never throws or rejects.
   */
  execute(command: ScsiCommand): ScsiResponse | Promise<ScsiResponse>;
  /** Reset side effects in the SCSI layer (unit attentions, reservations) for LU or target resets. */
  reset(kind: 'lun' | 'target-warm' | 'target-cold', lun: number | undefined, nexus: ItNexus): void;
  /** A nexus appeared (login) / went away (logout, connection lost). */
  nexusAdded(nexus: ItNexus): void;
  nexusRemoved(nexus: ItNexus): void;
}
