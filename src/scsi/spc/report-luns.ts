/** REPORT LUNS (SPC-4 §6.33): served even when the addressed LUN does not exist. */
import { u32 } from '../cdb.ts';
import { defineOpcode, goodData, type TargetContext } from '../opcode.ts';
import { invalidCdbField } from '../sense.ts';

/** SAM-5 §4.7: peripheral device addressing below 256, flat space addressing up to 16383. */
export function encodeLun(lun: number): Buffer {
  const out = Buffer.alloc(8);
  if (lun < 256) out[1] = lun;
  else out.writeUInt16BE(0x4000 | (lun & 0x3fff), 0);
  return out;
}

export function reportLunsData(target: TargetContext): Buffer {
  const data = Buffer.alloc(8 + target.luns.length * 8);
  data.writeUInt32BE(target.luns.length * 8, 0);
  target.luns.forEach((lun, i) => encodeLun(lun).copy(data, 8 + i * 8));
  return data;
}

export const reportLuns = defineOpcode({
  name: 'REPORT LUNS',
  opcode: 0xa0,
  cdbLength: 12,
  usageBits: [0xa0, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  reservation: 'allowed',
  access: 'none',
  withoutUnit: true,
  servedWhenNotReady: 'always',
  unitAttentionExempt: true,
  parse(cdb) {
    const selectReport = cdb[2];
    const allocationLength = u32(cdb, 6);
    // 0 = LUs, 1 = well-known LUs (we have none), 2 = all
    if (selectReport > 2) return invalidCdbField(2);
    if (allocationLength < 16) return invalidCdbField(6);
    return {
      run: ({ target }) => goodData(selectReport === 1 ? reportLunsData({ ...target, luns: [] }) : reportLunsData(target), allocationLength),
    };
  },
});
