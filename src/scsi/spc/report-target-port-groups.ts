/**
 * MAINTENANCE IN / REPORT TARGET PORT GROUPS (SPC-4 §6.37): implicit ALUA with one target port
 * group per iSCSI portal group, every group active/optimized (all paths are equal here), one
 * target port per group whose relative port identifier is the portal group tag.
 *
 * PREF stays 0: no group is preferred over another, and byte 0 is then 00h, which reads as
 * active/optimized however it is decoded. libiscsi decodes it through a bit-field struct
 * (include/scsi-lowlevel.h `struct scsi_target_port_group`: pref:1, rtpg_fmt:3, alua_state:4), which
 * GCC on little-endian machines fills from bit 0, so it takes bits 7-4 as the access state: PREF=1
 * read as state 8h (not a defined state) in its ReportTargetPortGroups.Simple.
 */
import { u32 } from '../cdb.ts';
import { defineOpcode, goodData } from '../opcode.ts';
import { invalidCdbField } from '../sense.ts';

export const reportTargetPortGroups = defineOpcode({
  name: 'REPORT TARGET PORT GROUPS',
  opcode: 0xa3,
  serviceAction: 0x0a,
  cdbLength: 12,
  servedWhenNotReady: 'without-medium',
  usageBits: [0xa3, 0x2a, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00],
  reservation: 'allowed',
  access: 'none',
  parse(cdb) {
    const format = cdb[1] >> 5; // 000b length only, 001b extended header
    const allocationLength = u32(cdb, 6);
    if (format > 1) return invalidCdbField(1, 7);
    return {
      run({ target }) {
        const groups = target.portalGroups().map((tag) => {
          const d = Buffer.alloc(12);
          d[0] = 0x00; // PREF=0, ASYMMETRIC ACCESS STATE 0h: active/optimized
          d[1] = 0x01; // AO_SUP
          d.writeUInt16BE(tag, 2);
          d[7] = 1; // TARGET PORT COUNT
          d.writeUInt16BE(tag, 10); // RELATIVE TARGET PORT IDENTIFIER
          return d;
        });
        const header = Buffer.alloc(format === 1 ? 8 : 4);
        const bodyLength = groups.length * 12;
        header.writeUInt32BE(bodyLength + header.length - 4, 0);
        if (format === 1) header[4] = 0x10; // FORMAT TYPE 001b; IMPLICIT TRANSITION TIME 0
        return goodData(Buffer.concat([header, ...groups]), allocationLength);
      },
    };
  },
});
