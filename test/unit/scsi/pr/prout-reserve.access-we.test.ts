import t from 'tap';
import { harness, nexus } from '../helpers/harness.ts';
import { expectGood } from '../helpers/expect-sense.ts';
import { cdbPrIn, cdbPrOut, cdbRead10, cdbWrite10, prOutParameters } from '../helpers/cdb.ts';

t.test('WRITE EXCLUSIVE: other nexuses read but get RESERVATION CONFLICT on writes', async (t) => {
  const h = await harness(t);
  const other = nexus('iqn.2026-11.org.test:init2');
  h.target.nexusAdded(other);
  h.unit.unitAttentions.clear(other.id);
  expectGood(t, await h.run(cdbPrOut({ serviceAction: 0 }), { dataOut: [prOutParameters({ serviceActionKey: 0xabcn })] }));
  expectGood(t, await h.run(cdbPrOut({ serviceAction: 1, type: 1 }), { dataOut: [prOutParameters({ key: 0xabcn })] }));
  const keys = h.data(await h.run(cdbPrIn(0)));
  t.equal(keys.readUInt32BE(4), 8, 'one key');
  t.equal(keys.readBigUInt64BE(8), 0xabcn);
  const reservation = h.data(await h.run(cdbPrIn(1)));
  t.equal(reservation[8 + 13], 1, 'type WRITE EXCLUSIVE');
  expectGood(t, await h.run(cdbRead10({ lba: 0, blocks: 1 }), { from: other }));
  t.equal((await h.run(cdbWrite10({ lba: 0, blocks: 1 }), { from: other, dataOut: [Buffer.alloc(512)] })).status, 0x18);
  expectGood(t, await h.run(cdbWrite10({ lba: 0, blocks: 1 }), { dataOut: [Buffer.alloc(512)] }), 'holder writes');
  t.equal((await h.run(cdbPrOut({ serviceAction: 1, type: 1 }), { from: other, dataOut: [prOutParameters({ key: 0x1n })] })).status, 0x18, 'unregistered RESERVE conflicts');
  expectGood(t, await h.run(cdbPrOut({ serviceAction: 2, type: 1 }), { dataOut: [prOutParameters({ key: 0xabcn })] }));
  expectGood(t, await h.run(cdbWrite10({ lba: 0, blocks: 1 }), { from: other, dataOut: [Buffer.alloc(512)] }), 'released');
});

t.test('APTPL registrations survive a restart (state file next to the LUN)', async (t) => {
  const h = await harness(t);
  expectGood(t, await h.run(cdbPrOut({ serviceAction: 6 }), { dataOut: [prOutParameters({ serviceActionKey: 77n, aptpl: true })] }));
  expectGood(t, await h.run(cdbPrOut({ serviceAction: 1, type: 3 }), { dataOut: [prOutParameters({ key: 77n })] }));
  const { LogicalUnit } = await import('../../../../src/scsi/logical-unit.ts');
  const reborn = new LogicalUnit({ lun: 0, backstore: h.backstore, persistentReservationFile: h.persistentReservationFile });
  t.equal(reborn.persistentReservations.registrations.get(nexus().id)?.key, 77n);
  t.equal(reborn.persistentReservations.reservation?.type, 3);
  t.equal(reborn.persistentReservations.aptpl, true);
});
