/**
 * A LUN backed by a sparse file: positional I/O on one FileHandle (pread/pwritev), a second O_DSYNC
 * handle for FUA writes, holes punched with fallocate and found with SEEK_DATA/SEEK_HOLE (see
 * native-file-ops.ts; zero-fill and "all mapped" are the fallbacks). The first handle holds an exclusive
 * flock for as long as the LUN is open, so a second process cannot open the same file (file-lock.ts).
 */
import { read as fsRead, writev as fsWritev, writevSync } from 'node:fs';
import { constants, type FileHandle, open, stat } from 'node:fs/promises';
import type { AllocationExtent, Backstore, BackstoreCapabilities, WriteOptions } from './backstore.ts';
import { readCached } from './cached-read.ts';
import { lockExclusive } from './file-lock.ts';
import { nativeFileOpsAvailable, punchHole, seekDataOrHole } from './native-file-ops.ts';

export interface SparseFileOpenOptions {
  readonly path: string;
  /** Capacity; when absent the file's current size. A smaller existing file is grown (sparse). */
  readonly sizeBytes?: number;
  readonly blockSize?: number;
  /** Create the file when missing (default true). */
  readonly create?: boolean;
  /** Open read-only (no writes, unmap or growth). */
  readonly readOnly?: boolean;
}

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);
/** Largest write that may run inline on the event loop (see write()). */
const INLINE_WRITE_MAX_BYTES = 64 * 1024;
/** An inline write slower than this turns inline writes off for INLINE_BACKOFF_MS. */
const INLINE_WRITE_SLOW_MS = 2;
const INLINE_BACKOFF_MS = 1000;
const DONE = Promise.resolve();
/** Bounds of one coalesced pwritev (IOV_MAX is 1024 on Linux). */
const MAX_RUN_BYTES = 1024 * 1024;
const MAX_RUN_CHUNKS = 256;

export class SparseFileBackstore implements Backstore {
  readonly capabilities: BackstoreCapabilities;
  private closed = false;
  /** Writes handed to the thread pool and not yet completed. */
  private poolWrites = 0;
  /** performance.now() before which small writes go to the pool too (after a slow inline write). */
  private inlineAgainAt = 0;
  /** A write ran inline during this turn of the event loop (reset by a microtask). */
  private inlineThisTurn = false;
  private readonly endTurn = (): void => {
    this.inlineThisTurn = false;
  };
  /** The pool write still gathering LBA-contiguous followers this turn (see poolWrite()). */
  private queuedRun: PoolRun | undefined;
  private readonly submitQueued = (): void => {
    if (this.queuedRun !== undefined) this.submit(this.queuedRun);
  };

  private constructor(
    readonly path: string,
    private size: number,
    readonly blockSize: number,
    private readonly handle: FileHandle,
    private readonly syncHandle: FileHandle | undefined,
  ) {
    // Without fallocate/SEEK_DATA (native-file-ops.ts) unmap zero-fills and allocation() says "all mapped".
    this.capabilities = { deallocate: nativeFileOpsAvailable, allocationMap: nativeFileOpsAvailable, resize: syncHandle !== undefined, persistent: true };
  }

  get label(): string {
    return this.path;
  }

