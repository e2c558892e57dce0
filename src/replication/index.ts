/**
 * Entry point for the composition root (src/app): `startReplication(view, transport)` once the LUNs are
 * open (before portals accept writes, ideally); src/app hands the engine to CIM through its adapter and
 * the system's HTTP server (src/metrics) serves `handle.metrics` on /metrics. `close()` on shutdown,
 * before the backstores close.
 */
import type { Registry } from 'prom-client';
import type { SystemView } from '../system/view.ts';
import { ReplicationEngine } from './engine.ts';
import { replicationMetrics } from './metrics.ts';
import type { ReplicationOptions } from './options.ts';
import type { ReplicationTransport } from './transport/transport.ts';

export { ReplicationEngine, EngineError, type PairOperation, type CreateMirrorRequest } from './engine.ts';
export type { PairStatus, PairRecord, PairPhase, ReplicationMode } from './pair-types.ts';
export type { ReplicationTransport } from './transport/transport.ts';
export { RedisTransport } from './transport/redis-transport.ts';

export interface ReplicationHandle {
  readonly engine: ReplicationEngine;
  readonly metrics: Registry;
  close(): Promise<void>;
}

/** Starts the engine of `view` over `transport` (which the engine closes on close()). */
export async function startReplication(view: SystemView, transport: ReplicationTransport, options?: Partial<ReplicationOptions>): Promise<ReplicationHandle> {
  const engine = new ReplicationEngine({ view, transport, ...(options ? { options } : {}) });
  await engine.start();
  return {
    engine,
    metrics: replicationMetrics(engine),
    close: () => engine.close(),
  };
}
