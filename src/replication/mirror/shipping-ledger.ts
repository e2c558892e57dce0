/**
 * The source's account of one stream generation: epochs shipped and not yet acknowledged (bytes, first
 * write, resync grains they carry), the last shipped and acknowledged epoch, byte counters, and the
 * progress of a running resync. Pure bookkeeping: what the lag figures (RPO, epochs/bytes behind,
 * percent synced) are computed from.
 */
import { ThroughputMeter } from './throughput-meter.ts';

interface InFlightEpoch { readonly bytes: number; readonly firstWriteAt: number; readonly resyncGrains: number }

/** A resync (or initial sync) under way: its last epoch is known once every pass was shipped. */
export interface ResyncProgress { lastEpoch: number; totalGrains: number; doneGrains: number }

export class ShippingLedger {
  private readonly inFlight = new Map<number, InFlightEpoch>();
  private inFlightTotal = 0;
  private ackedEpoch = 0;
  private shippedEpoch = 0;
  private shippedBytes = 0;
  private resyncedBytes = 0;
  private readonly meter = new ThroughputMeter();
  resync: ResyncProgress | undefined;

  get acked(): number { return this.ackedEpoch; }
  get lastShipped(): number { return this.shippedEpoch; }
  get inFlightBytes(): number { return this.inFlightTotal; }
  get inFlightEpochs(): number { return this.inFlight.size; }
  get bytesShipped(): number { return this.shippedBytes; }
  get bytesResynced(): number { return this.resyncedBytes; }

  /** A new generation starts: nothing shipped or acknowledged in it; returns the epochs dropped from flight. */
  startGeneration(): number[] {
    const dropped = [...this.inFlight.keys()];
    this.inFlight.clear();
    this.inFlightTotal = 0;
    this.ackedEpoch = 0;
    this.shippedEpoch = 0;
    return dropped;
  }

  /** The epoch goes on its way (counted in flight before the store has it). */
  sending(epoch: number, bytes: number, firstWriteAt: number, resyncGrains: number): void {
    this.inFlight.set(epoch, { bytes, firstWriteAt, resyncGrains });
    this.inFlightTotal += bytes;
    this.shippedEpoch = Math.max(this.shippedEpoch, epoch);
  }

  /** The store has the epoch. */
  sent(bytes: number, resync: boolean, now: number): void {
    this.shippedBytes += bytes;
    if (resync) this.resyncedBytes += bytes;
    this.meter.add(bytes, now);
  }

  /** The replica recorded everything up to `applied`; false when that is nothing new. */
  acknowledge(applied: number): boolean {
    if (applied <= this.ackedEpoch) return false;
    this.ackedEpoch = applied;
    for (const [epoch, entry] of this.inFlight) {
      if (epoch > applied) continue;
      this.inFlight.delete(epoch);
      this.inFlightTotal -= entry.bytes;
      if (this.resync) this.resync.doneGrains += entry.resyncGrains;
    }
    return true;
  }

  /** Whether the running resync's last epoch is acknowledged (it is then forgotten). */
  resyncDone(): boolean {
    if (!this.resync || this.ackedEpoch < this.resync.lastEpoch) return false;
    this.resync = undefined;
    return true;
  }

  /** Wall-clock ms of the oldest first write of an epoch in flight. */
  oldestInFlight(): number | undefined {
    let oldest: number | undefined;
    for (const epoch of this.inFlight.values()) oldest = Math.min(oldest ?? epoch.firstWriteAt, epoch.firstWriteAt);
    return oldest;
  }

  rate(now: number): number { return this.meter.rate(now); }
}
