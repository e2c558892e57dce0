/**
 * Sense data as values: handlers return a SenseFailure naming a SenseReason; one table maps reasons to
 * (key, ASC, ASCQ) and one builder writes fixed-format sense (SPC-4 §4.5.3).
 */

export const enum SenseKey {
  NoSense = 0x0,
  RecoveredError = 0x1,
  NotReady = 0x2,
  MediumError = 0x3,
  HardwareError = 0x4,
  IllegalRequest = 0x5,
  UnitAttention = 0x6,
  DataProtect = 0x7,
  CopyAborted = 0xa,
  AbortedCommand = 0xb,
  Miscompare = 0xe,
}

const SENSE_TABLE = {
  'no-sense': [SenseKey.NoSense, 0x00, 0x00],
  'invalid-opcode': [SenseKey.IllegalRequest, 0x20, 0x00],
  'invalid-field-in-cdb': [SenseKey.IllegalRequest, 0x24, 0x00],
  'invalid-field-in-parameter-list': [SenseKey.IllegalRequest, 0x26, 0x00],
  'parameter-list-length-error': [SenseKey.IllegalRequest, 0x1a, 0x00],
  'invalid-field-in-information-unit': [SenseKey.IllegalRequest, 0x0e, 0x03],
  'lba-out-of-range': [SenseKey.IllegalRequest, 0x21, 0x00],
  'lun-not-supported': [SenseKey.IllegalRequest, 0x25, 0x00],
  'saving-parameters-not-supported': [SenseKey.IllegalRequest, 0x39, 0x00],
  'invalid-release-of-persistent-reservation': [SenseKey.IllegalRequest, 0x26, 0x04],
  'insufficient-registration-resources': [SenseKey.IllegalRequest, 0x55, 0x04],
  'too-many-target-descriptors': [SenseKey.IllegalRequest, 0x26, 0x06],
  'unsupported-target-descriptor-type': [SenseKey.IllegalRequest, 0x26, 0x07],
  'too-many-segment-descriptors': [SenseKey.IllegalRequest, 0x26, 0x08],
  'unsupported-segment-descriptor-type': [SenseKey.IllegalRequest, 0x26, 0x09],
  'copy-target-device-not-reachable': [SenseKey.CopyAborted, 0x0d, 0x02],
  'unexpected-inexact-segment': [SenseKey.CopyAborted, 0x26, 0x0a],
  'write-protected': [SenseKey.DataProtect, 0x27, 0x00],
  // A thin LUN's pool is exhausted (SBC-3 §4.7.3.6): the memory backstore past its memoryLimit.
  'space-allocation-failed-write-protect': [SenseKey.DataProtect, 0x27, 0x07],
  'power-on-reset': [SenseKey.UnitAttention, 0x29, 0x00],
  'bus-device-reset': [SenseKey.UnitAttention, 0x29, 0x03],
  'i-t-nexus-loss': [SenseKey.UnitAttention, 0x29, 0x07],
  'mode-parameters-changed': [SenseKey.UnitAttention, 0x2a, 0x01],
  'reservations-preempted': [SenseKey.UnitAttention, 0x2a, 0x03],
  'reservations-released': [SenseKey.UnitAttention, 0x2a, 0x04],
  'registrations-preempted': [SenseKey.UnitAttention, 0x2a, 0x05],
  'capacity-data-changed': [SenseKey.UnitAttention, 0x2a, 0x09],
  'inquiry-data-changed': [SenseKey.UnitAttention, 0x3f, 0x03],
  'reported-luns-data-changed': [SenseKey.UnitAttention, 0x3f, 0x0e],
  'commands-cleared-by-another-initiator': [SenseKey.UnitAttention, 0x2f, 0x00],
  // A Data-Out sequence the fabric could not accept (DataSN, offset or F bit wrong; RFC 7143 §11.7).
  'data-phase-error': [SenseKey.AbortedCommand, 0x4b, 0x00],
  'miscompare-during-verify': [SenseKey.Miscompare, 0x1d, 0x00],
  'read-error': [SenseKey.MediumError, 0x11, 0x00],
  // The names a fault rule may use (src/scsi/faults): MEDIUM ERROR / UNRECOVERED READ ERROR is read-error.
  'unrecovered-read-error': [SenseKey.MediumError, 0x11, 0x00],
  'not-ready-becoming-ready': [SenseKey.NotReady, 0x04, 0x01],
  'not-ready-cause-not-reportable': [SenseKey.NotReady, 0x04, 0x00],
  'thin-provisioning-soft-threshold-reached': [SenseKey.UnitAttention, 0x38, 0x07],
  'recovered-read-error': [SenseKey.RecoveredError, 0x17, 0x00],
  'write-error': [SenseKey.MediumError, 0x0c, 0x00],
  // The target could not durably record a write (its write-intent metadata failed), not a flaw of the
  // medium at that LBA: HARDWARE ERROR + WRITE ERROR, so hosts fail the I/O without remapping the block.
  'hardware-write-error': [SenseKey.HardwareError, 0x0c, 0x00],
  'internal-target-failure': [SenseKey.HardwareError, 0x44, 0x00],
  'medium-not-present': [SenseKey.NotReady, 0x3a, 0x00],
  'sanitize-in-progress': [SenseKey.NotReady, 0x04, 0x1b],
  // A removable medium was loaded: other nexuses learn the medium may have changed (SBC-4 §4.4.2).
  'not-ready-to-ready-change': [SenseKey.UnitAttention, 0x28, 0x00],
  'medium-removal-prevented': [SenseKey.IllegalRequest, 0x53, 0x02],
  // The last sanitize operation failed: the medium is in sanitize failure mode (SBC-4 §4.11.4).
  'sanitize-command-failed': [SenseKey.MediumError, 0x31, 0x03],
  'not-ready-manual-intervention': [SenseKey.NotReady, 0x04, 0x03],
} as const satisfies Record<string, readonly [SenseKey, number, number]>;

