/**
 * Reusable read buffers in power-of-two size classes, so the read path does not allocate a new
 * large buffer per command. Each class keeps a bounded free list; oversized requests are plain
 * allocations that are simply dropped on release.
 */

const MIN_CLASS_BYTES = 4096;
const MAX_POOLED_BYTES = 8 * 1024 * 1024;
const MAX_FREE_PER_CLASS = 32;

export interface PooledBuffer {
  /** A view of exactly the requested length. */
  readonly buffer: Buffer;
  /** Returns the backing buffer to the pool; calling it twice is harmless. */
  readonly release: () => void;
}

export interface BufferPoolOptions {
  /** Idle bytes kept over all classes (default: no cap beyond the per-class count). */
  readonly maxIdleBytes?: number;
}

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private readonly maxIdleBytes: number;
  private idleBytes = 0;

  constructor(options: BufferPoolOptions = {}) {
    this.maxIdleBytes = options.maxIdleBytes ?? Number.POSITIVE_INFINITY;
  }

  acquire(length: number): PooledBuffer {
    if (length > MAX_POOLED_BYTES) return { buffer: Buffer.allocUnsafe(length), release: () => undefined };
    const size = classSize(length);
    const list = this.free.get(size);
    let backing = list?.pop();
    if (backing === undefined) backing = Buffer.allocUnsafeSlow(size);
    else this.idleBytes -= size;
    const kept = backing;
    let released = false;
    return {
      buffer: kept.subarray(0, length),
      release: () => {
        if (released) return;
        released = true;
        const target = this.free.get(size) ?? [];
        if (target.length < MAX_FREE_PER_CLASS && this.idleBytes + size <= this.maxIdleBytes) {
          target.push(kept);
          this.idleBytes += size;
        }
        this.free.set(size, target);
      },
    };
  }

  /** Buffers currently idle in the pool (for tests and metrics). */
  idleCount(): number {
    let n = 0;
    for (const list of this.free.values()) n += list.length;
    return n;
  }
}

function classSize(length: number): number {
  let size = MIN_CLASS_BYTES;
  while (size < length) size *= 2;
  return size;
}