  static async open(options: SparseFileOpenOptions): Promise<SparseFileBackstore> {
    const blockSize = options.blockSize ?? 512;
    if (![512, 1024, 2048, 4096].includes(blockSize)) throw new Error(`blockSize must be 512, 1024, 2048 or 4096 (got ${blockSize})`);
    const readOnly = options.readOnly ?? false;
    const create = (options.create ?? true) && !readOnly;
    const flags = readOnly ? constants.O_RDONLY : constants.O_RDWR | (create ? constants.O_CREAT : 0);
    const handle = await open(options.path, flags, 0o644);
    try {
      await lockExclusive(handle.fd, options.path, 'LUN file');
      const current = (await handle.stat()).size;
      const sizeBytes = options.sizeBytes ?? current;
      if (sizeBytes <= 0 || sizeBytes % blockSize !== 0) {
        throw new Error(`size of ${options.path} must be a positive multiple of ${blockSize} bytes (got ${sizeBytes})`);
      }
      // ftruncate only extends the file size: no blocks are allocated, so 10 TiB is instant.
      if (current < sizeBytes && !readOnly) await handle.truncate(sizeBytes);
      else if (current < sizeBytes) throw new Error(`${options.path} is smaller than ${sizeBytes} bytes`);
      const syncHandle = readOnly ? undefined : await open(options.path, constants.O_RDWR | constants.O_DSYNC);
      return new SparseFileBackstore(options.path, sizeBytes, blockSize, handle, syncHandle);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get sizeBytes(): number {
    return this.size;
  }

  /**
   * Grows the LUN (sparse, instant). Shrinking is refused: data past the new end would vanish under
   * initiators that still address it. The SCSI layer announces the change with a unit attention.
   */
  async resize(sizeBytes: number): Promise<void> {
    if (!this.syncHandle) throw new Error(`${this.path} is read-only`);
    if (sizeBytes % this.blockSize !== 0 || sizeBytes < this.size) throw new Error(`new size must be a multiple of ${this.blockSize} and at least ${this.size} bytes`);
    await this.handle.truncate(sizeBytes);
    this.size = sizeBytes;
  }

  readNow(offset: number, length: number, target?: Buffer): Buffer | undefined {
    this.checkRange(offset, length);
    const out = outputBuffer(length, target);
    return readCached(this.handle.fd, out, offset) === length ? out : undefined;
  }

  async read(offset: number, length: number, target?: Buffer): Promise<Buffer> {
    this.checkRange(offset, length);
    const out = outputBuffer(length, target);
    let done = readCached(this.handle.fd, out, offset);
    while (done < length) {
      const bytesRead = await readAt(this.handle.fd, out, done, length - done, offset + done);
      if (bytesRead === 0) {
        out.fill(0, done); // past the file's end (should not happen after ftruncate) reads as zeros
        break;
      }
      done += bytesRead;
    }
    return out;
  }

  /**
   * A small write while none of this LUN's writes is in the thread pool runs right here, on the event
   * loop (pwritev into the page cache: tens of µs): the pool's two thread hand-offs cost a queue-depth-1
   * write about as much as the write itself. At most one a turn of the event loop, so the loop is never
   * held for more than one small write per LUN; everything else (FUA, large writes, the rest of a burst,
   * writes while others are in flight, which the pool overlaps with the protocol work) goes to the
   * pool. An inline write that took long (the kernel throttling dirty pages, a stalled disk) held every
   * session, so after one the LUN writes through the pool only for a while.
   */
  write(offset: number, chunks: readonly Buffer[], options: WriteOptions): Promise<void> {
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    const handle = options.fua ? this.syncHandle : this.handle;
    try {
      this.checkRange(offset, length);
      // Opened read-only: no O_DSYNC handle, and the plain one would answer EBADF.
      if (!this.syncHandle || !handle) throw new Error(`${this.path} is read-only`);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    if (options.fua || length > INLINE_WRITE_MAX_BYTES || this.poolWrites > 0 || length === 0 || this.inlineThisTurn) return this.poolWrite(handle.fd, offset, chunks, length);
    const started = performance.now();
    if (started < this.inlineAgainAt) return this.poolWrite(handle.fd, offset, chunks, length);
    let written: number;
    try {
      written = writevSync(handle.fd, chunks as Buffer[], offset);
    } catch (error) {
      return Promise.reject(error as Error);
    }
    this.inlineThisTurn = true;
    queueMicrotask(this.endTurn);
    const took = performance.now() - started;
    if (took > INLINE_WRITE_SLOW_MS) this.inlineAgainAt = started + took + INLINE_BACKOFF_MS;
    if (written >= length) return DONE;
    if (written <= 0) return Promise.reject(new Error('short write made no progress'));
    return this.poolWrite(handle.fd, offset + written, remainingChunks(chunks, written), length - written);
  }

  /**
   * Queues a write for the thread pool. Writes that continue the previous one (same descriptor, the
   * next byte) during one turn of the event loop join it and leave together as one pwritev, sharing
   * its promise (a burst of sequential 4 KiB writes costs one pool round trip and one kernel call
   * instead of one each); any other write sends the queued one off first. The last run leaves when the
   * turn's synchronous work is done (a microtask).
   */
  private poolWrite(fd: number, offset: number, chunks: readonly Buffer[], length: number): Promise<void> {
    const run = this.queuedRun;
    if (run !== undefined) {
      if (run.fd === fd && run.offset + run.length === offset && run.length + length <= MAX_RUN_BYTES && run.chunks.length + chunks.length <= MAX_RUN_CHUNKS) {
        for (const chunk of chunks) run.chunks.push(chunk);
        run.length += length;
        return run.settled;
      }
      this.submit(run);
    } else {
      queueMicrotask(this.submitQueued);
    }
    const next = new PoolRun(fd, offset, chunks, length);
    this.queuedRun = next;
    return next.settled;
  }

  private submit(run: PoolRun): void {
    this.queuedRun = undefined;
    this.poolWrites += 1;
    writeAll(run.fd, run.offset, run.chunks, run.length).then(
      () => {
        this.poolWrites -= 1;
        run.resolve();
      },
      (error: unknown) => {
        this.poolWrites -= 1;
        run.reject(error);
      },
    );
  }

  async flush(): Promise<void> {
    await this.handle.datasync();
  }

  async unmap(offset: number, length: number): Promise<void> {
    this.checkRange(offset, length);
    if (length === 0) return;
    if (!this.syncHandle) throw new Error(`${this.path} is read-only`);
    const punched = await punchHole(this.handle.fd, offset, length).catch(() => false);
    if (!punched) await writeAll(this.handle.fd, offset, zeroChunks(length), length);
  }

  async allocation(offset: number, length: number): Promise<AllocationExtent[]> {
    this.checkRange(offset, length);
    const end = offset + length;
    const extents: AllocationExtent[] = [];
    let position = offset;
    // Bounded: each step advances `position` to a strictly larger data/hole boundary.
    while (position < end) {
      const dataStart = await seekDataOrHole(this.handle.fd, position, 'data');
      if (dataStart === undefined) return [{ offset, length, mapped: true }];
      const holeEnd = dataStart < 0 || dataStart >= end ? end : dataStart;
      if (holeEnd > position) extents.push({ offset: position, length: holeEnd - position, mapped: false });
      if (holeEnd >= end) break;
      const holeStart = await seekDataOrHole(this.handle.fd, dataStart, 'hole');
      const dataEnd = holeStart === undefined || holeStart < 0 ? end : Math.min(holeStart, end);
      if (dataEnd <= dataStart) break;
      extents.push({ offset: dataStart, length: dataEnd - dataStart, mapped: true });
      position = dataEnd;
    }
    return extents;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Writes acknowledged without FUA may still be in the page cache: a failed datasync is the
    // caller's error (after the handles are closed), never silence.
    let syncError: unknown;
    if (this.syncHandle) await this.handle.datasync().catch((error: unknown) => { syncError = error; });
    await Promise.all([this.handle.close(), this.syncHandle?.close()]);
    if (syncError !== undefined) throw new Error(`${this.path}: writing back on close failed: ${(syncError as Error).message}`, { cause: syncError });
  }

  /** Allocated bytes on disk (st_blocks × 512), for tests and status. */
  async allocatedBytes(): Promise<number> {
    return (await stat(this.path)).blocks * 512;
  }

  private checkRange(offset: number, length: number): void {
    if (this.closed) throw new Error(`${this.path} is closed`);
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`range ${offset}+${length} outside ${this.path} (${this.sizeBytes} bytes)`);
    }
  }
}

/** `target` itself when it has the length (no new view per read), else its first `length` bytes or a new buffer. */
function outputBuffer(length: number, target: Buffer | undefined): Buffer {
  if (target === undefined) return Buffer.allocUnsafe(length);
  return target.length === length ? target : target.subarray(0, length);
}

/** One pwritev for the thread pool: one or more LBA-contiguous writes, settled together. */
class PoolRun {
  readonly chunks: Buffer[];
  readonly settled: Promise<void>;
  resolve!: () => void;
  reject!: (error: unknown) => void;

