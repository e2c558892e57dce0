/**
 * One iSCSI session (RFC 7143 §3.4, MaxConnections=1, ERL 0): who is logged in to what, the
 * negotiated parameters, the command window and the task table.
 */
import type { ItNexus } from '../scsi/command.ts';
import type { PortalAddress, TargetEntry } from './catalog.ts';
import { CommandWindow } from './command-window.ts';
import type { SessionType } from './login.ts';
import type { SessionParameters } from './negotiation.ts';
import type { ScsiTask } from './scsi-task.ts';

export interface SessionInit {
  readonly tsih: number;
  readonly isid: Buffer;
  readonly initiatorName: string;
  readonly initiatorAlias: string | undefined;
  readonly sessionType: SessionType;
  readonly target: TargetEntry | undefined;
  readonly params: SessionParameters;
  readonly portal: PortalAddress;
  readonly initiatorAddress: string;
  readonly firstCmdSN: number;
  readonly queueDepth: number;
  /** Bytes of write data the session may have solicited at once. */
  readonly writeBudget: number;
}

export class Session {
  readonly tsih: number;
  readonly isid: string;
  readonly initiatorName: string;
  readonly initiatorAlias: string | undefined;
  readonly sessionType: SessionType;
  readonly target: TargetEntry | undefined;
  readonly params: SessionParameters;
  readonly portal: PortalAddress;
  readonly initiatorAddress: string;
  readonly window: CommandWindow;
  readonly tasks = new Map<number, ScsiTask>();
  readonly nexus: ItNexus | undefined;
  readonly startedAt = new Date();
  /** Write bytes of commands allowed to solicit data; bounds what one session can make us buffer. */
  private bufferedWriteBytes = 0;
  private readonly writeBudget: number;
  private readonly writeWaiters: ScsiTask[] = [];
  /** Called when a write that waited for buffer room may now solicit its data (set by the owner). */
  onWriteAdmitted: (task: ScsiTask) => void = () => undefined;
  /** Closes the session's connection (set by the connection that owns it). */
  closeConnection: (reason: string) => void = () => undefined;
  closed = false;

  constructor(init: SessionInit) {
    this.tsih = init.tsih;
    this.isid = init.isid.toString('hex');
    this.initiatorName = init.initiatorName;
    this.initiatorAlias = init.initiatorAlias;
    this.sessionType = init.sessionType;
    this.target = init.target;
    this.params = init.params;
    this.portal = init.portal;
    this.initiatorAddress = init.initiatorAddress;
    this.window = new CommandWindow(init.firstCmdSN, init.queueDepth);
    this.writeBudget = init.writeBudget;
    if (init.target) {
      this.nexus = {
        id: `${init.initiatorName},i,0x${this.isid},${init.target.iqn},t,0x${init.portal.portalGroupTag.toString(16).padStart(4, '0')}`,
        initiatorName: init.initiatorName,
        isid: this.isid,
        targetName: init.target.iqn,
        portalGroupTag: init.portal.portalGroupTag,
      };
    }
  }

  /** Aborts tasks matching `filter` (TMF, reset, logout); returns how many. */
  abortTasks(filter: (task: ScsiTask) => boolean): number {
    let n = 0;
    for (const task of [...this.tasks.values()]) {
      if (!filter(task)) continue;
      task.abort();
      this.tasks.delete(task.itt);
      this.window.taskFinished();
      this.releaseWriteBudget(task);
      n += 1;
    }
    return n;
  }

  /**
   * Whether `task` may solicit its write data now. Writes wait (no R2T yet) while the session already
   * buffers its budget; one write is always admitted so a single large command cannot stall.
   */
  admitWrite(task: ScsiTask): boolean {
    if (this.bufferedWriteBytes > 0 && this.bufferedWriteBytes + task.writeLength > this.writeBudget) {
      this.writeWaiters.push(task);
      return false;
    }
    this.bufferedWriteBytes += task.writeLength;
    task.holdsWriteBudget = true;
    return true;
  }

  /** A write left the fabric (executed or aborted): admits waiting writes that now fit. */
  releaseWriteBudget(task: ScsiTask): void {
    const waiting = this.writeWaiters.indexOf(task);
    if (waiting >= 0) this.writeWaiters.splice(waiting, 1);
    if (!task.holdsWriteBudget) return;
    task.holdsWriteBudget = false;
    this.bufferedWriteBytes -= task.writeLength;
    while (this.writeWaiters.length > 0) {
      const next = this.writeWaiters[0];
      if (this.bufferedWriteBytes > 0 && this.bufferedWriteBytes + next.writeLength > this.writeBudget) return;
      this.writeWaiters.shift();
      this.bufferedWriteBytes += next.writeLength;
      next.holdsWriteBudget = true;
      this.onWriteAdmitted(next);
    }
  }
}
