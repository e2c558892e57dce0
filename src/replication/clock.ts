/**
 * Time as the replication engine sees it: the current instant and periodic work (reconcile passes,
 * watchdogs, probes). Injected so unit tests advance time explicitly instead of sleeping.
 */
export interface Clock {
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    return () => clearInterval(timer);
  },
};
