/**
 * Per-LUN dirty map, DRBD style: an in-memory bitmap of grains (what a resync must ship) backed by an
 * on-disk activity log of coarser extents (default 4 MiB). An extent is marked dirty ON DISK before a
 * write into it is acknowledged (only when it was not already marked, so sequential or hot writes pay
 * one synchronous metadata write per extent, not per grain); extents are cleared lazily once every
 * grain in them was confirmed by the replica. After kill -9 every grain of every marked extent is
 * conservatively shipped again by a resync.
 *
 * In memory each pending grain remembers the last epoch that carried it (or NEEDS_RESYNC when no
 * shipped epoch carries its current content).
 *
 * Lag: the header also keeps when the on-disk map last went from clean to dirty, so grains recovered
 * after a restart carry a conservative age (RPO). In memory, `resyncSince` bounds the age of the
 * oldest write among the NEEDS_RESYNC grains.
 *
 * The file, its format and the persist queue are in dirty-map-persistence.ts.
 */
import { DirtyMapPersistence, openMapFile, type DirtyMapFile } from './dirty-map-persistence.ts';

export type { DirtyMapFile } from './dirty-map-persistence.ts';

export const NEEDS_RESYNC = 0;

/** A speculative mark not written into for this long is cleared with the next clean-up. */
const SPECULATION_MS = 2000;

export interface DirtyMapOptions {
  /** Activity-log extent: the on-disk granularity, a multiple of the grain. @defaultValue 4 MiB */
  readonly extentBytes?: number;
  /** Delay before cleared extents are written back. @defaultValue 1000 ms */
  readonly cleanPersistMs?: number;
  /** Clean extents marked ahead of a newly marked one (sequential writers). @defaultValue 0 */
  readonly lookahead?: number;
  /** Opens the map file. @defaultValue node:fs/promises open, created when missing */
  readonly openFile?: (path: string) => Promise<DirtyMapFile>;
}

export class DirtyMap {
  /** The extent bitmap as it is (or is about to be) on disk. */
  private readonly bits: Uint8Array;
  /** Pending grains per extent: an extent can be cleared once its count drops to zero. */
  private readonly extentPending: Uint32Array;
  private readonly pending = new Map<number, number>();
  /** Extent bits set in `bits` (the header's dirty-since time changes when this leaves or reaches 0). */
  private setExtents = 0;
  /** Grains pending with NEEDS_RESYNC, and a lower bound of the time of their oldest write. */
  private resyncGrains = 0;
  private resyncSinceValue: number | undefined;
  /** Online verify: grains written while it runs (their chunks are not compared). */
  private observer: Set<number> | undefined;
  /** Extents marked ahead of any write (see markAhead), with when. */
  private readonly speculative = new Map<number, number>();
  readonly grainsPerExtent: number;

  private constructor(
    private readonly store: DirtyMapPersistence,
    readonly grainBytes: number,
    readonly grainCount: number,
    readonly extentBytes: number,
    private readonly lookahead: number,
  ) {
    this.grainsPerExtent = extentBytes / grainBytes;
    this.bits = store.bits;
    this.extentPending = new Uint32Array(Math.ceil(grainCount / this.grainsPerExtent));
  }

  /** Opens (or creates) the map; extents found marked are recovered as grains needing a resync. */
  static async open(path: string, sizeBytes: number, grainBytes: number, options: DirtyMapOptions = {}): Promise<DirtyMap> {
    const grainCount = Math.ceil(sizeBytes / grainBytes);
    const extentBytes = Math.max(grainBytes, options.extentBytes ?? 4 * 1024 * 1024);
    if (extentBytes % grainBytes !== 0) throw new Error(`extentBytes ${extentBytes} must be a multiple of grainBytes ${grainBytes}`);
    const file = await (options.openFile ?? openMapFile)(path);
    const extentCount = Math.ceil(grainCount / (extentBytes / grainBytes));
    const { persistence, recoveredSince } = await DirtyMapPersistence.load(file, { grainBytes, extentBytes, extentCount }, options.cleanPersistMs ?? 1000);
    const map = new DirtyMap(persistence, grainBytes, grainCount, extentBytes, options.lookahead ?? 0);
    map.recover(recoveredSince);
    return map;
  }

  private get extentCount(): number { return this.extentPending.length; }

