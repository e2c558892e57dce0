/**
 * PDU framing over socket chunks. Two kinds of chunk:
 * - owned (a Node 'data' event: Node never reuses a chunk's memory): a PDU that lies inside one chunk
 *   is emitted as views into it; one that straddles chunks gets its header copied (48 bytes and any
 *   AHS) and its data segment kept as views of the chunks it spans (write payload joined never, other
 *   PDUs on first use of `data`);
 * - reused (`reusedChunks`: the socket reads into one buffer again and again): the header and every
 *   data segment other than write payload are copied; write payload (SCSI Command, Data-Out) is
 *   emitted as `transient` views, valid during the sink call only (a PDU straddling reads is assembled
 *   in one buffer the parser reuses too). No receive memory is allocated per read or per PDU.
 * Malformed input becomes a ParseError value, never an exception.
 */
import { crc32c } from '@node-rs/crc32';
import { BHS_LENGTH, DIGEST_LENGTH, InitiatorOpcode } from './constants.ts';
import { dataSegmentLength, EMPTY, opcodeOf, padLength, totalAhsLength, type Pdu } from './pdu.ts';

export type ParseErrorKind = 'header-digest' | 'data-digest' | 'oversized' | 'unexpected';

export interface ParseError {
  readonly kind: ParseErrorKind;
  /** The offending PDU's BHS (for a Reject), when it could be read. */
  readonly bhs: Buffer;
  readonly message: string;
}

export interface PduSink {
  pdu(pdu: Pdu): void;
  /** After an error the parser stops: the connection is expected to close. */
  error(error: ParseError): void;
}

/** A PDU being assembled across chunks. */
interface Partial {
  /** BHS, AHS and header digest, copied (contiguous). */
  header: Buffer;
  headerFilled: number;
  /** Header bytes on the wire; BHS_LENGTH until the BHS has been read. */
  headerLength: number;
  /** Whole PDU on the wire; -1 until the BHS has been read. */
  total: number;
  /** Views of data segment + padding + data digest, in order. */
  readonly segment: Buffer[];
  segmentFilled: number;
}

export class PduParser {
  headerDigest = false;
  dataDigest = false;
  /** Largest data segment accepted (our declared MaxRecvDataSegmentLength). */
  maxDataSegmentLength: number;
  /**
   * Checked as soon as a BHS is complete, before waiting for its data: a header the connection can
   * never accept (e.g. not a Login Request before login) is reported at once instead of stalling on a
   * data segment that may never come.
   */
  acceptHeader: ((bhs: Buffer) => boolean) | undefined;
  /** Chunks passed to push() are overwritten after it returns (see the module comment). */
  reusedChunks = false;

  private partial: Partial | undefined;
  private stopped = false;
  /** Reused assembly buffer for write payload straddling reads (reusedChunks only). */
  private assembly: Buffer | undefined;

  constructor(
    private readonly sink: PduSink,
    maxDataSegmentLength = 262144,
  ) {
    this.maxDataSegmentLength = maxDataSegmentLength;
  }

  /** Whether a partial PDU is buffered (e.g. to tell a clean close from a truncated one). */
  get midPdu(): boolean {
    return this.partial !== undefined;
  }

