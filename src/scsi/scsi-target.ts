/**
 * One SCSI target device: its logical units, the I_T nexuses logged in, and the command dispatcher
 * (SAM-5 order: LUN → unit attention → reservation → CDB parse → shared range / protection /
 * data-out checks → execute). Every failure becomes a CHECK CONDITION; nothing throws to the fabric.
 */
import { performance } from 'node:perf_hooks';
import { MediumError, SpaceAllocationError, WriteRecordError } from '../storage/backstore.ts';
import { logger } from '../util/log.ts';
import { ScsiStatus, type ItNexus, type ScsiCommand, type ScsiResponse, type ScsiTargetDevice } from './command.ts';
import { injectFault } from './faults/inject.ts';
import type { LunFaults } from './faults/lun-faults.ts';
import { TargetIoCounters, type IoKind } from './io-counters.ts';
import type { LogicalUnit } from './logical-unit.ts';
import {
  checkCondition, goodData, hasServiceActions, offeredAction, offeredEntry, RESERVATION_CONFLICT,
  type CommandOutcome, type ExecutionContext, type OpcodeDescriptor, type OpcodeEntry, type ParsedCommand, type TargetContext,
} from './opcode.ts';
import { DEFAULT_OPCODE_TABLE } from './opcode-table.ts';
import { buildSense, invalidCdbField, isSenseFailure, senseFailure, type SenseFailure } from './sense.ts';
import { standardInquiry } from './spc/inquiry.ts';
import { reportLuns } from './spc/report-luns.ts';
import type { CopyRecord } from './xcopy/copy-manager.ts';

export interface ScsiTargetOptions {
  readonly targetIqn: string;
  readonly units: readonly LogicalUnit[];
  /** Report TPGS and serve REPORT TARGET PORT GROUPS (default true). */
  readonly alua?: boolean;
  /** Portal group tags of this target (ALUA groups); groups of logged-in nexuses are added. */
  readonly portalGroupTags?: readonly number[];
  /** Override the opcode table (tests). */
  readonly opcodes?: ReadonlyMap<number, OpcodeEntry>;
}

const OP_INQUIRY = 0x12;
const OP_REQUEST_SENSE = 0x03;
const OP_REPORT_LUNS = 0xa0;

let log: ReturnType<typeof logger.child> | undefined;
function scsiLog() {
  log ??= logger.child({ component: 'scsi' });
  return log;
}

export class ScsiTarget implements ScsiTargetDevice, TargetContext {
  readonly targetIqn: string;
  readonly luns: readonly number[];
  readonly alua: boolean;
  readonly extendedCopy: boolean;
  readonly opcodes: ReadonlyMap<number, OpcodeEntry>;
  private readonly units = new Map<number, LogicalUnit>();
  private readonly nexuses = new Map<string, ItNexus>();
  readonly copyResults = new BoundedMap<CopyRecord>(64);
  readonly copyOperations = { count: 0, bytes: 0 };
  /** Per-LUN read/write totals and completions (metrics read them). */
  readonly io: TargetIoCounters;
  private readonly configuredGroups: readonly number[];

  constructor(options: ScsiTargetOptions) {
    this.targetIqn = options.targetIqn;
    this.configuredGroups = options.portalGroupTags ?? [];
    for (const unit of options.units) {
      if (this.units.has(unit.lun)) throw new Error(`duplicate LUN ${unit.lun} in ${options.targetIqn}`);
      this.units.set(unit.lun, unit);
    }
    this.luns = [...this.units.keys()].sort((a, b) => a - b);
    this.io = new TargetIoCounters(this.luns);
    this.opcodes = options.opcodes ?? DEFAULT_OPCODE_TABLE;
    this.alua = options.alua ?? hasRtpg(this.opcodes);
    this.extendedCopy = this.opcodes.has(0x83);
  }

  unitFor(lun: number): LogicalUnit | undefined {
    return this.units.get(lun);
  }