export type SenseReason = keyof typeof SENSE_TABLE;

/** Every named sense (fault rules accept these names). */
export const SENSE_REASONS = Object.keys(SENSE_TABLE) as SenseReason[];

export function isSenseReason(name: string): name is SenseReason {
  return Object.hasOwn(SENSE_TABLE, name);
}

/** Where in the CDB (or parameter list) the offending field is (sense-key specific, SPC-4 §4.5.2.4.2). */
export interface FieldPointer {
  readonly inCdb: boolean;
  readonly byte: number;
  readonly bit?: number;
}

export interface SenseFailure {
  readonly kind: 'sense';
  readonly reason: SenseReason;
  readonly field?: FieldPointer;
  /** INFORMATION field (e.g. the first LBA that miscompared, as an offset). */
  readonly information?: number;
  /** PROGRESS INDICATION, 0..65535 of the operation done (NOT READY during a sanitize; SPC-4 §4.5.2.4.4). */
  readonly progress?: number;
}

export function senseFailure(reason: SenseReason, extra: Omit<SenseFailure, 'kind' | 'reason'> = {}): SenseFailure {
  return { kind: 'sense', reason, ...extra };
}

export function invalidCdbField(byte: number, bit?: number): SenseFailure {
  return senseFailure('invalid-field-in-cdb', { field: { inCdb: true, byte, bit } });
}

export function invalidParameterField(byte: number, bit?: number): SenseFailure {
  return senseFailure('invalid-field-in-parameter-list', { field: { inCdb: false, byte, bit } });
}

export function isSenseFailure(value: unknown): value is SenseFailure {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'sense';
}

export function senseCodes(reason: SenseReason): { key: SenseKey; asc: number; ascq: number } {
  const [key, asc, ascq] = SENSE_TABLE[reason];
  return { key, asc, ascq };
}

export const FIXED_SENSE_LENGTH = 18;

/** Fixed-format sense data (response code 0x70, current error). */
export function buildSense(failure: SenseFailure): Buffer {
  return buildSenseFromCodes(senseCodes(failure.reason), failure);
}

/** Fixed-format sense from raw codes (fault rules may give key/ASC/ASCQ instead of a name). */
export function buildSenseFromCodes(codes: { key: number; asc: number; ascq: number }, failure: Omit<SenseFailure, 'kind' | 'reason'> = {}): Buffer {
  const { key, asc, ascq } = codes;
  const sense = Buffer.alloc(FIXED_SENSE_LENGTH);
  sense[0] = 0x70;
  sense[2] = key;
  if (failure.information !== undefined) {
    sense[0] |= 0x80; // VALID: the INFORMATION field is meaningful
    sense.writeUInt32BE(failure.information >>> 0, 3);
  }
  sense[7] = FIXED_SENSE_LENGTH - 8;
  sense[12] = asc;
  sense[13] = ascq;
  if (failure.field) {
    // SKSV=1, C/D, BPV, bit pointer; then the field pointer (SPC-4 §4.5.2.4.2)
    const { inCdb, byte, bit } = failure.field;
    sense[15] = 0x80 | (inCdb ? 0x40 : 0) | (bit !== undefined ? 0x08 | (bit & 7) : 0);
    sense.writeUInt16BE(byte & 0xffff, 16);
  } else if (failure.progress !== undefined) {
    sense[15] = 0x80; // SKSV=1, then the progress indication
    sense.writeUInt16BE(Math.max(0, Math.min(0xffff, Math.floor(failure.progress))), 16);
  }
  return sense;
}
