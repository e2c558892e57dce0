/**
 * The RAM all memory backstores of one system may hold (config `memoryLimit`), counted in allocated
 * chunks, not in LUN sizes: memory LUNs are thin, so their sizes may add up to more than the limit
 * (over-commit, like a thin-provisioned pool); a write that needs chunks past it fails instead.
 */
export class MemoryBudget {
  private used = 0;

  constructor(readonly limitBytes: number) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) throw new RangeError(`memory limit must be a whole number of bytes (got ${limitBytes})`);
  }

  get usedBytes(): number {
    return this.used;
  }

  /** Takes `bytes` when they fit; false (and nothing taken) otherwise. */
  tryReserve(bytes: number): boolean {
    if (this.used + bytes > this.limitBytes) return false;
    this.used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
  }
}
