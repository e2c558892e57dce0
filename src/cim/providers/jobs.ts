/**
 * ConcreteJob lifecycle (DMTF CIM_ConcreteJob; SMI-S Job Control): Running (4, [2]) then Completed
 * (7, [2 OK, 17 Completed]), Exception (10, [6 Error, 17 Completed]) with ErrorCode/ErrorDescription,
 * or Terminated (8, [10 Stopped, 17]). Finished jobs stay enumerable for TimeBeforeRemoval.
 */
import type { ObjectPath } from '../types.ts';
import type { CimStateStore, JobRecord } from './state-store.ts';

export const DEFAULT_TIME_BEFORE_REMOVAL_MS = 5 * 60_000;

export const JobState = { New: 2, Starting: 3, Running: 4, Completed: 7, Terminated: 8, Exception: 10 } as const;

export class JobManager {
  private readonly aborts = new Map<string, AbortController>();

  constructor(private readonly store: CimStateStore, private readonly now: () => number = Date.now) {}

  /** Jobs left running by a previous process cannot finish: mark them failed. */
  recoverAfterRestart(): void {
    for (const job of this.store.jobs.values()) {
      if (!isFinished(job)) this.finishFailed(job, 4, 'interrupted by a restart of the system');
    }
  }

  start(methodName: string, elementName: string): { job: JobRecord; signal: AbortSignal } {
    const t = this.now();
    const job: JobRecord = {
      instanceId: this.store.newJobId(), methodName, elementName,
      jobState: JobState.Running, operationalStatus: [2], percentComplete: 0,
      timeSubmitted: t, timeOfLastStateChange: t, timeBeforeRemovalMs: DEFAULT_TIME_BEFORE_REMOVAL_MS,
      affectedCollections: [],
    };
    const abort = new AbortController();
    this.aborts.set(job.instanceId, abort);
    this.store.jobs.set(job.instanceId, job);
    this.store.saveInBackground();
    return { job, signal: abort.signal };
  }

  progress(job: JobRecord, percent: number): void {
    if (isFinished(job)) return;
    job.percentComplete = Math.max(0, Math.min(99, Math.round(percent)));
  }

  complete(job: JobRecord, affectedCollections: readonly string[], affectedElements: readonly ObjectPath[] = []): void {
    if (isFinished(job)) return;
    if (affectedElements.length) job.affectedElements = [...affectedElements];
    job.jobState = JobState.Completed;
    job.operationalStatus = [2, 17];
    job.percentComplete = 100;
    job.returnValue = 0;
    job.affectedCollections = [...affectedCollections];
    this.settle(job);
  }

  fail(job: JobRecord, errorCode: number, description: string): void {
    if (isFinished(job)) return;
    this.finishFailed(job, errorCode, description);
  }

  /** RequestStateChange(4 Terminate / 5 Kill): 0, or 4097 when the job already finished. */
  terminate(job: JobRecord): number {
    if (isFinished(job)) return 4097;
    job.jobState = JobState.Terminated;
    job.operationalStatus = [10, 17];
    this.aborts.get(job.instanceId)?.abort();
    this.settle(job);
    return 0;
  }

  /** Drops finished jobs older than their TimeBeforeRemoval. */
  sweep(): void {
    const t = this.now();
    let changed = false;
    for (const job of [...this.store.jobs.values()]) {
      if (isFinished(job) && t >= job.timeOfLastStateChange + job.timeBeforeRemovalMs) {
        this.store.jobs.delete(job.instanceId);
        changed = true;
      }
    }
    if (changed) this.store.saveInBackground();
  }

  private finishFailed(job: JobRecord, errorCode: number, description: string): void {
    job.jobState = JobState.Exception;
    job.operationalStatus = [6, 17];
    job.errorCode = errorCode;
    job.errorDescription = description;
    job.returnValue = 4;
    this.settle(job);
  }

  private settle(job: JobRecord): void {
    job.timeOfLastStateChange = this.now();
    this.aborts.delete(job.instanceId);
    this.store.saveInBackground();
  }
}

export function isFinished(job: JobRecord): boolean {
  return job.jobState === JobState.Completed || job.jobState === JobState.Terminated || job.jobState === JobState.Exception;
}
