/**
 * One received PDU: views into the receive buffers (never copies) plus small field readers, one per
 * BHS field (offsets from RFC 7143 §11).
 */
import { BHS_LENGTH } from './constants.ts';

export interface Pdu {
  /** The 48-byte Basic Header Segment (a view). */
  readonly bhs: Buffer;
  /** Additional Header Segments, if any (a view, without the header digest). */
  readonly ahs: Buffer | undefined;
  /** The data segment without padding (a view; empty when DataSegmentLength is 0). */
  readonly data: Buffer;
  /**
   * Write payload (SCSI Command, Data-Out) that arrived split across receive chunks: views of the
   * pieces in order, never copied. `data` then joins them on first use, so only the write path
   * reads this.
   */
  readonly dataParts?: readonly Buffer[];
  /**
   * Set when `data`/`dataParts` are views of receive memory that is reused once the parser's sink
   * returns (a socket read into one reused buffer): whoever keeps the payload copies it (the write
   * path copies it into the task's buffer; a PDU held for CmdSN order is copied whole). Only write
   * payload is ever transient: headers and every other data segment are the PDU's own memory.
   */
  readonly transient?: boolean;
}

/** `pdu` with its own copy of a transient data segment (for a PDU kept past the sink call). */
export function ownedPdu(pdu: Pdu): Pdu {
  if (!pdu.transient) return pdu;
  const parts = pdu.dataParts ?? [pdu.data];
  let length = 0;
  for (const part of parts) length += part.length;
  return { bhs: pdu.bhs, ahs: pdu.ahs, data: Buffer.concat(parts as Buffer[], length) };
}

export const EMPTY = Buffer.alloc(0);

export function opcodeOf(bhs: Buffer): number {
  return bhs[0] & 0x3f;
}
export function isImmediate(bhs: Buffer): boolean {
  return (bhs[0] & 0x40) !== 0;
}
export function finalBit(bhs: Buffer): boolean {
  return (bhs[1] & 0x80) !== 0;
}
export function continueBit(bhs: Buffer): boolean {
  return (bhs[1] & 0x40) !== 0;
}
export function totalAhsLength(bhs: Buffer): number {
  return bhs[4] * 4;
}
export function dataSegmentLength(bhs: Buffer): number {
  return (bhs[5] << 16) | (bhs[6] << 8) | bhs[7];
}

/** Bytes 1..3 of an initiator request: the opcode-specific flags (RFC 7143 §11.2.1). */
export function flagsOf(bhs: Buffer): number {
  return bhs[1];
}

