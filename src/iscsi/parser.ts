/**
 * PDU framing over socket chunks. A PDU that lies inside one chunk is emitted as views into that
 * chunk (Node never reuses a chunk's memory, so views stay valid while a command holds them); a PDU
 * that straddles chunks is assembled into one buffer of its exact size: at most one copy.
 * Malformed input becomes a ParseError value, never an exception.
 */
import { crc32c } from '@node-rs/crc32';
import { BHS_LENGTH, DIGEST_LENGTH } from './constants.ts';
import { dataSegmentLength, padLength, totalAhsLength, type Pdu } from './pdu.ts';

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

  private pending: Buffer | undefined;
  private pendingFilled = 0;
  private pendingTotal = 0;
  private stopped = false;

  constructor(
    private readonly sink: PduSink,
    maxDataSegmentLength = 262144,
  ) {
    this.maxDataSegmentLength = maxDataSegmentLength;
  }

  /** Whether a partial PDU is buffered (e.g. to tell a clean close from a truncated one). */
  get midPdu(): boolean {
    return this.pending !== undefined;
  }

  stop(): void {
    this.stopped = true;
    this.pending = undefined;
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.stopped) {
      if (this.pending !== undefined) {
        offset = this.fillPending(chunk, offset);
        continue;
      }
      const remaining = chunk.length - offset;
      if (remaining < BHS_LENGTH) {
        this.pending = Buffer.allocUnsafe(BHS_LENGTH);
        this.pendingTotal = BHS_LENGTH;
        this.pendingFilled = 0;
        offset = this.fillPending(chunk, offset);
        continue;
      }
      const total = this.pduLength(chunk.subarray(offset, offset + BHS_LENGTH));
      if (total < 0) return;
      if (remaining >= total) {
        this.emit(chunk, offset);
        offset += total;
      } else {
        this.pending = Buffer.allocUnsafe(total);
        this.pendingTotal = total;
        this.pendingFilled = 0;
        offset = this.fillPending(chunk, offset);
      }
    }
  }

  private fillPending(chunk: Buffer, offset: number): number {
    const pending = this.pending as Buffer;
    const n = Math.min(this.pendingTotal - this.pendingFilled, chunk.length - offset);
    chunk.copy(pending, this.pendingFilled, offset, offset + n);
    this.pendingFilled += n;
    offset += n;
    if (this.pendingFilled < this.pendingTotal) return offset;
    if (this.pendingTotal === BHS_LENGTH && pending.length === BHS_LENGTH) {
      // The BHS is complete: now the whole PDU's size is known.
      const total = this.pduLength(pending);
      if (total < 0) return chunk.length;
      if (total > BHS_LENGTH) {
        const whole = Buffer.allocUnsafe(total);
        pending.copy(whole, 0);
        this.pending = whole;
        this.pendingTotal = total;
        return offset;
      }
    }
    this.pending = undefined;
    this.emit(pending, 0);
    return offset;
  }

  /** Bytes of the whole PDU on the wire, or -1 after reporting an error. */
  private pduLength(bhs: Buffer): number {
    const dataLength = dataSegmentLength(bhs);
    if (dataLength > this.maxDataSegmentLength) {
      this.fail('oversized', bhs, `data segment of ${dataLength} bytes exceeds ${this.maxDataSegmentLength}`);
      return -1;
    }
    if (this.acceptHeader && !this.acceptHeader(bhs)) {
      this.fail('unexpected', Buffer.from(bhs), `unexpected opcode 0x${(bhs[0] & 0x3f).toString(16)}`);
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
    let cursor = start + BHS_LENGTH + ahsLength;
    if (this.headerDigest) {
      // RFC 7143 §6.2.1: CRC32C over BHS + AHS, sent least significant byte first.
      const expected = crc32c(buffer.subarray(start, cursor));
      if (buffer.readUInt32LE(cursor) !== expected) {
        this.fail('header-digest', Buffer.from(bhs), 'header digest mismatch');
        return;
      }
      cursor += DIGEST_LENGTH;
    }
    const dataLength = dataSegmentLength(bhs);
    let data = buffer.subarray(cursor, cursor + dataLength);
    if (dataLength > 0) {
      const padded = dataLength + padLength(dataLength);
      if (this.dataDigest) {
        const expected = crc32c(buffer.subarray(cursor, cursor + padded));
        if (buffer.readUInt32LE(cursor + padded) !== expected) {
          this.fail('data-digest', Buffer.from(bhs), 'data digest mismatch');
          return;
        }
      }
    } else {
      data = buffer.subarray(cursor, cursor);
    }
    const ahs = ahsLength > 0 ? buffer.subarray(start + BHS_LENGTH, start + BHS_LENGTH + ahsLength) : undefined;
    this.sink.pdu({ bhs, ahs, data });
  }

  private fail(kind: ParseErrorKind, bhs: Buffer, message: string): void {
    this.stop();
    this.sink.error({ kind, bhs, message });
  }
}
