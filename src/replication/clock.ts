/**
 * Time as the replication engine sees it: the current instant and periodic work (reconcile passes,
 * watchdogs, probes). Injected so unit tests advance time explicitly instead of sleeping.
 */
import { logger } from '../util/log.ts';

export interface Clock {
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

/**
 * Periodic work of the same period shares one timer: a system with many pairs wakes once per period,
 * not once per pair, and the Redis commands the pairs issue in that tick go out as one pipeline.
 */
const ticks = new Map<number, { timer: NodeJS.Timeout; work: Set<() => void> }>();

export const systemClock: Clock = {
  now: () => Date.now(),
  every: (ms, fn) => {
    let tick = ticks.get(ms);
    if (!tick) {
      const work = new Set<() => void>();
      tick = {
        work,
        timer: setInterval(() => {
          for (const run of [...work]) {
            try {
              run();
            } catch (err) {
              // One pair's failing tick must not starve the others of theirs.
              logger.error({ component: 'replication', err }, 'periodic work failed');
            }
          }
        }, ms),
      };
      ticks.set(ms, tick);
    }
    const entry = (): void => fn();
    tick.work.add(entry);
    const shared = tick;
    return () => {
      shared.work.delete(entry);
      if (shared.work.size === 0 && ticks.get(ms) === shared) {
        clearInterval(shared.timer);
        ticks.delete(ms);
      }
    };
  },
};
