/**
 * Pure builders for every target PDU (RFC 7143 §11). Each returns the BHS and the data segment as a
 * list of views: payloads are never concatenated; the connection writes them back to back.
 */
import { RESERVED_TAG, TargetOpcode, type LoginStatus, type RejectReason } from './constants.ts';
import {
  newBhs, setBufferOffset, setDataSegmentLength, setDataSN, setDesiredLength, setExpCmdSN, setIsid, setItt, setLoginStatus, setLunField, setMaxCmdSN,
  setResidualCount, setResponseCode, setStatSN, setStatus, setTsih, setTtt, writeLun,
} from './pdu.ts';

export interface OutPdu {
  readonly bhs: Buffer;
  readonly data: readonly Buffer[];
  readonly dataLength: number;
}

/** StatSN / ExpCmdSN / MaxCmdSN as they go into a status-bearing PDU. */
export interface Sequence {
  readonly statSN: number;
  readonly expCmdSN: number;
  readonly maxCmdSN: number;
}

function withData(bhs: Buffer, data: readonly Buffer[]): OutPdu {
  let length = 0;
  for (const chunk of data) length += chunk.length;
  setDataSegmentLength(bhs, length);
  return { bhs, data, dataLength: length };
}

function writeSequence(bhs: Buffer, seq: Sequence): void {
  setStatSN(bhs, seq.statSN);
  setExpCmdSN(bhs, seq.expCmdSN);
  setMaxCmdSN(bhs, seq.maxCmdSN);
}

export interface LoginResponseFields {
  readonly transit: boolean;
  readonly continues: boolean;
  readonly currentStage: number;
  readonly nextStage: number;
  /** 6 bytes. */
  readonly isid: Buffer;
  readonly tsih: number;
  readonly itt: number;
  readonly status: LoginStatus;
  readonly text: Buffer;
}

/** RFC 7143 §11.13. Version-max and version-active are 0x00. */
export function loginResponse(f: LoginResponseFields, seq: Sequence): OutPdu {
  const flags = (f.transit ? 0x80 : 0) | (f.continues ? 0x40 : 0) | ((f.currentStage & 3) << 2) | (f.transit ? f.nextStage & 3 : 0);
  const bhs = newBhs(TargetOpcode.LoginResponse, flags);
  setIsid(bhs, f.isid);
  setTsih(bhs, f.tsih);
  setItt(bhs, f.itt);
  writeSequence(bhs, seq);
  setLoginStatus(bhs, f.status);
  return withData(bhs, f.text.length > 0 ? [f.text] : []);
}

export interface TextResponseFields {
  readonly final: boolean;
  readonly continues: boolean;
  readonly lun: Buffer | undefined;
  readonly itt: number;
  readonly ttt: number;
  readonly text: Buffer;
}

/** RFC 7143 §11.11. */
export function textResponse(f: TextResponseFields, seq: Sequence): OutPdu {
  const bhs = newBhs(TargetOpcode.TextResponse, (f.final ? 0x80 : 0) | (f.continues ? 0x40 : 0));
  if (f.lun) setLunField(bhs, f.lun);
  setItt(bhs, f.itt);
  setTtt(bhs, f.ttt);
  writeSequence(bhs, seq);
  return withData(bhs, f.text.length > 0 ? [f.text] : []);
}

export interface Residual {
  readonly overflow: boolean;
  readonly underflow: boolean;
  readonly count: number;
}

export const NO_RESIDUAL: Residual = { overflow: false, underflow: false, count: 0 };

export interface ScsiResponseFields {
  readonly itt: number;
  readonly status: number;
  readonly sense: Buffer | undefined;
  readonly residual: Residual;
  readonly expDataSN: number;
}

/** RFC 7143 §11.4; sense data goes behind a 2-byte SenseLength (§11.4.7.2). */
export function scsiResponse(f: ScsiResponseFields, seq: Sequence): OutPdu {
  const flags = 0x80 | (f.residual.overflow ? 0x04 : 0) | (f.residual.underflow ? 0x02 : 0);
  const bhs = newBhs(TargetOpcode.ScsiResponse, flags);
  setStatus(bhs, f.status);
  setItt(bhs, f.itt);
  writeSequence(bhs, seq);
  setDataSN(bhs, f.expDataSN);
  setResidualCount(bhs, f.residual.count);
  if (!f.sense || f.sense.length === 0) return withData(bhs, []);
  const senseLength = Buffer.allocUnsafe(2);
  senseLength.writeUInt16BE(f.sense.length, 0);
  return withData(bhs, [senseLength, f.sense]);
}

export interface DataInFields {
  readonly final: boolean;
  /** Status carried in this PDU (S bit), or undefined. */
  readonly status: number | undefined;
  readonly residual: Residual;
  readonly lun: number;
  readonly itt: number;
  readonly dataSN: number;
  readonly bufferOffset: number;
  readonly data: readonly Buffer[];
}

