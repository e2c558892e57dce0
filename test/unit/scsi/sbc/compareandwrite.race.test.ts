import t from 'tap';
import { harness, nexus } from '../helpers/harness.ts';
import { expectGood, expectSenseOf } from '../helpers/expect-sense.ts';
import { cdbCompareAndWrite, cdbRead10, cdbWrite10 } from '../helpers/cdb.ts';

t.test('COMPARE AND WRITE: match writes, miscompare reports the offset', async (t) => {
  const h = await harness(t);
  await h.run(cdbWrite10({ lba: 3, blocks: 1 }), { dataOut: [Buffer.alloc(512, 1)] });
  expectGood(t, await h.run(cdbCompareAndWrite({ lba: 3, blocks: 1 }), { dataOut: [Buffer.alloc(512, 1), Buffer.alloc(512, 2)] }));
  t.same(h.data(await h.run(cdbRead10({ lba: 3, blocks: 1 }))), Buffer.alloc(512, 2));
  const response = await h.run(cdbCompareAndWrite({ lba: 3, blocks: 1 }), { dataOut: [Buffer.alloc(512, 1), Buffer.alloc(512, 3)] });
  expectSenseOf.miscompare(t, response);
  t.equal(response.sense!.readUInt32BE(3), 0);
  expectSenseOf.invalidFieldInCdb(t, await h.run(cdbCompareAndWrite({ lba: 3, blocks: 2 }), { dataOut: [Buffer.alloc(2048)] }));
});

t.test('two nexuses racing COMPARE AND WRITE on one block: exactly one wins', async (t) => {
  const h = await harness(t);
  const other = nexus('iqn.2026-11.org.test:init2');
  h.target.nexusAdded(other);
  h.unit.unitAttentions.clear(other.id);
  for (let round = 0; round < 20; round++) {
    const base = Buffer.alloc(512, round);
    await h.run(cdbWrite10({ lba: 9, blocks: 1 }), { dataOut: [base] });
    const results = await Promise.all([
      h.run(cdbCompareAndWrite({ lba: 9, blocks: 1 }), { dataOut: [base, Buffer.alloc(512, 0xa0)] }),
      h.run(cdbCompareAndWrite({ lba: 9, blocks: 1 }), { from: other, dataOut: [base, Buffer.alloc(512, 0xb0)] }),
    ]);
    t.equal(results.filter((r) => r.status === 0).length, 1, `round ${round}: one winner`);
  }
});
