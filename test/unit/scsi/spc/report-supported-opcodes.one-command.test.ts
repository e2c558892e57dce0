import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectGood, expectSenseOf } from '../helpers/expect-sense.ts';
import { cdbReportSupportedOpcodes } from '../helpers/cdb.ts';

t.test('every reported command answers the one-command forms consistently', async (t) => {
  const h = await harness(t);
  const all = h.data(await h.run(cdbReportSupportedOpcodes({ options: 0 })));
  const count = all.readUInt32BE(0) / 8;
  t.ok(count > 40, `${count} commands reported`);
  for (let i = 0; i < count; i++) {
    const d = all.subarray(4 + i * 8, 12 + i * 8);
    const withSa = (d[5] & 1) === 1;
    const one = await h.run(cdbReportSupportedOpcodes({ options: withSa ? 2 : 1, opcode: d[0], serviceAction: d.readUInt16BE(2) }));
    expectGood(t, one);
    const data = h.data(one);
    t.equal(data[1] & 0x07, 3, 'supported');
    t.equal(data[4], d[0], 'usage data starts with the opcode');
    expectSenseOf.invalidFieldInCdb(t, await h.run(cdbReportSupportedOpcodes({ options: withSa ? 1 : 2, opcode: d[0] })));
  }
  const timeouts = h.data(await h.run(cdbReportSupportedOpcodes({ options: 0, rctd: true })));
  t.equal(timeouts.readUInt32BE(0), count * 20, 'RCTD adds a 12-byte timeouts descriptor each');
});
