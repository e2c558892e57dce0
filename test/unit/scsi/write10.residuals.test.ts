import t from 'tap';
import { harness } from './helpers/harness.ts';
import { expectGood, expectSenseOf } from './helpers/expect-sense.ts';
import { cdbRead10, cdbWrite10 } from './helpers/cdb.ts';

t.test('Data-Out shorter than the CDB length writes only the whole blocks received', async (t) => {
  const h = await harness(t);
  const response = await h.run(cdbWrite10({ lba: 0, blocks: 2 }), { dataOut: [Buffer.alloc(512, 7)] });
  expectGood(t, response);
  t.equal(response.transferLength, 1024, 'transfer length reported for the residual');
  t.same(h.data(await h.run(cdbRead10({ lba: 0, blocks: 2 }))), Buffer.concat([Buffer.alloc(512, 7), Buffer.alloc(512)]));
  expectGood(t, await h.run(cdbWrite10({ lba: 4, blocks: 1 }), { dataOut: [Buffer.alloc(200, 7)] }));
  t.same(h.data(await h.run(cdbRead10({ lba: 4, blocks: 1 }))), Buffer.alloc(512), 'a partial block is not written');
});

t.test('WRITE SAME with a Data-Out longer than one block is refused', async (t) => {
  const h = await harness(t);
  const cdb = Buffer.from([0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
  expectSenseOf.invalidFieldInInformationUnit(t, await h.run(cdb, { dataOut: [Buffer.alloc(1024)] }));
});

t.test('Data-Out longer than the CDB length writes only the CDB length', async (t) => {
  const h = await harness(t);
  const response = await h.run(cdbWrite10({ lba: 0, blocks: 1 }), { dataOut: [Buffer.alloc(1024, 9)] });
  expectGood(t, response);
  t.equal(response.transferLength, 512);
  t.same(h.data(await h.run(cdbRead10({ lba: 1, blocks: 1 }))), Buffer.alloc(512));
});
