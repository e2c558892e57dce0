import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectGood, expectSenseOf } from '../helpers/expect-sense.ts';
import { cdbModeSelect6, cdbModeSense6, cdbWrite10 } from '../helpers/cdb.ts';

t.test('MODE SENSE(6): caching page WCE=1, all pages, changeable mask; MODE SELECT sets SWP', async (t) => {
  const h = await harness(t);
  const caching = h.data(await h.run(cdbModeSense6({ page: 0x08 })));
  t.equal(caching[3], 8, 'block descriptor present');
  t.equal(caching[4 + 8] & 0x3f, 0x08);
  t.equal(caching[4 + 8 + 2] & 0x04, 0x04, 'WCE');
  const all = h.data(await h.run(cdbModeSense6({ page: 0x3f, dbd: true })));
  t.equal(all[0], all.length - 1, 'mode data length');
  expectSenseOf.invalidFieldInCdb(t, await h.run(cdbModeSense6({ page: 0x19 })));
  const changeable = h.data(await h.run(cdbModeSense6({ page: 0x0a, pc: 1, dbd: true })));
  t.equal(changeable[4 + 4], 0x08, 'only SWP is changeable in the control page');

  const control = h.data(await h.run(cdbModeSense6({ page: 0x0a, dbd: true }))).subarray(4);
  const list = Buffer.concat([Buffer.alloc(4), control]);
  list[4 + 4] |= 0x08;
  expectGood(t, await h.run(cdbModeSelect6(list.length), { dataOut: [list] }));
  expectSenseOf.writeProtected(t, await h.run(cdbWrite10({ lba: 0, blocks: 1 }), { dataOut: [Buffer.alloc(512)] }));
  const header = h.data(await h.run(cdbModeSense6({ page: 0x0a })));
  t.equal(header[2] & 0x80, 0x80, 'WP in the device-specific parameter');
  list[4 + 4] &= ~0x08;
  expectGood(t, await h.run(cdbModeSelect6(list.length), { dataOut: [list] }));
  list[4 + 2] |= 0x04; // D_SENSE is not changeable
  expectSenseOf.invalidFieldInParameterList(t, await h.run(cdbModeSelect6(list.length), { dataOut: [list] }));
});
