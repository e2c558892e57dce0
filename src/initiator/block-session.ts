/**
 * A minimal normal-session initiator for block I/O (the project's own, for scenario drills): TCP
 * connect, Login (CSG=1 → NSG=3, no CHAP), READ(16)/WRITE(16) one command at a time with R2T-driven
 * Data-Out (InitialR2T=Yes, ImmediateData=No), Data-In reassembly, answers to NOP-In pings, Logout.
 * A CHECK CONDITION comes back as a value with its sense key, ASC and ASCQ, never thrown.
 *
 *   const session = await BlockSession.login({ host, port, targetName });
 *   const result = await session.write(0, data);        // {status, sense?}
 *   await session.logout();
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { InitiatorOpcode, LoginStage, RESERVED_TAG, TargetOpcode } from '../iscsi/constants.ts';
import {
  bufferOffsetOf, desiredLengthOf, expCmdSNOf, finalBit, ittOf, loginStatusOf, newBhs, nextStageOf, opcodeOf, padLength,
  setBufferOffset, setCmdSN, setDataSegmentLength, setDataSN, setExpStatSN, setItt, setTtt, statSNOf, statusOf, tttOf, writeLun,
  type Pdu,
} from '../iscsi/pdu.ts';
import { encodeKeys } from '../iscsi/text-keys.ts';
import { Conversation } from './conversation.ts';
import { decodeKeys, loginRequest, logoutRequest } from './requests.ts';

export interface BlockSessionOptions {
  readonly host: string;
  readonly port: number;
  readonly targetName: string;
  readonly lun?: number;
  readonly initiatorName?: string;
  /** Bound on connect + login and on each command. @defaultValue 30 s */
  readonly timeoutMs?: number;
}

/** Sense data decoded (fixed or descriptor format, SPC-4 §4.5). */
export interface Sense {
  readonly key: number;
  readonly asc: number;
  readonly ascq: number;
}

export interface BlockResult {
  /** SCSI status: 0 GOOD, 2 CHECK CONDITION, 8 BUSY, 0x28 TASK SET FULL. */
  readonly status: number;
  readonly sense?: Sense;
  readonly data?: Buffer;
}

export class InitiatorError extends Error {
  override readonly name = 'InitiatorError';
}

const MAX_RECV = 262_144;
/** Bytes per command: 1 MiB keeps every transfer length well inside the target's limits. */
const CHUNK_BYTES = 1024 * 1024;

export function parseSense(data: Buffer): Sense | undefined {
  if (data.length < 2) return undefined;
  const format = data[0]! & 0x7f;
  if ((format === 0x70 || format === 0x71) && data.length >= 14) return { key: data[2]! & 0x0f, asc: data[12]!, ascq: data[13]! };
  if ((format === 0x72 || format === 0x73) && data.length >= 4) return { key: data[1]! & 0x0f, asc: data[2]!, ascq: data[3]! };
  return undefined;
}

export class BlockSession {
  private itt = 1;
  private cmdSN = 1;
  private expStatSN = 0;
  private targetMaxRecv = 8192;
  blockSize = 512;
  blocks = 0;

  private constructor(private readonly socket: Socket, private readonly conv: Conversation, private readonly options: BlockSessionOptions) {}

