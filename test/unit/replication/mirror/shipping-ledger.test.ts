/** The source's lag accounting for one stream generation. */
import t from 'tap';
import { ShippingLedger } from '../../../../src/replication/mirror/shipping-ledger.ts';

t.test('in flight until acknowledged; resync progress; a new generation drops what was in flight', async (t) => {
  const ledger = new ShippingLedger();
  ledger.resync = { lastEpoch: Number.MAX_SAFE_INTEGER, totalGrains: 3, doneGrains: 0 };
  ledger.sending(1, 100, 1000, 2);
  ledger.sent(100, true, 1000);
  ledger.sending(2, 50, 1500, 1);
  t.equal(ledger.inFlightBytes, 150);
  t.equal(ledger.inFlightEpochs, 2);
  t.equal(ledger.lastShipped, 2);
  t.equal(ledger.oldestInFlight(), 1000, 'RPO bound: the oldest first write in flight');
  t.equal(ledger.bytesShipped, 100, 'counted once the store has it');
  t.equal(ledger.bytesResynced, 100);
  t.equal(ledger.acknowledge(1), true);
  t.equal(ledger.acknowledge(1), false, 'nothing new');
  t.equal(ledger.inFlightBytes, 50);
  t.equal(ledger.resync.doneGrains, 2);
  t.equal(ledger.resyncDone(), false, 'its last epoch is not known yet');
  ledger.resync.lastEpoch = 2;
  t.equal(ledger.acknowledge(2), true);
  t.equal(ledger.resyncDone(), true);
  t.equal(ledger.resync, undefined);
  ledger.sending(3, 10, 2000, 0);
  t.same(ledger.startGeneration(), [3]);
  t.same([ledger.inFlightBytes, ledger.acked, ledger.lastShipped, ledger.oldestInFlight()], [0, 0, 0, undefined]);
  t.equal(ledger.bytesShipped, 100, 'totals survive generations');
});
