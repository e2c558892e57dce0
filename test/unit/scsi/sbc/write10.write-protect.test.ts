import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectSenseOf } from '../helpers/expect-sense.ts';
import { cdbWrite10 } from '../helpers/cdb.ts';

t.test('writes to a write-protected LU get DATA PROTECT', async (t) => {
  const h = await harness(t, { unit: { writeProtected: true } });
  expectSenseOf.writeProtected(t, await h.run(cdbWrite10({ lba: 0, blocks: 1 }), { dataOut: [Buffer.alloc(512)] }));
});
