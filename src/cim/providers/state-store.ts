/**
 * The only state CIM owns: remote replication collections and jobs. Kept in memory, persisted to
 * `<stateDir>/cim-state.json` by write-to-temp + rename so a crash never leaves half a file.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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

  /** Persists asynchronously; writes are serialized so the last one wins. */
  save(): Promise<void> {
    const file = this.file;
    if (!file) return Promise.resolve();
    const snapshot: StateFileShape = {
      version: 1, nextJob: this.nextJob, nextCollection: this.nextCollection,
      collections: [...this.collections.values()], jobs: [...this.jobs.values()],
    };
    const body = JSON.stringify(snapshot, null, 2);
    this.writing = this.writing.then(async () => {
      const dir = join(file, '..');
      await mkdir(dir, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, body);
      await rename(tmp, file);
    }).catch((err: unknown) => {
      logger.child({ component: 'cim' }).error({ err, file }, 'could not persist CIM state');
    });
    return this.writing;
  }
}
