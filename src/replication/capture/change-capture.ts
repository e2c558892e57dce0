/**
 * Change capture on a source LUN: subscribes to the backstore's write and flush hooks, marks the dirty
 * map and fills the open epoch. Epochs are numbered when they open (1, 2, ... within a stream
 * generation) and closed by time, size, FUA or SYNCHRONIZE CACHE. While not streaming (ahead,
 * fractured, suspended) only the dirty map is kept.
 */
import type { ObservableBackstore, WriteOptions } from '../../storage/backstore.ts';
import type { ReplicationOptions } from '../options.ts';
import { NEEDS_RESYNC, type DirtyMap } from './dirty-map.ts';
import { extentLength, OpenEpoch, type SealedEpoch } from './open-epoch.ts';
import { SlabPool } from './slab-pool.ts';

/** Room after an epoch's data for the payload header (extent list), so the slab ships as is. */
const HEADER_HEADROOM = 256 * 1024;

export interface CaptureHooks {
  /** A closed epoch, in epoch order. */
  sealed(epoch: SealedEpoch): void;
  /** Sync mode: resolves when the replica recorded `epoch` (or the pair gave up waiting). */
  waitForReplica?(epoch: number): Promise<void>;
}

export class ChangeCapture {
  private open: OpenEpoch | undefined;
  private nextEpoch = 1;
  private timer: NodeJS.Timeout | undefined;
  private sealSoon = false;
  private streaming = false;
  private detachers: Array<() => void> = [];
  /** Writes between their intent and their after-write hook, by "offset+length". */
  private readonly intents = new Map<string, number>();
  private readonly slabs: SlabPool;
  syncMode = false;

  constructor(
    private readonly backstore: ObservableBackstore,
    readonly dirty: DirtyMap,
    private readonly options: Pick<ReplicationOptions, 'epochMaxMs' | 'epochMaxBytes'>,
    private readonly hooks: CaptureHooks,
  ) {
    this.slabs = new SlabPool(options.epochMaxBytes, HEADER_HEADROOM);
  }

  /** Gives a sealed epoch's slab back once its payload is in Redis (or was dropped). */
  releaseSlab(slab: Buffer | undefined): void {
    this.slabs.give(slab);
  }

  attach(): void {
    if (this.detachers.length > 0) return;
    this.detachers.push(this.backstore.addWriteIntentListener((offset, length) => this.onIntent(offset, length)));
    this.detachers.push(this.backstore.addWriteListener((offset, chunks, options) => this.onWrite(offset, chunks, options)));
    this.detachers.push(this.backstore.addFlushListener(() => this.onFlush()));
  }

  detach(): void {
    for (const detach of this.detachers.splice(0)) detach();
    this.stopStreaming();
  }

  get isStreaming(): boolean { return this.streaming; }
  /** Wall-clock ms of the first write in the open (unsealed) epoch: acknowledged, not shipped yet. */
  get openSince(): number | undefined { return this.open && !this.open.empty ? this.open.firstWriteAt : undefined; }
  /** Number the next opened (or reserved) epoch will get. */
  get upcomingEpoch(): number { return this.nextEpoch; }

  /** Starts a new stream generation: numbering restarts at 1 and epochs are shipped again. */
  startGeneration(): void {
    this.stopStreaming();
    this.nextEpoch = 1;
    this.streaming = true;
  }

  /** Back to dirty-map-only: the open epoch is dropped (its grains will be resynced). */
  stopStreaming(): void {
    this.clearTimer();
    if (this.open) {
      const dropped = this.open.seal();
      // Its grains are marked on disk already (write intent): this only re-tags them, so a failed
      // persist here loses nothing; the next persist retries.
      for (const extent of dropped.extents) {
        this.dirty.mark(extent.offset, extentLength(extent), NEEDS_RESYNC, dropped.firstWriteAt)?.catch(() => undefined);
      }
      this.slabs.give(dropped.slab);
    }
    this.open = undefined;
    this.streaming = false;
  }

  /** Closes the open epoch now and returns the number of a fresh epoch for the caller (resync). */
  reserveEpoch(): number {
    this.seal();
    return this.nextEpoch++;
  }

  /** Closes the open epoch (if any) and hands it to the sink; returns its number. */
  seal(): number | undefined {
    this.clearTimer();
    const epoch = this.open;
    this.open = undefined;
    if (!epoch) return undefined;
    const sealed = epoch.seal();
    if (epoch.empty) { this.slabs.give(sealed.slab); return undefined; }
    this.hooks.sealed(sealed);
    return epoch.epoch;
  }

  /** Before the data write: the range must be dirty on disk first (activity log). */
  private onIntent(offset: number, length: number): void | Promise<void> {
    const key = `${offset}+${length}`;
    this.intents.set(key, (this.intents.get(key) ?? 0) + 1);
    const held = this.dirty.hold(offset, length);
    // The range could not be marked on disk: the write fails before its data is written, so the hold ends here.
    return held?.catch((err: unknown) => {
      this.endIntent(offset, length);
      throw err;
    });
  }

  private endIntent(offset: number, length: number): void {
    const key = `${offset}+${length}`;
    const count = this.intents.get(key);
    if (count === undefined) return;
    if (count <= 1) this.intents.delete(key); else this.intents.set(key, count - 1);
    this.dirty.release(offset, length);
  }

  private onWrite(offset: number, chunks: readonly Buffer[], options: WriteOptions): void | Promise<void> {
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    if (!this.streaming) {
      const persisted = this.dirty.mark(offset, length, NEEDS_RESYNC);
      this.endIntent(offset, length);
      return persisted;
    }
    const epoch = this.openEpoch(options.deallocate ? 0 : length);
    // A deallocation ships as a range (the replica punches it), not as zero bytes.
    if (options.deallocate) epoch.appendZero(offset, length); else epoch.append(offset, chunks);
    const persisted = this.dirty.mark(offset, length, epoch.epoch);
    this.endIntent(offset, length);
    if (options.fua || epoch.bytes >= this.options.epochMaxBytes) this.seal();
    else this.armTimer();
    if (!this.syncMode || !this.hooks.waitForReplica) return persisted;
    // Protocol C: group every write of this tick into one epoch, then wait for the replica.
    this.sealOnNextTick();
    const replicated = this.hooks.waitForReplica(epoch.epoch);
    return persisted ? Promise.all([persisted, replicated]).then(() => undefined) : replicated;
  }

  private onFlush(): void | Promise<void> {
    if (!this.streaming) return this.dirty.persist();
    const sealed = this.seal();
    if (this.syncMode && sealed !== undefined && this.hooks.waitForReplica) return this.hooks.waitForReplica(sealed);
  }

  /** The open epoch, with room for `bytes` more (a full one is sealed first). */
  private openEpoch(bytes: number): OpenEpoch {
    if (this.open && this.open.room < bytes) this.seal();
    if (!this.open) {
      const slab = bytes > this.slabs.dataBytes ? this.slabs.oversized(bytes) : this.slabs.take();
      this.open = new OpenEpoch(this.nextEpoch++, slab, slab.length - this.slabs.headroom);
    }
    return this.open;
  }

  private armTimer(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.seal(); }, this.options.epochMaxMs);
  }

  private sealOnNextTick(): void {
    if (this.sealSoon) return;
    this.sealSoon = true;
    setImmediate(() => { this.sealSoon = false; this.seal(); });
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