  static async login(options: BlockSessionOptions): Promise<BlockSession> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const socket = await bounded(new Promise<Socket>((resolve, reject) => {
      const s = connect({ host: options.host, port: options.port });
      s.once('connect', () => { s.off('error', reject); resolve(s); });
      s.once('error', reject);
    }), timeoutMs, `connect to ${options.host}:${options.port}`);
    const session = new BlockSession(socket, new Conversation(socket, (message) => new InitiatorError(message)), options);
    try {
      await bounded(session.negotiate(), timeoutMs, `login to ${options.targetName}`);
      await session.readCapacity();
    } catch (error) {
      socket.destroy();
      throw error;
    }
    return session;
  }

  private async negotiate(): Promise<void> {
    const isid = Buffer.concat([Buffer.from([0x80]), randomBytes(5)]);
    let keys = encodeKeys([
      ['InitiatorName', this.options.initiatorName ?? 'iqn.2026-11.org.iscsi-sim:scenario'], ['TargetName', this.options.targetName],
      ['SessionType', 'Normal'], ['HeaderDigest', 'None'], ['DataDigest', 'None'], ['MaxRecvDataSegmentLength', String(MAX_RECV)],
      ['InitialR2T', 'Yes'], ['ImmediateData', 'No'], ['MaxBurstLength', String(CHUNK_BYTES)], ['FirstBurstLength', '65536'],
      ['MaxOutstandingR2T', '1'], ['MaxConnections', '1'], ['DataPDUInOrder', 'Yes'], ['DataSequenceInOrder', 'Yes'],
      ['ErrorRecoveryLevel', '0'], ['DefaultTime2Wait', '0'], ['DefaultTime2Retain', '0'], ['IFMarker', 'No'], ['OFMarker', 'No'],
    ]);
    for (let round = 0; round < 6; round++) {
      this.conv.send(loginRequest({ isid, itt: this.itt, cmdSN: this.cmdSN, expStatSN: this.expStatSN }, keys));
      const reply = await this.conv.next();
      if (opcodeOf(reply.bhs) !== TargetOpcode.LoginResponse) throw new InitiatorError(`expected a Login Response, got opcode 0x${opcodeOf(reply.bhs).toString(16)}`);
      const status = loginStatusOf(reply.bhs);
      if (status >> 8 !== 0) throw new InitiatorError(`login to ${this.options.targetName} rejected (status class ${status >> 8}, detail ${status & 0xff})`);
      this.expStatSN = (statSNOf(reply.bhs) + 1) >>> 0;
      for (const [key, value] of decodeKeys(reply.data)) if (key === 'MaxRecvDataSegmentLength') this.targetMaxRecv = Number(value);
      if (finalBit(reply.bhs) && nextStageOf(reply.bhs) === LoginStage.FullFeature) {
        this.cmdSN = expCmdSNOf(reply.bhs);
        this.itt++;
        return;
      }
      keys = Buffer.alloc(0);
    }
    throw new InitiatorError('login did not reach full feature phase');
  }

  private async readCapacity(): Promise<void> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const tur = await this.command(Buffer.alloc(6), 0);
      if (tur.status === 0) break;
    }
    const cdb = Buffer.alloc(16);
    cdb[0] = 0x9e;
    cdb[1] = 0x10;
    cdb.writeUInt32BE(32, 10);
    const answer = await this.command(cdb, 32);
    if (answer.status !== 0 || !answer.data) throw new InitiatorError(`READ CAPACITY(16) answered status 0x${answer.status.toString(16)}`);
    this.blocks = Number(answer.data.readBigUInt64BE(0)) + 1;
    this.blockSize = answer.data.readUInt32BE(8);
  }

  /** Writes `data` at byte `offset` (both whole blocks), 1 MiB per command; stops at the first non-GOOD status. */
  async write(offset: number, data: Buffer): Promise<BlockResult & { readonly doneBytes: number }> {
    this.checkAligned(offset, data.length);
    for (let at = 0; at < data.length; at += CHUNK_BYTES) {
      const piece = data.subarray(at, Math.min(data.length, at + CHUNK_BYTES));
      const result = await this.command(rw16(0x8a, (offset + at) / this.blockSize, piece.length / this.blockSize), 0, piece);
      if (result.status !== 0) return { ...result, doneBytes: at };
    }
    return { status: 0, doneBytes: data.length };
  }

  /** Reads `length` bytes at byte `offset`; stops at the first non-GOOD status. */
  async read(offset: number, length: number): Promise<BlockResult & { readonly doneBytes: number }> {
    this.checkAligned(offset, length);
    const pieces: Buffer[] = [];
    for (let at = 0; at < length; at += CHUNK_BYTES) {
      const size = Math.min(CHUNK_BYTES, length - at);
      const result = await this.command(rw16(0x88, (offset + at) / this.blockSize, size / this.blockSize), size);
      if (result.status !== 0) return { ...result, doneBytes: at };
      pieces.push(result.data ?? Buffer.alloc(size));
    }
    return { status: 0, data: Buffer.concat(pieces), doneBytes: length };
  }

  async logout(): Promise<void> {
    this.conv.send(logoutRequest({ isid: Buffer.alloc(6), itt: this.itt++, cmdSN: this.cmdSN, expStatSN: this.expStatSN }));
    await bounded(this.conv.next(), 5000, 'logout').catch(() => undefined);
    this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }

  private checkAligned(offset: number, length: number): void {
    if (offset % this.blockSize !== 0 || length % this.blockSize !== 0) throw new InitiatorError(`offset ${offset} and length ${length} must be multiples of the block size ${this.blockSize}`);
    if (offset + length > this.blocks * this.blockSize) throw new InitiatorError(`offset ${offset} + length ${length} is past the end of the LUN (${this.blocks * this.blockSize} bytes)`);
  }

  /** One SCSI command, bounded by the timeout. */
  private command(cdb: Buffer, inLength: number, out?: Buffer): Promise<BlockResult> {
    return bounded(this.run(cdb, inLength, out), this.options.timeoutMs ?? 30_000, `SCSI command 0x${cdb[0]!.toString(16)}`);
  }

  private async run(cdb: Buffer, inLength: number, out?: Buffer): Promise<BlockResult> {
    const itt = this.itt++;
    const bhs = newBhs(InitiatorOpcode.ScsiCommand, 0x80 | (inLength > 0 ? 0x40 : 0) | (out ? 0x20 : 0) | 1);
    writeLun(bhs, 8, this.options.lun ?? 0);
    setItt(bhs, itt);
    bhs.writeUInt32BE(out?.length ?? inLength, 20);
    setCmdSN(bhs, this.cmdSN);
    this.cmdSN = (this.cmdSN + 1) >>> 0;
    setExpStatSN(bhs, this.expStatSN);
    cdb.copy(bhs, 32);
    this.conv.send(bhs);
    const data = inLength > 0 ? Buffer.alloc(inLength) : undefined;
    for (;;) {
      const pdu = await this.conv.next();
      const opcode = opcodeOf(pdu.bhs);
      if (opcode === TargetOpcode.NopIn) { this.answerPing(pdu); continue; }
      if (opcode === TargetOpcode.AsyncMessage) continue;
      if (opcode === TargetOpcode.Reject) throw new InitiatorError(`the target rejected a PDU (reason 0x${pdu.bhs[2]!.toString(16)})`);
      if (ittOf(pdu.bhs) !== itt) throw new InitiatorError(`unexpected opcode 0x${opcode.toString(16)} for another task`);
      if (opcode === TargetOpcode.ReadyToTransfer) {
        if (!out) throw new InitiatorError('R2T for a command without data to send');
        this.sendBurst(pdu, out, itt);
      } else if (opcode === TargetOpcode.DataIn) {
        if (data) pdu.data.copy(data, bufferOffsetOf(pdu.bhs));
        if (pdu.bhs[1]! & 0x01) {
          this.expStatSN = (statSNOf(pdu.bhs) + 1) >>> 0;
          return { status: statusOf(pdu.bhs), ...(data ? { data } : {}) };
        }
      } else if (opcode === TargetOpcode.ScsiResponse) {
        this.expStatSN = (statSNOf(pdu.bhs) + 1) >>> 0;
        const senseLength = pdu.data.length >= 2 ? pdu.data.readUInt16BE(0) : 0;
        const sense = parseSense(pdu.data.subarray(2, 2 + senseLength));
        return { status: statusOf(pdu.bhs), ...(sense ? { sense } : {}), ...(data ? { data } : {}) };
      } else {
        throw new InitiatorError(`unexpected opcode 0x${opcode.toString(16)}`);
      }
    }
  }

  /** RFC 7143 §11.8: Data-Out PDUs for one R2T, none longer than the target's MaxRecvDataSegmentLength. */
  private sendBurst(r2t: Pdu, out: Buffer, itt: number): void {
    const offset = bufferOffsetOf(r2t.bhs);
    const end = Math.min(out.length, offset + desiredLengthOf(r2t.bhs));
    let dataSN = 0;
    for (let at = offset; at < end; at += this.targetMaxRecv) {
      const piece = out.subarray(at, Math.min(end, at + this.targetMaxRecv));
      const bhs = newBhs(InitiatorOpcode.DataOut, at + piece.length >= end ? 0x80 : 0);
      writeLun(bhs, 8, this.options.lun ?? 0);
      setItt(bhs, itt);
      setTtt(bhs, tttOf(r2t.bhs));
      setExpStatSN(bhs, this.expStatSN);
      setDataSN(bhs, dataSN++);
      setBufferOffset(bhs, at);
      setDataSegmentLength(bhs, piece.length);
      this.conv.send(Buffer.concat([bhs, piece, Buffer.alloc(padLength(piece.length))]));
    }
  }

  /** RFC 7143 §11.19: a NOP-In with a TTT asks for a NOP-Out echoing it. */
  private answerPing(ping: Pdu): void {
    if (tttOf(ping.bhs) === RESERVED_TAG) return;
    const bhs = newBhs(0x40 | InitiatorOpcode.NopOut, 0x80);
    ping.bhs.copy(bhs, 8, 8, 16);
    setItt(bhs, RESERVED_TAG);
    setTtt(bhs, tttOf(ping.bhs));
    setCmdSN(bhs, this.cmdSN);
    setExpStatSN(bhs, this.expStatSN);
    this.conv.send(bhs);
  }
}

function rw16(opcode: number, lba: number, blocks: number): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = opcode;
  cdb.writeBigUInt64BE(BigInt(lba), 2);
  cdb.writeUInt32BE(blocks, 10);
  return cdb;
}

function bounded<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new InitiatorError(`${what}: no answer within ${ms / 1000} s`)), ms); });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
