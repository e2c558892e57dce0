/**
 * Change capture as a decorator: wraps any backstore and runs the replication hooks around its I/O.
 * The contract (backstore.ts): write-intent listeners run and settle BEFORE the data reaches the
 * inner backstore (a rejected intent fails the write with nothing written), write listeners run after
 * it and may delay the status, flush listeners run after a successful flush. UNMAP is reported to
 * write listeners as zeros with `deallocate: true`.
 */
import type {
  Backstore, FlushListener, ObservableBackstore, WriteIntentListener, WriteListener, WriteOptions,
} from './backstore.ts';
import { ForwardingBackstore } from './forwarding-backstore.ts';

const ZERO_CHUNK = Buffer.alloc(1024 * 1024);

export class ObservedBackstore<Inner extends Backstore = Backstore> extends ForwardingBackstore<Inner> implements ObservableBackstore {
  private readonly writeListeners = new Set<WriteListener>();
  private readonly flushListeners = new Set<FlushListener>();
  private readonly intentListeners = new Set<WriteIntentListener>();

  override write(offset: number, chunks: readonly Buffer[], options: WriteOptions): Promise<void> {
    // Unobserved (no pair on this LUN): the hot path costs no extra promise.
    if (this.intentListeners.size === 0 && this.writeListeners.size === 0) return this.inner.write(offset, chunks, options);
    return this.observedWrite(offset, chunks, options);
  }

  private async observedWrite(offset: number, chunks: readonly Buffer[], options: WriteOptions): Promise<void> {
    if (this.intentListeners.size > 0) await this.notifyIntent(offset, chunks);
    await this.inner.write(offset, chunks, options);
    if (this.writeListeners.size > 0) await this.notifyWrite(offset, chunks, options);
  }

  override async unmap(offset: number, length: number): Promise<void> {
    if (length === 0) return this.inner.unmap(offset, length);
    if (this.intentListeners.size > 0) await this.notifyIntentRange(offset, length);
    await this.inner.unmap(offset, length);
    // Only build the zero views (one per MiB of the range) when someone listens.
    if (this.writeListeners.size > 0) await this.notifyWrite(offset, zeroChunks(length), { fua: false, deallocate: true });
  }

  override flush(): Promise<void> {
    if (this.flushListeners.size === 0) return this.inner.flush();
    return this.observedFlush();
  }

  private async observedFlush(): Promise<void> {
    await this.inner.flush();
    const pending: Promise<void>[] = [];
    for (const listener of this.flushListeners) {
      const result = listener();
      if (result) pending.push(result);
    }
    await Promise.all(pending);
  }

  addWriteListener(listener: WriteListener): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  addWriteIntentListener(listener: WriteIntentListener): () => void {
    this.intentListeners.add(listener);
    return () => this.intentListeners.delete(listener);
  }

  addFlushListener(listener: FlushListener): () => void {
    this.flushListeners.add(listener);
    return () => this.flushListeners.delete(listener);
  }

  private notifyIntent(offset: number, chunks: readonly Buffer[]): Promise<void> {
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    return this.notifyIntentRange(offset, length);
  }

  private async notifyIntentRange(offset: number, length: number): Promise<void> {
    // The inner backstore would refuse an out-of-range write anyway; refusing it here keeps a bad range
    // out of the listeners' records (the dirty map) too.
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.sizeBytes) {
      throw new RangeError(`range ${offset}+${length} outside ${this.label} (${this.sizeBytes} bytes)`);
    }
    for (const listener of this.intentListeners) await listener(offset, length);
  }

  private async notifyWrite(offset: number, chunks: readonly Buffer[], options: WriteOptions): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const listener of this.writeListeners) {
      const result = listener(offset, chunks, options);
      if (result) pending.push(result);
    }
    if (pending.length > 0) await Promise.all(pending);
  }
}

/** Views of one shared zero buffer covering `length` bytes (never written to). */
function zeroChunks(length: number): Buffer[] {
  const chunks: Buffer[] = [];
  for (let left = length; left > 0; left -= ZERO_CHUNK.length) chunks.push(ZERO_CHUNK.subarray(0, Math.min(left, ZERO_CHUNK.length)));
  return chunks;
}
