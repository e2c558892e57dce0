/**
 * Task management (RFC 7143 §11.5, §11.6; SAM-5 §7). Aborted tasks get no response of their own
 * (SAM-5: an aborted task is terminated without status); the TMF response follows
 * the abort. Resets also reach the SCSI layer through ScsiTargetDevice.reset.
 */
import { TaskManagementFunction } from '../scsi/command.ts';
import { TmfResponse } from './constants.ts';
import type { PduSender } from './data-in.ts';
import { functionOf, lunOf, referencedTagOf, type Pdu } from './pdu.ts';
import { taskMgmtResponse } from './serializer.ts';
import type { Session } from './session.ts';
import type { SessionRegistry } from './session-registry.ts';

export interface TmfOutcome {
  readonly response: TmfResponse;
  /** TARGET COLD RESET: every connection to the target closes after the response (§11.5.1). */
  readonly closeTargetSessions: boolean;
}

export function performTaskManagement(session: Session, registry: SessionRegistry, pdu: Pdu): TmfOutcome {
  const bhs = pdu.bhs;
  const fn = functionOf(bhs);
  const lun = lunOf(bhs);
  const referencedTag = referencedTagOf(bhs);
  const target = session.target;
  const done = (response: TmfResponse, closeTargetSessions = false): TmfOutcome => ({ response, closeTargetSessions });
  if (!target || !session.nexus) return done(TmfResponse.AuthorizationFailed);
  const nexus = session.nexus;
  const lunExists = target.device.luns.includes(lun);
  const targetSessions = (): Session[] => registry.ofTarget(target.iqn);

  switch (fn) {
    case TaskManagementFunction.AbortTask: {
      const task = session.tasks.get(referencedTag);
      if (!task) return done(TmfResponse.TaskDoesNotExist);
      session.abortTasks((t) => t === task);
      return done(TmfResponse.FunctionComplete);
    }
    case TaskManagementFunction.AbortTaskSet:
      if (!lunExists) return done(TmfResponse.LunDoesNotExist);
      session.abortTasks((t) => t.lun === lun);
      return done(TmfResponse.FunctionComplete);
    case TaskManagementFunction.ClearTaskSet:
      if (!lunExists) return done(TmfResponse.LunDoesNotExist);
      for (const s of targetSessions()) s.abortTasks((t) => t.lun === lun);
      return done(TmfResponse.FunctionComplete);
    case TaskManagementFunction.LogicalUnitReset:
      if (!lunExists) return done(TmfResponse.LunDoesNotExist);
      for (const s of targetSessions()) s.abortTasks((t) => t.lun === lun);
      target.device.reset('lun', lun, nexus);
      return done(TmfResponse.FunctionComplete);
    case TaskManagementFunction.TargetWarmReset:
    case TaskManagementFunction.TargetColdReset: {
      for (const s of targetSessions()) s.abortTasks(() => true);
      const cold = fn === TaskManagementFunction.TargetColdReset;
      target.device.reset(cold ? 'target-cold' : 'target-warm', undefined, nexus);
      return done(TmfResponse.FunctionComplete, cold);
    }
    case TaskManagementFunction.ClearAca:
      return done(TmfResponse.NotSupported);
    case TaskManagementFunction.TaskReassign:
      // ErrorRecoveryLevel 0: no connection allegiance reassignment.
      return done(TmfResponse.ReassignmentNotSupported);
    default:
      return done(TmfResponse.NotSupported);
  }
}

export function sendTaskManagementResponse(sender: PduSender, itt: number, response: TmfResponse): void {
  sender.send((seq) => taskMgmtResponse(itt, response, seq), true);
}
