/**
 * Orders epoch notifications for one pair on the replica: epoch N of a generation is released only
 * after N-1 was recorded, whatever order BullMQ delivers in (retries go to the tail, concurrency
 * finishes out of order). A newer generation (the source restarted its stream for a resync) replaces
 * the current one; anything older than what was recorded is a no-op.
 */

export type OfferResult = 'stale' | 'buffered' | 'new-generation';

export class ReorderBuffer {
  private readonly available = new Set<number>();

  constructor(private currentGeneration: number, private lastApplied: number) {}

  get generation(): number { return this.currentGeneration; }
  get applied(): number { return this.lastApplied; }
  get buffered(): number { return this.available.size; }

  offer(generation: number, epoch: number): OfferResult {
    if (generation < this.currentGeneration) return 'stale';
    if (generation > this.currentGeneration) {
      this.currentGeneration = generation;
      this.lastApplied = 0;
      this.available.clear();
      this.available.add(epoch);
      return 'new-generation';
    }
    if (epoch <= this.lastApplied) return 'stale';
    this.available.add(epoch);
    return 'buffered';
  }

  /** The epoch that may be applied now, if it has been offered. */
  next(): number | undefined {
    const candidate = this.lastApplied + 1;
    return this.available.has(candidate) ? candidate : undefined;
  }

  /** `epoch` of `generation` is on stable storage on the replica. */
  recorded(generation: number, epoch: number): void {
    if (generation !== this.currentGeneration || epoch !== this.lastApplied + 1) return;
    this.lastApplied = epoch;
    this.available.delete(epoch);
  }

  /** Forgets a buffered epoch whose payload turned out to be gone (it will be re-offered or superseded). */
  drop(epoch: number): void {
    this.available.delete(epoch);
  }
}