  stop(): void {
    this.stopped = true;
    this.partial = undefined;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.stopped) {
      if (this.partial !== undefined) {
        offset = this.continuePartial(chunk, offset);
        continue;
      }
      const remaining = chunk.length - offset;
      if (remaining < BHS_LENGTH) {
        this.partial = { header: Buffer.allocUnsafe(BHS_LENGTH), headerFilled: 0, headerLength: BHS_LENGTH, total: -1, segment: [], segmentFilled: 0 };
        offset = this.continuePartial(chunk, offset);
        continue;
      }
      const bhs = chunk.subarray(offset, offset + BHS_LENGTH);
      const total = this.pduLength(bhs);
      if (total < 0) return;
      if (remaining >= total) {
        this.emit(chunk, offset);
        offset += total;
        continue;
      }
      const headerLength = this.headerLengthOf(bhs);
      this.partial = { header: Buffer.allocUnsafe(headerLength), headerFilled: 0, headerLength, total, segment: [], segmentFilled: 0 };
      offset = this.continuePartial(chunk, offset);
    }
  }

  private continuePartial(chunk: Buffer, offset: number): number {
    const p = this.partial as Partial;
    if (p.headerFilled < p.headerLength) {
      const n = Math.min(p.headerLength - p.headerFilled, chunk.length - offset);
      chunk.copy(p.header, p.headerFilled, offset, offset + n);
      p.headerFilled += n;
      offset += n;
      if (p.headerFilled < p.headerLength) return offset;
      if (p.total < 0) {
        // The BHS is complete: now the header's and the whole PDU's sizes are known.
        const total = this.pduLength(p.header);
        if (total < 0) return chunk.length;
        p.total = total;
        p.headerLength = this.headerLengthOf(p.header);
        if (p.headerLength > BHS_LENGTH) {
          const header = Buffer.allocUnsafe(p.headerLength);
          p.header.copy(header, 0);
          p.header = header;
          return offset;
        }
      }
    } else {
      const n = Math.min(p.total - p.headerLength - p.segmentFilled, chunk.length - offset);
      if (this.reusedChunks) {
        // The chunk is overwritten by the next read: copy the piece into the PDU's segment buffer.
        if (p.segment.length === 0) p.segment.push(this.segmentBuffer(p.header, p.total - p.headerLength));
        chunk.copy(p.segment[0], p.segmentFilled, offset, offset + n);
      } else {
        p.segment.push(chunk.subarray(offset, offset + n));
      }
      p.segmentFilled += n;
      offset += n;
    }
    if (p.headerLength + p.segmentFilled < p.total) return offset;
    this.partial = undefined;
    if (p.segment.length === 0) this.emit(p.header, 0);
    else this.emitSplit(p.header, p.segment);
    return offset;
  }

  /**
   * Where a straddling PDU's data segment (with padding and digest) is assembled when chunks are
   * reused: write payload in the parser's own reused buffer (emitted transient), anything else in a
   * buffer of its own.
   */
  private segmentBuffer(header: Buffer, length: number): Buffer {
    if (!isWritePayload(header)) return Buffer.allocUnsafe(length);
    if (this.assembly === undefined || this.assembly.length < length) {
      this.assembly = Buffer.allocUnsafeSlow(Math.max(length, this.maxDataSegmentLength + 2 * DIGEST_LENGTH + 4));
    }
    return this.assembly.subarray(0, length);
  }

  private headerLengthOf(bhs: Buffer): number {
    return BHS_LENGTH + totalAhsLength(bhs) + (this.headerDigest ? DIGEST_LENGTH : 0);
  }

  /** Bytes of the whole PDU on the wire, or -1 after reporting an error. */
  private pduLength(bhs: Buffer): number {
    const dataLength = dataSegmentLength(bhs);
    if (dataLength > this.maxDataSegmentLength) {
      this.fail('oversized', bhs, `data segment of ${dataLength} bytes exceeds ${this.maxDataSegmentLength}`);
      return -1;
    }
    if (this.acceptHeader && !this.acceptHeader(bhs)) {
      this.fail('unexpected', Buffer.from(bhs), `unexpected opcode 0x${opcodeOf(bhs).toString(16)}`);
      return -1;
    }
    let total = BHS_LENGTH + totalAhsLength(bhs);
    if (this.headerDigest) total += DIGEST_LENGTH;
    if (dataLength > 0) {
      total += dataLength + padLength(dataLength);
      if (this.dataDigest) total += DIGEST_LENGTH;
    }
    return total;
  }

  private emit(buffer: Buffer, start: number): void {
    const bhs = buffer.subarray(start, start + BHS_LENGTH);
    const ahsLength = totalAhsLength(bhs);
    if (!this.headerIntact(buffer, start, ahsLength)) return;
    const cursor = start + this.headerLengthOf(bhs);
    const dataLength = dataSegmentLength(bhs);
    if (dataLength > 0 && this.dataDigest) {
      const padded = dataLength + padLength(dataLength);
      const expected = crc32c(buffer.subarray(cursor, cursor + padded));
      if (buffer.readUInt32LE(cursor + padded) !== expected) {
        this.fail('data-digest', Buffer.from(bhs), 'data digest mismatch');
        return;
      }
    }
    if (this.reusedChunks) {
      // Header (and AHS) copied: tasks keep the CDB, rejects the header. Write payload stays a view.
      const ownBhs = copyBytes(buffer, start, BHS_LENGTH);
      const ownAhs = ahsLength > 0 ? copyBytes(buffer, start + BHS_LENGTH, ahsLength) : undefined;
      if (dataLength === 0) this.sink.pdu({ bhs: ownBhs, ahs: ownAhs, data: EMPTY });
      else if (isWritePayload(ownBhs)) this.sink.pdu({ bhs: ownBhs, ahs: ownAhs, data: buffer.subarray(cursor, cursor + dataLength), transient: true });
      else this.sink.pdu({ bhs: ownBhs, ahs: ownAhs, data: copyBytes(buffer, cursor, dataLength) });
      return;
    }
    const ahs = ahsLength > 0 ? buffer.subarray(start + BHS_LENGTH, start + BHS_LENGTH + ahsLength) : undefined;
    this.sink.pdu({ bhs, ahs, data: buffer.subarray(cursor, cursor + dataLength) });
  }

  /** A PDU whose data segment spans several chunks: `segment` holds data, padding and digest. */
  private emitSplit(header: Buffer, segment: readonly Buffer[]): void {
    const bhs = header.subarray(0, BHS_LENGTH);
    const ahsLength = totalAhsLength(bhs);
    if (!this.headerIntact(header, 0, ahsLength)) return;
    const dataLength = dataSegmentLength(bhs);
    const padded = dataLength + padLength(dataLength);
    const parts = takeBytes(segment, 0, dataLength);
    if (this.dataDigest) {
      let crc = 0;
      for (const part of takeBytes(segment, 0, padded)) crc = crc32c(part, crc);
      if (readUInt32LE(takeBytes(segment, padded, DIGEST_LENGTH)) !== crc >>> 0) {
        this.fail('data-digest', Buffer.from(bhs), 'data digest mismatch');
        return;
      }
    }
    const ahs = ahsLength > 0 ? header.subarray(BHS_LENGTH, BHS_LENGTH + ahsLength) : undefined;
    const opcode = opcodeOf(bhs);
    if (this.reusedChunks) {
      // One segment buffer: the parser's reused assembly buffer for write payload, else the PDU's own.
      const data = parts[0] ?? EMPTY;
      this.sink.pdu(isWritePayload(bhs) && data.length > 0 ? { bhs, ahs, data, transient: true } : { bhs, ahs, data });
    } else if (parts.length <= 1) {
      this.sink.pdu({ bhs, ahs, data: parts[0] ?? EMPTY });
    } else if (opcode === InitiatorOpcode.ScsiCommand || opcode === InitiatorOpcode.DataOut) {
      let joined: Buffer | undefined;
      this.sink.pdu({
        bhs,
        ahs,
        dataParts: parts,
        get data() {
          joined ??= Buffer.concat(parts, dataLength);
          return joined;
        },
      });
    } else {
      this.sink.pdu({ bhs, ahs, data: Buffer.concat(parts, dataLength) });
    }
  }

  /** RFC 7143 §6.2.1: CRC32C over BHS + AHS, sent least significant byte first. */
  private headerIntact(buffer: Buffer, start: number, ahsLength: number): boolean {
    if (!this.headerDigest) return true;
    const end = start + BHS_LENGTH + ahsLength;
    if (buffer.readUInt32LE(end) === crc32c(buffer.subarray(start, end))) return true;
    this.fail('header-digest', Buffer.from(buffer.subarray(start, start + BHS_LENGTH)), 'header digest mismatch');
    return false;
  }

  private fail(kind: ParseErrorKind, bhs: Buffer, message: string): void {
    this.stop();
    this.sink.error({ kind, bhs, message });
  }
}

