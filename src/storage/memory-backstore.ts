/**
 * A LUN in RAM, for fast CI LUNs: a sparse map of fixed-size chunks holding only what was written.
 * Unallocated ranges read as zeros, UNMAP frees whole chunks (and a chunk it leaves all zeros), GET
 * LBA STATUS comes from the chunk map. Chunks are taken from a MemoryBudget shared by the system's
 * memory LUNs; a write that needs more than the budget has left fails whole with a
 * SpaceAllocationError (nothing of it is stored). The data is gone when the LUN closes.
 */
import {
  type AllocationExtent, type Backstore, type BackstoreCapabilities, SpaceAllocationError, type WriteOptions,
} from './backstore.ts';
import { MemoryBudget } from './memory-budget.ts';

export interface MemoryOpenOptions {
  readonly sizeBytes: number;
  readonly blockSize?: number;
  /** Shared by the system's memory LUNs; a private unlimited budget when absent. */
  readonly budget?: MemoryBudget;
  /** Allocation unit in bytes (a power of two ≥ the block size); 4 KiB, the unmap granularity VPD 0xB0 reports. */
  readonly chunkBytes?: number;
  /** For messages, e.g. "memory LUN 0 of iqn...". */
  readonly label?: string;
}

const CAPABILITIES: BackstoreCapabilities = { deallocate: true, allocationMap: true, resize: true, persistent: false };

export class MemoryBackstore implements Backstore {
  readonly capabilities = CAPABILITIES;
  readonly label: string;
  readonly blockSize: number;
  readonly chunkBytes: number;
  private size: number;
  private readonly chunks = new Map<number, Buffer>();
  private readonly budget: MemoryBudget;
  private closed = false;

