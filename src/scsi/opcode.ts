/**
 * The opcode table's shape: each descriptor decodes its CDB (`parse`) into a ParsedCommand or a
 * SenseFailure; the target then applies the shared checks (LBA range, data-out length, write
 * protection, reservations) before calling `run`. The same descriptors answer REPORT SUPPORTED
 * OPERATION CODES.
 */
import { ScsiStatus, type ScsiCommand, type ScsiResponse } from './command.ts';
import type { LogicalUnit } from './logical-unit.ts';
import { buildSense, type SenseFailure } from './sense.ts';
import type { CopyRecord } from './xcopy/copy-manager.ts';

/** What a command can see of the target (REPORT LUNS, nexus bookkeeping). */
export interface TargetContext {
  readonly targetIqn: string;
  readonly luns: readonly number[];
  /** TPGS in INQUIRY and REPORT TARGET PORT GROUPS. */
  readonly alua: boolean;
  /** 3PC in INQUIRY: EXTENDED COPY across this target's LUNs. */
  readonly extendedCopy: boolean;
  unitFor(lun: number): LogicalUnit | undefined;
  /** The opcode table (REPORT SUPPORTED OPERATION CODES answers from it). */
  readonly opcodes: ReadonlyMap<number, OpcodeEntry>;
  /** Portal group tags this target is reachable through (ALUA target port groups), ascending. */
  portalGroups(): number[];
  /** EXTENDED COPY results kept for RECEIVE COPY RESULTS, keyed `${nexusId}/${listId}`. */
  readonly copyResults: Map<string, CopyRecord>;
  /** Counters of completed copy offloads (status, tests: QEMU's convert uses XCOPY). */
  readonly copyOperations: { count: number; bytes: number };
  /** Every I_T nexus currently logged in to this target. */
  nexusIds(): Iterable<string>;
}

export interface ExecutionContext {
  readonly command: ScsiCommand;
  readonly unit: LogicalUnit;
  readonly target: TargetContext;
}

export type CommandOutcome = ScsiResponse | SenseFailure;

export interface ParsedCommand {
  /** Blocks the command touches; checked against the capacity (LBA OUT OF RANGE). */
  readonly range?: { readonly lba: number; readonly blocks: number };
  /**
   * A CDB problem reported only after the range check (a transfer longer than the Block Limits
   * page allows): libiscsi expects LBA OUT OF RANGE to win over it.
   */
  readonly afterRangeCheck?: SenseFailure;
  /** Bytes of Data-Out the CDB announces; a shorter Data-Out is refused before `run`. */
  readonly dataOutBytes?: number;
  /**
   * Accept a Data-Out shorter than dataOutBytes and let `run` decide (WRITE with EDTL < SPDTL:
   * libiscsi's iSCSIResiduals tests and tgt expect GOOD with what arrived written).
   */
  readonly acceptsShortDataOut?: boolean;
  /** Refuse a Data-Out longer than dataOutBytes too (WRITE SAME, COMPARE AND WRITE). */
  readonly exactDataOut?: boolean;
  /** Modifies the medium: refused on write-protected units. */
  readonly writesMedium?: boolean;
  /** Returns blocks of the medium as Data-In (READ family): counted as a read in the LUN's I/O totals. */
  readonly readsMedium?: boolean;
  /** Returns the response, or a SenseFailure the target turns into CHECK CONDITION. */
  run(context: ExecutionContext): CommandOutcome | Promise<CommandOutcome>;
}

/** How a command interacts with an SPC-2 RESERVE held by another nexus (SPC-2 §5.5.1 table 10). */
export type ReservationPolicy = 'conflict' | 'allowed';

