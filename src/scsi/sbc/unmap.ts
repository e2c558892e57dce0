/** UNMAP (SBC-3 §5.28): deallocates (punches holes for) each block descriptor's range. */
import { u16 } from '../cdb.ts';
import { dataOutBuffer } from '../data-out.ts';
import type { LogicalUnit } from '../logical-unit.ts';
import { defineOpcode, good } from '../opcode.ts';
import { invalidCdbField, invalidParameterField, senseFailure } from '../sense.ts';
import { MAX_UNMAP_BLOCKS, MAX_UNMAP_DESCRIPTORS } from '../spc/vpd-pages.ts';

const HEADER = 8;
const DESCRIPTOR = 16;

/** Deallocates blocks under the LU's range lock (UNMAP, WRITE SAME with UNMAP=1). */
export async function unmapBlocks(unit: LogicalUnit, lba: number, blocks: number): Promise<void> {
  const release = await unit.rangeLock.acquire(lba, blocks);
  try {
    await unit.backstore.unmap(lba * unit.blockSize, blocks * unit.blockSize);
  } finally {
    release();
  }
}

export const unmap = defineOpcode({
  name: 'UNMAP',
  opcode: 0x42,
  cdbLength: 10,
  usageBits: [0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3f, 0xff, 0xff, 0x00],
  timeoutSeconds: 120,
  parse(cdb, unit) {
    const length = u16(cdb, 7);
    if (!unit?.thinProvisioning) return senseFailure('invalid-opcode'); // LBPU=0: UNMAP is not offered
    if ((cdb[1] & 0x01) !== 0) return invalidCdbField(1, 0); // ANCHOR
    if (length > 0 && length < HEADER) return senseFailure('parameter-list-length-error');
    return {
      dataOutBytes: length,
      writesMedium: true,
      async run(context) {
        if (length === 0) return good();
        const { unit } = context;
        const list = dataOutBuffer(context.command, length);
        const descriptorBytes = Math.min(list.readUInt16BE(2), length - HEADER);
        const count = Math.floor(descriptorBytes / DESCRIPTOR);
        if (count > MAX_UNMAP_DESCRIPTORS) return invalidParameterField(2);
        const ranges: Array<{ lba: number; blocks: number }> = [];
        let total = 0;
        for (let i = 0; i < count; i++) {
          const at = HEADER + i * DESCRIPTOR;
          const lba = Number(list.readBigUInt64BE(at));
          const blocks = list.readUInt32BE(at + 8);
          if (lba + blocks > unit.blocks) return senseFailure('lba-out-of-range');
          total += blocks;
          if (blocks > 0) ranges.push({ lba, blocks });
        }
        if (total > MAX_UNMAP_BLOCKS) return invalidParameterField(HEADER + 8);
        for (const { lba, blocks } of ranges) await unmapBlocks(unit, lba, blocks);
        return good();
      },
    };
  },
});
