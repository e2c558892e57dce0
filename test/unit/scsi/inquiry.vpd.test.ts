import t from 'tap';
import { harness } from './helpers/harness.ts';
import { expectGood } from './helpers/expect-sense.ts';
import { cdbInquiry } from './helpers/cdb.ts';

t.test('VPD pages: supported list, serial, device identification, block limits', async (t) => {
  const h = await harness(t);
  const supported = h.data(await h.run(cdbInquiry({ evpd: true, page: 0x00 })));
  const pages = [...supported.subarray(4, 4 + supported.readUInt16BE(2))];
  t.same(pages, [0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2]);
  for (const page of pages) expectGood(t, await h.run(cdbInquiry({ evpd: true, page })));
  const serial = h.data(await h.run(cdbInquiry({ evpd: true, page: 0x80 })));
  t.equal(serial.subarray(4).toString('ascii'), 'TESTSERIAL0001');
  const id = h.data(await h.run(cdbInquiry({ evpd: true, page: 0x83 })));
  t.equal(id[4] & 0x0f, 1, 'first designator is binary');
  t.equal(id[5] & 0x0f, 3, 'NAA');
  t.equal(id.subarray(8, 16).toString('hex'), h.unit.naa);
  const limits = h.data(await h.run(cdbInquiry({ evpd: true, page: 0xb0 })));
  t.equal(limits.length, 0x3c + 4);
});
