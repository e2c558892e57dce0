/**
 * Hand-over of the writer role (failing-over, reversing, failing-back). The current source, fenced,
 * ships everything the target lacks; once the target confirmed it all, the record is reversed at a new
 * data generation and the target becomes the writable side. Grains a side changed while it was not
 * the source travel through the pair's hand-over set: the new source resyncs them from its side.
 */
import { PAIR_EVENTS_CHANNEL, pairKeys } from '../keys.ts';
import { afterHandover, type AdminState } from '../mirror/admin-transitions.ts';
import { generationOf } from '../mirror/pair-registry.ts';
import type { EngineState } from './engine-state.ts';

/** How a hand-over is named to users (status, lastTransfer). */
const HANDOVER_NAMES: Partial<Record<AdminState, string>> = { 'failing-over': 'failover', 'failing-back': 'failback', reversing: 'reverse roles' };

export class Handover {
  /** Pairs whose hand-over (fence + drain, then reverse) runs on this system. */
  private readonly running = new Set<string>();

  constructor(private readonly state: EngineState, private readonly requeue: (pairId: string) => void) {}

  /** The source's part: drain (the LUN is fenced already), then publish the reversed record. */
  start(pairId: string): void {
    const { state } = this;
    if (this.running.has(pairId)) return;
    const pair = state.sources.get(pairId);
    if (!pair) return;
    this.running.add(pairId);
    const before = pair.status();
    const grains = before.dirtyGrains;
    void (async () => {
      try {
        while (!state.closed && state.sources.get(pairId) === pair) {
          const entry = state.entries.get(pairId);
          const next = entry ? afterHandover(entry.admin) : undefined;
          if (!entry || !next || entry.record.source.system !== state.systemName) return;
          if (!(await pair.drained(1000))) continue;
          const after = pair.status();
          // Only over the entry the drain was for: an operator's change meanwhile is reconciled first.
          const published = await state.registry.publishIfCurrent(entry, { ...entry.record, source: entry.record.target, target: entry.record.source }, next, {
            generation: generationOf(entry) + 1,
            fenced: null,
            lastTransfer: { operation: HANDOVER_NAMES[entry.admin] ?? entry.admin, from: state.systemName, grains, bytes: after.bytesShipped - before.bytesShipped, at: new Date().toISOString() },
          });
          if (!published) continue;
          state.log.info({ pair: pairId, operation: entry.admin, grains, bytes: after.bytesShipped - before.bytesShipped }, 'hand-over complete: the writer role moved');
          await state.registry.remember(published);
          state.entries.set(pairId, published);
          this.requeue(pairId);
          return;
        }
      } catch (err) {
        state.log.warn({ pair: pairId, err: (err as Error).message }, 'hand-over interrupted; retried by the next reconcile');
      } finally {
        this.running.delete(pairId);
      }
    })();
  }

  /**
   * Leaves grains this side changed for the pair's source to resync from its side, and announces the
   * pair so the source takes them now rather than at its next periodic pass (until then it would
   * report a replica in sync that still holds this side's changes).
   */
  async give(pairId: string, grains: readonly number[]): Promise<void> {
    await this.state.store.sadd(pairKeys(pairId).handoverGrains, ...grains.map(String));
    await this.state.store.publish(PAIR_EVENTS_CHANNEL, pairId).catch(() => undefined);
  }

  /** The grains handed over to this system (the new source), removed from the set. */
  async take(pairId: string): Promise<number[]> {
    if (!this.state.connected) return [];
    const key = pairKeys(pairId).handoverGrains;
    const members = await this.state.store.smembers(key);
    if (members.length > 0) await this.state.store.del(key);
    return members.map(Number).filter(Number.isSafeInteger).sort((a, b) => a - b);
  }
}
