/**
 * What the parts of one system's replication engine share: the system, the transport and clock, the
 * pair registry, and the pairs as this system knows them (entries, source and replica sides).
 */
import { join } from 'node:path';
import type { LunView, SystemView } from '../../system/view.ts';
import { logger } from '../../util/log.ts';
import type { Clock } from '../clock.ts';
import type { LinkTable } from '../link/link-table.ts';
import type { PairEntry, PairRegistry } from '../mirror/pair-registry.ts';
import type { ReplicaPair } from '../mirror/replica-pair.ts';
import type { SourcePair } from '../mirror/source-pair.ts';
import type { ReplicationOptions } from '../options.ts';
import type { LunAddress } from '../pair-types.ts';
import type { ReplicaLiveness } from '../pipeline/replica-liveness.ts';
import type { KeyValueStore, ReplicationTransport } from '../transport/transport.ts';

export interface EngineServices {
  readonly view: SystemView;
  readonly transport: ReplicationTransport;
  readonly clock: Clock;
  readonly options: ReplicationOptions;
  readonly registry: PairRegistry;
  readonly links: LinkTable;
  /** How often every pair is reconciled even without an announcement. */
  readonly reconcileMs: number;
  /** The system's one heartbeat for all its replicas. */
  readonly liveness: ReplicaLiveness;
}

export class EngineState {
  /** Each pair's entry as last seen (Redis, or the local record while Redis is unreachable). */
  readonly entries = new Map<string, PairEntry>();
  /** Pairs whose source LUN is on this system. */
  readonly sources = new Map<string, SourcePair>();
  /** Pairs whose target LUN is on this system. */
  readonly replicas = new Map<string, ReplicaPair>();
  closed = false;
  readonly log = logger.child({ component: 'replication' });

  constructor(readonly services: EngineServices) {}

  get systemName(): string { return this.services.view.name; }
  get store(): KeyValueStore { return this.services.transport.store; }
  get connected(): boolean { return this.services.transport.connected; }
  get registry(): PairRegistry { return this.services.registry; }
  get clock(): Clock { return this.services.clock; }

  /** The LUN at `address` when it is on this system. */
  lunAt(address: LunAddress): LunView | undefined {
    return address.system === this.systemName ? this.services.view.lun(address.targetIqn, address.lun) : undefined;
  }

  /** Where the source side of `pairId` keeps its dirty map. */
  dirtyMapPath(pairId: string): string {
    return join(this.services.view.stateDir, 'replication', `${pairId}.source.dirty`);
  }
}
