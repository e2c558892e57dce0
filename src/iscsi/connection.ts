/**
 * One connection: the thin layer between a byte stream (a TCP socket in production, one end of a
 * duplex pair in unit tests) and the protocol state machines. Bytes go through the PduParser into the
 * login phase and then the full feature phase; PDUs come back out as header + data views written
 * under cork (one writev on a socket), with CRC32C digests when negotiated.
 */
import type { Duplex } from 'node:stream';
import { crc32c } from '@node-rs/crc32';
import { logger, type Logger } from '../util/log.ts';
import type { PortalAddress, TargetCatalog } from './catalog.ts';
import { AsyncEvent, InitiatorOpcode, RejectReason, RESERVED_TAG } from './constants.ts';
import { FullFeaturePhase, type ConnectionPort } from './full-feature.ts';
import { LoginNegotiation } from './login.ts';
import { KeepAlive, type KeepAliveOptions } from './nop.ts';
import { cmdSNOf, EMPTY, opcodeOf, padLength, serialAdd, type Pdu } from './pdu.ts';
import { PduParser, type ParseError } from './parser.ts';
import { asyncMessage, loginResponse, reject, type OutPdu, type Sequence } from './serializer.ts';
import type { Session } from './session.ts';
import { bindSession, unbindSession } from './session-binding.ts';
import type { SessionRegistry } from './session-registry.ts';

/** What the transport knows of the peer (from the socket; made up by tests over a duplex pair). */
export interface TransportInfo {
  /** "address:port" of the initiator. */
  readonly peer: string;
  /** Our address on this connection (for SendTargets), when the transport has one. */
  readonly localAddress: string | undefined;
}

export interface ConnectionContext {
  readonly catalog: TargetCatalog;
  readonly registry: SessionRegistry;
  readonly portal: PortalAddress;
  readonly keepAlive: KeepAliveOptions;
  /** Commands a session may have outstanding (sets MaxCmdSN). */
  readonly queueDepth: number;
  /** Write bytes a session may have solicited and buffered at once. */
  readonly writeBudget: number;
  /** Bytes queued for sending above which the connection stops reading new PDUs. */
  readonly sendBacklogLimit: number;
  /** A login must finish within this many ms. */
  readonly loginTimeoutMs: number;
}

const PADDING = Buffer.alloc(4);
const CLOSE_GRACE_MS = 5000;

export class Connection implements ConnectionPort {
  cid = 0;
  readonly keepAlive: KeepAlive;
  private readonly log: Logger;
  private readonly parser: PduParser;
  private readonly login: LoginNegotiation;
  private phase: 'login' | 'full-feature' | 'closing' = 'login';
  private ffp: FullFeaturePhase | undefined;
  private session: Session | undefined;
  private statSN = 1;
  private loginCmdSN = 0;
  private loginStarted = false;
  private txHeaderDigest = false;
  private txDataDigest = false;
  private nextTag = 1;
  private loginTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private batching = false;
  private readPaused = false;
  readonly closedPromise: Promise<void>;

