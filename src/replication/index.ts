/**
 * Entry point for the system assembly: `startReplication(view, redisUrl)` once the LUNs are open
 * (before portals accept writes, ideally), then `cim.setReplicationEngine(handle.cim)` and serve
 * `handle.metrics` on /metrics. `close()` on shutdown, before the backstores close.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** A minimal /metrics HTTP endpoint (loopback by default) for a registry. */
export async function serveMetrics(registry: Registry, address: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url !== '/metrics') { res.writeHead(404).end(); return; }
    registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': registry.contentType }).end(text);
    }, () => res.writeHead(500).end());
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, address, () => resolve()); });
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  return {
    url: `http://${host}:${bound.port}/metrics`,
    close: () => new Promise((resolve) => { server.close(() => resolve()); server.closeAllConnections(); }),
  };
}