/**
 * `length` bytes of `source` from `start` in a buffer of their own. A byte loop for headers: the
 * usual subarray + Buffer.from makes three typed arrays per PDU, which cost more than 48 byte moves.
 */
function copyBytes(source: Buffer, start: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  if (length > BHS_LENGTH) source.copy(out, 0, start, start + length);
  else for (let i = 0; i < length; i++) out[i] = source[start + i];
  return out;
}

function isWritePayload(bhs: Buffer): boolean {
  const opcode = opcodeOf(bhs);
  return opcode === InitiatorOpcode.ScsiCommand || opcode === InitiatorOpcode.DataOut;
}

/** Views of `length` bytes starting `skip` bytes into the concatenation of `parts`. */
function takeBytes(parts: readonly Buffer[], skip: number, length: number): Buffer[] {
  const out: Buffer[] = [];
  let left = length;
  for (const part of parts) {
    if (left === 0) break;
    if (skip >= part.length) {
      skip -= part.length;
      continue;
    }
    const piece = part.subarray(skip, skip + left);
    skip = 0;
    out.push(piece);
    left -= piece.length;
  }
  return out;
}

function readUInt32LE(parts: readonly Buffer[]): number {
  return (parts.length === 1 ? parts[0] : Buffer.concat(parts)).readUInt32LE(0);
}