/**
 * RFC 7143 §11.7. StatSN is only meaningful with the S bit; ExpCmdSN/MaxCmdSN are always current.
 */
export function dataIn(f: DataInFields, seq: Sequence): OutPdu {
  const withStatus = f.status !== undefined;
  let flags = f.final || withStatus ? 0x80 : 0;
  if (withStatus) flags |= 0x01 | (f.residual.overflow ? 0x04 : 0) | (f.residual.underflow ? 0x02 : 0);
  const bhs = newBhs(TargetOpcode.DataIn, flags);
  if (withStatus) setStatus(bhs, f.status as number);
  writeLun(bhs, 8, f.lun);
  setItt(bhs, f.itt);
  setTtt(bhs, RESERVED_TAG);
  writeSequence(bhs, seq);
  if (!withStatus) setStatSN(bhs, 0);
  setDataSN(bhs, f.dataSN);
  setBufferOffset(bhs, f.bufferOffset);
  if (withStatus) setResidualCount(bhs, f.residual.count);
  return withData(bhs, f.data);
}

export interface R2tFields {
  readonly lun: number;
  readonly itt: number;
  readonly ttt: number;
  readonly r2tSN: number;
  readonly bufferOffset: number;
  readonly desiredLength: number;
}

/** RFC 7143 §11.8. StatSN is the next StatSN and is not advanced. */
export function r2t(f: R2tFields, seq: Sequence): OutPdu {
  const bhs = newBhs(TargetOpcode.ReadyToTransfer, 0x80);
  writeLun(bhs, 8, f.lun);
  setItt(bhs, f.itt);
  setTtt(bhs, f.ttt);
  writeSequence(bhs, seq);
  setDataSN(bhs, f.r2tSN);
  setBufferOffset(bhs, f.bufferOffset);
  setDesiredLength(bhs, f.desiredLength);
  return withData(bhs, []);
}

export interface NopInFields {
  readonly lun: Buffer | undefined;
  readonly itt: number;
  readonly ttt: number;
  readonly data: Buffer;
}

/** RFC 7143 §11.19. */
export function nopIn(f: NopInFields, seq: Sequence): OutPdu {
  const bhs = newBhs(TargetOpcode.NopIn, 0x80);
  if (f.lun) setLunField(bhs, f.lun);
  setItt(bhs, f.itt);
  setTtt(bhs, f.ttt);
  writeSequence(bhs, seq);
  return withData(bhs, f.data.length > 0 ? [f.data] : []);
}

export interface LogoutResponseFields {
  readonly itt: number;
  readonly response: number;
  readonly time2Wait: number;
  readonly time2Retain: number;
}

/** RFC 7143 §11.15. */
export function logoutResponse(f: LogoutResponseFields, seq: Sequence): OutPdu {
  const bhs = newBhs(TargetOpcode.LogoutResponse, 0x80);
  setResponseCode(bhs, f.response);
  setItt(bhs, f.itt);
  writeSequence(bhs, seq);
  bhs.writeUInt16BE(f.time2Wait, 40);
  bhs.writeUInt16BE(f.time2Retain, 42);
  return withData(bhs, []);
}

/** RFC 7143 §11.6. */
export function taskMgmtResponse(itt: number, response: number, seq: Sequence): OutPdu {
  const bhs = newBhs(TargetOpcode.TaskManagementResponse, 0x80);
  setResponseCode(bhs, response);
  setItt(bhs, itt);
  writeSequence(bhs, seq);
  return withData(bhs, []);
}

/** RFC 7143 §11.17: the data segment carries the rejected PDU's header. */
export function reject(reason: RejectReason, rejectedBhs: Buffer, seq: Sequence, dataSN = 0): OutPdu {
  const bhs = newBhs(TargetOpcode.Reject, 0x80);
  setResponseCode(bhs, reason);
  setItt(bhs, 0xffffffff);
  writeSequence(bhs, seq);
  setDataSN(bhs, dataSN);
  return withData(bhs, [rejectedBhs]);
}

export interface AsyncMessageFields {
  readonly event: number;
  readonly lun: number;
  readonly parameter1: number;
  readonly parameter2: number;
  readonly parameter3: number;
  readonly sense: Buffer | undefined;
}

/** RFC 7143 §11.9. */
export function asyncMessage(f: AsyncMessageFields, seq: Sequence): OutPdu {
  const bhs = newBhs(TargetOpcode.AsyncMessage, 0x80);
  writeLun(bhs, 8, f.lun);
  setItt(bhs, 0xffffffff);
  writeSequence(bhs, seq);
  bhs[36] = f.event;
  bhs.writeUInt16BE(f.parameter1, 38);
  bhs.writeUInt16BE(f.parameter2, 40);
  bhs.writeUInt16BE(f.parameter3, 42);
  if (!f.sense) return withData(bhs, []);
  const senseLength = Buffer.allocUnsafe(2);
  senseLength.writeUInt16BE(f.sense.length, 0);
  return withData(bhs, [senseLength, f.sense]);
}
