/**
 * Fault injection as a decorator around any backstore (below change capture, so a dropped write is
 * still replicated and `verify` finds the divergence): bad blocks that fail reads until rewritten
 * (dm-dust) and silently dropped writes (dm-flakey drop_writes), as the LUN's rules say. Without such
 * rules every call goes straight to the inner backstore.
 */
import { MediumError, type AllocationExtent, type Backstore, type BackstoreCapabilities, type WriteOptions } from '../../storage/backstore.ts';
import type { LunFaults } from './lun-faults.ts';

export class FaultyBackstore implements Backstore {
  constructor(readonly inner: Backstore, private readonly faults: LunFaults) {}

  get label(): string { return this.inner.label; }
  get sizeBytes(): number { return this.inner.sizeBytes; }
  get blockSize(): number { return this.inner.blockSize; }
  get capabilities(): BackstoreCapabilities { return this.inner.capabilities; }

  read(offset: number, length: number, target?: Buffer): Promise<Buffer> {
    if (this.faults.hasStorageRules && length > 0) {
      const { lba, blocks } = this.blocksOf(offset, length);
      const bad = this.faults.badBlockIn(lba, blocks);
      if (bad !== undefined) return Promise.reject(new MediumError(bad));
    }
    return this.inner.read(offset, length, target);
  }

  write(offset: number, chunks: readonly Buffer[], options: WriteOptions): Promise<void> {
    if (this.faults.hasStorageRules) {
      const { lba, blocks } = this.blocksOf(offset, chunks.reduce((sum, chunk) => sum + chunk.length, 0));
      if (blocks > 0) {
        if (this.faults.dropsWrite(lba, blocks)) return Promise.resolve();
        this.faults.heal(lba, blocks);
      }
    }
    return this.inner.write(offset, chunks, options);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  unmap(offset: number, length: number): Promise<void> {
    if (this.faults.hasStorageRules && length > 0) {
      const { lba, blocks } = this.blocksOf(offset, length);
      this.faults.heal(lba, blocks);
    }
    return this.inner.unmap(offset, length);
  }

  allocation(offset: number, length: number): Promise<AllocationExtent[]> {
    return this.inner.allocation(offset, length);
  }

  resize(sizeBytes: number): Promise<void> {
    return this.inner.resize(sizeBytes);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private blocksOf(offset: number, length: number): { lba: number; blocks: number } {
    const size = this.inner.blockSize;
    const lba = Math.floor(offset / size);
    return { lba, blocks: Math.ceil((offset + length) / size) - lba };
  }
}
