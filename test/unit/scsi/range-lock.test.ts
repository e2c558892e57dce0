import t from 'tap';
import { RangeLock } from '../../../src/scsi/range-lock.ts';

t.test('tryAcquire grants free ranges at once and refuses overlaps and queue jumping', async (t) => {
  const lock = new RangeLock();
  const a = lock.tryAcquire(0, 8);
  t.type(a, 'function', 'free range: granted synchronously');
  t.type(lock.tryAcquire(8, 8), 'function', 'adjacent range does not overlap');
  t.equal(lock.tryAcquire(4, 1), undefined, 'overlap: must wait');

  let waiterGranted = false;
  const waiting = lock.acquire(0, 1).then((release) => {
    waiterGranted = true;
    return release;
  });
  t.equal(lock.tryAcquire(100, 1), undefined, 'a free range still waits behind a queued waiter (FIFO)');
  a?.();
  const release = await waiting;
  t.ok(waiterGranted, 'the waiter got the range once it was released');
  release();
  t.type(lock.tryAcquire(100, 1), 'function', 'queue empty again: granted');
});
