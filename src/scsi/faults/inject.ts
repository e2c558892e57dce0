/**
 * The SCSI-level fault actions for one command, after the SCSI core's own checks (LUN, unit attention,
 * reservation, CDB, LBA range) and before it runs: CHECK CONDITION with the rule's sense, BUSY, TASK SET
 * FULL, a delay, no response at all (until the initiator aborts the task or resets the LUN), a dropped
 * connection (the fabric closes it) and a thin pool out of space.
 */
import { ScsiStatus, type ScsiCommand, type ScsiResponse } from '../command.ts';
import { buildSenseFromCodes, buildSense, senseFailure, type SenseReason } from '../sense.ts';
import type { LunFaults } from './lun-faults.ts';

export interface FaultedCommand {
  readonly command: ScsiCommand;
  readonly kind: 'read' | 'write' | undefined;
  readonly range: { readonly lba: number; readonly blocks: number } | undefined;
  /** Raise a unit attention for every I_T nexus of the LUN. */
  raiseAll(reason: SenseReason): void;
}

const TASK_ABORTED: ScsiResponse = { status: ScsiStatus.TaskAborted };

/** The response the faults dictate, or undefined when the command goes on (after any delay). */
export async function injectFault(faults: LunFaults, faulted: FaultedCommand): Promise<ScsiResponse | undefined> {
  const { command, kind, range } = faulted;
  const decision = faults.decide({
    kind,
    opcode: command.cdb[0],
    ...(range === undefined ? {} : { lba: range.lba, blocks: range.blocks }),
    initiator: command.nexus.initiatorName,
  });
  if (decision === undefined) return undefined;
  if (decision.unitAttention !== undefined) faulted.raiseAll(decision.unitAttention);
  if (decision.delayMs > 0 && !(await delay(decision.delayMs, command.signal))) return TASK_ABORTED;
  const action = decision.action;
  switch (action?.kind) {
    case undefined:
      return undefined;
    case 'check-condition':
      return {
        status: ScsiStatus.CheckCondition,
        sense: buildSenseFromCodes(action.sense, decision.lba === undefined ? {} : { information: decision.lba }),
      };
    case 'busy':
      return { status: ScsiStatus.Busy };
    case 'task-set-full':
      return { status: ScsiStatus.TaskSetFull };
    case 'space-exhausted':
      return { status: ScsiStatus.CheckCondition, sense: buildSense(senseFailure('space-allocation-failed-write-protect')) };
    case 'no-response':
      // Hung: only ABORT TASK, a reset or the connection closing (all abort the task) ends it; the
      // fabric sends nothing for an aborted task.
      await aborted(command.signal);
      return TASK_ABORTED;
    case 'drop-connection':
      return { status: ScsiStatus.TaskAborted, dropConnection: `fault rule ${decision.ruleId ?? ''} (drop-connection)` };
  }
}

/** Waits `ms`; false when the task was aborted meanwhile. */
function delay(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
