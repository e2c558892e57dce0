/**
 * Exclusive locks over LBA ranges of one LU: every write holds one while in flight, and COMPARE AND
 * WRITE / ORWRITE hold one across read-modify-write, so those are atomic against other writers
 * (SBC-3 §5.2). Waiters queue FIFO; no timeouts are needed
 * because every holder releases in a finally block.
 */

interface Held {
  readonly lba: number;
  readonly end: number;
}

export class RangeLock {
  private readonly held = new Set<Held>();
  private readonly waiters: Array<{ range: Held; grant: (release: () => void) => void }> = [];

  /** The uncontended case without a promise: the release function, or undefined when it must wait. */
  tryAcquire(lba: number, blocks: number): (() => void) | undefined {
    const range: Held = { lba, end: lba + Math.max(blocks, 1) };
    if (this.waiters.length > 0 || this.overlaps(range)) return undefined;
    return this.grant(range);
  }

  acquire(lba: number, blocks: number): Promise<() => void> {
    const release = this.tryAcquire(lba, blocks);
    if (release) return Promise.resolve(release);
    const range: Held = { lba, end: lba + Math.max(blocks, 1) };
    return new Promise((resolve) => this.waiters.push({ range, grant: resolve }));
  }

  private overlaps(range: Held): boolean {
    for (const h of this.held) if (range.lba < h.end && h.lba < range.end) return true;
    return false;
  }

  private grant(range: Held): () => void {
    this.held.add(range);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(range);
      this.wake();
    };
  }

  private wake(): void {
    for (let i = 0; i < this.waiters.length; ) {
      const waiter = this.waiters[i];
      if (this.overlaps(waiter.range)) { i++; continue; }
      this.waiters.splice(i, 1);
      waiter.grant(this.grant(waiter.range));
    }
  }
}
