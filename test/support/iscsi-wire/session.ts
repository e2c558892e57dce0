/**
 * A minimal iSCSI initiator for tests (ERL 0, one connection, one command at a time): operational-stage
 * login, SCSI commands with immediate data and R2T/Data-Out, Data-In reassembly, answers to NOP-In pings.
 */
import { randomBytes } from 'node:crypto';
import { WireConnection } from './connection.ts';
import {
  NO_TAG, Op, dataOut, decodeKeys, encodeKeys, frame, loginRequest, nopOut, logoutRequest, scsiCommand, taskManagement, textRequest, type Pdu,
} from './pdu.ts';

export interface LoginOptions {
  targetName: string;
  initiatorName?: string;
  headerDigest?: 'None' | 'CRC32C';
  dataDigest?: 'None' | 'CRC32C';
  timeoutMs?: number;
}

export interface CommandResult {
  status: number;
  data: Buffer;
  sense: Buffer;
  /** RFC 7143 §11.4.5: the O/U bits and Residual Count of the response carrying the status. */
  residual: { overflow: boolean; underflow: boolean; count: number };
}

function residualOf(status: Pdu): CommandResult['residual'] {
  return { overflow: (status.flags & 0x04) !== 0, underflow: (status.flags & 0x02) !== 0, count: status.header.readUInt32BE(44) };
}

export class ProtocolError extends Error {}

const LOGIN_ROUNDS = 6;

export class TestSession {
  itt = 1;
  cmdSN = 1;
  expStatSN = 0;
  blockSize = 512;
  /** LUN used when a command names none. */
  lun = 0;
  /** What the target negotiated, as it answered (RFC 7143 §13). */
  readonly keys = new Map<string, string>();
  private readonly timeoutMs: number;

  private constructor(readonly conn: WireConnection, timeoutMs: number) {
    this.timeoutMs = timeoutMs;
  }

  get targetMaxRecv(): number {
    return Number(this.keys.get('MaxRecvDataSegmentLength') ?? 8192); // RFC 7143 §13.12 default
  }

  /** Connects and logs in straight to full feature phase (CSG 1 → NSG 3, no authentication). */
  static async login(host: string, port: number, options: LoginOptions): Promise<TestSession> {
    const conn = await WireConnection.connect(host, port);
    const session = new TestSession(conn, options.timeoutMs ?? 30_000);
    try {
      await session.negotiate(options);
    } catch (e) {
      conn.destroy();
      throw e;
    }
    return session;
  }

  private async negotiate(options: LoginOptions): Promise<void> {
    const isid = Buffer.concat([Buffer.from([0x80]), randomBytes(5)]); // RFC 7143 §11.12.5: random ISID
    const itt = this.itt++;
    let keys: Buffer = encodeKeys({
      InitiatorName: options.initiatorName ?? 'iqn.2026-11.org.iscsi-sim:test-initiator',
      TargetName: options.targetName, SessionType: 'Normal',
      HeaderDigest: options.headerDigest ?? 'None', DataDigest: options.dataDigest ?? 'None',
      MaxRecvDataSegmentLength: 262144, InitialR2T: 'Yes', ImmediateData: 'Yes', FirstBurstLength: 65536,
      MaxBurstLength: 262144, MaxOutstandingR2T: 1, MaxConnections: 1, DataPDUInOrder: 'Yes',
      DataSequenceInOrder: 'Yes', ErrorRecoveryLevel: 0, DefaultTime2Wait: 0, DefaultTime2Retain: 0,
      IFMarker: 'No', OFMarker: 'No',
    });
    for (let round = 0; round < LOGIN_ROUNDS; round++) {
      const bhs = loginRequest({ isid, itt, cmdSN: this.cmdSN, expStatSN: this.expStatSN, csg: 1, nsg: 3, transit: true }, keys.length);
      this.conn.send(frame(bhs, keys));
      const reply = await this.expect(Op.LoginResponse);
      const statusClass = reply.header[36];
      if (statusClass !== 0) throw new ProtocolError(`login failed: status 0x${reply.header.readUInt16BE(36).toString(16)}`);
      this.expStatSN = reply.statSN + 1;
      for (const [k, v] of decodeKeys(reply.data)) this.keys.set(k, v);
      const transit = (reply.flags & 0x80) !== 0;
      if (transit && (reply.flags & 3) === 3) {
        this.conn.stream.digests = {
          header: this.keys.get('HeaderDigest') === 'CRC32C', data: this.keys.get('DataDigest') === 'CRC32C',
        };
        return;
      }
      keys = Buffer.alloc(0);
    }
    throw new ProtocolError(`login did not reach full feature phase in ${LOGIN_ROUNDS} rounds`);
  }

