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
 * Durability errors are values: a failed persist rejects every waiter with a WriteRecordError (the
 * write it guarded fails with CHECK CONDITION), keeps the unsaved bits and retries them on the next
 * persist; `persistFailure` says so until a persist succeeds.
 */
import { open } from 'node:fs/promises';
import { WriteRecordError } from '../../storage/backstore.ts';
import { logger } from '../../util/log.ts';

export const NEEDS_RESYNC = 0;

const MAGIC_V2 = 0x4953444e; // 'ISDN' v2: extent bitmap, 16-byte header
const MAGIC = 0x49534433; // 'ISD3' v3: v2 + the time the map last became dirty (float64 ms)
const V2_HEADER_BYTES = 16;
const HEADER_BYTES = 24;
const DIRTY_SINCE_AT = 16;
/** A speculative mark not written into for this long is cleared with the next clean-up. */
const SPECULATION_MS = 2000;

/** The file operations the map needs (a FileHandle has them; unit tests inject failures). */
export interface DirtyMapFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number; birthtimeMs: number; ctimeMs: number }>;
  close(): Promise<void>;
}

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

async function openMapFile(path: string): Promise<DirtyMapFile> {
  await (await open(path, 'a+')).close();
  return open(path, 'r+');
}

export class DirtyMap {
  /** The extent bitmap as it is (or is about to be) on disk. */
  private readonly bits: Uint8Array;
  /** The extent bitmap as last made durable (fdatasync returned). */
  private readonly durable: Uint8Array;
  /** Pending grains per extent: an extent can be cleared once its count drops to zero. */
  private readonly extentPending: Uint32Array;
  private readonly pending = new Map<number, number>();
  private readonly unsavedBytes = new Set<number>();
  private persistWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  /** Extent bits set in `bits`, and since when that count is non-zero (0 = clean); goes to the header. */
  private setExtents = 0;
  private dirtySince = 0;
  private dirtySinceUnsaved = false;
  /** Grains pending with NEEDS_RESYNC, and a lower bound of the time of their oldest write. */
  private resyncGrains = 0;
  private resyncSinceValue: number | undefined;
  private persistFailureValue: string | undefined;
  private persisting = false;
  private cleanTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Online verify: grains written while it runs (their chunks are not compared). */
  private observer: Set<number> | undefined;
  /** Extents marked ahead of any write (see markAhead), with when. */
  private readonly speculative = new Map<number, number>();
  readonly grainsPerExtent: number;

  private constructor(
    private readonly file: DirtyMapFile,
    readonly grainBytes: number,
    readonly grainCount: number,
    readonly extentBytes: number,
    private readonly cleanPersistMs: number,
    private readonly lookahead: number,
  ) {
    this.grainsPerExtent = extentBytes / grainBytes;
    const extentCount = Math.ceil(grainCount / this.grainsPerExtent);
    this.bits = new Uint8Array(Math.ceil(extentCount / 8));
    this.durable = new Uint8Array(this.bits.length);
    this.extentPending = new Uint32Array(extentCount);
  }

  /** Opens (or creates) the map; extents found marked are recovered as grains needing a resync. */
  static async open(path: string, sizeBytes: number, grainBytes: number, options: DirtyMapOptions = {}): Promise<DirtyMap> {
    const grainCount = Math.ceil(sizeBytes / grainBytes);
    const extentBytes = Math.max(grainBytes, options.extentBytes ?? 4 * 1024 * 1024);
    if (extentBytes % grainBytes !== 0) throw new Error(`extentBytes ${extentBytes} must be a multiple of grainBytes ${grainBytes}`);
    const file = await (options.openFile ?? openMapFile)(path);
    const map = new DirtyMap(file, grainBytes, grainCount, extentBytes, options.cleanPersistMs ?? 1000, options.lookahead ?? 0);
    await map.load();
    return map;
  }

  private get extentCount(): number { return this.extentPending.length; }