  /** Extents found marked on disk: every grain in them needs a resync. */
  private recover(recoveredSince: number): void {
    for (let extent = 0; extent < this.extentCount; extent++) {
      if (this.bits[extent >> 3] & (1 << (extent & 7))) {
        this.setExtents++;
        this.markExtentGrainsForResync(extent, recoveredSince);
      }
    }
  }

  private markExtentGrainsForResync(extent: number, since: number): void {
    const first = extent * this.grainsPerExtent;
    const last = Math.min(this.grainCount, first + this.grainsPerExtent);
    for (let grain = first; grain < last; grain++) this.setPending(grain, NEEDS_RESYNC, since);
  }

  private setPending(grain: number, epoch: number, since?: number): void {
    const previous = this.pending.get(grain);
    if (previous === undefined) this.extentPending[Math.floor(grain / this.grainsPerExtent)]++;
    else if (previous === NEEDS_RESYNC) this.resyncGrains--;
    if (epoch === NEEDS_RESYNC) this.countResyncGrain(since ?? Date.now());
    this.pending.set(grain, epoch);
  }

  private countResyncGrain(since: number): void {
    this.resyncGrains++;
    if (this.resyncSinceValue === undefined || since < this.resyncSinceValue) this.resyncSinceValue = since;
  }

  private deletePending(grain: number): void {
    const previous = this.pending.get(grain);
    if (previous === undefined) return;
    this.pending.delete(grain);
    if (previous === NEEDS_RESYNC) this.resyncGrains--;
    const extent = Math.floor(grain / this.grainsPerExtent);
    if (--this.extentPending[extent] === 0) this.clearExtentBit(extent);
  }

  get pendingCount(): number { return this.pending.size; }

  /**
   * Lower bound of the wall-clock time (ms) of the oldest write among the grains waiting for a resync
   * (NEEDS_RESYNC), undefined when there are none. The age of what no epoch carries: the RPO when a
   * pair is fractured, ahead or about to resync.
   */
  get resyncSince(): number | undefined {
    if (this.resyncGrains <= 0) this.resyncSinceValue = undefined;
    return this.resyncSinceValue;
  }

  /** Why the last persist failed, until one succeeds (writes needing a new mark fail meanwhile). */
  get persistFailure(): string | undefined { return this.store.persistFailure; }

  /** Collects every grain marked from now on into `grains` (undefined stops). */
  observe(grains: Set<number> | undefined): void { this.observer = grains; }

  /**
   * Hot path: records that [offset, offset+length) now belongs to `epoch` (NEEDS_RESYNC when it will
   * not be shipped in an epoch). Returns a promise only when a grain had to be made dirty on disk.
   */
  mark(offset: number, length: number, epoch: number, since?: number): Promise<void> | undefined {
    let needPersist = false;
    const last = Math.min(this.grainCount - 1, Math.floor((offset + Math.max(length, 1) - 1) / this.grainBytes));
    for (let grain = Math.floor(offset / this.grainBytes); grain <= last; grain++) {
      this.setPending(grain, epoch, since);
      this.observer?.add(grain);
      const extent = Math.floor(grain / this.grainsPerExtent);
      const byte = extent >> 3;
      const mask = 1 << (extent & 7);
      this.speculative.delete(extent);
      if ((this.bits[byte] & mask) === 0) {
        this.setExtentBit(extent);
        this.markAhead(extent);
        needPersist = true;
      } else if (!this.store.isDurable(extent)) {
        needPersist = true; // set but not durable (a persist under way, or one that failed): wait for it
      }
    }
    return needPersist ? this.persist() : undefined;
  }

  /**
   * Write intent, called BEFORE the data reaches the LUN file: the extents covering the range are held
   * (not cleared while the write is under way) and any that was clean on disk is persisted first, so a
   * crash after the data write but before mark() still leaves the range dirty on disk. O(extents) and
   * no I/O when they were already dirty. Every hold is ended by release().
   */
  hold(offset: number, length: number): Promise<void> | undefined {
    let needPersist = false;
    const [first, last] = this.extentSpan(offset, length);
    for (let extent = first; extent <= last; extent++) {
      this.extentPending[extent]++;
      this.speculative.delete(extent);
      const mask = 1 << (extent & 7);
      if ((this.bits[extent >> 3] & mask) === 0) {
        this.setExtentBit(extent);
        this.markAhead(extent);
        needPersist = true;
      } else if (!this.store.isDurable(extent)) {
        needPersist = true; // set by a write whose persist is still under way: wait for it too
      }
    }
    return needPersist ? this.persist() : undefined;
  }

