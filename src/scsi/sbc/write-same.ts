/**
 * WRITE SAME(10/16) (SBC-3 §5.42-5.43): one block of Data-Out repeated over the range, written as
 * repeated views of one pattern buffer. With UNMAP=1 on a thin-provisioned LU the range is
 * deallocated whatever the block holds (as LIO does; LBPRZ=1 says it then reads back as zeros).
 */
import { u16, u32, u64 } from '../cdb.ts';
import { dataOutBuffer } from '../data-out.ts';
import { defineOpcode, good, type ExecutionContext, type OpcodeDescriptor, type ParsedCommand } from '../opcode.ts';
import { invalidCdbField, senseFailure, type SenseFailure } from '../sense.ts';
import { MAX_WRITE_SAME_BYTES } from '../spc/vpd-pages.ts';
import { writeBlocks } from './read-write.ts';
import { unmapBlocks } from './unmap.ts';

const PATTERN_BYTES = 256 * 1024;
const CHUNKS_PER_WRITE = 64;

async function writeRepeated(context: ExecutionContext, lba: number, blocks: number, block: Buffer): Promise<void> {
  const { unit } = context;
  const perPattern = Math.max(1, Math.floor(PATTERN_BYTES / unit.blockSize));
  const pattern = Buffer.alloc(perPattern * unit.blockSize);
  for (let i = 0; i < perPattern; i++) block.copy(pattern, i * unit.blockSize);
  let next = lba;
  const end = lba + blocks;
  // Bounded: each round writes at least one block.
  while (next < end) {
    const chunks: Buffer[] = [];
    const start = next;
    while (chunks.length < CHUNKS_PER_WRITE && next < end) {
      const n = Math.min(perPattern, end - next);
      chunks.push(pattern.subarray(0, n * unit.blockSize));
      next += n;
    }
    await writeBlocks(context, start, chunks, false);
  }
}

function writeSame(opcode: number, sixteen: boolean, usageBits: number[]): OpcodeDescriptor {
  return defineOpcode({
    name: `WRITE SAME(${sixteen ? 16 : 10})`, opcode, cdbLength: sixteen ? 16 : 10, usageBits,
    timeoutSeconds: 120,
    parse(cdb, unit): ParsedCommand | SenseFailure {
      const flags = cdb[1];
      const lba = sixteen ? u64(cdb, 2) : u32(cdb, 2);
      let blocks = sixteen ? u32(cdb, 10) : u16(cdb, 7);
      const unmap = (flags & 0x08) !== 0;
      const ndob = sixteen && (flags & 0x01) !== 0;
      if ((flags & 0xe0) !== 0) return invalidCdbField(1, 7); // WRPROTECT
      if ((flags & 0x10) !== 0) return invalidCdbField(1, 4); // ANCHOR: anchored LBAs unsupported
      if ((flags & 0x06) !== 0) return invalidCdbField(1, 2); // PBDATA/LBDATA (obsolete)
      if (!unit) return invalidCdbField(0);
      if (unmap && !unit.thinProvisioning) return invalidCdbField(1, 3);
      if (lba > unit.blocks) return senseFailure('lba-out-of-range');
      // NUMBER OF LOGICAL BLOCKS 0: through the last LBA (WSNZ=0 in the Block Limits page).
      if (blocks === 0) blocks = unit.blocks - lba;
      const blockSize = unit.blockSize;
      return {
        range: { lba, blocks },
        afterRangeCheck: blocks * blockSize > MAX_WRITE_SAME_BYTES ? invalidCdbField(sixteen ? 10 : 7) : undefined,
        dataOutBytes: ndob ? 0 : blockSize,
        exactDataOut: true,
        writesMedium: true,
        async run(context) {
          if (blocks === 0) return good();
          if (unmap) {
            await unmapBlocks(context.unit, lba, blocks);
            return good();
          }
          const block = ndob ? Buffer.alloc(blockSize) : dataOutBuffer(context.command, blockSize);
          await writeRepeated(context, lba, blocks, block);
          return good();
        },
      };
    },
  });
}

export const writeSameOpcodes: readonly OpcodeDescriptor[] = [
  writeSame(0x41, false, [0x41, 0x08, 0xff, 0xff, 0xff, 0xff, 0x3f, 0xff, 0xff, 0x00]),
  writeSame(0x93, true, [0x93, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f, 0x00]),
];
