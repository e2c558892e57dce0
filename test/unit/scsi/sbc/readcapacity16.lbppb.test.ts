import t from 'tap';
import { cdbInquiry, cdbReadCapacity16 } from '../helpers/cdb.ts';
import { harness } from '../helpers/harness.ts';

t.test('512e: LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT 3, granularities of a physical block', async (t) => {
  const h = await harness(t, { unit: { physicalBlockExponent: 3 } });
  const capacity = h.data(await h.run(cdbReadCapacity16()));
  t.equal(capacity.readUInt32BE(8), 512, 'logical block 512');
  t.equal(capacity[13] & 0x0f, 3, 'LBPPBE 3 (8 logical blocks per physical block)');
  t.equal(capacity.readUInt16BE(14) & 0x3fff, 0, 'LOWEST ALIGNED LBA 0');
  const limits = h.data(await h.run(cdbInquiry({ evpd: true, page: 0xb0 })));
  t.equal(limits.readUInt16BE(6), 8, 'OPTIMAL TRANSFER LENGTH GRANULARITY: 8 blocks');
});

t.test('default: exponent 0', async (t) => {
  const h = await harness(t);
  t.equal(h.data(await h.run(cdbReadCapacity16()))[13] & 0x0f, 0);
});
