/**
 * COMPARE AND WRITE (SBC-3 §5.2) and ORWRITE(16) (SBC-3 §5.8): read-modify-write under the LU's
 * range lock, so they are atomic against every other writer on any nexus.
 */
import { u32, u64 } from '../cdb.ts';
import { dataOutBuffer } from '../data-out.ts';
import { defineOpcode, good, type ParsedCommand } from '../opcode.ts';
import { invalidCdbField, senseFailure, type SenseFailure } from '../sense.ts';
import { firstMismatch, writeHeld } from './read-write.ts';

/** Matches MAXIMUM COMPARE AND WRITE LENGTH in the Block Limits VPD page. */
export const MAX_COMPARE_AND_WRITE_BLOCKS = 1;

export const compareAndWrite = defineOpcode({
  name: 'COMPARE AND WRITE',
  opcode: 0x89,
  cdbLength: 16,
  usageBits: [0x89, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0x3f, 0x00],
  parse(cdb, unit): ParsedCommand | SenseFailure {
    const flags = cdb[1];
    const lba = u64(cdb, 2);
    const blocks = cdb[13];
    if ((flags & 0xe0) !== 0) return invalidCdbField(1, 7); // WRPROTECT
    if (blocks > MAX_COMPARE_AND_WRITE_BLOCKS) return invalidCdbField(13);
    const blockSize = unit?.blockSize ?? 0;
    const bytes = blocks * blockSize;
    return {
      range: { lba, blocks },
      dataOutBytes: bytes * 2, // verify instance then write instance
      writesMedium: true,
      async run({ unit: lu, command }) {
        // NUMBER OF LOGICAL BLOCKS is one byte: libiscsi's 256 arrives as 0 with 256 blocks of data.
        if (command.dataOutLength !== bytes * 2) return invalidCdbField(13);
        if (blocks === 0) return good();
        const data = dataOutBuffer(command, bytes * 2);
        const expected = data.subarray(0, bytes);
        const replacement = data.subarray(bytes);
        const release = await lu.rangeLock.acquire(lba, blocks);
        try {
          const current = await lu.backstore.read(lba * blockSize, bytes);
          if (!current.equals(expected)) return senseFailure('miscompare-during-verify', { information: firstMismatch(current, expected) });
          await writeHeld(lu, lba, [replacement], (flags & 0x08) !== 0);
        } finally {
          release();
        }
        return good();
      },
    };
  },
});

export const orWrite16 = defineOpcode({
  name: 'ORWRITE(16)',
  opcode: 0x8b,
  cdbLength: 16,
  usageBits: [0x8b, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00],
  parse(cdb, unit): ParsedCommand | SenseFailure {
    const flags = cdb[1];
    const lba = u64(cdb, 2);
    const blocks = u32(cdb, 10);
    if ((flags & 0xe0) !== 0) return invalidCdbField(1, 7); // ORPROTECT
    const blockSize = unit?.blockSize ?? 0;
    const bytes = blocks * blockSize;
    if (bytes > 8 * 1024 * 1024) return invalidCdbField(10);
    return {
      range: { lba, blocks },
      dataOutBytes: bytes,
      writesMedium: true,
      async run({ unit: lu, command }) {
        if (blocks === 0) return good();
        const mask = dataOutBuffer(command, bytes);
        const release = await lu.rangeLock.acquire(lba, blocks);
        try {
          const current = await lu.backstore.read(lba * blockSize, bytes);
          for (let i = 0; i < bytes; i++) current[i] |= mask[i];
          await writeHeld(lu, lba, [current], (flags & 0x08) !== 0);
        } finally {
          release();
        }
        return good();
      },
    };
  },
});