/** SCSI Command R bit (§11.3.1). */
export function readBit(bhs: Buffer): boolean {
  return (bhs[1] & 0x40) !== 0;
}
/** SCSI Command W bit (§11.3.1). */
export function writeBit(bhs: Buffer): boolean {
  return (bhs[1] & 0x20) !== 0;
}
/** SCSI Command task attribute, bits 0..2 of byte 1 (§11.3.1). */
export function taskAttributeOf(bhs: Buffer): number {
  return bhs[1] & 0x07;
}
/** Task Management function (§11.5.1) or Logout reason (§11.14.1): byte 1 without the F bit. */
export function functionOf(bhs: Buffer): number {
  return bhs[1] & 0x7f;
}
/** Byte 2: Logout/TMF response code, Reject reason (§11.6.1, §11.15.1, §11.17.1). */
export function responseCodeOf(bhs: Buffer): number {
  return bhs[2];
}
/** Byte 3: SCSI status (§11.4.2, §11.7.4) or Login Version-min (§11.12.4). */
export function statusOf(bhs: Buffer): number {
  return bhs[3];
}
/** Login CSG (§11.12.3). */
export function currentStageOf(bhs: Buffer): number {
  return (bhs[1] >> 2) & 3;
}
/** Login NSG (§11.12.3). */
export function nextStageOf(bhs: Buffer): number {
  return bhs[1] & 3;
}
/** ISID, bytes 8..13 of a Login PDU (a view). */
export function isidOf(bhs: Buffer): Buffer {
  return bhs.subarray(8, 14);
}
/** TSIH, bytes 14..15 of a Login PDU. */
export function tsihOf(bhs: Buffer): number {
  return bhs.readUInt16BE(14);
}
/** The raw 8-byte LUN field (a view), for echoing back unchanged. */
export function lunField(bhs: Buffer): Buffer {
  return bhs.subarray(8, 16);
}
/** Initiator Task Tag (§11.2.1.8). */
export function ittOf(bhs: Buffer): number {
  return bhs.readUInt32BE(16);
}
/** Target Transfer Tag, bytes 20..23 of Data-Out, Text, NOP and R2T PDUs. */
export function tttOf(bhs: Buffer): number {
  return bhs.readUInt32BE(20);
}
/** SCSI Command ExpectedDataTransferLength (§11.3.4), bytes 20..23. */
export function expectedLengthOf(bhs: Buffer): number {
  return bhs.readUInt32BE(20);
}
/** Task Management Referenced Task Tag (§11.5.2), bytes 20..23. */
export function referencedTagOf(bhs: Buffer): number {
  return bhs.readUInt32BE(20);
}
/** CID of a Login or Logout Request (§11.12.6, §11.14.3), bytes 20..21. */
export function cidOf(bhs: Buffer): number {
  return bhs.readUInt16BE(20);
}
/** CmdSN of a request (bytes 24..27). */
export function cmdSNOf(bhs: Buffer): number {
  return bhs.readUInt32BE(24);
}
/** StatSN of a response (bytes 24..27). */
export function statSNOf(bhs: Buffer): number {
  return bhs.readUInt32BE(24);
}
/** ExpStatSN of a request (bytes 28..31). */
export function expStatSNOf(bhs: Buffer): number {
  return bhs.readUInt32BE(28);
}
/** ExpCmdSN of a response (bytes 28..31). */
export function expCmdSNOf(bhs: Buffer): number {
  return bhs.readUInt32BE(28);
}
/** MaxCmdSN of a response (bytes 32..35). */
export function maxCmdSNOf(bhs: Buffer): number {
  return bhs.readUInt32BE(32);
}
/** DataSN (Data-In/Out), R2TSN (R2T) or ExpDataSN (SCSI Response): bytes 36..39. */
export function dataSNOf(bhs: Buffer): number {
  return bhs.readUInt32BE(36);
}
/** Login Response status class and detail as one 16-bit value (§11.13.5), bytes 36..37. */
export function loginStatusOf(bhs: Buffer): number {
  return bhs.readUInt16BE(36);
}
/** Buffer Offset of Data-In/Out and R2T (bytes 40..43). */
export function bufferOffsetOf(bhs: Buffer): number {
  return bhs.readUInt32BE(40);
}
/** R2T Desired Data Transfer Length (§11.8.6) or a response's residual count: bytes 44..47. */
export function desiredLengthOf(bhs: Buffer): number {
  return bhs.readUInt32BE(44);
}
/** The 16 CDB bytes of a SCSI Command (a view). */
export function cdbField(bhs: Buffer): Buffer {
  return bhs.subarray(32, 48);
}

/**
 * LUN field (8 bytes at offset 8) to a LUN number. SAM-5 §4.7: peripheral (00b) and flat (01b)
 * addressing of the first level; anything else maps to an impossible LUN so the SCSI layer rejects it.
 */
export function lunOf(bhs: Buffer): number {
  const method = bhs[8] >> 6;
  if (method === 0 || method === 1) return ((bhs[8] & 0x3f) << 8) | bhs[9];
  return 0xffff_ffff;
}

