/**
 * Pending unit attention conditions of one logical unit, per I_T nexus (SAM-5 §5.14). Reported
 * oldest first, one per command; a bounded queue per nexus with duplicates collapsed.
 */
import type { SenseReason } from './sense.ts';

const MAX_PENDING = 8;

export class UnitAttentions {
  private readonly pending = new Map<string, SenseReason[]>();

  /** Queues `reason` for one nexus. */
  raise(nexusId: string, reason: SenseReason): void {
    const queue = this.pending.get(nexusId) ?? [];
    if (!queue.includes(reason)) {
      if (queue.length >= MAX_PENDING) queue.shift();
      queue.push(reason);
    }
    this.pending.set(nexusId, queue);
  }

  /** Queues `reason` for every listed nexus except `except`. */
  raiseAll(nexusIds: Iterable<string>, reason: SenseReason, except?: string): void {
    for (const id of nexusIds) if (id !== except) this.raise(id, reason);
  }

  peek(nexusId: string): SenseReason | undefined {
    return this.pending.get(nexusId)?.[0];
  }

  /** Removes and returns the oldest pending condition. */
  take(nexusId: string): SenseReason | undefined {
    const queue = this.pending.get(nexusId);
    const reason = queue?.shift();
    if (queue && queue.length === 0) this.pending.delete(nexusId);
    return reason;
  }

  clear(nexusId: string): void {
    this.pending.delete(nexusId);
  }
}
