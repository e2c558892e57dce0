/**
 * Adds replication to a system assembly without the system knowing about it: wraps the components so
 * the CIM server handle is kept, then, once the system runs, starts the engine (when the config has a
 * redisUrl) and registers it with CIM. Its gauges (`handle.metrics`) are served by the system's HTTP
 * server (src/metrics), which assemble-system.ts starts after this.
 *
 *   const replicated = withReplication(defaultComponents(), config);
 *   const system = new System(config, replicated.components);
 *   await system.start();
 *   const replication = await replicated.attach(system, config);   // undefined without redisUrl
 *   ...
 *   await replication?.close(); await system.stop();
 */
import { startCimServer, type CimServerHandle as FullCimHandle } from '../cim/index.ts';
import type { SystemConfig } from '../config/types.ts';
import type { SystemComponents } from '../system/components.ts';
import type { SystemView } from '../system/view.ts';
import { logger } from '../util/log.ts';
import { RedisTransport, startReplication, type ReplicationHandle } from '../replication/index.ts';
import { localMemberNaas } from '../replication/mirror/pair-registry.ts';
import { CimReplicationAdapter } from './replication-cim-adapter.ts';

export interface ReplicatedComponents {
  readonly components: SystemComponents;
  attach(view: SystemView, config: SystemConfig): Promise<AttachedReplication | undefined>;
}

export interface AttachedReplication extends ReplicationHandle {
  /** The Redis URL with any password masked (logs, health messages). */
  readonly redisUrl: string;
}

export function withReplication(base: SystemComponents, config?: SystemConfig): ReplicatedComponents {
  let cim: FullCimHandle | undefined;
  // LUNs named by this system's pairs start write protected, before any portal listens: a restarted
  // source must not take a write before it learned whether the pair was failed over meanwhile.
  const members: Pick<ReadonlySet<string>, 'has'> = config?.redisUrl ? localMemberNaas(config.stateDir) : new Set<string>();
  const components: SystemComponents = {
    ...base,
    buildTarget: (target, units) => {
      const built = base.buildTarget(target, units);
      for (const unit of units) {
        if (members.has(unit.naa.toLowerCase())) {
          const handle = built.units.get(unit.config.lun);
          if (handle) handle.writeProtected = true;
        }
      }
      return built;
    },
    startCim: async (view, config) => {
      cim = await startCimServer(view, config);
      return cim;
    },
  };
  return {
    components,
    attach: async (view, config) => {
      if (!config.redisUrl) return undefined;
      const handle = await startReplication(view, new RedisTransport(config.redisUrl, { name: config.name }));
      cim?.setReplicationEngine(new CimReplicationAdapter(handle.engine));
      const redisUrl = redactUrl(config.redisUrl);
      logger.child({ component: 'replication' }).info({ redis: redisUrl }, 'replication engine running');
      return { ...handle, redisUrl };
    },
  };
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis';
  }
}
