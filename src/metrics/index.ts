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
import type { HttpRoute } from './http-routes.ts';
import { startSystemHttp, type SystemHttpServer } from './http-server.ts';
import { systemMetrics, type MetricsSource } from './system-metrics.ts';

/** What a running replication engine adds: its gauges and whether it reaches Redis. */
export interface ObservedReplication {
  readonly metrics: Registry;
  readonly redisUrl: string;
  redisConnected(): boolean;
}

/** What the composition root adds to the system's HTTP server: routes and metrics of other parts. */
export interface HttpExtensions {
  /** Served beside /metrics (fault API, link API, dashboard); see http-routes.ts. */
  readonly routes?: readonly HttpRoute[];
  /** Merged into /metrics (e.g. the injected-fault counter). */
  readonly registries?: readonly Registry[];
}

export async function startObservability(system: MetricsSource, config: MetricsConfig, replication?: ObservedReplication, extensions: HttpExtensions = {}): Promise<SystemHttpServer> {
  const own = systemMetrics(system);
  const registries = [own.registry, ...(replication ? [replication.metrics] : []), ...(extensions.registries ?? [])];
  const registry = registries.length === 1 ? own.registry : Registry.merge(registries);
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
      ...(extensions.routes === undefined ? {} : { routes: extensions.routes }),
      ...(config.token === undefined ? {} : { token: config.token }),
    });
    return { url: server.url, close: async () => { own.close(); await server.close(); } };
  } catch (error) {
    own.close();
    throw error;
  }
}

export type { SessionsListing, SystemHttpServer } from './http-server.ts';
export { HttpError, findRoute, type HttpMethod, type HttpRoute, type RouteReply, type RouteRequest } from './http-routes.ts';
export type { DashboardSnapshot, DashboardState, SystemState } from './dashboard/dashboard-types.ts';
export { DashboardFeed } from './dashboard/feed.ts';
export { SystemStateCollector, type DashboardSystem, type ObservedPair } from './dashboard/system-state.ts';
export { dashboardRoutes } from './dashboard/web.ts';
