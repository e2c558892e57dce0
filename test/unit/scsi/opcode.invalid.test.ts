import t from 'tap';
import { harness } from './helpers/harness.ts';
import { expectSenseOf } from './helpers/expect-sense.ts';
import { cdbReportLuns } from './helpers/cdb.ts';

t.test('unknown opcodes and LUNs get ILLEGAL REQUEST', async (t) => {
  const h = await harness(t);
  expectSenseOf.invalidOpcode(t, await h.run(Buffer.from([0xc7, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
  expectSenseOf.invalidOpcode(t, await h.run(Buffer.alloc(3)));
  expectSenseOf.lunNotSupported(t, await h.run(Buffer.alloc(6), { lun: 3 }));
  const luns = h.data(await h.run(cdbReportLuns(), { lun: 3 }));
  t.equal(luns.readUInt32BE(0), 8, 'REPORT LUNS works on a missing LUN');
  expectSenseOf.invalidFieldInCdb(t, await h.run(Buffer.from([0x9e, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
});
