/**
 * A minimal discovery-session initiator: TCP connect, Login (SessionType=Discovery, CSG=1 NSG=3 T=1,
 * as open-iscsi does without CHAP), Text SendTargets=All (following continuation), Logout.
 * Everything is bounded by one deadline. Used to probe remote portals.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import type { KeyValue } from '../text-keys.ts';
import { decodeKeys, encodeKeys, loginRequest, logoutRequest, Opcode, PduReader, textRequest, type ResponsePdu, type SessionNumbers } from './pdu.ts';

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

class Conversation {
  private readonly reader = new PduReader();
  private readonly queue: ResponsePdu[] = [];
  private waiter: { resolve: (p: ResponsePdu) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const pdu of this.reader.push(chunk)) this.deliver(pdu);
      } catch (err) {
        this.fail(err as Error);
      }
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new DiscoveryError('connection closed by the target')));
  }

  private deliver(pdu: ResponsePdu): void {
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(pdu);
    } else this.queue.push(pdu);
  }

  fail(err: Error): void {
    this.failure ??= err;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(this.failure);
    }
  }

  next(): Promise<ResponsePdu> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  send(buf: Buffer): void {
    this.socket.write(buf);
  }
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
  const conv = new Conversation(socket);
  let n: SessionNumbers = { isid: Buffer.concat([Buffer.from([0x80]), randomBytes(5)]), itt: 1, cmdSN: 1, expStatSN: 0 };
  conv.send(loginRequest(n, encodeKeys([
    ['InitiatorName', initiatorName], ['SessionType', 'Discovery'], ['HeaderDigest', 'None'], ['DataDigest', 'None'],
    ['DefaultTime2Wait', '2'], ['DefaultTime2Retain', '0'], ['IFMarker', 'No'], ['OFMarker', 'No'],
    ['ErrorRecoveryLevel', '0'], ['MaxRecvDataSegmentLength', '32768'],
  ])));
  const login = await conv.next();
  if (login.opcode !== Opcode.LoginResponse) throw new DiscoveryError(`expected a Login Response, got opcode 0x${login.opcode.toString(16)}`);
  const statusClass = login.bhs[36];
  const statusDetail = login.bhs[37];
  if (statusClass !== 0) throw new DiscoveryError(`login rejected (status class ${statusClass}, detail ${statusDetail})`, statusClass, statusDetail);
  if ((login.flags & 0x80) === 0 || (login.flags & 0x03) !== 3) throw new DiscoveryError('target did not move to full feature phase');
  // RFC 7143 §11.13: StatSN at 24, ExpCmdSN at 28.
  n = { ...n, itt: 2, cmdSN: login.bhs.readUInt32BE(28), expStatSN: (login.bhs.readUInt32BE(24) + 1) >>> 0 };

  const pairs: KeyValue[] = [];
  let ttt = 0xffffffff;
  let keys = encodeKeys([['SendTargets', 'All']]);
  for (let round = 0; ; round++) {
    if (round >= MAX_TEXT_ROUNDS) throw new DiscoveryError('SendTargets reply did not end');
    conv.send(textRequest(n, ttt, keys));
    const rsp = await conv.next();
    if (rsp.opcode !== Opcode.TextResponse) throw new DiscoveryError(`expected a Text Response, got opcode 0x${rsp.opcode.toString(16)}`);
    pairs.push(...decodeKeys(rsp.data));
    n = { ...n, itt: n.itt + 1, expStatSN: (rsp.bhs.readUInt32BE(24) + 1) >>> 0, cmdSN: rsp.bhs.readUInt32BE(28) };
    if (rsp.flags & 0x80) break;
    ttt = rsp.bhs.readUInt32BE(20);
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
