/**
 * Whether a pair's replica side is applying, at a cost per system rather than per pair. A source that
 * went ahead probes this to decide when to resync (epoch-shipper.ts, mirror/source-pair.ts).
 *
 * - Each system with replicas refreshes ONE key of its own every probe interval: `systemAlive(name)`
 *   holds this process's instance id and expires after 4 intervals (process dead or cut off from Redis).
 * - Each running replica writes its pair's mark once (`replicaOn(system)` = the instance id, no expiry)
 *   when its applier starts, and deletes it when it stops.
 *
 * A replica is alive when its mark and its system's key hold the same instance: that process runs, still
 * reaches Redis, and runs this pair's applier (a mark left by a crashed or restarted process names an
 * older instance). When the heartbeat finds its key gone (first beat, an outage longer than the expiry, a
 * Redis that lost its data) it writes every mark again; a mark or unmark that failed (Redis down) is
 * retried at the next beat. All writes go out in order, one after the other.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { pairKeys, systemKeys } from '../keys.ts';
import type { KeyValueStore } from '../transport/transport.ts';
import { withTimeout } from '../transport/with-timeout.ts';

/** The system key outlives this many missed beats. */
const ALIVE_BEATS = 4;

export class ReplicaLiveness {
  readonly instance = randomUUID();
  /** Pairs whose replica runs here. */
  private readonly marked = new Set<string>();
  /** Marks (true) or unmarks (false) not yet in the store. */
  private readonly owed = new Map<string, boolean>();
  private stopBeating: (() => void) | undefined;
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: KeyValueStore,
    private readonly system: string,
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** The replica of `pairId` runs here from now on. */
  mark(pairId: string): Promise<void> {
    this.marked.add(pairId);
    this.owed.set(pairId, true);
    this.stopBeating ??= this.clock.every(this.intervalMs, () => void this.beat());
    return this.beat();
  }

  /** The replica of `pairId` stopped here (a source probing it must not take it for alive). */
  unmark(pairId: string): Promise<void> {
    if (!this.marked.delete(pairId)) return this.writes;
    this.owed.set(pairId, false);
    return this.serially(() => this.settle());
  }

  /** Stops the heartbeat (its key then expires); marks stay, naming an instance that no longer beats. */
  close(): void {
    this.stopBeating?.();
    this.stopBeating = undefined;
  }

  private beat(): Promise<void> {
    return this.serially(async () => {
      if (this.marked.size > 0) {
        const key = systemKeys(this.system).alive;
        const ttlMs = this.intervalMs * ALIVE_BEATS;
        const fresh = await this.store.set(key, this.instance, { ttlMs, ifAbsent: true });
        if (fresh) for (const pairId of this.marked) this.owed.set(pairId, true);
        else await this.store.set(key, this.instance, { ttlMs });
      }
      await this.settle();
    });
  }

  /** Writes the owed marks and unmarks; one that fails stays owed. */
  private async settle(): Promise<void> {
    for (const [pairId, mark] of [...this.owed]) {
      const key = pairKeys(pairId).replicaOn(this.system);
      if (mark) await this.store.set(key, this.instance); else await this.store.del(key);
      if (this.owed.get(pairId) === mark) this.owed.delete(pairId);
    }
  }

  private serially(write: () => Promise<void>): Promise<void> {
    // A failed write (Redis unreachable) stays owed and is retried at the next beat; a store that does
    // not answer holds up the writes after it for a bounded time only.
    this.writes = this.writes.then(() => withTimeout(write(), 'replica liveness')).catch(() => undefined);
    return this.writes;
  }
}

/** Whether the replica of `pairId` on `system` is applying (the store answers and the process beats). */
export async function replicaAlive(store: KeyValueStore, pairId: string, system: string): Promise<boolean> {
  const [mark, beat] = await Promise.all([store.get(pairKeys(pairId).replicaOn(system)), store.get(systemKeys(system).alive)]);
  return mark !== null && mark === beat;
}
