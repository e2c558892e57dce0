/** Small CDB field decoders (SBC-3/SPC-4 CDB layouts). */

/** 6-byte CDB LBA: 21 bits in bytes 1..3. */
export function lba21(cdb: Buffer): number {
  return ((cdb[1] & 0x1f) << 16) | (cdb[2] << 8) | cdb[3];
}

export function u16(cdb: Buffer, offset: number): number {
  return cdb.readUInt16BE(offset);
}

export function u32(cdb: Buffer, offset: number): number {
  return cdb.readUInt32BE(offset);
}

/**
 * 64-bit field as a number. Values beyond 2^53 become Infinity-like large numbers: they only ever
 * get compared with a capacity, where any such value is out of range anyway.
 */
export function u64(cdb: Buffer, offset: number): number {
  return Number(cdb.readBigUInt64BE(offset));
}
