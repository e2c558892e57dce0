/**
 * Per-LUN dirty map, activity-log style (DRBD's bitmap + AL): one bit per grain, persisted in a small
 * file. A grain is marked dirty ON DISK before the write that dirtied it is acknowledged (only when it
 * was not already dirty on disk, so a hot grain costs nothing after its first write); bits are cleared
 * lazily once the replica confirmed the epochs that carried the grain. After kill -9 every set bit is
 * conservatively shipped again by a resync.
 *
 * In memory each pending grain remembers the last epoch that carried it (or NEEDS_RESYNC when no
 * shipped epoch carries its current content).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { logger } from '../../util/log.ts';

export const NEEDS_RESYNC = 0;

const MAGIC = 0x4953444d; // 'ISDM'
const HEADER_BYTES = 16;

export class DirtyMap {
  /** The bitmap as it is (or is about to be) on disk. */
  private readonly bits: Uint8Array;
  private readonly pending = new Map<number, number>();
  private readonly unsavedBytes = new Set<number>();
  private persistWaiters: Array<() => void> = [];
  private persisting = false;
  private cleanTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly file: FileHandle,
    readonly grainBytes: number,
    readonly grainCount: number,
    private readonly cleanPersistMs: number,
  ) {
    this.bits = new Uint8Array(Math.ceil(grainCount / 8));
  }

  /** Opens (or creates) the map; bits found set are recovered as NEEDS_RESYNC. */
  static async open(path: string, sizeBytes: number, grainBytes: number, cleanPersistMs = 1000): Promise<DirtyMap> {
    const grainCount = Math.ceil(sizeBytes / grainBytes);
    const file = await open(path, 'a+').then(async (h) => { await h.close(); return open(path, 'r+'); });
    const map = new DirtyMap(file, grainBytes, grainCount, cleanPersistMs);
    await map.load();
    return map;
  }

  private async load(): Promise<void> {
    const { size } = await this.file.stat();
    const header = Buffer.alloc(HEADER_BYTES);
    const fresh = size === 0;
    if (!fresh) await this.file.read(header, 0, HEADER_BYTES, 0);
    const matches = !fresh && header.readUInt32BE(0) === MAGIC && header.readUInt32BE(4) === this.grainBytes
      && header.readUInt32BE(8) === this.grainCount;
    if (matches) {
      await this.file.read(this.bits, 0, this.bits.length, HEADER_BYTES);
      for (let byte = 0; byte < this.bits.length; byte++) {
        if (this.bits[byte] === 0) continue;
        for (let bit = 0; bit < 8; bit++) if (this.bits[byte] & (1 << bit)) this.pending.set(byte * 8 + bit, NEEDS_RESYNC);
      }
      return;
    }
    if (!fresh) {
      // A map written with another geometry (or torn): everything may be dirty.
      logger.child({ component: 'replication' }).warn('dirty map geometry changed or unreadable, marking whole LUN dirty');
      this.bits.fill(0xff);
      for (let grain = 0; grain < this.grainCount; grain++) this.pending.set(grain, NEEDS_RESYNC);
    }
    header.writeUInt32BE(MAGIC, 0);
    header.writeUInt32BE(this.grainBytes, 4);
    header.writeUInt32BE(this.grainCount, 8);
    await this.file.truncate(HEADER_BYTES + this.bits.length);
    await this.file.write(header, 0, HEADER_BYTES, 0);
    await this.file.write(this.bits, 0, this.bits.length, HEADER_BYTES);
    await this.file.datasync();
  }

  get pendingCount(): number { return this.pending.size; }

  /**
   * Hot path: records that [offset, offset+length) now belongs to `epoch` (NEEDS_RESYNC when it will
   * not be shipped in an epoch). Returns a promise only when a grain had to be made dirty on disk.
   */
  mark(offset: number, length: number, epoch: number): Promise<void> | undefined {
    let needPersist = false;
    const last = Math.min(this.grainCount - 1, Math.floor((offset + Math.max(length, 1) - 1) / this.grainBytes));
    for (let grain = Math.floor(offset / this.grainBytes); grain <= last; grain++) {
      this.pending.set(grain, epoch);
      const byte = grain >> 3;
      const mask = 1 << (grain & 7);
      if ((this.bits[byte] & mask) === 0) {
        this.bits[byte] |= mask;
        this.unsavedBytes.add(byte);
        needPersist = true;
      }
    }
    return needPersist ? this.persist() : undefined;
  }

  /** The replica recorded every epoch ≤ `epoch`: grains last carried by those epochs are clean. */
  cleanUpTo(epoch: number): void {
    for (const [grain, last] of this.pending) {
      if (last === NEEDS_RESYNC || last > epoch) continue;
      this.pending.delete(grain);
      this.bits[grain >> 3] &= ~(1 << (grain & 7));
      this.unsavedBytes.add(grain >> 3);
    }
    this.scheduleCleanPersist();
  }

  /** A new stream generation starts: nothing shipped before it counts any more. */
  markAllForResync(): void {
    for (const grain of this.pending.keys()) this.pending.set(grain, NEEDS_RESYNC);
  }

  /** Every grain is clean again (its changes were handed over elsewhere). */
  forgetAll(): Promise<void> {
    for (const grain of this.pending.keys()) {
      this.bits[grain >> 3] &= ~(1 << (grain & 7));
      this.unsavedBytes.add(grain >> 3);
    }
    this.pending.clear();
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

  /** Resolves once every bit set so far is on stable storage. */
  persist(): Promise<void> {
    return new Promise((resolve) => {
      this.persistWaiters.push(resolve);
      if (!this.persisting) void this.runPersist();
    });
  }

  private scheduleCleanPersist(): void {
    if (this.cleanTimer || this.closed || this.unsavedBytes.size === 0) return;
    this.cleanTimer = setTimeout(() => { this.cleanTimer = undefined; void this.persist(); }, this.cleanPersistMs);
    this.cleanTimer.unref();
  }

  private async runPersist(): Promise<void> {
    this.persisting = true;
    try {
      while (this.persistWaiters.length > 0) {
        const waiters = this.persistWaiters;
        this.persistWaiters = [];
        try {
          await this.writeUnsaved();
        } catch (err) {
          logger.child({ component: 'replication' }).error({ err }, 'dirty map persist failed');
        }
        for (const resolve of waiters) resolve();
      }
    } finally {
      this.persisting = false;
    }
  }

  private async writeUnsaved(): Promise<void> {
    if (this.unsavedBytes.size === 0 || this.closed) return;
    const bytes = [...this.unsavedBytes].sort((a, b) => a - b);
    this.unsavedBytes.clear();
    // Coalesce neighbouring bytes into runs: one pwrite per run.
    for (let i = 0; i < bytes.length;) {
      let j = i;
      while (j + 1 < bytes.length && bytes[j + 1] === bytes[j] + 1) j++;
      const start = bytes[i];
      const run = Buffer.from(this.bits.buffer, this.bits.byteOffset + start, bytes[j] - start + 1);
      await this.file.write(run, 0, run.length, HEADER_BYTES + start);
      i = j + 1;
    }
    await this.file.datasync();
  }

  async close(): Promise<void> {
    if (this.cleanTimer) clearTimeout(this.cleanTimer);
    this.cleanTimer = undefined;
    await this.persist();
    this.closed = true;
    await this.file.close();
  }
}
