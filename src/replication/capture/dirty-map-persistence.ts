/**
 * The on-disk side of a DirtyMap: the activity-log file (a header, then one bit per extent), which
 * bytes of the extent bitmap still need writing, which are known durable, and the persist queue.
 *
 * File format v3 ('ISD3'): magic, grain bytes, extent bytes, extent count (u32 BE each), then the time
 * (float64 ms) the map last went from clean to dirty, then the bitmap. v2 ('ISDN') lacks the time and
 * is rewritten as v3 on open.
 *
 * Durability errors are values: a failed persist rejects every waiter with a WriteRecordError (the
 * write it guarded fails with CHECK CONDITION), keeps the unsaved bytes and retries them on the next
 * persist; `persistFailure` says so until a persist succeeds.
 */
import { open } from 'node:fs/promises';
import { WriteRecordError } from '../../storage/backstore.ts';
import { logger } from '../../util/log.ts';

const MAGIC_V2 = 0x4953444e; // 'ISDN' v2: extent bitmap, 16-byte header
const MAGIC = 0x49534433; // 'ISD3' v3: v2 + the time the map last became dirty (float64 ms)
const V2_HEADER_BYTES = 16;
const HEADER_BYTES = 24;
const DIRTY_SINCE_AT = 16;

/** The file operations the map needs (a FileHandle has them; unit tests inject failures). */
export interface DirtyMapFile {
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  write(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  stat(): Promise<{ size: number; birthtimeMs: number; ctimeMs: number }>;
  close(): Promise<void>;
}

export async function openMapFile(path: string): Promise<DirtyMapFile> {
  await (await open(path, 'a+')).close();
  return open(path, 'r+');
}

export interface DirtyMapGeometry {
  readonly grainBytes: number;
  readonly extentBytes: number;
  readonly extentCount: number;
}

export class DirtyMapPersistence {
  /** The extent bitmap as it is (or is about to be) on disk; the DirtyMap sets and clears its bits. */
  readonly bits: Uint8Array;
  /** The extent bitmap as last made durable (fdatasync returned). */
  private readonly durable: Uint8Array;
  private readonly unsavedBytes = new Set<number>();
  private persistWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  /** When the map last went from clean to dirty (0 = clean); goes to the header. */
  private dirtySince = 0;
  private dirtySinceUnsaved = false;
  private persistFailureValue: string | undefined;
  private persisting = false;
  private cleanTimer: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    private readonly file: DirtyMapFile,
    private readonly geometry: DirtyMapGeometry,
    private readonly cleanPersistMs: number,
  ) {
    this.bits = new Uint8Array(Math.ceil(geometry.extentCount / 8));
    this.durable = new Uint8Array(this.bits.length);
  }

  /**
   * Reads the bitmap from `file` (a fresh or matching one as is; one of another geometry, or torn,
   * as all dirty) and rewrites it in the current format when needed. `recoveredSince` bounds the age
   * of the writes behind the extents found marked.
   */
  static async load(file: DirtyMapFile, geometry: DirtyMapGeometry, cleanPersistMs: number): Promise<{ persistence: DirtyMapPersistence; recoveredSince: number }> {
    const persistence = new DirtyMapPersistence(file, geometry, cleanPersistMs);
    const recoveredSince = await persistence.load();
    return { persistence, recoveredSince };
  }

  private async load(): Promise<number> {
    const { grainBytes, extentBytes, extentCount } = this.geometry;
    const stat = await this.file.stat();
    const header = Buffer.alloc(HEADER_BYTES);
    const fresh = stat.size === 0;
    if (!fresh) await this.file.read(header, 0, HEADER_BYTES, 0);
    const magic = header.readUInt32BE(0);
    const matches = !fresh && (magic === MAGIC || magic === MAGIC_V2) && header.readUInt32BE(4) === grainBytes
      && header.readUInt32BE(8) === extentBytes && header.readUInt32BE(12) === extentCount;
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
    this.dirtySince = this.anyExtentSet() ? recoveredSince : 0;
    if (matches && magic === MAGIC) {
      this.durable.set(this.bits);
      return recoveredSince;
    }
    header.writeUInt32BE(MAGIC, 0);
    header.writeUInt32BE(grainBytes, 4);
    header.writeUInt32BE(extentBytes, 8);
    header.writeUInt32BE(extentCount, 12);
    header.writeDoubleBE(this.dirtySince, DIRTY_SINCE_AT);
    await this.file.truncate(HEADER_BYTES + this.bits.length);
    await this.file.write(header, 0, HEADER_BYTES, 0);
    await this.file.write(this.bits, 0, this.bits.length, HEADER_BYTES);
    await this.file.datasync();
    this.durable.set(this.bits);
    return recoveredSince;
  }

  private anyExtentSet(): boolean {
    for (let extent = 0; extent < this.geometry.extentCount; extent++) {
      if (this.bits[extent >> 3] & (1 << (extent & 7))) return true;
    }
    return false;
  }

  /** Whether the extent's bit, as it is now in `bits`, is known to be on stable storage. */
  isDurable(extent: number): boolean {
    return (this.durable[extent >> 3] & (1 << (extent & 7))) !== 0;
  }

  /** The bitmap byte holding `extent` changed: the next persist writes it. */
  touch(extent: number): void { this.unsavedBytes.add(extent >> 3); }

  /** The map went from clean to dirty (a time) or back (0): the next persist writes the header field. */
  setDirtySince(time: number): void {
    this.dirtySince = time;
    this.dirtySinceUnsaved = true;
  }

  /** Why the last persist failed, until one succeeds (writes needing a new mark fail meanwhile). */
  get persistFailure(): string | undefined { return this.persistFailureValue; }

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

  /** Writes cleared bits back after `cleanPersistMs` (clearing is never urgent). */
  scheduleCleanPersist(): void {
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

  /** Persists what is unsaved, then closes the file (also when that persist fails). */
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