  portalGroups(): number[] {
    const tags = new Set(this.configuredGroups);
    for (const n of this.nexuses.values()) tags.add(n.portalGroupTag);
    if (tags.size === 0) tags.add(1);
    return [...tags].sort((a, b) => a - b);
  }

  nexusIds(): Iterable<string> {
    return this.nexuses.keys();
  }

  /**
   * The response, or a promise of it when the command had to wait (I/O not in the page cache, a
   * lock, a listener): a READ served from memory is answered in the same turn, without a promise.
   * Never throws or rejects: every failure is a CHECK CONDITION.
   */
  execute(command: ScsiCommand): ScsiResponse | Promise<ScsiResponse> {
    let result: ScsiResponse | Promise<ScsiResponse>;
    try {
      result = this.dispatch(command);
    } catch (error) {
      return this.failed(command, error);
    }
    if (result instanceof Promise) return result.catch((error: unknown) => this.failed(command, error));
    return result;
  }

  private failed(command: ScsiCommand, error: unknown): ScsiResponse {
    // An injected bad block (logged and counted where it fired).
    if (error instanceof MediumError) return checkCondition(senseFailure('unrecovered-read-error', { information: error.lba }));
    scsiLog().error({ err: error, lun: command.lun, opcode: command.cdb[0] }, 'SCSI command failed');
    if (error instanceof WriteRecordError) return checkCondition(senseFailure('hardware-write-error'));
    if (error instanceof SpaceAllocationError) return checkCondition(senseFailure('space-allocation-failed-write-protect'));
    return checkCondition(senseFailure('internal-target-failure'));
  }

  reset(kind: 'lun' | 'target-warm' | 'target-cold', lun: number | undefined, _nexus: ItNexus): void {
    const affected = kind === 'lun' ? [this.units.get(lun ?? -1)].filter((u) => u !== undefined) : [...this.units.values()];
    for (const unit of affected) {
      // SPC-2 reservations and PREVENT state do not survive a reset; persistent reservations do (SPC-4 §5.12.1).
      unit.reservationHolder = undefined;
      unit.preventingNexuses.clear();
      // Every nexus, the issuing one included, gets the unit attention (SAM-5 §5.14; libiscsi's
      // MultipathIO.Reset checks both paths).
      unit.unitAttentions.raiseAll(this.nexuses.keys(), kind === 'lun' ? 'bus-device-reset' : 'power-on-reset');
    }
  }

  /** After a LUN's backstore was resized: CAPACITY DATA HAS CHANGED for every nexus (SBC-3 §4.11). */
  capacityChanged(lun: number): void {
    this.units.get(lun)?.unitAttentions.raiseAll(this.nexuses.keys(), 'capacity-data-changed');
  }

  nexusAdded(nexus: ItNexus): void {
    this.nexuses.set(nexus.id, nexus);
    for (const unit of this.units.values()) unit.unitAttentions.raise(nexus.id, 'power-on-reset');
  }

  nexusRemoved(nexus: ItNexus): void {
    this.nexuses.delete(nexus.id);
    for (const unit of this.units.values()) {
      if (unit.reservationHolder === nexus.id) unit.reservationHolder = undefined;
      unit.preventingNexuses.delete(nexus.id);
      unit.unitAttentions.clear(nexus.id);
    }
  }

