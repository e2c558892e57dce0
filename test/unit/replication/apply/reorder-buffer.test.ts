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
