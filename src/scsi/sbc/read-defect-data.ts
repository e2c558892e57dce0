/** READ DEFECT DATA(10/12) (SBC-3 §5.16-5.17): a file has no grown or primary defects to report. */
import { u16, u32 } from '../cdb.ts';
import { defineOpcode, goodData } from '../opcode.ts';

export const readDefectData10 = defineOpcode({
  name: 'READ DEFECT DATA(10)',
  opcode: 0x37,
  cdbLength: 10,
  usageBits: [0x37, 0x00, 0x1f, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0x00],
  access: 'read',
  parse(cdb) {
    const flags = cdb[2] & 0x1f; // REQ_PLIST, REQ_GLIST, DEFECT LIST FORMAT
    const allocationLength = u16(cdb, 7);
    return {
      run() {
        const data = Buffer.alloc(4);
        data[1] = flags; // PLISTV/GLISTV: the (empty) lists asked for are valid
        return goodData(data, allocationLength);
      },
    };
  },
});

export const readDefectData12 = defineOpcode({
  name: 'READ DEFECT DATA(12)',
  opcode: 0xb7,
  cdbLength: 12,
  usageBits: [0xb7, 0x1f, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  access: 'read',
  parse(cdb) {
    const flags = cdb[1] & 0x1f;
    const allocationLength = u32(cdb, 6);
    return {
      run() {
        const data = Buffer.alloc(8);
        data[1] = flags;
        return goodData(data, allocationLength);
      },
    };
  },
});