  /** Synchronous up to the command's own work; may throw (execute() turns that into a sense). */
  private dispatch(command: ScsiCommand): ScsiResponse | Promise<ScsiResponse> {
    const { cdb } = command;
    if (cdb.length < 6) return checkCondition(senseFailure('invalid-opcode'));
    const unit = this.units.get(command.lun);
    if (!unit) return this.withoutUnit(command);

    const entry = offeredEntry(this.opcodes.get(cdb[0]), unit);
    const descriptor = entry && (hasServiceActions(entry) ? offeredAction(entry, cdb[1] & 0x1f, unit) : entry);
    const nexusId = command.nexus.id;
    if (!descriptor?.unitAttentionExempt) {
      const attention = unit.unitAttentions.take(nexusId);
      if (attention) return checkCondition(senseFailure(attention));
    }
    if (!entry) return checkCondition(senseFailure('invalid-opcode'));
    if (!descriptor) return checkCondition(invalidCdbField(1, 4));
    const notReady = descriptor.servedWhenNotReady === 'always' ? undefined : unit.notReady();
    if (notReady && !(notReady.reason === 'medium-not-present' && descriptor.servedWhenNotReady === 'without-medium')) return checkCondition(notReady);
    if (cdb.length < descriptor.cdbLength) return checkCondition(invalidCdbField(0));
    if (this.reservationConflict(unit, descriptor, command)) return RESERVATION_CONFLICT;

    const parsed = descriptor.parse(cdb, unit);
    if (isSenseFailure(parsed)) return checkCondition(parsed);
    if (parsed.range) {
      const { lba, blocks } = parsed.range;
      if (lba > unit.blocks || lba + blocks > unit.blocks) return checkCondition(senseFailure('lba-out-of-range'));
      // Sanitize failure mode: the medium is partly sanitized until EXIT FAILURE MODE (SBC-4 §4.11.4).
      if (unit.sanitizer?.failed && (parsed.readsMedium || parsed.writesMedium)) return checkCondition(senseFailure('sanitize-command-failed'));
    }
    if (parsed.afterRangeCheck) return checkCondition(parsed.afterRangeCheck);
    const transferLength = parsed.dataOutBytes;
    if (parsed.writesMedium && unit.isWriteProtected) return withTransfer(checkCondition(senseFailure('write-protected')), transferLength);
    const received = command.dataOutLength;
    const tooShort = received < (transferLength ?? 0) && !parsed.acceptsShortDataOut;
    if (transferLength !== undefined && (tooShort || (parsed.exactDataOut && received > transferLength))) {
      // Data-Out length differs from what the CDB announces: refuse without writing (SAM-5 §5.4.3 option b).
      return withTransfer(checkCondition(senseFailure('invalid-field-in-information-unit')), transferLength);
    }
    const kind: IoKind | undefined = parsed.writesMedium ? 'write' : parsed.readsMedium ? 'read' : undefined;
    if (unit.faults?.active === true) return this.runWithFaults(command, unit, parsed, kind, transferLength);
    return this.run(command, unit, parsed, kind, transferLength);
  }

  private async runWithFaults(command: ScsiCommand, unit: LogicalUnit, parsed: ParsedCommand, kind: IoKind | undefined, transferLength: number | undefined): Promise<ScsiResponse> {
    const faults = unit.faults as LunFaults;
    const injected = await injectFault(faults, { command, kind, range: parsed.range, raiseAll: (reason) => unit.unitAttentions.raiseAll(this.nexuses.keys(), reason) });
    if (injected !== undefined) return withTransfer(injected, transferLength);
    return this.run(command, unit, parsed, kind, transferLength);
  }

  /** Runs a command that passed every check; reads and writes are counted in `io` when they end. */
  private run(command: ScsiCommand, unit: LogicalUnit, parsed: ParsedCommand, kind: IoKind | undefined, transferLength: number | undefined): ScsiResponse | Promise<ScsiResponse> {
    // Aborted by task management while queued: never touch the medium (SAM-5 §5.6, TAS=1).
    if (command.aborted ?? command.signal.aborted) return { status: ScsiStatus.TaskAborted };
    const range = parsed.range;
    if (kind === undefined || range === undefined) {
      const outcome = parsed.run({ command, unit, target: this });
      if (outcome instanceof Promise) return outcome.then((o) => withTransfer(toResponse(o), transferLength));
      return withTransfer(toResponse(outcome), transferLength);
    }
    // Only a latency observer (metrics) needs the clock: two clock reads cost a cached 4 KiB read ~2%.
    const started = this.io.observed ? performance.now() : 0;
    const io = new IoRecord(this.io, command.lun, kind, range.blocks * unit.blockSize, started);
    let outcome: CommandOutcome | Promise<CommandOutcome>;
    try {
      outcome = parsed.run({ command, unit, target: this });
    } catch (error) {
      io.failed();
      throw error;
    }
    if (outcome instanceof Promise) return outcome.then((o) => io.ended(withTransfer(toResponse(o), transferLength)), (error: unknown) => io.failedWith(error));
    return io.ended(withTransfer(toResponse(outcome), transferLength));
  }

