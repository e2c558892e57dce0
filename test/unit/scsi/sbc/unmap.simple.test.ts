import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectGood, expectSenseOf } from '../helpers/expect-sense.ts';
import { cdbGetLbaStatus, cdbRead10, cdbUnmap, cdbWrite10, unmapParameters } from '../helpers/cdb.ts';

t.test('UNMAP punches holes; GET LBA STATUS reports mapped and deallocated extents', async (t) => {
  const h = await harness(t, { blocks: 8192 });
  t.equal(h.unit.thinProvisioning, true, 'thin provisioning is on for a hole-punching backstore');
  await h.run(cdbWrite10({ lba: 0, blocks: 2048 }), { dataOut: [Buffer.alloc(2048 * 512, 0x11)] });
  await h.backstore.flush();
  const before = await h.backstore.inner.allocatedBytes();
  const list = unmapParameters([{ lba: 1024, blocks: 1024 }]);
  expectGood(t, await h.run(cdbUnmap(list.length), { dataOut: [list] }));
  t.ok((await h.backstore.inner.allocatedBytes()) < before, 'the file shrank on disk');
  t.same(h.data(await h.run(cdbRead10({ lba: 1024, blocks: 1 }))), Buffer.alloc(512), 'LBPRZ: reads zeros');
  const status = h.data(await h.run(cdbGetLbaStatus(0)));
  const descriptors = (status.readUInt32BE(0) - 4) / 16;
  const read = (i: number) => ({ lba: Number(status.readBigUInt64BE(8 + i * 16)), blocks: status.readUInt32BE(16 + i * 16), state: status[20 + i * 16] });
  t.ok(descriptors >= 2);
  t.same(read(0), { lba: 0, blocks: 1024, state: 0 });
  t.same(read(1), { lba: 1024, blocks: 8192 - 1024, state: 1 });
  const beyond = unmapParameters([{ lba: 8190, blocks: 4 }]);
  expectSenseOf.lbaOutOfRange(t, await h.run(cdbUnmap(beyond.length), { dataOut: [beyond] }));
  expectSenseOf.lbaOutOfRange(t, await h.run(cdbGetLbaStatus(8192)));
});
