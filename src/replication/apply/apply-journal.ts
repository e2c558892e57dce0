/**
 * Crash-safe apply of epochs on the replica, a batch of consecutive epochs at a time (group commit):
 * journal the batch → fdatasync → write every epoch's extents in epoch order → fdatasync → record the
 * last epoch. Three fdatasyncs per batch, however many epochs it holds. A crash anywhere leaves the
 * replica at a batch boundary: before the journal record is durable nothing happened; after it,
 * recovery replays the whole journalled batch (writes are absolute, so replaying is idempotent) and
 * records its last epoch. Nothing is acknowledged before the record: the caller acks after applyBatch().
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import type { Backstore } from '../../storage/backstore.ts';
import { extentLength, type Extent } from '../capture/open-epoch.ts';
import { decodePayload } from '../pipeline/payload.ts';
import { StateFileError } from '../../util/state-file.ts';

/** A journal record of one epoch (written before group commit; still replayed after an upgrade). */
const SINGLE_MAGIC = 0x49534a4c; // 'ISJL'
/** A journal record of a batch of consecutive epochs. */
const BATCH_MAGIC = 0x49534a42; // 'ISJB'
const APPLIED_MAGIC = 0x49534150; // 'ISAP'
/** magic, generation (f64), epoch, payload length, crc32c. */
const SINGLE_HEADER = 24;
/** magic, generation (f64), first epoch, count, total payload bytes, crc32c; then count u32 lengths. */
const BATCH_HEADER = 28;
const APPLIED_BYTES = 20;

export interface AppliedPosition {
  readonly generation: number;
  readonly epoch: number;
}

/** One epoch checked against the replica and decoded, ready to be part of a batch. */
export interface PreparedEpoch {
  readonly epoch: number;
  /** The encoded epoch exactly as it came from Redis (what the journal holds). */
  readonly payload: Buffer;
  readonly extents: readonly Extent[];
}

export class ApplyJournal {
  private constructor(private readonly journal: FileHandle, private readonly appliedFile: FileHandle, private readonly appliedPath: string) {}

  static async open(basePath: string): Promise<ApplyJournal> {
    const appliedPath = `${basePath}.applied`;
    return new ApplyJournal(await openReadWrite(`${basePath}.journal`), await openReadWrite(appliedPath), appliedPath);
  }

  /**
   * The last applied epoch; an empty record file is a replica that applied nothing yet. A damaged
   * one throws naming the file: starting from "nothing applied" would wait for epochs long gone
   * and stall the pair with no reason given.
   */
  async position(): Promise<AppliedPosition> {
    const record = Buffer.alloc(APPLIED_BYTES);
    const { bytesRead } = await this.appliedFile.read(record, 0, APPLIED_BYTES, 0);
    if (bytesRead === 0) return { generation: 0, epoch: 0 };
    if (bytesRead < APPLIED_BYTES || record.readUInt32BE(0) !== APPLIED_MAGIC || crc32c(record.subarray(0, 16)) !== record.readUInt32BE(16)) {
      throw new StateFileError(this.appliedPath, `not a valid applied-epoch record (${bytesRead} bytes, bad magic or checksum); the replica's position is unknown: remove the file, then 'iscsi-sim pair <pair> resync' sends what was not acknowledged again`);
    }
    return { generation: record.readDoubleBE(4), epoch: record.readUInt32BE(12) };
  }

  /** Decodes `payload` and checks it fits the replica; throws (naming the epoch) before anything is written. */
  static prepare(backstore: Backstore, epoch: number, payload: Buffer): PreparedEpoch {
    const extents = decodePayload(payload);
    for (const extent of extents) {
      const length = extentLength(extent);
      if (extent.offset + length > backstore.sizeBytes) throw new Error(`epoch ${epoch} writes beyond the replica (${extent.offset}+${length})`);
    }
    return { epoch, payload, extents };
  }

  /** Applies one epoch durably. */
  async apply(backstore: Backstore, generation: number, epoch: number, payload: Buffer): Promise<void> {
    await this.applyBatch(backstore, generation, [ApplyJournal.prepare(backstore, epoch, payload)]);
  }

