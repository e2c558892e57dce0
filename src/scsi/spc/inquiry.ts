/** INQUIRY (SPC-4 §6.6): standard data and VPD pages; peripheral qualifier 3 for absent LUNs. */
import { u16 } from '../cdb.ts';
import type { LogicalUnit } from '../logical-unit.ts';
import { defineOpcode, goodData } from '../opcode.ts';
import { invalidCdbField } from '../sense.ts';
import { VPD_PAGES, vpdPageOffered } from './vpd-pages.ts';

const STANDARD_LENGTH = 96;
const VERSION_DESCRIPTORS = [0x00a0 /* SAM-5 */, 0x0960 /* iSCSI */, 0x0460 /* SPC-4 */, 0x04c0 /* SBC-3 */];

function padded(text: string, length: number): Buffer {
  const out = Buffer.alloc(length, 0x20);
  out.write(text.slice(0, length), 'ascii');
  return out;
}

export function standardInquiry(unit: LogicalUnit | undefined, features: { alua: boolean; extendedCopy: boolean }): Buffer {
  const data = Buffer.alloc(STANDARD_LENGTH);
  // No LU at this LUN: qualifier 3 (not capable of supporting a device), type 0x1f (SPC-4 §6.6.2).
  data[0] = unit ? 0x00 : 0x7f;
  data[1] = unit?.removable ? 0x80 : 0x00; // RMB: removable medium
  data[2] = 0x06; // VERSION: SPC-4
  data[3] = 0x12; // HISUP=1, RESPONSE DATA FORMAT=2
  data[4] = STANDARD_LENGTH - 5;
  data[5] = (features.alua ? 0x10 : 0x00) | (features.extendedCopy ? 0x08 : 0x00); // TPGS=01 implicit ALUA; 3PC
  data[7] = 0x02; // CMDQUE
  padded(unit?.vendor ?? 'ISCSISIM', 8).copy(data, 8);
  padded(unit?.product ?? 'iscsi-sim', 16).copy(data, 16);
  padded(unit?.revision ?? '0001', 4).copy(data, 32);
  VERSION_DESCRIPTORS.forEach((d, i) => data.writeUInt16BE(d, 58 + i * 2));
  return data;
}

export const inquiry = defineOpcode({
  name: 'INQUIRY',
  opcode: 0x12,
  cdbLength: 6,
  usageBits: [0x12, 0x01, 0xff, 0xff, 0xff, 0x00],
  reservation: 'allowed',
  access: 'none',
  withoutUnit: true,
  servedWhenNotReady: 'always',
  unitAttentionExempt: true,
  parse(cdb) {
    const evpd = (cdb[1] & 0x01) !== 0;
    const pageCode = cdb[2];
    const allocationLength = u16(cdb, 3);
    if ((cdb[1] & 0x02) !== 0) return invalidCdbField(1, 1); // CMDDT is obsolete
    if (!evpd && pageCode !== 0) return invalidCdbField(2);
    if (evpd && !VPD_PAGES.has(pageCode)) return invalidCdbField(2);
    return {
      run({ unit, target, command }) {
        if (!evpd) return goodData(standardInquiry(unit, target), allocationLength);
        if (!vpdPageOffered(pageCode, target)) return invalidCdbField(2);
        const data = VPD_PAGES.get(pageCode)!(unit, target, command.nexus.portalGroupTag);
        return goodData(data, allocationLength);
      },
    };
  },
});
