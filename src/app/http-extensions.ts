/**
 * What the composition root adds to the system's HTTP server beside /metrics, /healthz and
 * /api/sessions: each feature's routes (src/metrics/http-routes.ts) and metric registries. One line
 * per feature below; the server checks the bearer token and parses JSON bodies for all of them.
 */
import type { SystemConfig } from '../config/types.ts';
import type { HttpExtensions, HttpRoute } from '../metrics/index.ts';
import type { Registry } from 'prom-client';
import type { FaultBoard } from '../scsi/faults/fault-board.ts';
import type { System } from '../system/system.ts';
import { dashboardFeature } from './dashboard-feature.ts';
import { faultApi } from './fault-api.ts';
import { linkFeature } from './link-routes.ts';
import { lunApi } from './lun-api.ts';
import type { AttachedReplication } from './with-replication.ts';

/** The running parts a feature's routes may use. */
export interface HttpContext {
  readonly system: System;
  readonly config: SystemConfig;
  /** undefined without redisUrl. */
  readonly replication: AttachedReplication | undefined;
  /** Every LUN's fault rules. */
  readonly faults: FaultBoard;
}

/** One feature's contribution; `close` runs when the system stops (after the HTTP server closed). */
export interface HttpFeature {
  readonly routes?: readonly HttpRoute[];
  readonly registries?: readonly Registry[];
  close?(): void | Promise<void>;
}

export type HttpFeatureFactory = (context: HttpContext) => HttpFeature;

/** The features every system serves (add yours here). */
export const HTTP_FEATURES: readonly HttpFeatureFactory[] = [faultApi, linkFeature, dashboardFeature, lunApi];

export function httpExtensions(context: HttpContext, factories: readonly HttpFeatureFactory[] = HTTP_FEATURES): HttpExtensions & { close(): Promise<void> } {
  const features = factories.map((factory) => factory(context));
  return {
    routes: features.flatMap((feature) => feature.routes ?? []),
    registries: features.flatMap((feature) => feature.registries ?? []),
    close: async () => {
      for (const feature of features) await feature.close?.();
    },
  };
}
