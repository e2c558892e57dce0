/** Vital product data pages (SPC-4 §7.8, SBC-3 §6.5). Each builder returns the whole page. */
import type { LogicalUnit } from '../logical-unit.ts';
import { hasServiceActions, offeredAction, type TargetContext } from '../opcode.ts';
import { SANITIZE_OPCODE } from '../sbc/sanitize.ts';

export const MAX_TRANSFER_BYTES = 32 * 1024 * 1024;
/** Bounded so one UNMAP / WRITE SAME cannot occupy the backstore for long. */
export const MAX_UNMAP_BLOCKS = 1024 * 1024;
export const MAX_UNMAP_DESCRIPTORS = 256;
/** Same bound as a plain write, so WRITE SAME never does more work per command than WRITE(16). */
export const MAX_WRITE_SAME_BYTES = MAX_TRANSFER_BYTES;
export const MAX_ATOMIC_TRANSFER_BYTES = 1024 * 1024;

type VpdBuilder = (unit: LogicalUnit, target: TargetContext, portalGroupTag: number) => Buffer;

function page(code: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header[1] = code;
  header.writeUInt16BE(body.length, 2);
  return Buffer.concat([header, body]);
}

function ascii(text: string, length: number): Buffer {
  const out = Buffer.alloc(length, 0x20);
  out.write(text.slice(0, length), 'ascii');
  return out;
}

/** One designation descriptor (SPC-4 §7.8.6.1). */
function designator(codeSet: number, association: number, type: number, value: Buffer, protocolIdentifier?: number): Buffer {
  const header = Buffer.alloc(4);
  header[0] = ((protocolIdentifier ?? 0) << 4) | codeSet;
  header[1] = (protocolIdentifier !== undefined ? 0x80 : 0) | (association << 4) | type;
  header[3] = value.length;
  return Buffer.concat([header, value]);
}

/** SCSI name string: UTF-8, NUL-terminated, padded to a multiple of 4 bytes (SPC-4 §7.8.6.11). */
function scsiName(name: string): Buffer {
  const raw = Buffer.from(name, 'utf8');
  const length = Math.ceil((raw.length + 1) / 4) * 4;
  const out = Buffer.alloc(length);
  raw.copy(out);
  return out;
}

const ISCSI_PROTOCOL = 0x5;

function supportedPages(_unit: LogicalUnit, target: TargetContext): Buffer {
  return page(0x00, Buffer.from([...VPD_PAGES.keys()].filter((code) => vpdPageOffered(code, target))));
}

/** The Third-party Copy page describes EXTENDED COPY: offered only when the target does it. */
export function vpdPageOffered(code: number, target: TargetContext): boolean {
  return VPD_PAGES.has(code) && (code !== THIRD_PARTY_COPY || target.extendedCopy);
}

function unitSerialNumber(unit: LogicalUnit): Buffer {
  return page(0x80, Buffer.from(unit.serial, 'ascii'));
}

/** The port the command came through: relative port and target port group = its portal group tag. */
function deviceIdentification(unit: LogicalUnit, target: TargetContext, portalGroupTag: number): Buffer {
  const relativePort = Buffer.alloc(4);
  relativePort.writeUInt16BE(portalGroupTag, 2);
  const portGroup = Buffer.alloc(4);
  portGroup.writeUInt16BE(portalGroupTag, 2);
  const tpgt = portalGroupTag.toString(16).padStart(4, '0');
  return page(0x83, Buffer.concat([
    designator(1, 0, 3, Buffer.from(unit.naa, 'hex')), // NAA, logical unit
    designator(2, 0, 1, Buffer.concat([ascii(unit.vendor, 8), Buffer.from(unit.serial, 'ascii')])), // T10 vendor ID
    designator(1, 1, 4, relativePort, ISCSI_PROTOCOL), // relative target port
    ...(target.alua ? [designator(1, 1, 5, portGroup, ISCSI_PROTOCOL)] : []), // target port group
    designator(3, 1, 8, scsiName(`${target.targetIqn},t,0x${tpgt}`), ISCSI_PROTOCOL), // target port name
    designator(3, 2, 8, scsiName(target.targetIqn), ISCSI_PROTOCOL), // target device name
  ]));
}