  constructor(options: MemoryOpenOptions) {
    const blockSize = options.blockSize ?? 512;
    if (![512, 1024, 2048, 4096].includes(blockSize)) throw new Error(`blockSize must be 512, 1024, 2048 or 4096 (got ${blockSize})`);
    const chunkBytes = options.chunkBytes ?? 4096;
    if (chunkBytes < blockSize || (chunkBytes & (chunkBytes - 1)) !== 0) throw new Error(`chunkBytes must be a power of two ≥ the block size (got ${chunkBytes})`);
    const sizeBytes = options.sizeBytes;
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes <= 0 || sizeBytes % blockSize !== 0) {
      throw new Error(`size of a memory LUN must be a positive multiple of ${blockSize} bytes (got ${sizeBytes})`);
    }
    this.blockSize = blockSize;
    this.chunkBytes = chunkBytes;
    this.size = sizeBytes;
    this.budget = options.budget ?? new MemoryBudget(Number.MAX_SAFE_INTEGER);
    this.label = options.label ?? `memory (${sizeBytes} bytes)`;
  }

  get sizeBytes(): number {
    return this.size;
  }

  /** Bytes held in chunks right now. */
  get allocatedBytes(): number {
    return this.chunks.size * this.chunkBytes;
  }

  async read(offset: number, length: number, target?: Buffer): Promise<Buffer> {
    return this.readNow(offset, length, target);
  }

  /** Memory never waits: always the bytes. */
  readNow(offset: number, length: number, target?: Buffer): Buffer {
    this.checkRange(offset, length);
    const out = target ? target.subarray(0, length) : Buffer.allocUnsafe(length);
    this.forEachPiece(offset, length, (index, within, at, count) => {
      const chunk = this.chunks.get(index);
      if (chunk) chunk.copy(out, at, within, within + count);
      else out.fill(0, at, at + count);
    });
    return out;
  }

  async write(offset: number, chunks: readonly Buffer[], _options: WriteOptions): Promise<void> {
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    this.checkRange(offset, length);
    if (length === 0) return;
    this.allocate(offset, length);
    let position = offset;
    for (const source of chunks) {
      let done = 0;
      this.forEachPiece(position, source.length, (index, within, _at, count) => {
        source.copy(this.chunks.get(index)!, within, done, done + count);
        done += count;
      });
      position += source.length;
    }
  }

  /** RAM has nothing to make stable. */
  async flush(): Promise<void> {
    this.checkOpen();
  }

  async unmap(offset: number, length: number): Promise<void> {
    this.checkRange(offset, length);
    this.forEachPiece(offset, length, (index, within, _at, count) => {
      const chunk = this.chunks.get(index);
      if (!chunk) return;
      if (count < this.chunkBytes) {
        chunk.fill(0, within, within + count);
        if (!isAllZero(chunk)) return;
      }
      this.chunks.delete(index);
      this.budget.release(this.chunkBytes);
    });
  }

  async allocation(offset: number, length: number): Promise<AllocationExtent[]> {
    this.checkRange(offset, length);
    const end = offset + length;
    const extents: AllocationExtent[] = [];
    const push = (from: number, to: number, mapped: boolean): void => {
      if (to <= from) return;
      const last = extents.at(-1);
      if (last && last.mapped === mapped && last.offset + last.length === from) extents[extents.length - 1] = { offset: last.offset, length: to - last.offset, mapped };
      else extents.push({ offset: from, length: to - from, mapped });
    };
    let position = offset;
    for (const index of this.allocatedIndexesIn(offset, end)) {
      const chunkStart = Math.max(index * this.chunkBytes, offset);
      const chunkEnd = Math.min((index + 1) * this.chunkBytes, end);
      push(position, chunkStart, false);
      push(chunkStart, chunkEnd, true);
      position = chunkEnd;
    }
    push(position, end, false);
    return extents;
  }

  /** Grows the LUN (the new range reads as zeros and takes no memory); shrinking is refused. */
  async resize(sizeBytes: number): Promise<void> {
    this.checkOpen();
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes % this.blockSize !== 0 || sizeBytes < this.size) {
      throw new Error(`new size must be a multiple of ${this.blockSize} and at least ${this.size} bytes`);
    }
    this.size = sizeBytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.budget.release(this.chunks.size * this.chunkBytes);
    this.chunks.clear();
  }

  /** Reserves and adds every missing chunk of the range, or none of them. */
  private allocate(offset: number, length: number): void {
    const first = Math.floor(offset / this.chunkBytes);
    const last = Math.floor((offset + length - 1) / this.chunkBytes);
    let missing = 0;
    for (let index = first; index <= last; index++) if (!this.chunks.has(index)) missing++;
    if (missing === 0) return;
    const bytes = missing * this.chunkBytes;
    if (!this.budget.tryReserve(bytes)) {
      throw new SpaceAllocationError(`${this.label}: writing ${length} bytes at ${offset} needs ${bytes} more bytes of memory; ${this.budget.usedBytes} of the memoryLimit ${this.budget.limitBytes} are in use`);
    }
    for (let index = first; index <= last; index++) if (!this.chunks.has(index)) this.chunks.set(index, Buffer.alloc(this.chunkBytes));
  }

  /** Allocated chunk indexes overlapping [offset, end), ascending; cost follows the smaller of range and map. */
  private allocatedIndexesIn(offset: number, end: number): number[] {
    const first = Math.floor(offset / this.chunkBytes);
    const last = Math.floor((end - 1) / this.chunkBytes);
    if (end <= offset) return [];
    if (last - first + 1 <= this.chunks.size) {
      const found: number[] = [];
      for (let index = first; index <= last; index++) if (this.chunks.has(index)) found.push(index);
      return found;
    }
    return [...this.chunks.keys()].filter((index) => index >= first && index <= last).sort((a, b) => a - b);
  }

  /** Calls `piece(chunkIndex, offsetInChunk, offsetInRange, length)` for each chunk-sized piece of the range. */
  private forEachPiece(offset: number, length: number, piece: (index: number, within: number, at: number, count: number) => void): void {
    let at = 0;
    while (at < length) {
      const position = offset + at;
      const index = Math.floor(position / this.chunkBytes);
      const within = position - index * this.chunkBytes;
      const count = Math.min(this.chunkBytes - within, length - at);
      piece(index, within, at, count);
      at += count;
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`${this.label} is closed`);
  }

  private checkRange(offset: number, length: number): void {
    this.checkOpen();
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`range ${offset}+${length} outside ${this.label} (${this.size} bytes)`);
    }
  }
}

const ZEROS = Buffer.alloc(64 * 1024);

function isAllZero(chunk: Buffer): boolean {
  for (let at = 0; at < chunk.length; at += ZEROS.length) {
    const piece = chunk.subarray(at, Math.min(at + ZEROS.length, chunk.length));
    if (!piece.equals(ZEROS.subarray(0, piece.length))) return false;
  }
  return true;
}
