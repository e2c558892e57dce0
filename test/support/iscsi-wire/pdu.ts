/**
 * Test-side iSCSI PDU builders and framing, written from RFC 7143 §11 independently of src/iscsi so
 * tests check the server against the spec, not against its own codec. Builders return the 48-byte
 * BHS; `frame` appends digests, data and padding (and can corrupt either digest on purpose).
 */
import { crc32c } from '@node-rs/crc32';

export const Op = {
  NopOut: 0x00, ScsiCommand: 0x01, TaskMgmt: 0x02, LoginRequest: 0x03, TextRequest: 0x04, DataOut: 0x05,
  LogoutRequest: 0x06, NopIn: 0x20, ScsiResponse: 0x21, TaskMgmtResponse: 0x22, LoginResponse: 0x23,
  TextResponse: 0x24, DataIn: 0x25, LogoutResponse: 0x26, R2T: 0x31, AsyncMessage: 0x32, Reject: 0x3f,
} as const;

export const BHS_LENGTH = 48;
export const NO_TAG = 0xffffffff;

export interface Digests {
  header: boolean;
  data: boolean;
}

/** RFC 7143 §13.1: CRC32C, sent least significant byte first. */
export function digest(...parts: Buffer[]): Buffer {
  let crc = 0;
  for (const p of parts) crc = crc32c(p, crc);
  const out = Buffer.alloc(4);
  out.writeUInt32LE(crc >>> 0);
  return out;
}

export function encodeKeys(keys: Record<string, string | number>): Buffer {
  return Buffer.from(Object.entries(keys).map(([k, v]) => `${k}=${v}\0`).join(''), 'utf8');
}

