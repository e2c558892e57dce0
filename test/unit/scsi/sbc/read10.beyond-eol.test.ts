import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectGood, expectSenseOf } from '../helpers/expect-sense.ts';
import { cdbRead10 } from '../helpers/cdb.ts';

t.test('READ(10) beyond the end of the LUN gets LBA OUT OF RANGE', async (t) => {
  const h = await harness(t, { blocks: 1024 });
  expectSenseOf.lbaOutOfRange(t, await h.run(cdbRead10({ lba: 1024, blocks: 1 })));
  expectSenseOf.lbaOutOfRange(t, await h.run(cdbRead10({ lba: 1023, blocks: 2 })));
  expectSenseOf.lbaOutOfRange(t, await h.run(cdbRead10({ lba: 0xffffffff, blocks: 1 })));
  expectGood(t, await h.run(cdbRead10({ lba: 1023, blocks: 1 })));
  expectGood(t, await h.run(cdbRead10({ lba: 1024, blocks: 0 })));
  expectSenseOf.lbaOutOfRange(t, await h.run(cdbRead10({ lba: 1025, blocks: 0 })));
});
