/**
 * Observability of one running system, started by `serve` when the config has `metrics:` (with or
 * without replication): the system's metrics, the replication gauges when replication runs, health
 * checks and the HTTP server that serves them.
 *
 *   const http = await startObservability(system, config.metrics, replication);  // after system.start()
 *   ...
 *   await http.close();
 */
import { Registry } from 'prom-client';
import type { MetricsConfig } from '../config/types.ts';
import { type HealthCheck } from './health.ts';
import { startSystemHttp, type SystemHttpServer } from './http-server.ts';
import { systemMetrics, type MetricsSource } from './system-metrics.ts';

/** What a running replication engine adds: its gauges and whether it reaches Redis. */
export interface ObservedReplication {
  readonly metrics: Registry;
  readonly redisUrl: string;
  redisConnected(): boolean;
}

export async function startObservability(system: MetricsSource, config: MetricsConfig, replication?: ObservedReplication): Promise<SystemHttpServer> {
  const own = systemMetrics(system);
  const registry = replication ? Registry.merge([own.registry, replication.metrics]) : own.registry;
  const health: HealthCheck[] = [{
    name: 'system',
    check: () => {
      const readiness = system.readiness();
      return readiness.ready ? { ok: true, detail: 'every portal listening' } : { ok: false, detail: readiness.problems.join('; ') };
    },
  }];
  if (replication) {
    health.push({
      name: 'replication',
      check: () => (replication.redisConnected() ? { ok: true, detail: 'connected to Redis' } : { ok: false, detail: `not connected to Redis (${replication.redisUrl})` }),
    });
  }
  try {
    const server = await startSystemHttp({
      address: config.address, port: config.port, systemName: system.name, registry, health, sessions: () => system.sessions(), targets: () => system.targets.map((t) => t.iqn),
    });
    return { url: server.url, close: async () => { own.close(); await server.close(); } };
  } catch (error) {
    own.close();
    throw error;
  }
}

export type { SessionsListing, SystemHttpServer } from './http-server.ts';
