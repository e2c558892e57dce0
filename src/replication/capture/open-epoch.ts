/**
 * The epoch being filled on the source. Appending copies the written bytes once (the fabric reuses its
 * receive buffers) into the epoch's slab, a pooled buffer that later becomes the payload as is (see
 * pipeline/payload.ts); sealing resolves overlaps so the last write to a byte wins, off the I/O path.
 */

/** A run of bytes to write at `offset`, or (with `zeroLength`) a range to deallocate. */
export interface Extent {
  readonly offset: number;
  readonly data?: Buffer;
  /** The range reads as zeros on the source (hole or unmapped): the replica unmaps it. */
  readonly zeroLength?: number;
}

export function extentLength(extent: Extent): number {
  return extent.data ? extent.data.length : (extent.zeroLength ?? 0);
}

export interface SealedEpoch {
  readonly epoch: number;
  /** Data extents are views into `slab`. */
  readonly extents: Extent[];
  readonly slab?: Buffer;
  /** Bytes of `slab` holding appended data. */
  readonly slabUsed: number;
  readonly bytes: number;
  /** Wall-clock ms of the first write in the epoch (RPO accounting). */
  readonly firstWriteAt: number;
  readonly resync: boolean;
}

interface Interval { start: number; end: number }

export class OpenEpoch {
  private readonly writes: Extent[] = [];
  private used = 0;
  readonly firstWriteAt = Date.now();

  /** `dataCapacity` ≤ slab.length: the rest of the slab is room for the payload header. */
  constructor(readonly epoch: number, private readonly slab: Buffer, private readonly dataCapacity = slab.length) {}

  get bytes(): number { return this.used; }
  get empty(): boolean { return this.writes.length === 0; }
  get room(): number { return this.dataCapacity - this.used; }

  /** Copies the chunks into the slab; false (nothing copied) when they do not fit. */
  append(offset: number, chunks: readonly Buffer[]): boolean {
    let total = 0;
    for (const chunk of chunks) total += chunk.length;
    if (total === 0) return true;
    if (total > this.room) return false;
    const start = this.used;
    for (const chunk of chunks) { chunk.copy(this.slab, this.used); this.used += chunk.length; }
    this.writes.push({ offset, data: this.slab.subarray(start, this.used) });
    return true;
  }

  appendZero(offset: number, length: number): void {
    if (length <= 0) return;
    this.writes.push({ offset, zeroLength: length });
  }

  seal(resync = false): SealedEpoch {
    const extents = lastWriteWins(this.writes);
    let bytes = 0;
    for (const extent of extents) bytes += extent.data?.length ?? 0;
    return { epoch: this.epoch, extents, slab: this.slab, slabUsed: this.used, bytes, firstWriteAt: this.firstWriteAt, resync };
  }
}

/**
 * Keeps, for every byte, only the last extent that wrote it. Walks the writes newest first and emits
 * the parts not yet covered by a newer write; the result is in offset order.
 */
export function lastWriteWins(writes: readonly Extent[]): Extent[] {
  if (writes.length <= 1) return [...writes];
  const covered: Interval[] = [];
  const kept: Extent[] = [];
  for (let i = writes.length - 1; i >= 0; i--) {
    const write = writes[i];
    const start = write.offset;
    const end = start + extentLength(write);
    for (const piece of subtract(covered, start, end)) {
      kept.push(write.data
        ? { offset: piece.start, data: write.data.subarray(piece.start - start, piece.end - start) }
        : { offset: piece.start, zeroLength: piece.end - piece.start });
    }
    insertInterval(covered, start, end);
  }
  return kept.sort((a, b) => a.offset - b.offset);
}

/** Parts of [start, end) not covered by the sorted, disjoint `covered` intervals. */
function subtract(covered: readonly Interval[], start: number, end: number): Interval[] {
  const pieces: Interval[] = [];
  let cursor = start;
  for (let i = firstEndingAfter(covered, start); i < covered.length && covered[i].start < end; i++) {
    if (covered[i].start > cursor) pieces.push({ start: cursor, end: covered[i].start });
    cursor = Math.max(cursor, covered[i].end);
  }
  if (cursor < end) pieces.push({ start: cursor, end });
  return pieces;
}

function insertInterval(covered: Interval[], start: number, end: number): void {
  const i = firstEndingAfter(covered, start - 1);
  let mergedStart = start;
  let mergedEnd = end;
  let removeCount = 0;
  while (i + removeCount < covered.length && covered[i + removeCount].start <= end) {
    mergedStart = Math.min(mergedStart, covered[i + removeCount].start);
    mergedEnd = Math.max(mergedEnd, covered[i + removeCount].end);
    removeCount++;
  }
  covered.splice(i, removeCount, { start: mergedStart, end: mergedEnd });
}

/** Index of the first interval whose end is > position (binary search). */
function firstEndingAfter(covered: readonly Interval[], position: number): number {
  let low = 0;
  let high = covered.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (covered[mid].end > position) high = mid; else low = mid + 1;
  }
  return low;
}
