/**
 * WRITE ATOMIC(16) (SBC-4 §5.48): the write holds the LU's range lock, so no other write, COMPARE
 * AND WRITE or ORWRITE on any nexus interleaves with it. Limits match the Block Limits VPD page.
 */
import { u16, u64 } from '../cdb.ts';
import { dataOutChunks } from '../data-out.ts';
import { defineOpcode, good, type ParsedCommand } from '../opcode.ts';
import { invalidCdbField, type SenseFailure } from '../sense.ts';
import { MAX_ATOMIC_TRANSFER_BYTES } from '../spc/vpd-pages.ts';
import { writeBlocks } from './read-write.ts';

export const writeAtomic16 = defineOpcode({
  name: 'WRITE ATOMIC(16)',
  opcode: 0x9c,
  cdbLength: 16,
  usageBits: [0x9c, 0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0xff, 0xff, 0x3f, 0x00],
  parse(cdb, unit): ParsedCommand | SenseFailure {
    const flags = cdb[1];
    const lba = u64(cdb, 2);
    const blocks = u16(cdb, 12);
    if ((flags & 0xe0) !== 0) return invalidCdbField(1, 7); // WRPROTECT
    const blockSize = unit?.blockSize ?? 0;
    const bytes = blocks * blockSize;
    return {
      range: { lba, blocks },
      afterRangeCheck: bytes > MAX_ATOMIC_TRANSFER_BYTES ? invalidCdbField(12) : undefined,
      dataOutBytes: bytes,
      exactDataOut: true,
      writesMedium: true,
      async run(context) {
        await writeBlocks(context, lba, dataOutChunks(context.command, bytes), (flags & 0x08) !== 0);
        return good();
      },
    };
  },
});