  private async load(): Promise<void> {
    const stat = await this.file.stat();
    const header = Buffer.alloc(HEADER_BYTES);
    const fresh = stat.size === 0;
    if (!fresh) await this.file.read(header, 0, HEADER_BYTES, 0);
    const magic = header.readUInt32BE(0);
    const matches = !fresh && (magic === MAGIC || magic === MAGIC_V2) && header.readUInt32BE(4) === this.grainBytes
      && header.readUInt32BE(8) === this.extentBytes && header.readUInt32BE(12) === this.extentCount;
    // Bits recovered without a trustworthy time: the file's creation bounds their age (conservative).
    const fileBorn = Math.min(stat.birthtimeMs || stat.ctimeMs, stat.ctimeMs);
    let recoveredSince = fileBorn;
    if (matches) {
      await this.file.read(this.bits, 0, this.bits.length, magic === MAGIC ? HEADER_BYTES : V2_HEADER_BYTES);
      if (magic === MAGIC && header.readDoubleBE(DIRTY_SINCE_AT) > 0) recoveredSince = header.readDoubleBE(DIRTY_SINCE_AT);
    } else if (!fresh) {
      // A map written with another geometry (or torn): everything may be dirty.
      logger.child({ component: 'replication' }).warn('dirty map geometry changed or unreadable, marking whole LUN dirty');
      this.bits.fill(0xff);
    }
    for (let extent = 0; extent < this.extentCount; extent++) {
      if (this.bits[extent >> 3] & (1 << (extent & 7))) {
        this.setExtents++;
        this.markExtentGrainsForResync(extent, recoveredSince);
      }
    }
    this.dirtySince = this.setExtents > 0 ? recoveredSince : 0;
    if (matches && magic === MAGIC) {
      this.durable.set(this.bits);
      return;
    }
    header.writeUInt32BE(MAGIC, 0);
    header.writeUInt32BE(this.grainBytes, 4);
    header.writeUInt32BE(this.extentBytes, 8);
    header.writeUInt32BE(this.extentCount, 12);
    header.writeDoubleBE(this.dirtySince, DIRTY_SINCE_AT);
    await this.file.truncate(HEADER_BYTES + this.bits.length);
    await this.file.write(header, 0, HEADER_BYTES, 0);
    await this.file.write(this.bits, 0, this.bits.length, HEADER_BYTES);
    await this.file.datasync();
    this.durable.set(this.bits);
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
  get persistFailure(): string | undefined { return this.persistFailureValue; }

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
      } else if ((this.durable[byte] & mask) === 0) {
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
      } else if ((this.durable[extent >> 3] & mask) === 0) {
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
        this.scheduleCleanPersist();
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
    if ((this.bits[extent >> 3] & mask) === 0 && this.setExtents++ === 0) this.setDirtySince(Date.now());
    this.bits[extent >> 3] |= mask;
    this.unsavedBytes.add(extent >> 3);
  }

  private clearExtentBit(extent: number): void {
    const mask = 1 << (extent & 7);
    if ((this.bits[extent >> 3] & mask) !== 0 && --this.setExtents === 0) this.setDirtySince(0);
    this.bits[extent >> 3] &= ~mask;
    this.unsavedBytes.add(extent >> 3);
  }

  private setDirtySince(time: number): void {
    this.dirtySince = time;
    this.dirtySinceUnsaved = true;
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
    this.scheduleCleanPersist();
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
  persist(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.persistWaiters.push({ resolve, reject });
      if (!this.persisting) void this.runPersist();
    });
  }

  private scheduleCleanPersist(): void {
    if (this.cleanTimer || this.closed || this.unsavedBytes.size === 0) return;
    this.cleanTimer = setTimeout(() => {
      this.cleanTimer = undefined;
      // Clearing is never urgent: a failure is reported by persistFailure and retried later.
      this.persist().catch(() => this.scheduleCleanPersist());
    }, this.cleanPersistMs);
    this.cleanTimer.unref();
  }

  private async runPersist(): Promise<void> {
    this.persisting = true;
    try {
      while (this.persistWaiters.length > 0) {
        const waiters = this.persistWaiters;
        this.persistWaiters = [];
        let failure: WriteRecordError | undefined;
        try {
          await this.writeUnsaved();
          this.persistFailureValue = undefined;
        } catch (err) {
          const message = (err as Error).message;
          if (this.persistFailureValue === undefined) logger.child({ component: 'replication' }).error({ err }, 'dirty map persist failed; writes needing a new mark fail until it succeeds');
          this.persistFailureValue = message;
          failure = new WriteRecordError(`dirty map could not be persisted: ${message}`, { cause: err });
        }
        for (const waiter of waiters) {
          if (failure) waiter.reject(failure); else waiter.resolve();
        }
      }
    } finally {
      this.persisting = false;
    }
  }

  private async writeUnsaved(): Promise<void> {
    if ((this.unsavedBytes.size === 0 && !this.dirtySinceUnsaved) || this.closed) return;
    const bytes = [...this.unsavedBytes].sort((a, b) => a - b);
    this.unsavedBytes.clear();
    const sinceUnsaved = this.dirtySinceUnsaved;
    this.dirtySinceUnsaved = false;
    try {
      const written: Array<[number, Buffer]> = [];
      // Coalesce neighbouring bytes into runs: one pwrite per run.
      for (let i = 0; i < bytes.length;) {
        let j = i;
        while (j + 1 < bytes.length && bytes[j + 1] === bytes[j] + 1) j++;
        const start = bytes[i];
        const run = Buffer.from(this.bits.subarray(start, bytes[j] + 1)); // a copy: bits may change meanwhile
        await this.file.write(run, 0, run.length, HEADER_BYTES + start);
        written.push([start, run]);
        i = j + 1;
      }
      if (sinceUnsaved) {
        const since = Buffer.alloc(8);
        since.writeDoubleBE(this.dirtySince);
        await this.file.write(since, 0, 8, DIRTY_SINCE_AT);
      }
      await this.file.datasync();
      for (const [start, run] of written) this.durable.set(run, start);
    } catch (err) {
      // Nothing of this batch is known durable: keep it for the next attempt.
      for (const byte of bytes) this.unsavedBytes.add(byte);
      if (sinceUnsaved) this.dirtySinceUnsaved = true;
      throw err;
    }
  }

  async close(): Promise<void> {
    if (this.cleanTimer) clearTimeout(this.cleanTimer);
    this.cleanTimer = undefined;
    try {
      await this.persist();
    } finally {
      this.closed = true;
      await this.file.close();
    }
  }
}
