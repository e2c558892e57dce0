import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectGood } from '../helpers/expect-sense.ts';

function cdbRtpg(allocationLength: number, extendedHeader = false): Buffer {
  const cdb = Buffer.alloc(12);
  cdb[0] = 0xa3;
  cdb[1] = (extendedHeader ? 0x20 : 0) | 0x0a;
  cdb.writeUInt32BE(allocationLength, 6);
  return cdb;
}

// libiscsi ReportTargetPortGroups.Simple (test_rtpg_simple.c): every group in a defined ALUA state and
// at least one I/O-ready. libiscsi reads byte 0 through a bit-field struct whose access state ends up
// in bits 7-4 on little-endian machines, so byte 0 must read as a defined state both ways.
const DEFINED_STATES = new Set([0x0, 0x1, 0x2, 0x3, 0x4, 0xe, 0xf]);
const IO_READY = new Set([0x0, 0x1]);

t.test('REPORT TARGET PORT GROUPS: one active/optimized group per portal group, byte 0 unambiguous', async (t) => {
  const h = await harness(t);
  const short = await h.run(cdbRtpg(4));
  expectGood(t, short);
  const head = h.data(short);
  const fullSize = head.readUInt32BE(0) + 4;
  const response = await h.run(cdbRtpg(fullSize));
  expectGood(t, response);
  const data = h.data(response);
  t.equal(data.length, fullSize, 'the full report has the size the header announced');
  const groups: Array<{ byte0: number; tag: number; ports: number }> = [];
  for (let p = 4; p + 8 <= data.length; p += 8 + 4 * data[p + 7]) groups.push({ byte0: data[p], tag: data.readUInt16BE(p + 2), ports: data[p + 7] });
  t.ok(groups.length > 0, 'at least one group');
  for (const g of groups) {
    t.ok(DEFINED_STATES.has(g.byte0 & 0x0f), `group ${g.tag}: ASYMMETRIC ACCESS STATE (SPC-4 bits 3-0) defined`);
    t.ok(DEFINED_STATES.has(g.byte0 >> 4), `group ${g.tag}: bits 7-4 (libiscsi's reading) a defined state too`);
    t.equal(g.ports, 1, `group ${g.tag}: one target port`);
  }
  t.ok(groups.some((g) => IO_READY.has(g.byte0 & 0x0f) && IO_READY.has(g.byte0 >> 4)), 'an I/O-ready group however byte 0 is read');
});

t.test('REPORT TARGET PORT GROUPS with the extended header (format 001b)', async (t) => {
  const h = await harness(t);
  const data = h.data(await h.run(cdbRtpg(256, true)));
  t.equal(data[4] & 0x70, 0x10, 'FORMAT TYPE 001b');
  t.equal(data.readUInt32BE(0) + 4, data.length);
  t.equal(data[8], 0x00, 'active/optimized, PREF=0');
});
