/**
 * Entry point for the system assembly: `startReplication(view, redisUrl)` once the LUNs are open
 * (before portals accept writes, ideally), then `cim.setReplicationEngine(handle.cim)`; the system's
 * HTTP server (src/metrics) serves `handle.metrics` on /metrics. `close()` on shutdown, before the backstores close.
 */
import type { Registry } from 'prom-client';
import type { SystemView } from '../system/view.ts';
import { CimReplicationAdapter } from './cim-adapter.ts';
import { ReplicationEngine } from './engine.ts';
import { replicationMetrics } from './metrics.ts';
import type { ReplicationOptions } from './options.ts';

export { ReplicationEngine, EngineError, type PairOperation, type CreateMirrorRequest } from './engine.ts';
export { CimReplicationAdapter } from './cim-adapter.ts';
export type { PairStatus, PairRecord, PairPhase, ReplicationMode } from './pair-types.ts';

export interface ReplicationHandle {
  readonly engine: ReplicationEngine;
  readonly cim: CimReplicationAdapter;
  readonly metrics: Registry;
  close(): Promise<void>;
}

export async function startReplication(view: SystemView, redisUrl: string, options?: Partial<ReplicationOptions>): Promise<ReplicationHandle> {
  const engine = new ReplicationEngine({ view, redisUrl, ...(options ? { options } : {}) });
  await engine.start();
  return {
    engine,
    cim: new CimReplicationAdapter(engine),
    metrics: replicationMetrics(engine),
    close: () => engine.close(),
  };
}
