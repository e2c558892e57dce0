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
 * capture must return nothing and stay O(1). The chunks are valid until the write's promise settles:
 * the fabric then reuses their memory for other commands, so a listener copies what it keeps.
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

/**
 * What a backstore can really do; the SCSI core and replication read these instead of probing the
 * implementation. A backstore without a capability still accepts the call (unmap zero-fills,
 * allocation() reports everything mapped) but says so here.
 */
export interface BackstoreCapabilities {
  /** unmap() frees the space (not only zeros it), so thin provisioning (LBPME) is honest. */
  readonly deallocate: boolean;
  /** allocation() reports real holes (GET LBA STATUS, sparse resync) instead of "all mapped". */
  readonly allocationMap: boolean;
  /** resize() grows the LUN. */
  readonly resize: boolean;
  /** The data outlives close() and a process restart (false for memory). */
  readonly persistent: boolean;
}

/**
 * The plug-in contract of one LUN's storage (tgt's backingstore_template, LIO's backend ops): move
 * blocks, report allocation. Change capture is not part of it: ObservedBackstore (observed-backstore.ts)
 * adds the write-intent / write / flush hooks around any backstore.
 */
export interface Backstore {
  /** Where the data lives, for messages and logs: a file path, `memory (256M)`, ... */
  readonly label: string;
  readonly sizeBytes: number;
  readonly blockSize: number;
  readonly capabilities: BackstoreCapabilities;

  /** Reads `length` bytes at `offset` into `target` (or a new buffer); holes read as zeros. */
  read(offset: number, length: number, target?: Buffer): Promise<Buffer>;
  /**
   * The same bytes as read(), returned at once when every one of them can be had without waiting
   * (the page cache, memory); undefined when not (then read() it). Throws what read() would reject
   * with for a bad range. Optional: the SCSI core answers a READ served this way in the same turn,
   * without a promise.
   */
  readNow?(offset: number, length: number, target?: Buffer): Buffer | undefined;
  /** Writes the chunks back to back starting at `offset` (pwritev); the chunks are reused once the promise settles (copy what is kept). */
  write(offset: number, chunks: readonly Buffer[], options: WriteOptions): Promise<void>;
  /** Makes every completed write stable (fdatasync). */
  flush(): Promise<void>;
  /** Deallocates the range (zero-fills it when `capabilities.deallocate` is false); reads then return zeros. */
  unmap(offset: number, length: number): Promise<void>;
  /** Mapped/unmapped extents covering [offset, offset+length). */
  allocation(offset: number, length: number): Promise<AllocationExtent[]>;
  /** Grows the LUN (never shrinks); rejects when `capabilities.resize` is false. */
  resize(sizeBytes: number): Promise<void>;

  close(): Promise<void>;
}

/**
 * A backstore whose writes can be observed: what replication captures from and what the system gives
 * the SCSI core (every LUN's backstore is wrapped in an ObservedBackstore).
 */
export interface ObservableBackstore extends Backstore {
  addWriteListener(listener: WriteListener): () => void;
  addWriteIntentListener(listener: WriteIntentListener): () => void;
  addFlushListener(listener: FlushListener): () => void;
}

/**
 * Rejected by a write that needs space the backstore may not take (a memory backstore past its
 * configured limit). Nothing of the write was stored; the SCSI layer answers DATA PROTECT / SPACE
 * ALLOCATION FAILED WRITE PROTECT (SBC-3 §4.7.3.6), as a thin-provisioned array out of space does.
 */
export class SpaceAllocationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpaceAllocationError';
  }
}

/**
 * Rejected by a read that met a bad block (fault injection, dm-dust): nothing was read; the SCSI layer
 * answers MEDIUM ERROR / UNRECOVERED READ ERROR with the block's LBA in the sense INFORMATION field.
 */
export class MediumError extends Error {
  constructor(readonly lba: number, message = `unrecovered read error at LBA ${lba}`) {
    super(message);
    this.name = 'MediumError';
  }
}
