/**
 * CDBs and parameter lists for the SCSI feature tests, written from SBC-4 / SPC-4 independently of
 * src/scsi, plus decoders for the answers the tests check. Sent through the raw test initiator
 * (test/support/iscsi-wire/session.ts) where no installed tool issues the command.
 */

/** SBC-4 §5.29 UNMAP: one block descriptor. */
export function unmap(lba: number, blocks: number): { cdb: Buffer; out: Buffer } {
  const out = Buffer.alloc(24);
  out.writeUInt16BE(22, 0); // UNMAP DATA LENGTH (n - 1)
  out.writeUInt16BE(16, 2); // UNMAP BLOCK DESCRIPTOR DATA LENGTH
  out.writeBigUInt64BE(BigInt(lba), 8);
  out.writeUInt32BE(blocks, 16);
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x42;
  cdb.writeUInt16BE(out.length, 7);
  return { cdb, out };
}

/** SBC-4 §5.6 GET LBA STATUS (SERVICE ACTION IN(16), service action 0x12). */
export function getLbaStatus(lba: number, allocationLength: number): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x9e;
  cdb[1] = 0x12;
  cdb.writeBigUInt64BE(BigInt(lba), 2);
  cdb.writeUInt32BE(allocationLength, 10);
  return cdb;
}

export interface LbaStatusDescriptor {
  readonly lba: number;
  readonly blocks: number;
  /** SBC-4 Table 52: 0 mapped, 1 deallocated, 2 anchored. */
  readonly provisioning: number;
}

export function parseLbaStatus(data: Buffer): LbaStatusDescriptor[] {
  const length = Math.min(data.length, 4 + data.readUInt32BE(0));
  const descriptors: LbaStatusDescriptor[] = [];
  for (let at = 8; at + 16 <= length; at += 16) {
    descriptors.push({ lba: Number(data.readBigUInt64BE(at)), blocks: data.readUInt32BE(at + 8), provisioning: data[at + 12] & 0x0f });
  }
  return descriptors;
}

/** SBC-4 §5.3 COMPARE AND WRITE: `verify` then `write`, each `blocks` blocks, in one Data-Out. */
export function compareAndWrite(lba: number, verify: Buffer, write: Buffer, blocks = 1): { cdb: Buffer; out: Buffer } {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x89;
  cdb.writeBigUInt64BE(BigInt(lba), 2);
  cdb[13] = blocks;
  return { cdb, out: Buffer.concat([verify, write]) };
}

export const PrOut = { Register: 0, Reserve: 1, Release: 2 } as const;
export const PrIn = { ReadKeys: 0, ReadReservation: 1 } as const;
export const PR_TYPE_WRITE_EXCLUSIVE = 1;

/** SPC-4 §6.16 PERSISTENT RESERVE OUT with the basic 24-byte parameter list (§6.16.3). */
export function persistentReserveOut(
  serviceAction: number, f: { key?: bigint; serviceActionKey?: bigint; type?: number; aptpl?: boolean },
): { cdb: Buffer; out: Buffer } {
  const out = Buffer.alloc(24);
  out.writeBigUInt64BE(f.key ?? 0n, 0);
  out.writeBigUInt64BE(f.serviceActionKey ?? 0n, 8);
  out[20] = f.aptpl === true ? 0x01 : 0;
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5f;
  cdb[1] = serviceAction & 0x1f;
  cdb[2] = f.type ?? 0; // scope 0 (LU_SCOPE) in the high nibble
  cdb.writeUInt32BE(out.length, 5);
  return { cdb, out };
}

/** SPC-4 §6.15 PERSISTENT RESERVE IN. */
export function persistentReserveIn(serviceAction: number, allocationLength = 1024): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5e;
  cdb[1] = serviceAction & 0x1f;
  cdb.writeUInt16BE(allocationLength, 7);
  return cdb;
}

/** READ KEYS data (SPC-4 §6.15.2): the registered keys. */
export function parseReadKeys(data: Buffer): bigint[] {
  const end = Math.min(data.length, 8 + data.readUInt32BE(4));
  const keys: bigint[] = [];
  for (let at = 8; at + 8 <= end; at += 8) keys.push(data.readBigUInt64BE(at));
  return keys;
}

/** READ RESERVATION data (SPC-4 §6.15.3): undefined when no reservation is held. */
export function parseReadReservation(data: Buffer): { key: bigint; type: number } | undefined {
  if (data.readUInt32BE(4) < 16) return undefined;
  return { key: data.readBigUInt64BE(8), type: data[21] & 0x0f };
}

/** Sense key and ASC/ASCQ of fixed-format sense data (SPC-4 §4.5.3). */
export function senseOf(sense: Buffer): { key: number; asc: number; ascq: number } {
  return { key: sense[2] & 0x0f, asc: sense[12], ascq: sense[13] };
}

export const SENSE_KEY_MISCOMPARE = 0x0e;
export const STATUS_GOOD = 0x00;
export const STATUS_CHECK_CONDITION = 0x02;
export const STATUS_RESERVATION_CONFLICT = 0x18;
