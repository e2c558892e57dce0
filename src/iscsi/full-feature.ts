/**
 * Full feature phase of one connection (RFC 7143 §4, ERL 0): dispatches each PDU by opcode, keeps
 * the CmdSN order, runs SCSI tasks through R2T/Data-Out collection to the SCSI device and back out as
 * Data-In/SCSI Response, and answers text, NOP, TMF and logout requests.
 */
import { ScsiStatus, type ScsiResponse, type TaskAttribute } from '../scsi/command.ts';
import { buildSense, senseFailure } from '../scsi/sense.ts';
import type { Logger } from '../util/log.ts';
import type { TargetCatalog } from './catalog.ts';
import { InitiatorOpcode, LogoutReason, LogoutResponseCode, RejectReason, RESERVED_TAG } from './constants.ts';
import { acceptDataOut, nextR2Ts, startWrite, type DataOutResult } from './data-out.ts';
import { sendScsiResult, type PduSender } from './data-in.ts';
import { TextExchange } from './text-exchange.ts';
import type { KeepAlive } from './nop.ts';
import { answerPing } from './nop.ts';
import {
  bufferOffsetOf, cdbField, cidOf, cmdSNOf, dataSNOf, expectedLengthOf, finalBit, functionOf, isImmediate, ittOf, lunOf, opcodeOf,
  ownedPdu, readBit, taskAttributeOf, tttOf, writeBit, type Pdu,
} from './pdu.ts';
import { ScsiTask, TaskCommand } from './scsi-task.ts';
import { logoutResponse, NO_RESIDUAL, r2t, reject, scsiResponse } from './serializer.ts';
import { unbindSession } from './session-binding.ts';
import type { Session } from './session.ts';
import type { SessionRegistry } from './session-registry.ts';
import { performTaskManagement, sendTaskManagementResponse } from './tmf.ts';

/** What the full feature phase needs from its connection. */
export interface ConnectionPort extends PduSender {
  readonly cid: number;
  readonly localAddress: string;
  readonly keepAlive: KeepAlive;
  newTag(): number;
  /** Protocol error at ERL 0: drop the connection (and with it the session). */
  drop(reason: string): void;
  /** Close gracefully once everything queued has been written (after a Logout Response). */
  endAfterFlush(): void;
}

/** SPC-4 fixed sense: HARDWARE ERROR / INTERNAL TARGET FAILURE, for a device that threw. */
const INTERNAL_FAILURE_SENSE = buildSense(senseFailure('internal-target-failure'));
/** SPC-4 fixed sense: ILLEGAL REQUEST / INVALID FIELD IN CDB, for a write too large to buffer. */
const INVALID_CDB_FIELD_SENSE = buildSense(senseFailure('invalid-field-in-cdb'));
/** Largest write a command may carry (twice the SCSI layer's MAXIMUM TRANSFER LENGTH). */
const MAX_WRITE_BYTES = 64 * 1024 * 1024;
/** SPC-4 fixed sense: ABORTED COMMAND / DATA PHASE ERROR, for a broken Data-Out sequence. */
const DATA_PHASE_ERROR_SENSE = buildSense(senseFailure('data-phase-error'));

export class FullFeaturePhase {
  private readonly textExchange: TextExchange;
  private loggingOut = false;
  /** The windowed handlers, bound once rather than as a new closure per PDU. */
  private readonly runScsiCommand = (pdu: Pdu): void => this.scsiCommand(pdu);
  private readonly runTaskManagement = (pdu: Pdu): void => this.taskManagement(pdu);
  private readonly runText = (pdu: Pdu): void => this.text(pdu);
  private readonly runLogout = (pdu: Pdu): void => this.logout(pdu);

