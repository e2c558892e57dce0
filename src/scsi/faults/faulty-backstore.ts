/**
 * Fault injection as a decorator around any backstore (below change capture, so a dropped write is
 * still replicated and `verify` finds the divergence): bad blocks that fail reads until rewritten
 * (dm-dust) and silently dropped writes (dm-flakey drop_writes), as the LUN's rules say. Without such
 * rules every call goes straight to the inner backstore.
 */
import { MediumError, type Backstore, type WriteOptions } from '../../storage/backstore.ts';
import { ForwardingBackstore } from '../../storage/forwarding-backstore.ts';
import type { LunFaults } from './lun-faults.ts';

export class FaultyBackstore extends ForwardingBackstore {
  constructor(inner: Backstore, private readonly faults: LunFaults) {
    super(inner);
  }

  override read(offset: number, length: number, target?: Buffer): Promise<Buffer> {
    if (this.faults.hasStorageRules && length > 0) {
      const { lba, blocks } = this.blocksOf(offset, length);
      const bad = this.faults.badBlockIn(lba, blocks);
      if (bad !== undefined) return Promise.reject(new MediumError(bad));
    }
    return this.inner.read(offset, length, target);
  }

  override readNow(offset: number, length: number, target?: Buffer): Buffer | undefined {
    // A bad block fails in read() (a rejected promise, as without the fast path).
    if (this.faults.hasStorageRules && length > 0) return undefined;
    return this.inner.readNow?.(offset, length, target);
  }

  override write(offset: number, chunks: readonly Buffer[], options: WriteOptions): Promise<void> {
    if (this.faults.hasStorageRules) {
      const { lba, blocks } = this.blocksOf(offset, chunks.reduce((sum, chunk) => sum + chunk.length, 0));
      if (blocks > 0) {
        if (this.faults.dropsWrite(lba, blocks)) return Promise.resolve();
        this.faults.heal(lba, blocks);
      }
    }
    return this.inner.write(offset, chunks, options);
  }

  override unmap(offset: number, length: number): Promise<void> {
    if (this.faults.hasStorageRules && length > 0) {
      const { lba, blocks } = this.blocksOf(offset, length);
      this.faults.heal(lba, blocks);
    }
    return this.inner.unmap(offset, length);
  }

  private blocksOf(offset: number, length: number): { lba: number; blocks: number } {
    const size = this.inner.blockSize;
    const lba = Math.floor(offset / size);
    return { lba, blocks: Math.ceil((offset + length) / size) - lba };
  }
}