function blockLimits(unit: LogicalUnit): Buffer {
  const body = Buffer.alloc(0x3c);
  body[1] = 1; // MAXIMUM COMPARE AND WRITE LENGTH: one block
  body.writeUInt16BE(unit.logicalBlocksPerPhysicalBlock, 2); // OPTIMAL TRANSFER LENGTH GRANULARITY: a physical block
  body.writeUInt32BE(MAX_TRANSFER_BYTES / unit.blockSize, 4); // MAXIMUM TRANSFER LENGTH
  body.writeUInt32BE(Math.max(1, (128 * 1024) / unit.blockSize), 8); // OPTIMAL TRANSFER LENGTH
  body.writeUInt32BE(MAX_TRANSFER_BYTES / unit.blockSize, 12); // MAXIMUM PREFETCH LENGTH
  if (unit.thinProvisioning) {
    body.writeUInt32BE(MAX_UNMAP_BLOCKS, 16); // MAXIMUM UNMAP LBA COUNT
    body.writeUInt32BE(MAX_UNMAP_DESCRIPTORS, 20); // MAXIMUM UNMAP BLOCK DESCRIPTOR COUNT
    // OPTIMAL UNMAP GRANULARITY: a file system block, or a physical block when larger
    body.writeUInt32BE(Math.max(1, 4096 / unit.blockSize, unit.logicalBlocksPerPhysicalBlock), 24);
    body.writeUInt32BE(0x80000000, 28); // UGAVALID=1, alignment 0
  }
  body.writeBigUInt64BE(BigInt(MAX_WRITE_SAME_BYTES / unit.blockSize), 32); // MAXIMUM WRITE SAME LENGTH
  body.writeUInt32BE(MAX_ATOMIC_TRANSFER_BYTES / unit.blockSize, 40); // MAXIMUM ATOMIC TRANSFER LENGTH
  body.writeUInt32BE(1, 44); // ATOMIC ALIGNMENT: any LBA
  body.writeUInt32BE(1, 48); // ATOMIC TRANSFER LENGTH GRANULARITY: one block
  return page(0xb0, body);
}

function blockDeviceCharacteristics(unit: LogicalUnit, target: TargetContext): Buffer {
  const body = Buffer.alloc(0x3c);
  body.writeUInt16BE(1, 0); // MEDIUM ROTATION RATE: non-rotating medium
  // WABEREQ / WACEREQ 01b: a read of a block after BLOCK / CRYPTO ERASE completes GOOD (SBC-4 §6.6.2);
  // 00b where that sanitize is not offered (libiscsi fails a non-zero value without the command).
  const sanitize = target.opcodes.get(SANITIZE_OPCODE);
  const offers = (serviceAction: number): boolean => sanitize !== undefined && hasServiceActions(sanitize) && offeredAction(sanitize, serviceAction, unit) !== undefined;
  body[3] = (offers(0x02) ? 0x40 : 0) | (offers(0x03) ? 0x10 : 0);
  return page(0xb1, body);
}

function logicalBlockProvisioning(unit: LogicalUnit): Buffer {
  const body = Buffer.alloc(4);
  if (unit.thinProvisioning) {
    body[1] = 0x80 | 0x40 | 0x20 | 0x04; // LBPU, LBPWS, LBPWS10, LBPRZ (holes read as zeros)
    body[2] = 0x02; // PROVISIONING TYPE: thin
  }
  return page(0xb2, body);
}

const THIRD_PARTY_COPY = 0x8f;
/** Copy commands listed in the Supported Commands descriptor, when the opcode table has them. */
const COPY_OPCODES = [0x83, 0x84];

/**
 * Third-party Copy (SPC-4 §7.8.17) with its Supported Commands descriptor (type 0001h): each copy
 * opcode of the table with its service actions. Limits and descriptor codes are in RECEIVE COPY
 * RESULTS / OPERATING PARAMETERS (EXTENDED COPY LID1).
 */
function thirdPartyCopy(_unit: LogicalUnit, target: TargetContext): Buffer {
  const list: number[] = [];
  for (const opcode of COPY_OPCODES) {
    const entry = target.opcodes.get(opcode);
    if (!entry) continue;
    const actions = hasServiceActions(entry) ? [...entry.serviceActions.keys()].sort((a, b) => a - b) : [];
    list.push(opcode, actions.length, ...actions);
  }
  const length = 1 + list.length;
  const descriptor = Buffer.alloc(4 + length + ((4 - (length % 4)) % 4));
  descriptor.writeUInt16BE(0x0001, 0); // SUPPORTED COMMANDS
  descriptor.writeUInt16BE(descriptor.length - 4, 2);
  descriptor[4] = list.length;
  Buffer.from(list).copy(descriptor, 5);
  return page(THIRD_PARTY_COPY, descriptor);
}

export const VPD_PAGES: ReadonlyMap<number, VpdBuilder> = new Map<number, VpdBuilder>([
  [0x00, supportedPages],
  [0x80, unitSerialNumber],
  [0x83, deviceIdentification],
  [THIRD_PARTY_COPY, thirdPartyCopy],
  [0xb0, blockLimits],
  [0xb1, blockDeviceCharacteristics],
  [0xb2, logicalBlockProvisioning],
]);