  /** Applies consecutive epochs of `generation` durably, in order, as one group commit. */
  async applyBatch(backstore: Backstore, generation: number, epochs: readonly PreparedEpoch[]): Promise<void> {
    const first = epochs[0];
    if (!first) return;
    epochs.forEach((e, i) => { if (e.epoch !== first.epoch + i) throw new Error(`batch epochs not consecutive at ${e.epoch}`); });
    const header = Buffer.alloc(BATCH_HEADER + 4 * epochs.length);
    let total = 0;
    epochs.forEach((e, i) => { header.writeUInt32BE(e.payload.length, BATCH_HEADER + 4 * i); total += e.payload.length; });
    header.writeUInt32BE(BATCH_MAGIC, 0);
    header.writeDoubleBE(generation, 4);
    header.writeUInt32BE(first.epoch, 12);
    header.writeUInt32BE(epochs.length, 16);
    header.writeUInt32BE(total, 20);
    let crc = crc32c(header.subarray(BATCH_HEADER), crc32c(header.subarray(0, 24)));
    for (const e of epochs) crc = crc32c(e.payload, crc);
    header.writeUInt32BE(crc, 24);
    await this.journal.writev([header, ...epochs.map((e) => e.payload)], 0);
    await this.journal.datasync();
    for (const e of epochs) await writeExtents(backstore, e.extents);
    await backstore.flush();
    await this.record(generation, first.epoch + epochs.length - 1);
  }

  /** Replays a journalled batch that was not recorded yet (after a crash). Returns the position reached. */
  async recover(backstore: Backstore): Promise<AppliedPosition> {
    const position = await this.position();
    const journalled = await this.readJournal();
    if (!journalled) return position;
    const { generation, firstEpoch, payloads } = journalled;
    const successor = (generation === position.generation && firstEpoch === position.epoch + 1)
      || (generation > position.generation && firstEpoch === 1);
    if (!successor) return position;
    for (const payload of payloads) await writeExtents(backstore, decodePayload(payload));
    await backstore.flush();
    const epoch = firstEpoch + payloads.length - 1;
    await this.record(generation, epoch);
    return { generation, epoch };
  }

  async close(): Promise<void> {
    await this.journal.close();
    await this.appliedFile.close();
  }

  /** The journal's record if it is whole (a torn one, from a crash while writing it, is ignored). */
  private async readJournal(): Promise<{ generation: number; firstEpoch: number; payloads: Buffer[] } | undefined> {
    const fixed = Buffer.alloc(BATCH_HEADER);
    const { bytesRead } = await this.journal.read(fixed, 0, BATCH_HEADER, 0);
    if (bytesRead < SINGLE_HEADER) return undefined;
    const magic = fixed.readUInt32BE(0);
    const generation = fixed.readDoubleBE(4);
    const firstEpoch = fixed.readUInt32BE(12);
    if (magic === SINGLE_MAGIC) {
      const payload = await this.readExactly(fixed.readUInt32BE(16), SINGLE_HEADER);
      const whole = payload && crc32c(payload, crc32c(fixed.subarray(0, 20))) === fixed.readUInt32BE(20);
      return whole ? { generation, firstEpoch, payloads: [payload] } : undefined;
    }
    if (magic !== BATCH_MAGIC || bytesRead < BATCH_HEADER) return undefined;
    const count = fixed.readUInt32BE(16);
    const lengths = await this.readExactly(4 * count, BATCH_HEADER);
    const body = lengths && await this.readExactly(fixed.readUInt32BE(20), BATCH_HEADER + lengths.length);
    if (!lengths || !body || crc32c(body, crc32c(lengths, crc32c(fixed.subarray(0, 24)))) !== fixed.readUInt32BE(24)) return undefined;
    const payloads: Buffer[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      const length = lengths.readUInt32BE(4 * i);
      payloads.push(body.subarray(at, at + length));
      at += length;
    }
    return at === body.length ? { generation, firstEpoch, payloads } : undefined;
  }

  /** Lengths come from a header not checked yet: a damaged one must not make us allocate gigabytes. */
  private async readExactly(length: number, position: number): Promise<Buffer | undefined> {
    if (position + length > (await this.journal.stat()).size) return undefined;
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.journal.read(buffer, 0, length, position);
    return bytesRead === length ? buffer : undefined;
  }

  private async record(generation: number, epoch: number): Promise<void> {
    const record = Buffer.alloc(APPLIED_BYTES);
    record.writeUInt32BE(APPLIED_MAGIC, 0);
    record.writeDoubleBE(generation, 4);
    record.writeUInt32BE(epoch, 12);
    record.writeUInt32BE(crc32c(record.subarray(0, 16)), 16);
    await this.appliedFile.write(record, 0, APPLIED_BYTES, 0);
    await this.appliedFile.datasync();
  }
}

/** Writes one epoch's extents in order (no flush: the batch flushes once). */
async function writeExtents(backstore: Backstore, extents: readonly Extent[]): Promise<void> {
  for (const extent of extents) {
    if (extent.data) await backstore.write(extent.offset, [extent.data], { fua: false });
    else if (extent.zeroLength) await backstore.unmap(extent.offset, extent.zeroLength);
  }
}

async function openReadWrite(path: string): Promise<FileHandle> {
  await (await open(path, 'a')).close();
  return open(path, 'r+');
}
