/**
 * SERVICE ACTION IN(16) / GET LBA STATUS (SBC-3 §5.7): mapped and deallocated extents from the
 * backing file's data/hole map (SEEK_DATA/SEEK_HOLE), starting exactly at the requested LBA.
 */
import { u32, u64 } from '../cdb.ts';
import { defineOpcode, goodData } from '../opcode.ts';
import { MAX_TRANSFER_BYTES } from '../spc/vpd-pages.ts';

const HEADER = 8;
const DESCRIPTOR = 16;
/** How far one answer looks ahead: enough for QEMU's block-status queries, cheap to compute. */
const SCAN_BYTES = 4 * MAX_TRANSFER_BYTES;
const WINDOW_BYTES = 8 * 1024 * 1024;

export const getLbaStatus = defineOpcode({
  name: 'GET LBA STATUS',
  opcode: 0x9e,
  serviceAction: 0x12,
  cdbLength: 16,
  usageBits: [0x9e, 0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  access: 'read',
  parse(cdb) {
    const lba = u64(cdb, 2);
    const allocationLength = u32(cdb, 10);
    return {
      range: { lba, blocks: 1 }, // the starting LBA itself must exist
      async run({ unit }) {
        const maxDescriptors = Math.max(1, Math.floor((allocationLength - HEADER) / DESCRIPTOR));
        const blockSize = unit.blockSize;
        const descriptors: Buffer[] = [];
        let next = lba;
        let scanned = 0;
        // Scan in windows so a fragmented file costs work proportional to the descriptors asked for.
        while (next < unit.blocks && scanned < SCAN_BYTES && descriptors.length <= maxDescriptors) {
          const start = next * blockSize;
          const length = Math.min(unit.backstore.sizeBytes - start, WINDOW_BYTES);
          scanned += length;
          let full = false;
          for (const extent of await unit.backstore.allocation(start, length)) {
            const end = Math.min(unit.blocks, Math.ceil((extent.offset + extent.length) / blockSize));
            if (end <= next) continue;
            const status = extent.mapped ? 0 : 1; // 0 mapped, 1 deallocated
            const previous = descriptors.at(-1);
            if (previous && previous[12] === status) {
              previous.writeUInt32BE(previous.readUInt32BE(8) + (end - next), 8);
            } else if (descriptors.length >= maxDescriptors) {
              full = true;
              break;
            } else {
              const d = Buffer.alloc(DESCRIPTOR);
              d.writeBigUInt64BE(BigInt(next), 0);
              d.writeUInt32BE(end - next, 8);
              d[12] = status;
              descriptors.push(d);
            }
            next = end;
          }
          if (full) break;
        }
        const header = Buffer.alloc(HEADER);
        header.writeUInt32BE(HEADER - 4 + descriptors.length * DESCRIPTOR, 0);
        return goodData(Buffer.concat([header, ...descriptors]), allocationLength);
      },
    };
  },
});
