/**
 * The base of a backstore decorator: every call goes to the inner backstore unchanged. A decorator
 * (change capture, fault injection, ...) extends it and overrides only the calls it acts on.
 */
import type { AllocationExtent, Backstore, BackstoreCapabilities, WriteOptions } from './backstore.ts';

export class ForwardingBackstore<Inner extends Backstore = Backstore> implements Backstore {
  constructor(readonly inner: Inner) {}

  get label(): string { return this.inner.label; }
  get sizeBytes(): number { return this.inner.sizeBytes; }
  get blockSize(): number { return this.inner.blockSize; }
  get capabilities(): BackstoreCapabilities { return this.inner.capabilities; }

  read(offset: number, length: number, target?: Buffer): Promise<Buffer> {
    return this.inner.read(offset, length, target);
  }

  readNow(offset: number, length: number, target?: Buffer): Buffer | undefined {
    return this.inner.readNow?.(offset, length, target);
  }

  write(offset: number, chunks: readonly Buffer[], options: WriteOptions): Promise<void> {
    return this.inner.write(offset, chunks, options);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  unmap(offset: number, length: number): Promise<void> {
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
}