  /** Reads until a PDU of this opcode arrives, answering target pings meanwhile. */
  async expect(opcode: number, itt?: number): Promise<Pdu> {
    while (true) {
      const pdu = await this.conn.next(this.timeoutMs);
      if (pdu === 'closed' || pdu === 'timeout') throw new ProtocolError(`connection ${pdu} while waiting for opcode 0x${opcode.toString(16)}`);
      if (pdu.opcode === Op.NopIn) {
        if (pdu.ttt !== NO_TAG) this.answerPing(pdu);
        continue;
      }
      if (pdu.opcode === Op.AsyncMessage) continue;
      if (pdu.opcode === Op.Reject) throw new ProtocolError(`Reject reason 0x${pdu.header[2].toString(16)}`);
      if (pdu.opcode === opcode && (itt === undefined || pdu.itt === itt)) return pdu;
      if (opcode === Op.ScsiResponse && (pdu.opcode === Op.DataIn || pdu.opcode === Op.R2T) && pdu.itt === itt) return pdu;
      throw new ProtocolError(`unexpected opcode 0x${pdu.opcode.toString(16)} (wanted 0x${opcode.toString(16)})`);
    }
  }

  /**
   * Keeps a held, idle login alive while the test does something else (runs a CLI, starts Redis):
   * answers the target's NOP-In pings, which it sends after 15 s of silence and drops the connection
   * 15 s later when unanswered. stop() before the next command on this session.
   */
  answerPingsWhileIdle(): { stop(): Promise<void> } {
    let stopped = false;
    const loop = (async () => {
      while (!stopped) {
        const pdu = await this.conn.next(200);
        if (pdu === 'closed') return;
        if (pdu === 'timeout') continue;
        if (pdu.opcode === Op.NopIn && pdu.ttt !== NO_TAG) this.answerPing(pdu);
        else if (pdu.opcode !== Op.NopIn && pdu.opcode !== Op.AsyncMessage) throw new ProtocolError(`unexpected opcode 0x${pdu.opcode.toString(16)} while idle`);
      }
    })();
    return { stop: async () => { stopped = true; await loop; } };
  }

  /** RFC 7143 §11.18: a NOP-In with a TTT asks for a NOP-Out echoing it. */
  private answerPing(ping: Pdu): void {
    const bhs = nopOut({ itt: NO_TAG, ttt: ping.ttt, cmdSN: this.cmdSN, expStatSN: this.expStatSN, immediate: true });
    ping.header.copy(bhs, 8, 8, 16); // LUN echoed
    this.conn.send(frame(bhs, Buffer.alloc(0), { digests: this.conn.stream.digests }));
  }

  /** One SCSI command; `out` is written (immediate data + R2T), `inLength` bytes are read. */
  async command(cdb: Buffer, io: { out?: Buffer; inLength?: number; lun?: number } = {}): Promise<CommandResult> {
    const itt = this.itt++;
    const out = io.out ?? Buffer.alloc(0);
    const inLength = io.inLength ?? 0;
    const immediate = this.keys.get('ImmediateData') === 'Yes'
      ? Math.min(out.length, Number(this.keys.get('FirstBurstLength') ?? 65536), this.targetMaxRecv) : 0;
    const digests = this.conn.stream.digests;
    const lun = io.lun ?? this.lun;
    const bhs = scsiCommand({
      itt, cmdSN: this.cmdSN++, expStatSN: this.expStatSN, lun, read: inLength > 0, write: out.length > 0,
      final: true, expectedLength: out.length || inLength, cdb,
    }, immediate);
    this.conn.send(frame(bhs, out.subarray(0, immediate), { digests }));
    const data = Buffer.alloc(inLength);
    while (true) {
      const pdu = await this.expect(Op.ScsiResponse, itt);
      if (pdu.opcode === Op.R2T) {
        this.sendBurst(pdu, out, lun);
      } else if (pdu.opcode === Op.DataIn) {
        pdu.data.copy(data, pdu.header.readUInt32BE(40));
        if (pdu.flags & 0x01) { // S bit: status in the last Data-In (RFC 7143 §11.7.4)
          this.expStatSN = pdu.statSN + 1;
          return { status: pdu.header[3], data, sense: Buffer.alloc(0), residual: residualOf(pdu) };
        }
      } else {
        this.expStatSN = pdu.statSN + 1;
        const senseLength = pdu.data.length >= 2 ? pdu.data.readUInt16BE(0) : 0;
        return { status: pdu.header[3], data, sense: pdu.data.subarray(2, 2 + senseLength), residual: residualOf(pdu) };
      }
    }
  }

  /**
   * One immediate Text Request carrying `text` (pairs separated by NULs); returns the Text Response or
   * the Reject that answers it, whichever comes.
   */
  async text(text: string): Promise<Pdu> {
    const itt = this.itt++;
    const body = Buffer.from(`${text}\0`, 'utf8');
    this.conn.send(frame(textRequest({ itt, cmdSN: this.cmdSN, expStatSN: this.expStatSN }, body.length), body, { digests: this.conn.stream.digests }));
    while (true) {
      const pdu = await this.conn.next(this.timeoutMs);
      if (pdu === 'closed' || pdu === 'timeout') throw new ProtocolError(`connection ${pdu} while waiting for the answer to a Text Request`);
      if (pdu.opcode === Op.NopIn) {
        if (pdu.ttt !== NO_TAG) this.answerPing(pdu);
        continue;
      }
      if (pdu.opcode === Op.TextResponse && pdu.itt === itt) {
        this.expStatSN = pdu.statSN + 1;
        return pdu;
      }
      // A Reject carries the rejected header: its ITT is at bytes 16..19 of the data segment.
      if (pdu.opcode === Op.Reject && pdu.data.length >= 48 && pdu.data.readUInt32BE(16) === itt) {
        this.expStatSN = pdu.statSN + 1;
        return pdu;
      }
      throw new ProtocolError(`unexpected opcode 0x${pdu.opcode.toString(16)} while waiting for the answer to a Text Request`);
    }
  }

