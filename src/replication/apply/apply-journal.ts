/**
 * Crash-safe apply of epochs on the replica: journal → fdatasync → write → fdatasync → record N.
 * A crash anywhere leaves the replica at an epoch boundary: before the journal is durable nothing
 * happened; after it, recovery replays the journalled epoch (writes are absolute, so replaying is
 * idempotent) and records it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32c } from '@node-rs/crc32';
import type { Backstore } from '../../storage/backstore.ts';
import { extentLength } from '../capture/open-epoch.ts';
import { decodePayload } from '../pipeline/payload.ts';

const JOURNAL_MAGIC = 0x49534a4c; // 'ISJL'
const APPLIED_MAGIC = 0x49534150; // 'ISAP'
const JOURNAL_HEADER = 24;
const APPLIED_BYTES = 20;

export interface AppliedPosition {
  readonly generation: number;
  readonly epoch: number;
}

export class ApplyJournal {
  private constructor(private readonly journal: FileHandle, private readonly appliedFile: FileHandle) {}

  static async open(basePath: string): Promise<ApplyJournal> {
    return new ApplyJournal(await openReadWrite(`${basePath}.journal`), await openReadWrite(`${basePath}.applied`));
  }

  async position(): Promise<AppliedPosition> {
    const record = Buffer.alloc(APPLIED_BYTES);
    const { bytesRead } = await this.appliedFile.read(record, 0, APPLIED_BYTES, 0);
    if (bytesRead < APPLIED_BYTES || record.readUInt32BE(0) !== APPLIED_MAGIC) return { generation: 0, epoch: 0 };
    if (crc32c(record.subarray(0, 16)) !== record.readUInt32BE(16)) return { generation: 0, epoch: 0 };
    return { generation: record.readDoubleBE(4), epoch: record.readUInt32BE(12) };
  }

  /** Applies one epoch durably; `payload` is the encoded epoch exactly as it came from Redis. */
  async apply(backstore: Backstore, generation: number, epoch: number, payload: Buffer): Promise<void> {
    const extents = decodePayload(payload);
    for (const extent of extents) {
      const length = extentLength(extent);
      if (extent.offset + length > backstore.sizeBytes) throw new Error(`epoch ${epoch} writes beyond the replica (${extent.offset}+${length})`);
    }
    const header = Buffer.alloc(JOURNAL_HEADER);
    header.writeUInt32BE(JOURNAL_MAGIC, 0);
    header.writeDoubleBE(generation, 4);
    header.writeUInt32BE(epoch, 12);
    header.writeUInt32BE(payload.length, 16);
    header.writeUInt32BE(crc32c(payload, crc32c(header.subarray(0, 20))), 20);
    await this.journal.writev([header, payload], 0);
    await this.journal.datasync();
    await writeExtents(backstore, payload);
    await this.record(generation, epoch);
  }

  /** Replays a journalled epoch that was not recorded yet (after a crash). Returns the position reached. */
  async recover(backstore: Backstore): Promise<AppliedPosition> {
    const position = await this.position();
    const header = Buffer.alloc(JOURNAL_HEADER);
    const { bytesRead } = await this.journal.read(header, 0, JOURNAL_HEADER, 0);
    if (bytesRead < JOURNAL_HEADER || header.readUInt32BE(0) !== JOURNAL_MAGIC) return position;
    const generation = header.readDoubleBE(4);
    const epoch = header.readUInt32BE(12);
    const successor = (generation === position.generation && epoch === position.epoch + 1)
      || (generation > position.generation && epoch === 1);
    if (!successor) return position;
    const payload = Buffer.alloc(header.readUInt32BE(16));
    const read = await this.journal.read(payload, 0, payload.length, JOURNAL_HEADER);
    if (read.bytesRead < payload.length || crc32c(payload, crc32c(header.subarray(0, 20))) !== header.readUInt32BE(20)) return position;
    await writeExtents(backstore, payload);
    await this.record(generation, epoch);
    return { generation, epoch };
  }

  async close(): Promise<void> {
    await this.journal.close();
    await this.appliedFile.close();
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

async function writeExtents(backstore: Backstore, payload: Buffer): Promise<void> {
  for (const extent of decodePayload(payload)) {
    if (extent.data) await backstore.write(extent.offset, [extent.data], { fua: false });
    else if (extent.zeroLength) await backstore.unmap(extent.offset, extent.zeroLength);
  }
  await backstore.flush();
}

async function openReadWrite(path: string): Promise<FileHandle> {
  await (await open(path, 'a')).close();
  return open(path, 'r+');
}
