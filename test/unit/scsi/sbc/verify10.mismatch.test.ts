import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectGood, expectSenseOf } from '../helpers/expect-sense.ts';
import { cdbVerify10, cdbWrite10 } from '../helpers/cdb.ts';

t.test('VERIFY(10) BYTCHK=1 reports MISCOMPARE with the offset', async (t) => {
  const h = await harness(t);
  const data = Buffer.alloc(512, 3);
  await h.run(cdbWrite10({ lba: 5, blocks: 1 }), { dataOut: [data] });
  expectGood(t, await h.run(cdbVerify10({ lba: 5, blocks: 1, bytchk: 1 }), { dataOut: [data] }));
  const other = Buffer.from(data);
  other[17] ^= 0xff;
  const response = await h.run(cdbVerify10({ lba: 5, blocks: 1, bytchk: 1 }), { dataOut: [other] });
  expectSenseOf.miscompare(t, response);
  t.equal(response.sense!.readUInt32BE(3), 17, 'INFORMATION = offset of the first differing byte');
  expectGood(t, await h.run(cdbVerify10({ lba: 5, blocks: 1, bytchk: 0 })));
});
