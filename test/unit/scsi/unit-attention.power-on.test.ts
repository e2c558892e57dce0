import t from 'tap';
import { harness, nexus } from './helpers/harness.ts';
import { expectGood, expectSenseOf } from './helpers/expect-sense.ts';
import { CDB_TEST_UNIT_READY, cdbInquiry } from './helpers/cdb.ts';

t.test('a new nexus sees POWER ON/RESET once; INQUIRY neither reports nor clears it', async (t) => {
  const h = await harness(t);
  const second = nexus('iqn.2026-11.org.test:init2');
  h.target.nexusAdded(second);
  expectGood(t, await h.run(cdbInquiry(), { from: second }));
  expectSenseOf.powerOnReset(t, await h.run(CDB_TEST_UNIT_READY, { from: second }));
  expectGood(t, await h.run(CDB_TEST_UNIT_READY, { from: second }));
  expectGood(t, await h.run(CDB_TEST_UNIT_READY));
});

t.test('LUN reset raises a unit attention for every nexus, the issuer included', async (t) => {
  const h = await harness(t);
  const second = nexus('iqn.2026-11.org.test:init2');
  h.target.nexusAdded(second);
  h.unit.unitAttentions.clear(second.id);
  h.target.reset('lun', 0, nexus());
  const response = await h.run(CDB_TEST_UNIT_READY, { from: second });
  t.equal(response.status, 0x02);
  t.equal(response.sense![12], 0x29);
  t.equal(response.sense![13], 0x03);
  t.equal((await h.run(CDB_TEST_UNIT_READY)).status, 0x02, 'the issuing nexus sees it too');
  expectGood(t, await h.run(CDB_TEST_UNIT_READY));
});

t.test('a grown LUN reports CAPACITY DATA HAS CHANGED, then the new capacity', async (t) => {
  const h = await harness(t, { blocks: 1024 });
  await h.backstore.resize(2048 * 512);
  h.target.capacityChanged(0);
  const response = await h.run(CDB_TEST_UNIT_READY);
  t.equal(response.sense![12], 0x2a);
  t.equal(response.sense![13], 0x09);
  const capacity = Buffer.from([0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.equal(h.data(await h.run(capacity)).readUInt32BE(0), 2047);
  await t.rejects(h.backstore.resize(1024 * 512), /at least/);
});
