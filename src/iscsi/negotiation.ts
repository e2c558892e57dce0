/**
 * Operational text-key negotiation (RFC 7143 §6.2, §13): one rule per key, answers only for keys the
 * initiator offered (plus our declarative MaxRecvDataSegmentLength), Irrelevant for session-only keys
 * in a discovery session, NotUnderstood for unknown keys.
 */
import { parseBoolean, parseNumber, type KeyValue } from './text-keys.ts';

export interface SessionParameters {
  headerDigest: boolean;
  dataDigest: boolean;
  /** Largest data segment we may send (the initiator's declaration). */
  initiatorMaxRecvDataSegmentLength: number;
  /** Largest data segment we accept (our declaration). */
  targetMaxRecvDataSegmentLength: number;
  maxBurstLength: number;
  firstBurstLength: number;
  initialR2T: boolean;
  immediateData: boolean;
  maxOutstandingR2T: number;
  dataPDUInOrder: boolean;
  dataSequenceInOrder: boolean;
  defaultTime2Wait: number;
  defaultTime2Retain: number;
  maxConnections: number;
  errorRecoveryLevel: number;
}

/** What this target is willing to do. */
export const TARGET_LIMITS = {
  maxRecvDataSegmentLength: 262144,
  maxBurstLength: 16776192,
  firstBurstLength: 262144,
  maxOutstandingR2T: 8,
  defaultTime2Wait: 2,
  defaultTime2Retain: 20,
} as const;

/** RFC 7143 §13 defaults, in force until negotiated otherwise. */
export function defaultParameters(): SessionParameters {
  return {
    headerDigest: false,
    dataDigest: false,
    initiatorMaxRecvDataSegmentLength: 8192,
    targetMaxRecvDataSegmentLength: TARGET_LIMITS.maxRecvDataSegmentLength,
    maxBurstLength: 262144,
    firstBurstLength: 65536,
    initialR2T: true,
    immediateData: true,
    maxOutstandingR2T: 1,
    dataPDUInOrder: true,
    dataSequenceInOrder: true,
    defaultTime2Wait: 2,
    defaultTime2Retain: 20,
    maxConnections: 1,
    errorRecoveryLevel: 0,
  };
}

/** Keys consumed by the login layer itself (declarations, no answer). */
const LOGIN_KEYS = new Set(['InitiatorName', 'InitiatorAlias', 'TargetName', 'SessionType', 'AuthMethod']);

/** Keys that only make sense for a normal session (RFC 7143 §13: Irrelevant in discovery). */
const SESSION_ONLY_KEYS = new Set([
  'MaxConnections', 'InitialR2T', 'ImmediateData', 'MaxBurstLength', 'FirstBurstLength',
  'MaxOutstandingR2T', 'DataPDUInOrder', 'DataSequenceInOrder',
]);

/** Keys only a target may send. */
const TARGET_ONLY_KEYS = new Set(['TargetAlias', 'TargetAddress', 'TargetPortalGroupTag']);

function inRange(value: string, low: number, high: number): number | undefined {
  const n = parseNumber(value);
  return n !== undefined && n >= low && n <= high ? n : undefined;
}

function pickDigest(value: string): boolean | undefined {
  for (const option of value.split(',')) {
    if (option === 'None') return false;
    if (option === 'CRC32C') return true;
  }
  return undefined;
}

const MAX_24BIT = 16777215;

/**
 * Applies the initiator's offers to `params` and returns the answers. The caller handles the login
 * keys (InitiatorName, TargetName, SessionType, AuthMethod, CHAP_*).
 */
