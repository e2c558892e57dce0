/**
 * The only state CIM owns: remote replication collections and jobs. Kept in memory, persisted to
 * `<stateDir>/cim-state.json` by write-to-temp + rename so a crash never leaves half a file.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { logger } from '../../util/log.ts';
import { readStateFile } from '../../util/state-file.ts';
import type { ObjectPath } from '../types.ts';

export interface RemoteEndpointRef {
  readonly systemName: string;
  readonly name: string;
}

export interface CollectionRecord {
  readonly instanceId: string;
  elementName: string;
  active: boolean;
  deleteOnUnassociated: boolean;
  /** 0 Unknown, 2 Up, 3 Down, 4 Partitioned (last probe). */
  connectivityStatus: number;
  localAccessPoints: string[];
  remoteAccessPoints: RemoteEndpointRef[];
  remoteSystems: string[];
}

export interface JobRecord {
  readonly instanceId: string;
  readonly methodName: string;
  readonly elementName: string;
  jobState: number;
  operationalStatus: number[];
  percentComplete: number;
  readonly timeSubmitted: number;
  timeOfLastStateChange: number;
  timeBeforeRemovalMs: number;
  errorCode?: number;
  errorDescription?: string;
  /** Method return value the job's outcome corresponds to (0 or 4 Failed). */
  returnValue?: number;
  /** Collections the job created or changed (AffectedJobElement). */
  affectedCollections: string[];
  /** Other affected elements, e.g. the StorageSynchronized of CreateElementReplica. */
  affectedElements?: ObjectPath[];
}

interface StateFileShape {
  readonly version: 1;
  readonly nextJob: number;
  readonly nextCollection: number;
  readonly collections: CollectionRecord[];
  readonly jobs: JobRecord[];
}

export class CimStateStore {
  readonly collections = new Map<string, CollectionRecord>();
  readonly jobs = new Map<string, JobRecord>();
  private nextJob = 1;
  private nextCollection = 1;
  private writing: Promise<void> = Promise.resolve();
  private problem: string | undefined;
  private readonly file: string | undefined;

  /** stateDir undefined = memory only (tests). */
  constructor(stateDir: string | undefined, private readonly systemName: string) {
    this.file = stateDir ? join(stateDir, 'cim-state.json') : undefined;
  }

  /** A missing file is a fresh system; an unparsable one stops start-up naming it (jobs and collections must not vanish). */
  async load(): Promise<void> {
    if (!this.file) return;
    const data = await readStateFile(this.file) as Partial<StateFileShape> | undefined;
    if (!data) return;
    this.nextJob = Number(data.nextJob) || 1;
    this.nextCollection = Number(data.nextCollection) || 1;
    for (const c of data.collections ?? []) this.collections.set(c.instanceId, c);
    for (const j of data.jobs ?? []) this.jobs.set(j.instanceId, j);
  }

  newJobId(): string {
    return `ISCSISIM:JOB-${this.nextJob++}`;
  }

  newCollectionId(): string {
    return `ISCSISIM:${this.systemName}:RRC-${this.nextCollection++}`;
  }

  /**
   * Persists the current collections and jobs; writes are serialized so the last one wins. Rejects
   * with a StatePersistError naming the file when the write fails: a method that changed a
   * collection must not report success for a change the next start would not find. Until a later
   * save succeeds, `persistProblem()` says what failed (the system reports it as not ready).
   */
  save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const snapshot: StateFileShape = {
      version: 1, nextJob: this.nextJob, nextCollection: this.nextCollection,
      collections: [...this.collections.values()], jobs: [...this.jobs.values()],
    };
    const body = JSON.stringify(snapshot, null, 2);
    const tmp = `${file}.${process.pid}.tmp`;
    const write = this.writing.then(async () => {
      try {
        await mkdir(dirname(file), { recursive: true });
        await writeFile(tmp, body);
        await rename(tmp, file);
        this.problem = undefined;
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined); // tidy-up only: the error below is what matters
        this.problem = `CIM state not saved to ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
        throw new StatePersistError(this.problem, { cause: err });
      }
    });
    // The next save runs whether this one failed or not; the failure goes to this save's caller.
    this.writing = write.catch(() => undefined);
    return write;
  }

  /**
   * Applies a change to the collections and persists it. When the save fails the collections are
   * put back as they were and the StatePersistError is rethrown: the caller reports a failure and
   * memory keeps matching the file.
   */
  async change<T>(mutate: () => T): Promise<T> {
    const before = new Map([...this.collections].map(([id, c]) => [id, structuredClone(c)]));
    const result = mutate();
    try {
      await this.save();
    } catch (err) {
      for (const id of this.collections.keys()) if (!before.has(id)) this.collections.delete(id);
      for (const [id, saved] of before) {
        const live = this.collections.get(id);
        if (live) Object.assign(live, saved);
        else this.collections.set(id, saved);
      }
      throw err;
    }
    return result;
  }

  /**
   * For saves nobody waits on (job progress and expiry): a failure is logged and stays visible
   * through `persistProblem()` until a later save succeeds.
   */
  saveInBackground(): void {
    this.save().catch((err: unknown) => {
      logger.child({ component: 'cim' }).error({ err }, (err as Error).message);
    });
  }

  /** What the last save could not write, or undefined when the file holds the current state. */
  persistProblem(): string | undefined {
    return this.problem;
  }
}

/** The CIM state file could not be written; the message names the file and the cause. */
export class StatePersistError extends Error {
  override readonly name = 'StatePersistError';
}
