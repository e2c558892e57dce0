/** Sync mode: writes waiting for the replica to record their epoch. */
interface Waiter { readonly epoch: number; readonly resolve: () => void }

export class SyncWaiters {
  private waiters: Waiter[] = [];

  get waiting(): boolean { return this.waiters.length > 0; }

  /** Resolves once `releaseUpTo(n)` with n ≥ epoch, or `releaseAll()`. */
  wait(epoch: number): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ epoch, resolve }));
  }

  releaseUpTo(applied: number): void {
    const ready = this.waiters.filter((w) => w.epoch <= applied);
    this.waiters = this.waiters.filter((w) => w.epoch > applied);
    for (const waiter of ready) waiter.resolve();
  }

  /** The pair stopped waiting for the replica (ahead, held, closed): every write goes on. */
  releaseAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.resolve();
  }
}
