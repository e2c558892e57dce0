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