export interface OpcodeDescriptor {
  readonly name: string;
  readonly opcode: number;
  readonly serviceAction?: number;
  readonly cdbLength: number;
  /** CDB USAGE DATA for REPORT SUPPORTED OPERATION CODES: byte 0 is the opcode, then the bits we honour. */
  readonly usageBits: readonly number[];
  readonly reservation: ReservationPolicy;
  /**
   * How the command meets a persistent reservation held by another nexus (SPC-4 §5.12.1): 'read'
   * and 'write' as the reservation type allows, 'none' always allowed. Default 'write'.
   */
  readonly access?: 'read' | 'write' | 'none';
  /** Also served for a LUN that does not exist (INQUIRY, REPORT LUNS, REQUEST SENSE). */
  readonly withoutUnit?: boolean;
  /** Neither reports nor clears a pending unit attention (SAM-5 §5.14: INQUIRY, REPORT LUNS, REQUEST SENSE). */
  readonly unitAttentionExempt?: boolean;
  /**
   * Served while the LU is not ready (a medium-access command gets NOT READY instead): 'always' also
   * during a sanitize (INQUIRY, REPORT LUNS, REQUEST SENSE: SBC-4 §4.11.2), 'without-medium' only while
   * a removable medium is out (commands about the device, not its medium). Default: refused.
   */
  readonly servedWhenNotReady?: 'always' | 'without-medium';
  /** Offered by this LU at all (SANITIZE only where configured); default: every LU. */
  offeredBy?(unit: LogicalUnit): boolean;
  /** Nominal/recommended timeouts in seconds for the RCTD timeouts descriptor. */
  readonly timeoutSeconds?: number;
  parse(cdb: Buffer, unit: LogicalUnit | undefined): ParsedCommand | SenseFailure;
}

/** An opcode whose CDB carries a service action (byte 1, bits 4-0). */
export interface ServiceActionOpcode {
  readonly opcode: number;
  readonly name: string;
  readonly serviceActions: ReadonlyMap<number, OpcodeDescriptor>;
}

export type OpcodeEntry = OpcodeDescriptor | ServiceActionOpcode;

export function hasServiceActions(entry: OpcodeEntry): entry is ServiceActionOpcode {
  return 'serviceActions' in entry;
}

/** The opcode's entry if this LU offers it (any of its service actions), else undefined. */
export function offeredEntry(entry: OpcodeEntry | undefined, unit: LogicalUnit): OpcodeEntry | undefined {
  if (entry === undefined) return undefined;
  if (!hasServiceActions(entry)) return entry.offeredBy === undefined || entry.offeredBy(unit) ? entry : undefined;
  return [...entry.serviceActions.values()].some((action) => action.offeredBy === undefined || action.offeredBy(unit)) ? entry : undefined;
}

export function offeredAction(entry: ServiceActionOpcode, serviceAction: number, unit: LogicalUnit): OpcodeDescriptor | undefined {
  const action = entry.serviceActions.get(serviceAction);
  return action !== undefined && (action.offeredBy === undefined || action.offeredBy(unit)) ? action : undefined;
}

// ---- responses ----

export function good(dataIn?: readonly Buffer[], release?: () => void): ScsiResponse {
  return { status: ScsiStatus.Good, dataIn, release };
}

/** Data-In truncated to the CDB's ALLOCATION LENGTH (SPC-4 §4.2.5.6). */
export function goodData(data: Buffer, allocationLength: number): ScsiResponse {
  return { status: ScsiStatus.Good, dataIn: [data.length > allocationLength ? data.subarray(0, allocationLength) : data] };
}

export function checkCondition(failure: SenseFailure): ScsiResponse {
  return { status: ScsiStatus.CheckCondition, sense: buildSense(failure) };
}

export const RESERVATION_CONFLICT: ScsiResponse = { status: ScsiStatus.ReservationConflict };

/** Builds a descriptor with defaults (reservation conflicts unless stated). */
export function defineOpcode(descriptor: Omit<OpcodeDescriptor, 'reservation'> & { reservation?: ReservationPolicy }): OpcodeDescriptor {
  return { reservation: 'conflict', ...descriptor };
}