  constructor(
    private readonly port: ConnectionPort,
    private readonly session: Session,
    catalog: TargetCatalog,
    private readonly registry: SessionRegistry,
    private readonly log: Logger,
  ) {
    this.textExchange = new TextExchange(port, session, catalog, () => port.localAddress, () => port.newTag());
    session.onWriteAdmitted = (task) => {
      if (this.session.tasks.get(task.itt) === task && !task.executing) this.afterData(task, 'more');
    };
  }

  handle(pdu: Pdu): void {
    if (this.loggingOut) return;
    const opcode = opcodeOf(pdu.bhs);
    switch (opcode) {
      case InitiatorOpcode.DataOut:
        this.dataOut(pdu);
        return;
      case InitiatorOpcode.ScsiCommand:
        if (this.session.sessionType === 'Discovery') return this.reject(RejectReason.ProtocolError, pdu, 'SCSI command in a discovery session');
        return this.windowed(pdu, this.runScsiCommand);
      case InitiatorOpcode.NopOut:
        return this.nopOut(pdu);
      case InitiatorOpcode.TaskManagementRequest:
        if (this.session.sessionType === 'Discovery') return this.reject(RejectReason.ProtocolError, pdu, 'TMF in a discovery session');
        return this.windowed(pdu, this.runTaskManagement);
      case InitiatorOpcode.TextRequest:
        return this.windowed(pdu, this.runText);
      case InitiatorOpcode.LogoutRequest:
        return this.windowed(pdu, this.runLogout);
      case InitiatorOpcode.Snack:
        // ErrorRecoveryLevel 0 has no SNACK support (RFC 7143 §11.16).
        return this.reject(RejectReason.SnackReject, pdu, 'SNACK at ERL 0');
      case InitiatorOpcode.LoginRequest:
        return this.reject(RejectReason.ProtocolError, pdu, 'login request in full feature phase');
      default:
        return this.reject(RejectReason.CommandNotSupported, pdu, `opcode 0x${opcode.toString(16)}`);
    }
  }

  /** Connection gone: every task is abandoned without a response. */
  shutdown(): void {
    this.session.abortTasks(() => true);
    this.session.window.clear();
  }

  private reject(reason: RejectReason, pdu: Pdu, why: string): void {
    this.log.warn({ reason, why }, 'reject');
    const header = Buffer.from(pdu.bhs);
    this.port.send((seq) => reject(reason, header, seq), true);
  }

  /** CmdSN ordering (RFC 7143 §3.2.2.1); immediate PDUs bypass the window. */
  private windowed(pdu: Pdu, run: (pdu: Pdu) => void): void {
    if (isImmediate(pdu.bhs)) {
      run(pdu);
      return;
    }
    const window = this.session.window;
    const cmdSN = cmdSNOf(pdu.bhs);
    let held = pdu;
    const verdict = window.admit(cmdSN, () => run(held));
    if (verdict === 'now') {
      run(pdu);
      window.drain();
    } else if (verdict === 'later') {
      // Held for CmdSN order past this read: its payload must not be a view of reused receive memory.
      held = ownedPdu(pdu);
    } else {
      this.log.debug({ cmdSN, expCmdSN: window.expCmdSN }, 'command outside the CmdSN window ignored');
    }
  }

  private scsiCommand(pdu: Pdu): void {
    const bhs = pdu.bhs;
    const itt = ittOf(bhs);
    if (this.session.tasks.has(itt)) return this.reject(RejectReason.TaskInProgress, pdu, `ITT 0x${itt.toString(16)} in use`);
    const task = new ScsiTask({
      itt,
      lun: lunOf(bhs),
      cdb: cdbOf(pdu),
      expectedLength: expectedLengthOf(bhs),
      readFlag: readBit(bhs),
      writeFlag: writeBit(bhs),
      attribute: taskAttributeOf(bhs) as TaskAttribute,
      cmdSN: cmdSNOf(bhs),
    });
    this.session.tasks.set(itt, task);
    this.session.window.taskStarted();
    if (task.writeLength === 0) return this.execute(task);
    // Write data is buffered until the command runs: refuse sizes no LUN accepts anyway.
    if (task.writeLength > MAX_WRITE_BYTES) return this.failTask(task, INVALID_CDB_FIELD_SENSE);
    const result = startWrite(task, pdu.dataParts ?? pdu.data, finalBit(bhs), this.session.params);
    if (result === 'more') this.session.admitWrite(task);
    this.afterData(task, result);
  }

