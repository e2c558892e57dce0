/**
 * Reusable epoch buffers: an epoch's slab receives the written bytes and then travels to Redis as the
 * payload itself, so a steady write stream allocates nothing per write or per epoch.
 */
export class SlabPool {
  private readonly free: Buffer[] = [];

  /** `dataBytes` of data plus `headroom` for the payload header in every slab. */
  constructor(readonly dataBytes: number, readonly headroom: number, private readonly keep = 8) {}

  get slabBytes(): number { return this.dataBytes + this.headroom; }

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(this.slabBytes);
  }

  /** A one-off slab for a single write larger than the pooled size (not returned to the pool). */
  oversized(dataBytes: number): Buffer {
    return Buffer.allocUnsafeSlow(dataBytes + this.headroom);
  }

  give(slab: Buffer | undefined): void {
    if (slab && slab.length === this.slabBytes && this.free.length < this.keep && !this.free.includes(slab)) this.free.push(slab);
  }
}
