import t from 'tap';
import { ReorderBuffer } from '../../../../src/replication/apply/reorder-buffer.ts';

t.test('releases epochs strictly in order whatever the delivery order', async (t) => {
  const buffer = new ReorderBuffer(5, 0);
  const applied: number[] = [];
  const drain = () => { for (let n = buffer.next(); n !== undefined; n = buffer.next()) { applied.push(n); buffer.recorded(5, n); } };
  for (const epoch of [3, 1, 4, 2, 2, 1, 6, 5]) { buffer.offer(5, epoch); drain(); }
  t.same(applied, [1, 2, 3, 4, 5, 6]);
});

t.test('redelivered epochs at or below the recorded one are stale no-ops', async (t) => {
  const buffer = new ReorderBuffer(5, 3);
  t.equal(buffer.offer(5, 2), 'stale');
  t.equal(buffer.offer(5, 3), 'stale');
  t.equal(buffer.offer(4, 9), 'stale', 'older generation');
  t.equal(buffer.next(), undefined);
  t.equal(buffer.offer(5, 4), 'buffered');
  t.equal(buffer.next(), 4);
});

t.test('a newer generation restarts numbering and forgets the old one', async (t) => {
  const buffer = new ReorderBuffer(5, 3);
  buffer.offer(5, 5);
  t.equal(buffer.offer(9, 2), 'new-generation');
  t.equal(buffer.generation, 9);
  t.equal(buffer.applied, 0);
  t.equal(buffer.next(), undefined, 'waits for epoch 1');
  buffer.offer(9, 1);
  t.equal(buffer.next(), 1);
  buffer.recorded(5, 1);
  t.equal(buffer.applied, 0, 'a record for another generation is ignored');
  buffer.recorded(9, 1);
  t.equal(buffer.next(), 2);
});

t.test('a dropped epoch can be offered again', async (t) => {
  const buffer = new ReorderBuffer(1, 0);
  buffer.offer(1, 1);
  buffer.drop(1);
  t.equal(buffer.next(), undefined);
  buffer.offer(1, 1);
  t.equal(buffer.next(), 1);
});

t.test('ready() gives the consecutive run after the recorded epoch, bounded by count and announced bytes', async (t) => {
  const buffer = new ReorderBuffer(5, 2);
  for (const epoch of [3, 4, 5, 7]) buffer.offer(5, epoch, 100);
  t.same(buffer.ready(10, 1000), { epochs: [3, 4, 5], bytes: 300 }, 'stops at the gap (6)');
  t.same(buffer.ready(2, 1000).epochs, [3, 4], 'count bound');
  t.same(buffer.ready(10, 250).epochs, [3, 4], 'byte bound');
  t.same(buffer.ready(10, 50).epochs, [3], 'the first epoch even when larger than the bound');
  buffer.offer(5, 6);
  t.same(buffer.ready(10, 1000), { epochs: [3, 4, 5], bytes: 300 }, 'an epoch of unknown size counts as the whole bound');
  buffer.offer(5, 6, 'junk' as unknown as number);
  t.same(buffer.ready(10, 1000).epochs, [3, 4, 5], 'a malformed size hint is no size');
  for (const epoch of [3, 4, 5]) buffer.recorded(5, epoch);
  t.same(buffer.ready(10, 1000), { epochs: [6], bytes: 1000 }, 'first in line, it is released alone');
  buffer.offer(5, 6, 100);
  t.same(buffer.ready(10, 1000).epochs, [6, 7], 'a later announcement gives the size');
  t.same(new ReorderBuffer(5, 2).ready(10, 1000), { epochs: [], bytes: 0 });
});