  private dataOut(pdu: Pdu): void {
    const bhs = pdu.bhs;
    const task = this.session.tasks.get(ittOf(bhs));
    // Data for an aborted or unknown task is discarded (RFC 7143 §7.1, ERL 0).
    if (!task || task.executing) return;
    const result = acceptDataOut(task, tttOf(bhs), dataSNOf(bhs), bufferOffsetOf(bhs), finalBit(bhs), pdu.dataParts ?? pdu.data);
    this.afterData(task, result);
  }

  private afterData(task: ScsiTask, result: DataOutResult): void {
    if (typeof result === 'object') {
      // The command fails and the connection stays: later Data-Out for this ITT finds no task and
      // is discarded (what libiscsi's iSCSIDataSnInvalid expects of a target).
      this.log.warn({ itt: task.itt, error: result.error }, 'Data-Out sequence error; command terminated');
      return this.failTask(task, DATA_PHASE_ERROR_SENSE);
    }
    if (result === 'complete') return this.execute(task);
    // Not yet within the session's write budget: R2Ts follow once earlier writes finish.
    if (!task.holdsWriteBudget) return;
    const r2ts = nextR2Ts(task, this.session.params, () => this.port.newTag());
    if (r2ts.length === 0) return;
    this.port.cork();
    for (const fields of r2ts) this.port.send((seq) => r2t({ ...fields, lun: task.lun, itt: task.itt }, seq), false);
    this.port.uncork();
  }

  /** Ends a task with CHECK CONDITION before it reaches the SCSI layer. */
  private failTask(task: ScsiTask, sense: Buffer): void {
    this.session.abortTasks((t) => t === task);
    const itt = task.itt;
    this.port.send((seq) => scsiResponse({ itt, status: ScsiStatus.CheckCondition, sense, residual: NO_RESIDUAL, expDataSN: task.r2tSN }, seq), true);
  }

  private execute(task: ScsiTask): void {
    const target = this.session.target;
    const nexus = this.session.nexus;
    if (!target || !nexus) return;
    task.executing = true;
    const command = new TaskCommand(task, nexus);
    let result: ScsiResponse | Promise<ScsiResponse>;
    try {
      result = target.device.execute(command);
    } catch (error) {
      return this.deviceFailed(task, error);
    }
    // A command the device answered at once (a READ from the page cache) is answered in this turn.
    if (result instanceof Promise) void result.then((response) => this.executed(task, response), (error: unknown) => this.deviceFailed(task, error));
    else this.executed(task, result);
  }

  private executed(task: ScsiTask, response: ScsiResponse): void {
    task.releaseData();
    this.settle(task, response);
  }

  private deviceFailed(task: ScsiTask, error: unknown): void {
    task.releaseData();
    this.log.error({ err: error, itt: task.itt, opcode: task.cdb[0] }, 'SCSI device failed a command');
    this.settle(task, { status: ScsiStatus.CheckCondition, sense: INTERNAL_FAILURE_SENSE });
  }

  /** complete() that never throws: a failure here must not become an unhandled rejection. */
  private settle(task: ScsiTask, response: ScsiResponse): void {
    try {
      this.complete(task, response);
    } catch (error) {
      this.log.error({ err: error, itt: task.itt }, 'internal error sending a command result');
      this.port.drop('internal error');
    }
  }

