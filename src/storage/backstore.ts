/**
 * The backstore contract: what the SCSI layer calls to move blocks, and the write hook that change
 * capture (src/replication) subscribes to. Offsets and lengths are in bytes (a 10 TiB LUN still fits
 * a JS number exactly).
 */

export interface WriteOptions {
  /** Force Unit Access: the write must be on stable storage before the promise resolves. */
  readonly fua: boolean;
  /**
   * Set when the "write" is a deallocation (UNMAP, WRITE SAME with UNMAP): the chunks are zeros and the
   * range now reads as zeros, so listeners may record the range instead of the bytes.
   */
  readonly deallocate?: boolean;
}

/**
 * Called BEFORE a write or unmap touches the backing file; the I/O waits for a returned promise.
 * Change capture persists the range's dirty bit here (activity log), so a crash between the data
 * reaching the file and the after-write listener cannot leave a changed block unrecorded. Listeners
 * must stay O(1) when the range is already dirty on disk.
 */
export type WriteIntentListener = (offset: number, length: number) => void | Promise<void>;

/**
 * Called after a write reached the backing file (and before the SCSI status is sent). Returning a
 * promise delays the status until it settles: synchronous replication uses this; asynchronous
 * capture must return nothing and stay O(1).
 */
export type WriteListener = (offset: number, chunks: readonly Buffer[], options: WriteOptions) => void | Promise<void>;

/**
 * Thrown (rejected) by a write-intent, write or flush listener that could not durably record the write
 * (e.g. replication's dirty map could not be persisted). The write must fail where the initiator sees
 * it (the SCSI layer answers CHECK CONDITION, HARDWARE ERROR / WRITE ERROR); the listener keeps what
 * it needs to retry.
 */
export class WriteRecordError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'WriteRecordError';
  }
}

/** Called after a successful flush (SYNCHRONIZE CACHE): replication closes an epoch here. */
export type FlushListener = () => void | Promise<void>;

export interface AllocationExtent {
  readonly offset: number;
  readonly length: number;
  /** true when the range holds data; false for a hole (reads as zeros). */
  readonly mapped: boolean;
}

export interface Backstore {
  readonly path: string;
  readonly sizeBytes: number;
  readonly blockSize: number;

  /** Reads `length` bytes at `offset` into `target` (or a new buffer); holes read as zeros. */
  read(offset: number, length: number, target?: Buffer): Promise<Buffer>;
  /** Writes the chunks back to back starting at `offset` (pwritev). */
  write(offset: number, chunks: readonly Buffer[], options: WriteOptions): Promise<void>;
  /** fdatasync. */
  flush(): Promise<void>;
  /** Deallocates (punches a hole in) the range when the platform allows it; reads then return zeros. */
  unmap(offset: number, length: number): Promise<void>;
  /** Mapped/unmapped extents covering [offset, offset+length). */
  allocation(offset: number, length: number): Promise<AllocationExtent[]>;

  addWriteListener(listener: WriteListener): () => void;
  /** Optional for test fakes; a backstore that replication captures from must implement it. */
  addWriteIntentListener?(listener: WriteIntentListener): () => void;
  addFlushListener(listener: FlushListener): () => void;

  close(): Promise<void>;
}
