/** Everything the object model is derived from: the live system view plus CIM's own records. */
import type { SystemView } from '../../system/view.ts';
import type { JobManager } from '../providers/jobs.ts';
import type { PeerDirectory } from '../providers/peers.ts';
import type { ReplicationEngine } from '../providers/replication-engine.ts';
import type { CimStateStore } from '../providers/state-store.ts';

export interface ModelSources {
  readonly view: SystemView;
  readonly state: CimStateStore;
  readonly jobs: JobManager;
  readonly peers: PeerDirectory;
  readonly engine: ReplicationEngine;
}