export function decodeKeys(data: Buffer): Map<string, string> {
  const keys = new Map<string, string>();
  for (const pair of data.toString('utf8').split('\0')) {
    const eq = pair.indexOf('=');
    if (eq > 0) keys.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return keys;
}

function header(opcode: number, immediate: boolean, flags: number): Buffer {
  const h = Buffer.alloc(BHS_LENGTH);
  h[0] = (immediate ? 0x40 : 0) | (opcode & 0x3f);
  h[1] = flags;
  return h;
}

/** Sets byte 4 (TotalAHSLength) and bytes 5..7 (DataSegmentLength), RFC 7143 §11.2.1. */
export function setLengths(h: Buffer, dataLength: number, ahsWords = 0): Buffer {
  h[4] = ahsWords;
  h.writeUIntBE(dataLength, 5, 3);
  return h;
}

export interface LoginFields {
  isid: Buffer;
  tsih?: number;
  itt: number;
  cid?: number;
  cmdSN: number;
  expStatSN: number;
  csg: number;
  nsg: number;
  transit: boolean;
  versionMax?: number;
  versionMin?: number;
}

/** RFC 7143 §11.12 Login Request (always immediate). */
export function loginRequest(f: LoginFields, dataLength: number): Buffer {
  const flags = (f.transit ? 0x80 : 0) | ((f.csg & 3) << 2) | (f.transit ? f.nsg & 3 : 0);
  const h = setLengths(header(Op.LoginRequest, true, flags), dataLength);
  h[2] = f.versionMax ?? 0;
  h[3] = f.versionMin ?? 0;
  f.isid.copy(h, 8, 0, 6);
  h.writeUInt16BE(f.tsih ?? 0, 14);
  h.writeUInt32BE(f.itt, 16);
  h.writeUInt16BE(f.cid ?? 0, 20);
  h.writeUInt32BE(f.cmdSN, 24);
  h.writeUInt32BE(f.expStatSN, 28);
  return h;
}

export interface CommandFields {
  itt: number;
  cmdSN: number;
  expStatSN: number;
  lun?: number;
  read?: boolean;
  write?: boolean;
  /** F bit: no unsolicited Data-Out follows. */
  final?: boolean;
  expectedLength: number;
  cdb: Buffer;
  immediate?: boolean;
}

function setLun(h: Buffer, lun: number): void {
  // RFC 7143 §11.2.1.4 / SAM: single-level peripheral addressing for LUNs < 256.
  h[8] = (lun >> 8) & 0x3f;
  h[9] = lun & 0xff;
}

/** RFC 7143 §11.3 SCSI Command. */
export function scsiCommand(f: CommandFields, dataLength: number): Buffer {
  const flags = ((f.final ?? true) ? 0x80 : 0) | (f.read ? 0x40 : 0) | (f.write ? 0x20 : 0) | 0x01; // ATTR simple
  const h = setLengths(header(Op.ScsiCommand, f.immediate ?? false, flags), dataLength);
  setLun(h, f.lun ?? 0);
  h.writeUInt32BE(f.itt, 16);
  h.writeUInt32BE(f.expectedLength, 20);
  h.writeUInt32BE(f.cmdSN, 24);
  h.writeUInt32BE(f.expStatSN, 28);
  f.cdb.copy(h, 32, 0, Math.min(16, f.cdb.length));
  return h;
}

/** RFC 7143 §11.7 SCSI Data-Out. */
export function dataOut(f: { itt: number; ttt: number; expStatSN: number; dataSN: number; offset: number; final: boolean; lun?: number }, dataLength: number): Buffer {
  const h = setLengths(header(Op.DataOut, false, f.final ? 0x80 : 0), dataLength);
  setLun(h, f.lun ?? 0);
  h.writeUInt32BE(f.itt, 16);
  h.writeUInt32BE(f.ttt, 20);
  h.writeUInt32BE(f.expStatSN, 28);
  h.writeUInt32BE(f.dataSN, 36);
  h.writeUInt32BE(f.offset, 40);
  return h;
}

/** RFC 7143 §11.18 NOP-Out. */
export function nopOut(f: { itt: number; ttt?: number; cmdSN: number; expStatSN: number; immediate?: boolean }, dataLength = 0): Buffer {
  const h = setLengths(header(Op.NopOut, f.immediate ?? true, 0x80), dataLength);
  h.writeUInt32BE(f.itt, 16);
  h.writeUInt32BE(f.ttt ?? NO_TAG, 20);
  h.writeUInt32BE(f.cmdSN, 24);
  h.writeUInt32BE(f.expStatSN, 28);
  return h;
}

/** RFC 7143 §11.14 Logout Request, reason 0 = close the session. */
export function logoutRequest(f: { itt: number; cmdSN: number; expStatSN: number }): Buffer {
  const h = header(Op.LogoutRequest, true, 0x80);
  h.writeUInt32BE(f.itt, 16);
  h.writeUInt32BE(f.cmdSN, 24);
  h.writeUInt32BE(f.expStatSN, 28);
  return h;
}

/** RFC 7143 §11.10 Text Request, final (F=1), a new exchange (TTT 0xffffffff). */
export function textRequest(f: { itt: number; cmdSN: number; expStatSN: number; immediate?: boolean }, dataLength: number): Buffer {
  const h = setLengths(header(Op.TextRequest, f.immediate ?? true, 0x80), dataLength);
  h.writeUInt32BE(f.itt, 16);
  h.writeUInt32BE(NO_TAG, 20);
  h.writeUInt32BE(f.cmdSN, 24);
  h.writeUInt32BE(f.expStatSN, 28);
  return h;
}

/** RFC 7143 §11.5 Task Management Function Request (immediate): ABORT TASK = 1, LOGICAL UNIT RESET = 5. */
export function taskManagement(f: { fn: number; itt: number; referencedTag?: number; refCmdSN?: number; cmdSN: number; expStatSN: number; lun?: number }): Buffer {
  const h = header(Op.TaskMgmt, true, 0x80 | (f.fn & 0x7f));
  setLun(h, f.lun ?? 0);
  h.writeUInt32BE(f.itt, 16);
  h.writeUInt32BE(f.referencedTag ?? NO_TAG, 20);
  h.writeUInt32BE(f.cmdSN, 24);
  h.writeUInt32BE(f.expStatSN, 28);
  h.writeUInt32BE(f.refCmdSN ?? 0, 32);
  return h;
}

/** A BHS with any opcode (also reserved ones) and otherwise plausible fields. */
export function anyOpcode(opcode: number, f: { itt: number; cmdSN: number; expStatSN: number }, dataLength = 0): Buffer {
  const h = setLengths(header(opcode, false, 0x80), dataLength);
  h.writeUInt32BE(f.itt, 16);
  h.writeUInt32BE(f.cmdSN, 24);
  h.writeUInt32BE(f.expStatSN, 28);
  return h;
}

export interface FrameOptions {
  digests?: Digests;
  corruptHeaderDigest?: boolean;
  corruptDataDigest?: boolean;
}

/** BHS + header digest + data + pad to 4 + data digest (RFC 7143 §11.2). */
export function frame(bhs: Buffer, data: Buffer = Buffer.alloc(0), options: FrameOptions = {}): Buffer {
  const parts: Buffer[] = [bhs];
  if (options.digests?.header) {
    const d = digest(bhs);
    if (options.corruptHeaderDigest) d[0] ^= 0xff;
    parts.push(d);
  }
  if (data.length > 0) {
    const pad = Buffer.alloc((4 - (data.length % 4)) % 4);
    parts.push(data, pad);
    if (options.digests?.data) {
      const d = digest(data, pad);
      if (options.corruptDataDigest) d[0] ^= 0xff;
      parts.push(d);
    }
  }
  return Buffer.concat(parts);
}

export interface Pdu {
  opcode: number;
  flags: number;
  header: Buffer;
  data: Buffer;
  itt: number;
  ttt: number;
  statSN: number;
  expCmdSN: number;
  maxCmdSN: number;
}

/** Splits a byte stream into PDUs; the caller says whether digests are on. */
export class PduStream {
  private buffered: Buffer = Buffer.alloc(0);
  digests: Digests = { header: false, data: false };

  push(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
  }

  /** The next complete PDU, or undefined when more bytes are needed. */
  take(): Pdu | undefined {
    const b = this.buffered;
    if (b.length < BHS_LENGTH) return undefined;
    const ahs = b[4] * 4;
    const dataLength = b.readUIntBE(5, 3);
    const padded = dataLength + ((4 - (dataLength % 4)) % 4);
    const headerEnd = BHS_LENGTH + ahs + (this.digests.header ? 4 : 0);
    const total = headerEnd + padded + (dataLength > 0 && this.digests.data ? 4 : 0);
    if (b.length < total) return undefined;
    const h = Buffer.from(b.subarray(0, BHS_LENGTH));
    const pdu: Pdu = {
      opcode: h[0] & 0x3f, flags: h[1], header: h, data: Buffer.from(b.subarray(headerEnd, headerEnd + dataLength)),
      itt: h.readUInt32BE(16), ttt: h.readUInt32BE(20), statSN: h.readUInt32BE(24), expCmdSN: h.readUInt32BE(28),
      maxCmdSN: h.readUInt32BE(32),
    };
    this.buffered = b.subarray(total);
    return pdu;
  }
}
