/** READ CAPACITY(10) and SERVICE ACTION IN(16) / READ CAPACITY(16) — SBC-3 §5.15, §5.16. */
import { u32 } from '../cdb.ts';
import { defineOpcode, goodData } from '../opcode.ts';
import { invalidCdbField } from '../sense.ts';

export const readCapacity10 = defineOpcode({
  name: 'READ CAPACITY(10)',
  opcode: 0x25,
  cdbLength: 10,
  access: 'none',
  usageBits: [0x25, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x01, 0x00],
  parse(cdb) {
    const pmi = (cdb[8] & 0x01) !== 0;
    if (!pmi && u32(cdb, 2) !== 0) return invalidCdbField(2); // LBA must be 0 without PMI
    return {
      run({ unit }) {
        const data = Buffer.alloc(8);
        // Capacities beyond 32 bits report 0xffffffff: the initiator must use READ CAPACITY(16).
        data.writeUInt32BE(Math.min(unit.blocks - 1, 0xffffffff), 0);
        data.writeUInt32BE(unit.blockSize, 4);
        return goodData(data, 8);
      },
    };
  },
});

export const readCapacity16 = defineOpcode({
  name: 'READ CAPACITY(16)',
  opcode: 0x9e,
  serviceAction: 0x10,
  cdbLength: 16,
  access: 'none',
  usageBits: [0x9e, 0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00],
  parse(cdb) {
    const allocationLength = u32(cdb, 10);
    return {
      run({ unit }) {
        const data = Buffer.alloc(32);
        data.writeBigUInt64BE(BigInt(unit.blocks - 1), 0);
        data.writeUInt32BE(unit.blockSize, 8);
        // LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT (512e: 3), LOWEST ALIGNED LBA 0. A personality
        // setting, 0 by default: libiscsi's GetLBAStatus.UnmapSingle is wrong for LBPPB > 1 (README).
        data[13] = unit.physicalBlockExponent;
        // LBPME: thin provisioning; LBPRZ: unmapped blocks read as zeros (holes do).
        if (unit.thinProvisioning) data[14] = 0x80 | 0x40;
        return goodData(data, allocationLength);
      },
    };
  },
});