  /** Ends a hold() once the write was recorded with mark() (or failed). */
  release(offset: number, length: number): void {
    const [first, last] = this.extentSpan(offset, length);
    for (let extent = first; extent <= last; extent++) {
      if (this.extentPending[extent] === 0) continue;
      if (--this.extentPending[extent] === 0) {
        this.clearExtentBit(extent);
        this.store.scheduleCleanPersist();
      }
    }
  }

  private extentSpan(offset: number, length: number): [number, number] {
    const lastExtent = this.extentCount - 1;
    const first = Math.min(lastExtent, Math.floor(offset / this.extentBytes));
    const last = Math.min(lastExtent, Math.floor((offset + Math.max(length, 1) - 1) / this.extentBytes));
    return [first, last];
  }

  private setExtentBit(extent: number): void {
    const mask = 1 << (extent & 7);
    if ((this.bits[extent >> 3] & mask) === 0 && this.setExtents++ === 0) this.store.setDirtySince(Date.now());
    this.bits[extent >> 3] |= mask;
    this.store.touch(extent);
  }

  private clearExtentBit(extent: number): void {
    const mask = 1 << (extent & 7);
    if ((this.bits[extent >> 3] & mask) !== 0 && --this.setExtents === 0) this.store.setDirtySince(0);
    this.bits[extent >> 3] &= ~mask;
    this.store.touch(extent);
  }

  /**
   * Sequential writers would pay one synchronous metadata write per extent; marking the next few
   * clean extents in the same write makes that one per `lookahead` extents. Speculative marks are
   * cleared lazily like any other (a crash resyncs them, which is only conservative).
   */
  private markAhead(extent: number): void {
    const now = Date.now();
    for (let next = extent + 1; next <= extent + this.lookahead && next < this.extentCount; next++) {
      if (this.bits[next >> 3] & (1 << (next & 7))) continue;
      this.setExtentBit(next);
      this.speculative.set(next, now);
    }
  }

  /** The replica recorded every epoch ≤ `epoch`: grains last carried by those epochs are clean. */
  cleanUpTo(epoch: number): void {
    for (const [grain, last] of this.pending) {
      if (last === NEEDS_RESYNC || last > epoch) continue;
      this.deletePending(grain);
    }
    const stale = Date.now() - SPECULATION_MS;
    for (const [extent, markedAt] of this.speculative) {
      if (markedAt > stale || this.extentPending[extent] > 0) continue;
      this.speculative.delete(extent);
      this.clearExtentBit(extent);
    }
    this.store.scheduleCleanPersist();
  }

  /**
   * A new stream generation starts: nothing shipped before it counts any more. `since` bounds the time
   * of the oldest write the discarded epochs carried (their grains now wait for the resync).
   */
  markAllForResync(since = Date.now()): void {
    for (const grain of this.pending.keys()) this.setPending(grain, NEEDS_RESYNC, since);
  }

  /** Every grain is clean again (its changes were handed over elsewhere). */
  forgetAll(): Promise<void> {
    for (const grain of [...this.pending.keys()]) this.deletePending(grain);
    return this.persist();
  }

  /** Every pending grain, ascending. */
  pendingGrains(): number[] {
    return [...this.pending.keys()].sort((a, b) => a - b);
  }

  /** Grains waiting for a resync, ascending. */
  grainsNeedingResync(): number[] {
    const grains: number[] = [];
    for (const [grain, last] of this.pending) if (last === NEEDS_RESYNC) grains.push(grain);
    return grains.sort((a, b) => a - b);
  }

  /** Epoch a grain is pending on, or undefined when clean. */
  pendingEpoch(grain: number): number | undefined { return this.pending.get(grain); }

  /**
   * Resolves once every bit set so far is on stable storage; rejects with a WriteRecordError when it
   * could not be written (the bits stay set and unsaved: the next persist retries them).
   */
  persist(): Promise<void> { return this.store.persist(); }

  close(): Promise<void> { return this.store.close(); }
}
