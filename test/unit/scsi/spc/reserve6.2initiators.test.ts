import t from 'tap';
import { harness, nexus } from '../helpers/harness.ts';
import { expectGood } from '../helpers/expect-sense.ts';
import { CDB_RELEASE6, CDB_RESERVE6, CDB_TEST_UNIT_READY, cdbInquiry } from '../helpers/cdb.ts';

t.test('RESERVE(6) conflicts across nexuses until released', async (t) => {
  const h = await harness(t);
  const second = nexus('iqn.2026-11.org.test:init2');
  h.target.nexusAdded(second);
  h.unit.unitAttentions.clear(second.id);
  expectGood(t, await h.run(CDB_RESERVE6));
  expectGood(t, await h.run(CDB_RESERVE6));
  t.equal((await h.run(CDB_RESERVE6, { from: second })).status, 0x18);
  t.equal((await h.run(CDB_TEST_UNIT_READY, { from: second })).status, 0x18);
  expectGood(t, await h.run(cdbInquiry(), { from: second }));
  expectGood(t, await h.run(CDB_RELEASE6, { from: second }));
  t.equal((await h.run(CDB_TEST_UNIT_READY, { from: second })).status, 0x18, 'release by a non-holder does nothing');
  expectGood(t, await h.run(CDB_RELEASE6));
  expectGood(t, await h.run(CDB_RESERVE6, { from: second }));
  h.target.nexusRemoved(second);
  expectGood(t, await h.run(CDB_RESERVE6), 'nexus loss releases the reservation');
});
