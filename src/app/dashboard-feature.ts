/**
 * The system's dashboard on its HTTP server (src/metrics/dashboard): the page, the snapshot and the
 * live stream of this system's state, with the replication engine's pairs when replication runs and
 * the fault rules of its LUNs.
 */
import { DashboardFeed, dashboardRoutes, SystemStateCollector } from '../metrics/index.ts';
import type { HttpFeature, HttpContext } from './http-extensions.ts';

export function dashboardFeature({ system, replication, faults }: HttpContext): HttpFeature {
  const engine = replication?.engine;
  const collector = new SystemStateCollector({ system, faults: () => faults.list(), ...(engine ? { pairs: () => engine.pairs() } : {}) });
  const feed = new DashboardFeed({ title: system.name, collect: () => [collector.collect()] });
  feed.start();
  return {
    routes: dashboardRoutes(feed),
    close: async () => {
      collector.close();
      await feed.stop();
    },
  };
}
