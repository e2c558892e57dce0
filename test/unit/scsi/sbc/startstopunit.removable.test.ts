import t from 'tap';
import { cdbInquiry } from '../helpers/cdb.ts';
import { harness, nexus } from '../helpers/harness.ts';

const tur = Buffer.alloc(6);
const startStop = (loej: boolean, start: boolean, powerCondition = 0): Buffer => Buffer.from([0x1b, 0, 0, 0, (powerCondition << 4) | (loej ? 2 : 0) | (start ? 1 : 0), 0]);
const preventAllow = (prevent: boolean): Buffer => Buffer.from([0x1e, 0, 0, 0, prevent ? 1 : 0, 0]);
const read10 = Buffer.from([0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
const senseOf = (sense: Buffer | undefined): string => sense === undefined ? 'none' : `${sense[2] & 0x0f}/${sense[12].toString(16)}/${sense[13].toString(16)}`;

t.test('a removable LU: RMB=1, eject means NOT READY MEDIUM NOT PRESENT until loaded, prevented removal refuses both', async (t) => {
  const h = await harness(t, { unit: { removable: true } });
  t.equal(h.data(await h.run(cdbInquiry()))[1] & 0x80, 0x80, 'INQUIRY RMB=1');
  t.equal((await h.run(startStop(true, false))).status, 0, 'eject');
  t.equal(senseOf((await h.run(tur)).sense), '2/3a/0', 'TEST UNIT READY: NOT READY / MEDIUM NOT PRESENT');
  t.equal(senseOf((await h.run(read10)).sense), '2/3a/0', 'READ(10) too');
  t.equal((await h.run(cdbInquiry())).status, 0, 'INQUIRY still served');
  t.equal((await h.run(preventAllow(true))).status, 0, 'PREVENT served without a medium');
  t.equal(senseOf((await h.run(startStop(true, true))).sense), '5/53/2', 'load refused while prevented: MEDIUM REMOVAL PREVENTED');
  t.equal((await h.run(preventAllow(false))).status, 0);
  const other = nexus('iqn.2026-11.org.test:init2');
  h.target.nexusAdded(other);
  h.unit.unitAttentions.clear(other.id);
  t.equal((await h.run(startStop(true, true))).status, 0, 'load');
  t.equal((await h.run(tur)).status, 0, 'ready again');
  t.equal(senseOf((await h.run(tur, { from: other })).sense), '6/28/0', 'the other nexus: NOT READY TO READY CHANGE');
  t.equal((await h.run(preventAllow(true), { from: other })).status, 0, 'the other nexus prevents removal');
  t.equal(senseOf((await h.run(startStop(true, false))).sense), '5/53/2', 'eject refused: MEDIUM REMOVAL PREVENTED');
  h.target.nexusRemoved(other);
  t.equal((await h.run(startStop(true, false))).status, 0, 'nexus loss ends its prevention: eject works');
  t.equal((await h.run(startStop(true, true, 1))).status, 0, 'POWER CONDITION ≠ 0: LOEJ ignored');
  t.equal(senseOf((await h.run(tur)).sense), '2/3a/0', 'still no medium');
  t.equal(senseOf((await h.run(startStop(true, false, 4))).sense), '5/24/0', 'reserved POWER CONDITION 4h: INVALID FIELD IN CDB');
});

t.test('a fixed disk: RMB=0, LOEJ does nothing', async (t) => {
  const h = await harness(t);
  t.equal(h.data(await h.run(cdbInquiry()))[1] & 0x80, 0, 'RMB=0');
  t.equal((await h.run(startStop(true, false))).status, 0);
  t.equal((await h.run(tur)).status, 0, 'still ready');
});
