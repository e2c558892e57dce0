import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectGood } from '../helpers/expect-sense.ts';
import { cdbRead10, cdbWrite10 } from '../helpers/cdb.ts';

t.test('WRITE(10) then READ(10) returns the data; holes read as zeros', async (t) => {
  const h = await harness(t);
  const data = Buffer.alloc(1024, 0x5a);
  expectGood(t, await h.run(cdbWrite10({ lba: 10, blocks: 2 }), { dataOut: [data.subarray(0, 100), data.subarray(100)] }));
  const read = await h.run(cdbRead10({ lba: 10, blocks: 2 }));
  expectGood(t, read);
  t.same(h.data(read), data);
  const hole = await h.run(cdbRead10({ lba: 100, blocks: 1 }));
  t.same(h.data(hole), Buffer.alloc(512));
});

t.test('WRITE(10) with FUA reaches the file', async (t) => {
  const h = await harness(t);
  expectGood(t, await h.run(cdbWrite10({ lba: 0, blocks: 1, fua: true }), { dataOut: [Buffer.alloc(512, 1)] }));
  t.same(await h.backstore.read(0, 512), Buffer.alloc(512, 1));
});