/** LUN number back to the 8-byte wire form (flat addressing above 255, peripheral below). */
export function writeLun(target: Buffer, offset: number, lun: number): void {
  target.fill(0, offset, offset + 8);
  if (lun < 256) target[offset + 1] = lun;
  else {
    target[offset] = 0x40 | ((lun >> 8) & 0x3f);
    target[offset + 1] = lun & 0xff;
  }
}

export function padLength(length: number): number {
  return (4 - (length & 3)) & 3;
}

/** A fresh zeroed BHS for an outgoing PDU (small allocations come from Node's shared slab pool). */
export function newBhs(opcode: number, flags: number): Buffer {
  const bhs = Buffer.allocUnsafe(BHS_LENGTH).fill(0);
  bhs[0] = opcode;
  bhs[1] = flags;
  return bhs;
}

/** Setters, one per field (libiscsi's iscsi_pdu_set_*). */
/** Byte 2: TMF/Logout response code or Reject reason. */
export function setResponseCode(bhs: Buffer, code: number): void {
  bhs[2] = code;
}
/** Byte 3: SCSI status (SCSI Response, Data-In with S). */
export function setStatus(bhs: Buffer, status: number): void {
  bhs[3] = status;
}
export function setIsid(bhs: Buffer, isid: Buffer): void {
  isid.copy(bhs, 8, 0, 6);
}
export function setTsih(bhs: Buffer, tsih: number): void {
  bhs.writeUInt16BE(tsih, 14);
}
/** The raw 8-byte LUN field, echoed from a request. */
export function setLunField(bhs: Buffer, lun: Buffer): void {
  lun.copy(bhs, 8, 0, 8);
}
/** Login Response status class and detail (§11.13.5), bytes 36..37. */
export function setLoginStatus(bhs: Buffer, status: number): void {
  bhs.writeUInt16BE(status, 36);
}
export function setItt(bhs: Buffer, itt: number): void {
  bhs.writeUInt32BE(itt >>> 0, 16);
}
export function setTtt(bhs: Buffer, ttt: number): void {
  bhs.writeUInt32BE(ttt >>> 0, 20);
}
export function setCmdSN(bhs: Buffer, cmdSN: number): void {
  bhs.writeUInt32BE(cmdSN >>> 0, 24);
}
export function setStatSN(bhs: Buffer, statSN: number): void {
  bhs.writeUInt32BE(statSN >>> 0, 24);
}
export function setExpStatSN(bhs: Buffer, expStatSN: number): void {
  bhs.writeUInt32BE(expStatSN >>> 0, 28);
}
export function setExpCmdSN(bhs: Buffer, expCmdSN: number): void {
  bhs.writeUInt32BE(expCmdSN >>> 0, 28);
}
export function setMaxCmdSN(bhs: Buffer, maxCmdSN: number): void {
  bhs.writeUInt32BE(maxCmdSN >>> 0, 32);
}
/** DataSN (Data-In), R2TSN (R2T) and ExpDataSN (SCSI Response, Reject) share bytes 36..39. */
export function setDataSN(bhs: Buffer, dataSN: number): void {
  bhs.writeUInt32BE(dataSN >>> 0, 36);
}
export function setBufferOffset(bhs: Buffer, offset: number): void {
  bhs.writeUInt32BE(offset >>> 0, 40);
}
export function setResidualCount(bhs: Buffer, count: number): void {
  bhs.writeUInt32BE(count >>> 0, 44);
}
export function setDesiredLength(bhs: Buffer, length: number): void {
  bhs.writeUInt32BE(length >>> 0, 44);
}

export function setDataSegmentLength(bhs: Buffer, length: number): void {
  bhs[5] = (length >> 16) & 0xff;
  bhs[6] = (length >> 8) & 0xff;
  bhs[7] = length & 0xff;
}

/** RFC 1982 serial-number comparison on 32 bits: negative when a precedes b. */
export function serialCompare(a: number, b: number): number {
  return (a - b) | 0;
}

export function serialAdd(a: number, n: number): number {
  return (a + n) >>> 0;
}