  /** LUN not present: INQUIRY says so with qualifier 3, REPORT LUNS and REQUEST SENSE still work. */
  private async withoutUnit(command: ScsiCommand): Promise<ScsiResponse> {
    const { cdb } = command;
    switch (cdb[0]) {
      case OP_INQUIRY: {
        if ((cdb[1] & 0x01) !== 0) return checkCondition(senseFailure('lun-not-supported'));
        return goodData(standardInquiry(undefined, this), cdb.readUInt16BE(3));
      }
      case OP_REPORT_LUNS: {
        const parsed = reportLuns.parse(cdb, undefined);
        if (isSenseFailure(parsed)) return checkCondition(parsed);
        const anyUnit = this.units.values().next().value;
        if (!anyUnit) return goodData(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]), cdb.readUInt32BE(6));
        return toResponse(await parsed.run({ command, unit: anyUnit, target: this }));
      }
      case OP_REQUEST_SENSE:
        return goodData(buildSense(senseFailure('lun-not-supported')), cdb[4]);
      default:
        return checkCondition(senseFailure('lun-not-supported'));
    }
  }

  private reservationConflict(unit: LogicalUnit, descriptor: OpcodeDescriptor, command: ScsiCommand): boolean {
    const holder = unit.reservationHolder;
    if (holder !== undefined && holder !== command.nexus.id && descriptor.reservation === 'conflict') return true;
    return unit.persistentReservations.conflicts(command.nexus.id, descriptor, command.cdb);
  }
}

/** One read or write being counted: recorded in the target's totals (and observers) when it ends. */
class IoRecord {
  constructor(
    private readonly counters: TargetIoCounters,
    private readonly lun: number,
    private readonly kind: IoKind,
    private readonly bytes: number,
    /** performance.now() at dispatch; 0 when nobody observes latencies. */
    private readonly started: number,
  ) {}

  ended(response: ScsiResponse): ScsiResponse {
    this.record(response.status === ScsiStatus.Good);
    return response;
  }

  failed(): void {
    this.record(false);
  }

  failedWith(error: unknown): never {
    this.record(false);
    throw error;
  }

  private record(ok: boolean): void {
    const seconds = this.started === 0 ? 0 : (performance.now() - this.started) / 1000;
    this.counters.record({ lun: this.lun, kind: this.kind, bytes: this.bytes, seconds, ok });
  }
}

/** Keeps the newest `limit` entries (copy results of finished EXTENDED COPY commands). */
class BoundedMap<V> extends Map<string, V> {
  constructor(private readonly limit: number) {
    super();
  }

  override set(key: string, value: V): this {
    this.delete(key);
    super.set(key, value);
    if (this.size > this.limit) this.delete(this.keys().next().value as string);
    return this;
  }
}

function hasRtpg(table: ReadonlyMap<number, OpcodeEntry>): boolean {
  const entry = table.get(0xa3);
  return entry !== undefined && hasServiceActions(entry) && entry.serviceActions.has(0x0a);
}

function toResponse(outcome: CommandOutcome): ScsiResponse {
  return isSenseFailure(outcome) ? checkCondition(outcome as SenseFailure) : outcome;
}

function withTransfer(response: ScsiResponse, transferLength: number | undefined): ScsiResponse {
  if (transferLength === undefined || response.transferLength !== undefined) return response;
  // Plain GOOD (every successful write): the common shape, built without a spread.
  if (response.status === ScsiStatus.Good && response.dataIn === undefined && response.sense === undefined && response.release === undefined) {
    return { status: ScsiStatus.Good, transferLength };
  }
  return { ...response, transferLength };
}

/** The factory the system assembly calls. */
export function createScsiTarget(options: ScsiTargetOptions): ScsiTarget {
  return new ScsiTarget(options);
}

export type { ExecutionContext };