  /**
   * `reads: 'reused'`: the transport delivers its bytes through receive() from one buffer it reads
   * into again and again (fabric.ts), instead of 'data' events with a fresh chunk each.
   */
  constructor(
    private readonly socket: Duplex,
    private readonly transport: TransportInfo,
    private readonly ctx: ConnectionContext,
    reads: 'events' | 'reused' = 'events',
  ) {
    this.log = logger.child({ component: 'iscsi', peer: transport.peer });
    this.parser = new PduParser({ pdu: (pdu) => this.onPdu(pdu), error: (error) => this.onParseError(error) });
    this.parser.acceptHeader = (bhs) => this.phase !== 'login' || opcodeOf(bhs) === InitiatorOpcode.LoginRequest;
    this.login = new LoginNegotiation(ctx.catalog, ctx.portal, (tsih) => ctx.registry.has(tsih));
    this.keepAlive = new KeepAlive(ctx.keepAlive, this, () => this.newTag(), (reason) => this.drop(reason));
    this.closedPromise = new Promise((resolve) => socket.once('close', () => resolve()));
    if (reads === 'reused') this.parser.reusedChunks = true;
    else socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.log.debug({ err: error }, 'socket error'));
    socket.on('close', () => this.onClose());
    this.loginTimer = setTimeout(() => this.drop('login timeout'), ctx.loginTimeoutMs);
    this.loginTimer.unref();
  }

  /** Bytes from the transport; with reused reads the chunk is overwritten once this returns. */
  receive(chunk: Buffer): void {
    this.keepAlive.activity();
    this.parser.push(chunk);
  }

  get localAddress(): string {
    return this.transport.localAddress ?? this.ctx.portal.address;
  }

  newTag(): number {
    const tag = this.nextTag;
    this.nextTag = tag >= 0xfffffffe ? 1 : tag + 1;
    return tag === RESERVED_TAG ? this.newTag() : tag;
  }

  private sequence(status: boolean): Sequence {
    const statSN = this.statSN;
    if (status) this.statSN = serialAdd(this.statSN, 1);
    if (this.session) return { statSN, expCmdSN: this.session.window.expCmdSN, maxCmdSN: this.session.window.advertise() };
    return { statSN, expCmdSN: this.loginCmdSN, maxCmdSN: serialAdd(this.loginCmdSN, this.ctx.queueDepth - 1) };
  }

  send(build: (seq: Sequence) => OutPdu, status: boolean, onWritten?: () => void): void {
    if (this.closed) {
      onWritten?.();
      return;
    }
    this.write(build(this.sequence(status)), onWritten);
  }

  cork(): void {
    this.socket.cork();
  }

  uncork(): void {
    this.socket.uncork();
  }

  private write(pdu: OutPdu, onWritten?: () => void): void {
    const parts: Buffer[] = [pdu.bhs];
    if (this.txHeaderDigest) parts.push(digest(crc32c(pdu.bhs)));
    if (pdu.dataLength > 0) {
      let crc = 0;
      for (const chunk of pdu.data) {
        parts.push(chunk);
        if (this.txDataDigest) crc = crc32c(chunk, crc);
      }
      const pad = padLength(pdu.dataLength);
      if (pad > 0) {
        const padding = PADDING.subarray(0, pad);
        parts.push(padding);
        if (this.txDataDigest) crc = crc32c(padding, crc);
      }
      if (this.txDataDigest) parts.push(digest(crc));
    }
    const socket = this.socket;
    this.batch();
    const last = parts.length - 1;
    for (let i = 0; i < last; i++) socket.write(parts[i]);
    if (onWritten) socket.write(parts[last], () => onWritten());
    else socket.write(parts[last]);
    if (!this.readPaused && socket.writableLength > this.ctx.sendBacklogLimit) this.pauseReading();
  }

  /**
   * An initiator that does not read its responses must not make us buffer without bound: stop
   * taking new commands until what is queued has gone out.
   */
  private pauseReading(): void {
    this.readPaused = true;
    this.socket.pause();
    this.socket.once('drain', () => {
      this.readPaused = false;
      if (!this.closed) this.socket.resume();
    });
  }

  /**
   * Everything sent during this turn of the event loop leaves in one writev: responses that complete
   * together (a queue of reads) cost one syscall instead of one each.
   */
  private batch(): void {
    if (this.batching) return;
    this.batching = true;
    this.socket.cork();
    setImmediate(() => {
      this.batching = false;
      this.socket.uncork();
    });
  }

  /**
   * Asks the initiator to log out within `seconds` (RFC 7143 §11.9.1, AsyncEvent 1); false when the
   * connection is not in the full feature phase (nothing to ask).
   */
  requestLogout(seconds: number): boolean {
    if (this.closed || this.phase !== 'full-feature' || !this.session) return false;
    this.send((seq) => asyncMessage({ event: AsyncEvent.LogoutRequested, lun: 0, parameter1: 0, parameter2: 0, parameter3: seconds, sense: undefined }, seq), true);
    return true;
  }

  drop(reason: string): void {
    if (this.closed) return;
    this.log.info({ reason }, 'closing connection');
    this.phase = 'closing';
    this.parser.stop();
    this.socket.destroy();
  }

  endAfterFlush(): void {
    this.phase = 'closing';
    this.parser.stop();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private onPdu(pdu: Pdu): void {
    try {
      if (this.phase === 'login') this.onLoginPdu(pdu);
      else if (this.phase === 'full-feature') this.ffp?.handle(pdu);
    } catch (error) {
      // Last line of defence: a bug triggered by one peer ends that connection, not the process.
      this.log.error({ err: error, opcode: opcodeOf(pdu.bhs) }, 'internal error handling a PDU');
      this.drop('internal error');
    }
  }

  private onLoginPdu(pdu: Pdu): void {
    if (!this.loginStarted) {
      this.loginStarted = true;
      this.loginCmdSN = cmdSNOf(pdu.bhs);
    }
    const step = this.login.handle(pdu);
    if (step.outcome === 'failed') {
      this.log.warn({ reason: step.reason, status: `0x${step.reply.status.toString(16).padStart(4, '0')}` }, 'login failed');
      this.send((seq) => loginResponse(step.reply, seq), true);
      this.endAfterFlush();
      return;
    }
    if (step.outcome === 'more') {
      this.send((seq) => loginResponse(step.reply, seq), true);
      return;
    }
    const result = step.result;
    const session = bindSession(result, this.ctx, { initiatorAddress: this.transport.peer, close: (reason) => this.drop(reason), log: this.log });
    const tsih = session.tsih;
    this.cid = result.cid;
    this.send((seq) => loginResponse({ ...step.reply, tsih }, seq), true);
    this.session = session;
    // RFC 7143 §13.1: digests start with the first PDU after the final Login Response.
    this.parser.headerDigest = this.txHeaderDigest = result.params.headerDigest;
    this.parser.dataDigest = this.txDataDigest = result.params.dataDigest;
    this.ffp = new FullFeaturePhase(this, session, this.ctx.catalog, this.ctx.registry, this.log);
    this.phase = 'full-feature';
    if (this.loginTimer) clearTimeout(this.loginTimer);
    this.keepAlive.start();
    this.log.info(
      { tsih, initiator: result.initiatorName, isid: session.isid, target: result.target?.iqn, type: result.sessionType, headerDigest: result.params.headerDigest, dataDigest: result.params.dataDigest },
      'login complete',
    );
  }

  private onParseError(error: ParseError): void {
    this.log.warn({ kind: error.kind, detail: error.message }, 'malformed PDU');
    if (this.phase === 'login' && error.kind === 'unexpected') {
      // RFC 7143 §6.1: only Login Requests before login; the login layer answers with a status.
      this.onLoginPdu({ bhs: error.bhs, ahs: undefined, data: EMPTY });
      return;
    }
    if (this.phase === 'full-feature') {
      const reason = error.kind === 'data-digest' ? RejectReason.DataDigestError : RejectReason.ProtocolError;
      if (error.kind !== 'header-digest') this.send((seq) => reject(reason, error.bhs, seq), true);
      // ERL 0 (RFC 7143 §7.8): a digest error or a PDU we cannot frame ends the connection.
      this.endAfterFlush();
      setTimeout(() => this.drop(error.message), 100).unref();
      return;
    }
    this.drop(error.message);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.parser.midPdu) this.log.info('peer closed the connection in the middle of a PDU');
    this.phase = 'closing';
    this.parser.stop();
    this.keepAlive.stop();
    if (this.loginTimer) clearTimeout(this.loginTimer);
    const session = this.session;
    if (!session) {
      this.log.info({ phase: 'login' }, 'connection closed');
      return;
    }
    this.ffp?.shutdown();
    unbindSession(session, this.ctx.registry, this.log);
    this.log.info({ tsih: session.tsih }, 'session closed');
  }

  /** Summary for status displays. */
  get currentSession(): Session | undefined {
    return this.session;
  }
}

function digest(crc: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(crc >>> 0, 0);
  return b;
}
