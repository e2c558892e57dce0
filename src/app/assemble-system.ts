/**
 * The composition root: one running system from a validated config. Takes the state folder's lock,
 * wires storage → SCSI core → iSCSI fabric and CIM (default-components.ts), replication when the
 * config names a Redis (with-replication.ts), and the system's HTTP server when it has `metrics:`.
 * `iscsi-sim serve` calls this; the lab runs each of its systems as a `serve` child.
 *
 *   const running = await startSystem(config);   // throws AssemblyError, nothing left open or locked
 *   ...running.summary()...
 *   await running.stop();
 */
import { startupExposureWarnings } from '../config/exposure.ts';
import type { SystemConfig } from '../config/types.ts';
import { startObservability, type SystemHttpServer } from '../metrics/index.ts';
import { lockStateDir, type StateDirLock } from '../storage/file-lock.ts';
import { FaultBoard } from '../scsi/faults/fault-board.ts';
import { System, type SystemSummary } from '../system/system.ts';
import { ensureFolder } from '../util/directories.ts';
import { logger } from '../util/log.ts';
import { defaultComponents } from './default-components.ts';
import { httpExtensions } from './http-extensions.ts';
import { withReplication, type AttachedReplication } from './with-replication.ts';

/** A system that could not start; the message names the system and the part that failed. */
export class AssemblyError extends Error {
  override readonly name = 'AssemblyError';
}

export interface RunningSystem {
  readonly system: System;
  /** undefined without redisUrl. */
  readonly replication: AttachedReplication | undefined;
  /** undefined without `metrics:`. */
  readonly http: SystemHttpServer | undefined;
  /** Every LUN's fault rules (config `faults:`, /api/faults). */
  readonly faults: FaultBoard;
  /** The system's summary plus the HTTP server's URL (what the ready line prints). */
  summary(): SystemSummary;
  /** HTTP server, replication, then the system (backstores last); releases the state folder. Rejects (after all of it) when a step failed, e.g. a flush. */
  stop(): Promise<void>;
}

export async function startSystem(config: SystemConfig): Promise<RunningSystem> {
  let stateLock: StateDirLock;
  try {
    await ensureFolder(config.stateDir);
    stateLock = await lockStateDir(config.stateDir);
  } catch (error) {
    throw new AssemblyError(`cannot start system ${config.name}: ${(error as Error).message}`);
  }
  for (const warning of startupExposureWarnings(config)) logger.child({ component: 'cli' }).warn(warning);
  try {
    return await assemble(config, stateLock);
  } catch (error) {
    await stateLock.release();
    throw error;
  }
}

async function assemble(config: SystemConfig, stateLock: StateDirLock): Promise<RunningSystem> {
  // Replication runs only when the config names a Redis (redisUrl); otherwise this is a no-op.
  const faults = new FaultBoard();
  const replicated = withReplication(defaultComponents(faults), config);
  const system = new System(config, replicated.components);
  try {
    await system.start();
  } catch (error) {
    throw new AssemblyError(`cannot start system ${config.name}: ${(error as Error).message}`);
  }
  let replication: AttachedReplication | undefined;
  try {
    replication = await replicated.attach(system, config);
  } catch (error) {
    await system.stop();
    throw new AssemblyError(`cannot start replication for ${config.name}: ${(error as Error).message}`);
  }
  let http: SystemHttpServer | undefined;
  if (config.metrics) {
    try {
      const engine = replication?.engine;
      const extensions = httpExtensions({ system, config, replication, faults });
      const server = await startObservability(system, config.metrics, replication && engine && {
        metrics: replication.metrics, redisUrl: replication.redisUrl, redisConnected: () => engine.redisConnected,
      }, extensions).catch(async (error: unknown) => {
        await extensions.close();
        throw error;
      });
      http = { url: server.url, close: async () => { await server.close(); await extensions.close(); } };
    } catch (error) {
      await replication?.close();
      await system.stop();
      throw new AssemblyError(`cannot serve metrics for ${config.name} on ${config.metrics.address}:${config.metrics.port}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  }
  return {
    system,
    replication,
    http,
    faults,
    summary: () => ({ ...system.summary(), ...(http ? { httpUrl: http.url } : {}) }),
    stop: async () => {
      try {
        await http?.close();
        await replication?.close();
      } finally {
        try {
          await system.stop();
        } finally {
          await stateLock.release();
        }
      }
    },
  };
}
