import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectGood, expectSenseOf } from '../helpers/expect-sense.ts';
import { cdbInquiry } from '../helpers/cdb.ts';

t.test('standard INQUIRY', async (t) => {
  const h = await harness(t);
  const data = h.data(await h.run(cdbInquiry()));
  t.equal(data[0], 0x00, 'qualifier 0, direct access');
  t.equal(data[3] & 0x0f, 2, 'response data format 2');
  t.equal(data[4], data.length - 5, 'additional length');
  t.equal(data.subarray(8, 16).toString('ascii'), 'ISCSISIM');
  t.equal(data.readUInt16BE(62), 0x0460, 'claims SPC-4');
});

t.test('INQUIRY to a LUN that does not exist: qualifier 3', async (t) => {
  const h = await harness(t);
  const response = await h.run(cdbInquiry(), { lun: 7 });
  expectGood(t, response);
  t.equal(h.data(response)[0], 0x7f);
});

t.test('INQUIRY honours the allocation length and rejects a page without EVPD', async (t) => {
  const h = await harness(t);
  t.equal(h.data(await h.run(cdbInquiry({ allocationLength: 5 }))).length, 5);
  expectSenseOf.invalidFieldInCdb(t, await h.run(cdbInquiry({ page: 0x80 })));
  expectSenseOf.invalidFieldInCdb(t, await h.run(cdbInquiry({ evpd: true, page: 0x42 })));
});
