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
      n += 1;
    }
    return n;
  }
}
