/** CDB builders for tests (libiscsi scsi_cdb_* style). */

export function cdbRead10(o: { lba: number; blocks: number; fua?: boolean }): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x28;
  cdb[1] = o.fua ? 0x08 : 0;
  cdb.writeUInt32BE(o.lba, 2);
  cdb.writeUInt16BE(o.blocks, 7);
  return cdb;
}

export function cdbWrite10(o: { lba: number; blocks: number; fua?: boolean }): Buffer {
  const cdb = cdbRead10(o);
  cdb[0] = 0x2a;
  return cdb;
}

export function cdbRead16(o: { lba: number; blocks: number }): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x88;
  cdb.writeBigUInt64BE(BigInt(o.lba), 2);
  cdb.writeUInt32BE(o.blocks, 10);
  return cdb;
}

export function cdbWrite16(o: { lba: number; blocks: number }): Buffer {
  const cdb = cdbRead16(o);
  cdb[0] = 0x8a;
  return cdb;
}

export function cdbVerify10(o: { lba: number; blocks: number; bytchk?: number }): Buffer {
  const cdb = cdbRead10(o);
  cdb[0] = 0x2f;
  cdb[1] = (o.bytchk ?? 0) << 1;
  return cdb;
}

export function cdbInquiry(o: { evpd?: boolean; page?: number; allocationLength?: number } = {}): Buffer {
  const cdb = Buffer.alloc(6);
  cdb[0] = 0x12;
  cdb[1] = o.evpd ? 1 : 0;
  cdb[2] = o.page ?? 0;
  cdb.writeUInt16BE(o.allocationLength ?? 255, 3);
  return cdb;
}

export function cdbReadCapacity16(allocationLength = 32): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x9e;
  cdb[1] = 0x10;
  cdb.writeUInt32BE(allocationLength, 10);
  return cdb;
}

export function cdbModeSense6(o: { page: number; pc?: number; dbd?: boolean; allocationLength?: number }): Buffer {
  return Buffer.from([0x1a, o.dbd ? 0x08 : 0, ((o.pc ?? 0) << 6) | o.page, 0, o.allocationLength ?? 255, 0]);
}

export function cdbModeSelect6(length: number): Buffer {
  return Buffer.from([0x15, 0x10, 0, 0, length, 0]);
}

export function cdbReportSupportedOpcodes(o: { options: number; opcode?: number; serviceAction?: number; rctd?: boolean; allocationLength?: number }): Buffer {
  const cdb = Buffer.alloc(12);
  cdb[0] = 0xa3;
  cdb[1] = 0x0c;
  cdb[2] = (o.rctd ? 0x80 : 0) | o.options;
  cdb[3] = o.opcode ?? 0;
  cdb.writeUInt16BE(o.serviceAction ?? 0, 4);
  cdb.writeUInt32BE(o.allocationLength ?? 65535, 6);
  return cdb;
}

export function cdbReportLuns(allocationLength = 4096): Buffer {
  const cdb = Buffer.alloc(12);
  cdb[0] = 0xa0;
  cdb.writeUInt32BE(allocationLength, 6);
  return cdb;
}

export const CDB_TEST_UNIT_READY = Buffer.alloc(6);
export const CDB_RESERVE6 = Buffer.from([0x16, 0, 0, 0, 0, 0]);
export const CDB_RELEASE6 = Buffer.from([0x17, 0, 0, 0, 0, 0]);
export const CDB_SYNCHRONIZE_CACHE10 = Buffer.from([0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0]);

export function cdbPrOut(o: { serviceAction: number; type?: number; length?: number }): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5f;
  cdb[1] = o.serviceAction;
  cdb[2] = o.type ?? 0;
  cdb.writeUInt32BE(o.length ?? 24, 5);
  return cdb;
}

export function prOutParameters(o: { key?: bigint; serviceActionKey?: bigint; aptpl?: boolean }): Buffer {
  const list = Buffer.alloc(24);
  list.writeBigUInt64BE(o.key ?? 0n, 0);
  list.writeBigUInt64BE(o.serviceActionKey ?? 0n, 8);
  list[20] = o.aptpl ? 1 : 0;
  return list;
}

export function cdbPrIn(serviceAction: number, allocationLength = 1024): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x5e;
  cdb[1] = serviceAction;
  cdb.writeUInt16BE(allocationLength, 7);
  return cdb;
}

export function cdbCompareAndWrite(o: { lba: number; blocks: number }): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x89;
  cdb.writeBigUInt64BE(BigInt(o.lba), 2);
  cdb[13] = o.blocks;
  return cdb;
}

export function cdbUnmap(length: number): Buffer {
  const cdb = Buffer.alloc(10);
  cdb[0] = 0x42;
  cdb.writeUInt16BE(length, 7);
  return cdb;
}

export function unmapParameters(ranges: ReadonlyArray<{ lba: number; blocks: number }>): Buffer {
  const list = Buffer.alloc(8 + ranges.length * 16);
  list.writeUInt16BE(list.length - 2, 0);
  list.writeUInt16BE(ranges.length * 16, 2);
  ranges.forEach((r, i) => {
    list.writeBigUInt64BE(BigInt(r.lba), 8 + i * 16);
    list.writeUInt32BE(r.blocks, 16 + i * 16);
  });
  return list;
}

export function cdbGetLbaStatus(lba: number, allocationLength = 1024): Buffer {
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x9e;
  cdb[1] = 0x12;
  cdb.writeBigUInt64BE(BigInt(lba), 2);
  cdb.writeUInt32BE(allocationLength, 10);
  return cdb;
}