  constructor(
    readonly fd: number,
    readonly offset: number,
    chunks: readonly Buffer[],
    public length: number,
  ) {
    this.chunks = chunks.slice();
    this.settled = new Promise<void>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

/** Views of one shared zero buffer covering `length` bytes (never written to). */
function zeroChunks(length: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let left = length; left > 0; left -= ZERO_CHUNK.length) chunks.push(ZERO_CHUNK.subarray(0, Math.min(left, ZERO_CHUNK.length)));
  return chunks;
}

// The hot path uses fs's callback API on the raw descriptor: FileHandle's promise methods cost an
// extra promise, a result object and reference counting per call.
function readAt(fd: number, target: Buffer, at: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => {
    fsRead(fd, target, at, length, position, (error, bytesRead) => (error ? reject(error) : resolve(bytesRead)));
  });
}

/** pwritev in the thread pool until every byte is written (a short write continues from where it stopped). */
function writeAll(fd: number, offset: number, chunks: readonly Buffer[], length: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let written = 0;
    const next = (error: Error | null, bytesWritten: number): void => {
      if (error) return reject(error);
      if (bytesWritten <= 0 && length > 0) return reject(new Error('short write made no progress'));
      written += bytesWritten;
      if (written >= length) return resolve();
      fsWritev(fd, remainingChunks(chunks, written), offset + written, next);
    };
    fsWritev(fd, chunks as Buffer[], offset, next);
  });
}

function remainingChunks(chunks: readonly Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = [];
  let left = skip;
  for (const chunk of chunks) {
    if (left >= chunk.length) { left -= chunk.length; continue; }
    out.push(left > 0 ? chunk.subarray(left) : chunk);
    left = 0;
  }
  return out;
}
