/**
 * Orders epoch notifications for one pair on the replica: epoch N of a generation is released only
 * after N-1 was recorded, whatever order BullMQ delivers in (retries go to the tail, concurrency
 * finishes out of order). A newer generation (the source restarted its stream for a resync) replaces
 * the current one; anything older than what was recorded is a no-op.
 */

export type OfferResult = 'stale' | 'buffered' | 'new-generation';

export class ReorderBuffer {
  /** Offered epochs not recorded yet, with their announced payload size when known. */
  private readonly available = new Map<number, number | undefined>();

  constructor(private currentGeneration: number, private lastApplied: number) {}

  get generation(): number { return this.currentGeneration; }
  get applied(): number { return this.lastApplied; }
  get buffered(): number { return this.available.size; }

  /** `bytes`: the payload size the announcement gave (a hint for batching; absent when found by a probe). */
  offer(generation: number, epoch: number, bytes?: number): OfferResult {
    if (generation < this.currentGeneration) return 'stale';
    const size = bytes !== undefined && Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : undefined;
    if (generation > this.currentGeneration) {
      this.currentGeneration = generation;
      this.lastApplied = 0;
      this.available.clear();
      this.available.set(epoch, size);
      return 'new-generation';
    }
    if (epoch <= this.lastApplied) return 'stale';
    if (size !== undefined || !this.available.has(epoch)) this.available.set(epoch, size);
    return 'buffered';
  }

  /** The epoch that may be applied now, if it has been offered. */
  next(): number | undefined {
    const candidate = this.lastApplied + 1;
    return this.available.has(candidate) ? candidate : undefined;
  }

  /**
   * The run of consecutive offered epochs that may be applied now, at most `maxEpochs` and, by their
   * announced sizes, about `maxBytes` (always the first one; an epoch of unknown size counts as `maxBytes`).
   */
  ready(maxEpochs: number, maxBytes: number): { epochs: number[]; bytes: number } {
    const epochs: number[] = [];
    let bytes = 0;
    for (let candidate = this.lastApplied + 1; epochs.length < maxEpochs && this.available.has(candidate); candidate++) {
      const size = this.available.get(candidate) ?? maxBytes;
      if (epochs.length > 0 && bytes + size > maxBytes) break;
      epochs.push(candidate);
      bytes += size;
    }
    return { epochs, bytes };
  }

  /** `epoch` of `generation` is on stable storage on the replica (offered or not). */
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