export function negotiate(offers: readonly KeyValue[], params: SessionParameters, discovery: boolean): KeyValue[] {
  const answers: KeyValue[] = [];
  const answer = (key: string, value: string): void => {
    answers.push([key, value]);
  };
  let firstBurstOffered: number | undefined;
  for (const [key, value] of offers) {
    if (LOGIN_KEYS.has(key) || key.startsWith('CHAP_')) continue;
    if (TARGET_ONLY_KEYS.has(key)) {
      answer(key, 'Irrelevant');
      continue;
    }
    if (discovery && SESSION_ONLY_KEYS.has(key)) {
      answer(key, 'Irrelevant');
      continue;
    }
    switch (key) {
      case 'HeaderDigest':
      case 'DataDigest': {
        const crc = pickDigest(value);
        if (crc === undefined) answer(key, 'Reject');
        else {
          if (key === 'HeaderDigest') params.headerDigest = crc;
          else params.dataDigest = crc;
          answer(key, crc ? 'CRC32C' : 'None');
        }
        break;
      }
      case 'MaxRecvDataSegmentLength': {
        // Declarative (RFC 7143 §13.12): no answer; it bounds what we send.
        const n = inRange(value, 512, MAX_24BIT);
        if (n === undefined) answer(key, 'Reject');
        else params.initiatorMaxRecvDataSegmentLength = n;
        break;
      }
      case 'MaxBurstLength': {
        const n = inRange(value, 512, MAX_24BIT);
        if (n === undefined) answer(key, 'Reject');
        else {
          params.maxBurstLength = Math.min(n, TARGET_LIMITS.maxBurstLength);
          answer(key, String(params.maxBurstLength));
        }
        break;
      }
      case 'FirstBurstLength': {
        const n = inRange(value, 512, MAX_24BIT);
        if (n === undefined) answer(key, 'Reject');
        else firstBurstOffered = Math.min(n, TARGET_LIMITS.firstBurstLength);
        break;
      }
      case 'InitialR2T': {
        // OR function: our own preference is No.
        const b = parseBoolean(value);
        if (b === undefined) answer(key, 'Reject');
        else {
          params.initialR2T = b;
          answer(key, b ? 'Yes' : 'No');
        }
        break;
      }
      case 'ImmediateData': {
        // AND function: our own preference is Yes.
        const b = parseBoolean(value);
        if (b === undefined) answer(key, 'Reject');
        else {
          params.immediateData = b;
          answer(key, b ? 'Yes' : 'No');
        }
        break;
      }
      case 'DataPDUInOrder':
      case 'DataSequenceInOrder': {
        // OR function: we answer Yes, so the result is Yes whatever was offered.
        if (parseBoolean(value) === undefined) answer(key, 'Reject');
        else answer(key, 'Yes');
        break;
      }
      case 'MaxOutstandingR2T': {
        const n = inRange(value, 1, 65535);
        if (n === undefined) answer(key, 'Reject');
        else {
          params.maxOutstandingR2T = Math.min(n, TARGET_LIMITS.maxOutstandingR2T);
          answer(key, String(params.maxOutstandingR2T));
        }
        break;
      }
      case 'MaxConnections': {
        if (inRange(value, 1, 65535) === undefined) answer(key, 'Reject');
        else {
          params.maxConnections = 1;
          answer(key, '1');
        }
        break;
      }
      case 'ErrorRecoveryLevel': {
        if (inRange(value, 0, 2) === undefined) answer(key, 'Reject');
        else {
          params.errorRecoveryLevel = 0;
          answer(key, '0');
        }
        break;
      }
      case 'DefaultTime2Wait': {
        const n = inRange(value, 0, 3600);
        if (n === undefined) answer(key, 'Reject');
        else {
          params.defaultTime2Wait = Math.max(n, TARGET_LIMITS.defaultTime2Wait);
          answer(key, String(params.defaultTime2Wait));
        }
        break;
      }
      case 'DefaultTime2Retain': {
        const n = inRange(value, 0, 3600);
        if (n === undefined) answer(key, 'Reject');
        else {
          params.defaultTime2Retain = Math.min(n, TARGET_LIMITS.defaultTime2Retain);
          answer(key, String(params.defaultTime2Retain));
        }
        break;
      }
      case 'IFMarker':
      case 'OFMarker':
        // Markers are not supported (RFC 7143 drops them); AND function answers No.
        answer(key, 'No');
        break;
      case 'IFMarkInt':
      case 'OFMarkInt':
        answer(key, 'Irrelevant');
        break;
      case 'RDMAExtensions':
        answer(key, 'No');
        break;
      default:
        answer(key, 'NotUnderstood');
    }
  }
  if (firstBurstOffered !== undefined) {
    params.firstBurstLength = Math.min(firstBurstOffered, params.maxBurstLength);
    answers.push(['FirstBurstLength', String(params.firstBurstLength)]);
  }
  if (params.firstBurstLength > params.maxBurstLength) params.firstBurstLength = params.maxBurstLength;
  return answers;
}