  /** Answers one R2T with Data-Out PDUs no longer than the target's MaxRecvDataSegmentLength. */
  private sendBurst(r2t: Pdu, out: Buffer, lun: number): void {
    const offset = r2t.header.readUInt32BE(40);
    const length = r2t.header.readUInt32BE(44);
    const end = Math.min(offset + length, out.length);
    let dataSN = 0;
    for (let at = offset; at < end; at += this.targetMaxRecv) {
      const piece = out.subarray(at, Math.min(end, at + this.targetMaxRecv));
      const bhs = dataOut({
        itt: r2t.itt, ttt: r2t.ttt, expStatSN: this.expStatSN, dataSN: dataSN++, offset: at,
        final: at + piece.length >= end, lun,
      }, piece.length);
      this.conn.send(frame(bhs, piece, { digests: this.conn.stream.digests }));
    }
  }

  /**
   * Sends a read-type command without waiting for its answer (a hung command to abort); returns its
   * ITT and CmdSN for ABORT TASK.
   */
  sendCommand(cdb: Buffer, inLength: number, lun = this.lun): { itt: number; cmdSN: number } {
    const itt = this.itt++;
    const cmdSN = this.cmdSN++;
    const bhs = scsiCommand({ itt, cmdSN, expStatSN: this.expStatSN, lun, read: inLength > 0, write: false, final: true, expectedLength: inLength, cdb }, 0);
    this.conn.send(frame(bhs, Buffer.alloc(0), { digests: this.conn.stream.digests }));
    return { itt, cmdSN };
  }

  /**
   * A task management function (RFC 7143 §11.5); resolves the TMF response code (0 = function
   * complete). Any SCSI response that arrives meanwhile fails it: an aborted task gets none.
   */
  async taskManagement(fn: number, options: { referencedTag?: number; refCmdSN?: number; lun?: number } = {}): Promise<number> {
    const itt = this.itt++;
    // Immediate: carries the next CmdSN without advancing it (RFC 7143 §3.2.2.1).
    const bhs = taskManagement({ fn, itt, cmdSN: this.cmdSN, expStatSN: this.expStatSN, lun: options.lun ?? this.lun, ...options });
    this.conn.send(frame(bhs, Buffer.alloc(0), { digests: this.conn.stream.digests }));
    const reply = await this.expect(Op.TaskMgmtResponse, itt);
    this.expStatSN = reply.statSN + 1;
    return reply.header[2];
  }

  /** TEST UNIT READY until GOOD, consuming the power-on/reset unit attention (SAM-5 §5.14). */
  async ready(attempts = 5): Promise<void> {
    for (let i = 0; i < attempts; i++) {
      if ((await this.command(Buffer.alloc(6))).status === 0) return;
    }
    throw new ProtocolError(`TEST UNIT READY not GOOD after ${attempts} attempts`);
  }

  async readCapacity(): Promise<{ blocks: number; blockSize: number }> {
    await this.ready();
    const r = await this.command(Buffer.from([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]), { inLength: 8 });
    if (r.status !== 0) throw new ProtocolError(`READ CAPACITY(10) status 0x${r.status.toString(16)}`);
    this.blockSize = r.data.readUInt32BE(4);
    return { blocks: r.data.readUInt32BE(0) + 1, blockSize: this.blockSize };
  }

  async write10(lba: number, data: Buffer): Promise<CommandResult> {
    const cdb = Buffer.alloc(10);
    cdb[0] = 0x2a;
    cdb.writeUInt32BE(lba, 2);
    cdb.writeUInt16BE(data.length / this.blockSize, 7);
    return this.command(cdb, { out: data });
  }

  async read10(lba: number, blocks: number): Promise<CommandResult> {
    const cdb = Buffer.alloc(10);
    cdb[0] = 0x28;
    cdb.writeUInt32BE(lba, 2);
    cdb.writeUInt16BE(blocks, 7);
    return this.command(cdb, { inLength: blocks * this.blockSize });
  }

  async logout(): Promise<void> {
    const itt = this.itt++;
    this.conn.send(frame(logoutRequest({ itt, cmdSN: this.cmdSN, expStatSN: this.expStatSN }), Buffer.alloc(0), { digests: this.conn.stream.digests }));
    try {
      await this.expect(Op.LogoutResponse, itt);
    } finally {
      this.conn.destroy();
    }
  }
}
