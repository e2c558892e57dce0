/**
 * The few request PDUs a discovery probe sends (RFC 7143 §11): Login, Text and Logout. Digests are
 * negotiated off, so no CRC here. Framing, field accessors and the key codec are the fabric's own
 * (../iscsi/parser.ts, ../iscsi/pdu.ts, ../iscsi/text-keys.ts): one PDU codec for both sides.
 */
import { InitiatorOpcode, LoginStage } from '../iscsi/constants.ts';
import { newBhs, padLength, setCmdSN, setDataSegmentLength, setExpStatSN, setIsid, setItt, setTtt } from '../iscsi/pdu.ts';
import { parseKeys, type KeyValue } from '../iscsi/text-keys.ts';

const IMMEDIATE = 0x40;
const FINAL = 0x80;

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

function setNumbers(bhs: Buffer, n: SessionNumbers): void {
  setItt(bhs, n.itt);
  setCmdSN(bhs, n.cmdSN);
  setExpStatSN(bhs, n.expStatSN);
}

/** RFC 7143 §11.12: Login Request, here always T=1 CSG=1 (operational) NSG=3 (full feature). */
export function loginRequest(n: SessionNumbers, keys: Buffer): Buffer {
  const bhs = newBhs(IMMEDIATE | InitiatorOpcode.LoginRequest, FINAL | (LoginStage.Operational << 2) | LoginStage.FullFeature);
  setIsid(bhs, n.isid);
  setNumbers(bhs, n);
  return withData(bhs, keys);
}

/** RFC 7143 §11.10: Text Request, F=1, no LUN; ttt 0xffffffff for a new exchange. */
export function textRequest(n: SessionNumbers, ttt: number, keys: Buffer): Buffer {
  const bhs = newBhs(IMMEDIATE | InitiatorOpcode.TextRequest, FINAL);
  bhs.fill(0xff, 8, 16);
  setNumbers(bhs, n);
  setTtt(bhs, ttt);
  return withData(bhs, keys);
}

/** RFC 7143 §11.14: Logout Request, reason 0 = close the session. */
export function logoutRequest(n: SessionNumbers): Buffer {
  const bhs = newBhs(IMMEDIATE | InitiatorOpcode.LogoutRequest, FINAL);
  setNumbers(bhs, n);
  return bhs;
}
