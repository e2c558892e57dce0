/** A Clock that moves only when a test says so (not a test file: tap skips it). */
import type { Clock } from '../../../src/replication/clock.ts';

interface Periodic { readonly ms: number; next: number; readonly fn: () => void }

export class ManualClock implements Clock {
  private time: number;
  private readonly periodic = new Set<Periodic>();

  constructor(start = Date.now()) {
    this.time = start;
  }

  now(): number { return this.time; }

  every(ms: number, fn: () => void): () => void {
    const entry: Periodic = { ms, next: this.time + ms, fn };
    this.periodic.add(entry);
    return () => { this.periodic.delete(entry); };
  }

  /** Moves time forward by `ms`, calling each periodic callback as often as it falls due, in time order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let due: Periodic | undefined;
      for (const entry of this.periodic) if (entry.next <= end && (!due || entry.next < due.next)) due = entry;
      if (!due) break;
      this.time = due.next;
      due.next += due.ms;
      due.fn();
    }
    this.time = end;
  }
}
