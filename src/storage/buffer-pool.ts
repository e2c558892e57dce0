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
    if (length > MAX_POOLED_BYTES) return new Lease(Buffer.allocUnsafe(length), undefined, undefined);
    const size = classSize(length);
    let backing = this.free.get(size)?.pop();
    if (backing === undefined) backing = Buffer.allocUnsafeSlow(size);
    else this.idleBytes -= size;
    return new Lease(backing.subarray(0, length), this, backing);
  }

  /** A backing buffer back from a lease (kept while its class and the idle cap have room). */
  giveBack(backing: Buffer): void {
    const size = backing.length;
    let list = this.free.get(size);
    if (list === undefined) {
      list = [];
      this.free.set(size, list);
    }
    if (list.length < MAX_FREE_PER_CLASS && this.idleBytes + size <= this.maxIdleBytes) {
      list.push(backing);
      this.idleBytes += size;
    }
  }

  /** Buffers currently idle in the pool (for tests and metrics). */
  idleCount(): number {
    let n = 0;
    for (const list of this.free.values()) n += list.length;
    return n;
  }
}

/**
 * One acquired buffer. `release` is a bound method, not a closure made per acquire: under tsx
 * (esbuild keepNames) an arrow function stored in a property is named with Object.defineProperty,
 * which cost a 4 KiB read ~5% of its CPU in V8's slow paths.
 */
class Lease implements PooledBuffer {
  readonly release: () => void;
  private released = false;

  constructor(
    readonly buffer: Buffer,
    private readonly pool: BufferPool | undefined,
    /** The class-sized buffer `buffer` is a view of (undefined: oversized, dropped on release). */
    private readonly backing: Buffer | undefined,
  ) {
    this.release = this.giveBack.bind(this);
  }

  private giveBack(): void {
    if (this.released) return;
    this.released = true;
    if (this.pool !== undefined && this.backing !== undefined) this.pool.giveBack(this.backing);
  }
}

function classSize(length: number): number {
  let size = MIN_CLASS_BYTES;
  while (size < length) size *= 2;
  return size;
}
