/**
 * The few PDUs a discovery probe needs (RFC 7143 §11): Login, Text and Logout requests, and a
 * reader for the target's answers. Digests are negotiated off, so no CRC here. Field helpers and the
 * key codec are the target's own (../pdu.ts, ../text-keys.ts).
 */
import { BHS_LENGTH, InitiatorOpcode, TargetOpcode } from '../constants.ts';
import { dataSegmentLength, newBhs, padLength, setDataSegmentLength } from '../pdu.ts';
import { encodeKeys, parseKeys, type KeyValue } from '../text-keys.ts';

export { BHS_LENGTH, encodeKeys };

export const Opcode = {
  LoginRequest: InitiatorOpcode.LoginRequest, TextRequest: InitiatorOpcode.TextRequest, LogoutRequest: InitiatorOpcode.LogoutRequest,
  LoginResponse: TargetOpcode.LoginResponse, TextResponse: TargetOpcode.TextResponse, LogoutResponse: TargetOpcode.LogoutResponse, Reject: TargetOpcode.Reject,
} as const;

const IMMEDIATE = 0x40;

/** key=value pairs of a text/login data segment (NUL separated); malformed entries are dropped. */
export function decodeKeys(data: Buffer): KeyValue[] {
  return parseKeys(data).pairs;
}

function withData(bhs: Buffer, data: Buffer): Buffer {
  setDataSegmentLength(bhs, data.length);
  return Buffer.concat([bhs, data, Buffer.alloc(padLength(data.length))]);
}

export interface SessionNumbers {
  readonly isid: Buffer;
  readonly itt: number;
  readonly cmdSN: number;
  readonly expStatSN: number;
}

/** RFC 7143 §11.12: Login Request, here always T=1 CSG=1 (operational) NSG=3 (full feature). */
export function loginRequest(n: SessionNumbers, keys: Buffer): Buffer {
  const bhs = newBhs(IMMEDIATE | Opcode.LoginRequest, 0x80 | (1 << 2) | 3);
  n.isid.copy(bhs, 8, 0, 6);
  bhs.writeUInt32BE(n.itt, 16);
  bhs.writeUInt32BE(n.cmdSN, 24);
  bhs.writeUInt32BE(n.expStatSN, 28);
  return withData(bhs, keys);
}

/** RFC 7143 §11.10: Text Request, F=1; ttt 0xffffffff for a new exchange. */
export function textRequest(n: SessionNumbers, ttt: number, keys: Buffer): Buffer {
  const bhs = newBhs(IMMEDIATE | Opcode.TextRequest, 0x80);
  bhs.writeUInt32BE(0xffffffff, 8);
  bhs.writeUInt32BE(0xffffffff, 12);
  bhs.writeUInt32BE(n.itt, 16);
  bhs.writeUInt32BE(ttt >>> 0, 20);
  bhs.writeUInt32BE(n.cmdSN, 24);
  bhs.writeUInt32BE(n.expStatSN, 28);
  return withData(bhs, keys);
}

/** RFC 7143 §11.14: Logout Request, reason 0 = close the session. */
export function logoutRequest(n: SessionNumbers): Buffer {
  const bhs = newBhs(IMMEDIATE | Opcode.LogoutRequest, 0x80);
  bhs.writeUInt32BE(n.itt, 16);
  bhs.writeUInt32BE(n.cmdSN, 24);
  bhs.writeUInt32BE(n.expStatSN, 28);
  return bhs;
}

export interface ResponsePdu {
  readonly opcode: number;
  readonly flags: number;
  readonly bhs: Buffer;
  readonly data: Buffer;
}

/** Accumulates socket chunks and yields whole PDUs (BHS + AHS + padded data). */
export class PduReader {
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly maxDataLength = 1 << 20) {}

  push(chunk: Buffer): ResponsePdu[] {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const out: ResponsePdu[] = [];
    while (this.buffered.length >= BHS_LENGTH) {
      const ahs = this.buffered[4] * 4;
      const dataLength = dataSegmentLength(this.buffered);
      if (dataLength > this.maxDataLength) throw new Error(`data segment of ${dataLength} bytes is too large`);
      const total = BHS_LENGTH + ahs + dataLength + padLength(dataLength);
      if (this.buffered.length < total) break;
      const bhs = this.buffered.subarray(0, BHS_LENGTH);
      out.push({ opcode: bhs[0] & 0x3f, flags: bhs[1], bhs, data: this.buffered.subarray(BHS_LENGTH + ahs, BHS_LENGTH + ahs + dataLength) });
      this.buffered = this.buffered.subarray(total);
    }
    return out;
  }
}
