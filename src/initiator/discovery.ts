/**
 * A minimal discovery-session initiator: TCP connect, Login (SessionType=Discovery, CSG=1 NSG=3 T=1,
 * as open-iscsi does without CHAP), Text SendTargets=All (following continuation), Logout.
 * Everything is bounded by one deadline. Used to probe remote portals.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { LoginStage, RESERVED_TAG, TargetOpcode } from '../iscsi/constants.ts';
import { expCmdSNOf, finalBit, loginStatusOf, nextStageOf, opcodeOf, statSNOf, tttOf } from '../iscsi/pdu.ts';
import { encodeKeys, type KeyValue } from '../iscsi/text-keys.ts';
import { Conversation } from './conversation.ts';
import { decodeKeys, loginRequest, logoutRequest, textRequest, type SessionNumbers } from './requests.ts';

export interface DiscoveredTarget {
  readonly name: string;
  readonly addresses: readonly string[];
}

export interface DiscoveryOptions {
  readonly initiatorName?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

export class DiscoveryError extends Error {
  constructor(message: string, readonly statusClass?: number, readonly statusDetail?: number) {
    super(message);
    this.name = 'DiscoveryError';
  }
}

const MAX_TEXT_ROUNDS = 16;

/** Splits "host:port" / "[v6]:port" (port defaults to 3260). */
export function parsePortal(portal: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(portal) ?? /^([^:]+)(?::(\d+))?$/.exec(portal);
  if (!m) throw new DiscoveryError(`bad portal address ${portal}`);
  return { host: m[1], port: m[2] ? Number(m[2]) : 3260 };
}

function connectTo(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

async function session(socket: Socket, initiatorName: string): Promise<DiscoveredTarget[]> {
  const conv = new Conversation(socket, (message) => new DiscoveryError(message));
  let n: SessionNumbers = { isid: Buffer.concat([Buffer.from([0x80]), randomBytes(5)]), itt: 1, cmdSN: 1, expStatSN: 0 };
  conv.send(loginRequest(n, encodeKeys([
    ['InitiatorName', initiatorName], ['SessionType', 'Discovery'], ['HeaderDigest', 'None'], ['DataDigest', 'None'],
    ['DefaultTime2Wait', '2'], ['DefaultTime2Retain', '0'], ['IFMarker', 'No'], ['OFMarker', 'No'],
    ['ErrorRecoveryLevel', '0'], ['MaxRecvDataSegmentLength', '32768'],
  ])));
  const login = await conv.next();
  const loginOpcode = opcodeOf(login.bhs);
  if (loginOpcode !== TargetOpcode.LoginResponse) throw new DiscoveryError(`expected a Login Response, got opcode 0x${loginOpcode.toString(16)}`);
  const status = loginStatusOf(login.bhs);
  const statusClass = status >> 8;
  const statusDetail = status & 0xff;
  if (statusClass !== 0) throw new DiscoveryError(`login rejected (status class ${statusClass}, detail ${statusDetail})`, statusClass, statusDetail);
  if (!finalBit(login.bhs) || nextStageOf(login.bhs) !== LoginStage.FullFeature) throw new DiscoveryError('target did not move to full feature phase');
  n = { ...n, itt: 2, cmdSN: expCmdSNOf(login.bhs), expStatSN: (statSNOf(login.bhs) + 1) >>> 0 };

  const pairs: KeyValue[] = [];
  let ttt = RESERVED_TAG;
  let keys = encodeKeys([['SendTargets', 'All']]);
  for (let round = 0; ; round++) {
    if (round >= MAX_TEXT_ROUNDS) throw new DiscoveryError('SendTargets reply did not end');
    conv.send(textRequest(n, ttt, keys));
    const rsp = await conv.next();
    const rspOpcode = opcodeOf(rsp.bhs);
    if (rspOpcode !== TargetOpcode.TextResponse) throw new DiscoveryError(`expected a Text Response, got opcode 0x${rspOpcode.toString(16)}`);
    pairs.push(...decodeKeys(rsp.data));
    n = { ...n, itt: n.itt + 1, expStatSN: (statSNOf(rsp.bhs) + 1) >>> 0, cmdSN: expCmdSNOf(rsp.bhs) };
    if (finalBit(rsp.bhs)) break;
    ttt = tttOf(rsp.bhs);
    keys = Buffer.alloc(0);
  }
  conv.send(logoutRequest(n));
  await conv.next().catch(() => undefined);

  const targets: { name: string; addresses: string[] }[] = [];
  for (const [k, v] of pairs) {
    if (k === 'TargetName') targets.push({ name: v, addresses: [] });
    else if (k === 'TargetAddress' && targets.length) targets[targets.length - 1].addresses.push(v);
  }
  return targets;
}

/** Runs one discovery session against `portal` ("host:port"); rejects with DiscoveryError or a socket error. */
export async function discoverTargets(portal: string, opts: DiscoveryOptions = {}): Promise<DiscoveredTarget[]> {
  const { host, port } = parsePortal(portal);
  const timeoutMs = opts.timeoutMs ?? 5000;
  let socket: Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DiscoveryError(`no answer from ${portal} within ${timeoutMs} ms`)), timeoutMs);
    opts.signal?.addEventListener('abort', () => reject(new DiscoveryError('probe aborted')), { once: true });
  });
  try {
    return await Promise.race([
      (async () => {
        socket = await connectTo(host, port);
        return session(socket, opts.initiatorName ?? 'iqn.2026-01.org.iscsi-sim:probe');
      })(),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
    socket?.destroy();
  }
}
