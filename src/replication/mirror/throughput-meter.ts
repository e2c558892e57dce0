/** Bytes per second over a sliding window of one-second buckets (status and metrics). */
export class ThroughputMeter {
  private readonly buckets = new Map<number, number>();

  constructor(private readonly windowSeconds = 5) {}

  add(bytes: number, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    this.buckets.set(second, (this.buckets.get(second) ?? 0) + bytes);
    for (const key of this.buckets.keys()) if (key <= second - this.windowSeconds) this.buckets.delete(key);
  }

  rate(now = Date.now()): number {
    const second = Math.floor(now / 1000);
    let total = 0;
    for (const [key, bytes] of this.buckets) if (key > second - this.windowSeconds && key < second) total += bytes;
    return total / (this.windowSeconds - 1);
  }
}