  private complete(task: ScsiTask, response: ScsiResponse): void {
    if (task.aborted || this.session.closed || this.session.tasks.get(task.itt) !== task) {
      response.release?.();
      return;
    }
    if (response.dropConnection !== undefined) {
      // Fault injection: the connection goes without an answer (the initiator recovers by logging in again).
      response.release?.();
      this.log.warn({ itt: task.itt, opcode: task.cdb[0], why: response.dropConnection }, 'dropping the connection (fault injection)');
      this.port.drop(`fault injection: ${response.dropConnection}`);
      return;
    }
    this.session.tasks.delete(task.itt);
    this.session.window.taskFinished();
    this.session.releaseWriteBudget(task);
    sendScsiResult(this.port, task, response, this.session.params);
  }

  private nopOut(pdu: Pdu): void {
    const itt = ittOf(pdu.bhs);
    if (itt === RESERVED_TAG) {
      // The answer to our keep-alive ping (RFC 7143 §11.18.2); must be immediate, takes no CmdSN.
      this.port.keepAlive.answered(tttOf(pdu.bhs));
      return;
    }
    this.windowed(pdu, (p) => answerPing(this.port, p));
  }

  private taskManagement(pdu: Pdu): void {
    const itt = ittOf(pdu.bhs);
    const outcome = performTaskManagement(this.session, this.registry, pdu);
    sendTaskManagementResponse(this.port, itt, outcome.response);
    if (outcome.closeTargetSessions && this.session.target) {
      // RFC 7143 §11.5.1: after a cold reset every connection to the target goes; ours only once the
      // TMF response has been written.
      for (const s of this.registry.ofTarget(this.session.target.iqn)) if (s !== this.session) s.closeConnection('target cold reset');
      this.loggingOut = true;
      this.shutdown();
      this.port.endAfterFlush();
    }
  }

  private text(pdu: Pdu): void {
    const problem = this.textExchange.handle(pdu);
    if (problem) this.reject(RejectReason.ProtocolError, pdu, problem);
  }

  private logout(pdu: Pdu): void {
    const bhs = pdu.bhs;
    const reason = functionOf(bhs);
    const itt = ittOf(bhs);
    const cid = cidOf(bhs);
    let response: LogoutResponseCode = LogoutResponseCode.Success;
    if (reason === LogoutReason.RemoveConnectionForRecovery) response = LogoutResponseCode.RecoveryNotSupported;
    else if (reason === LogoutReason.CloseConnection && cid !== this.port.cid) response = LogoutResponseCode.CidNotFound;
    else if (reason !== LogoutReason.CloseSession && reason !== LogoutReason.CloseConnection) {
      return this.reject(RejectReason.InvalidPduField, pdu, `logout reason ${reason}`);
    }
    if (response === LogoutResponseCode.Success) {
      this.loggingOut = true;
      this.shutdown();
      // The I_T nexus ends before the initiator reads the response (its SPC-2 reservation, PREVENT
      // state, unit attentions go), not when the socket's close is noticed later: a command another
      // session sends right after the logout must not meet the old holder's reservation.
      unbindSession(this.session, this.registry, this.log);
    }
    this.port.send((seq) => logoutResponse({ itt, response, time2Wait: 0, time2Retain: 0 }, seq), true);
    if (response === LogoutResponseCode.Success) this.port.endAfterFlush();
  }
}

/** The CDB: 16 bytes in the BHS plus an Extended CDB AHS (type 1) when present (RFC 7143 §11.2.2). */
function cdbOf(pdu: Pdu): Buffer {
  const base = cdbField(pdu.bhs);
  const ahs = pdu.ahs;
  if (!ahs) return base;
  let p = 0;
  while (p + 3 <= ahs.length) {
    const length = ahs.readUInt16BE(p);
    const type = ahs[p + 2];
    if (type === 1 && length > 1 && p + 3 + length <= ahs.length) {
      return Buffer.concat([base, ahs.subarray(p + 4, p + 3 + length)]);
    }
    p += (3 + length + 3) & ~3;
  }
  return base;
}
