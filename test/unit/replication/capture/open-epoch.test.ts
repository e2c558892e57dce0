import t from 'tap';
import { lastWriteWins, OpenEpoch, type Extent } from '../../../../src/replication/capture/open-epoch.ts';

const w = (offset: number, text: string): Extent => ({ offset, data: Buffer.from(text) });
const flat = (extents: Extent[]) => extents.map((e) => [e.offset, e.data ? e.data.toString() : `zero:${e.zeroLength}`]);

t.test('disjoint writes are kept in offset order', async (t) => {
  t.same(flat(lastWriteWins([w(10, 'bb'), w(0, 'aa')])), [[0, 'aa'], [10, 'bb']]);
});

t.test('a later write wins where it overlaps', async (t) => {
  t.same(flat(lastWriteWins([w(0, 'aaaaaa'), w(2, 'BB')])), [[0, 'aa'], [2, 'BB'], [4, 'aa']]);
  t.same(flat(lastWriteWins([w(2, 'BB'), w(0, 'aaaaaa')])), [[0, 'aaaaaa']]);
  t.same(flat(lastWriteWins([w(0, 'aaaa'), w(2, 'bbbb'), w(1, 'CC')])), [[0, 'a'], [1, 'CC'], [3, 'bbb']]);
});

t.test('zero ranges take part in last-write-wins', async (t) => {
  t.same(flat(lastWriteWins([w(0, 'aaaa'), { offset: 1, zeroLength: 2 }])), [[0, 'a'], [1, 'zero:2'], [3, 'a']]);
});

t.test('append copies the bytes (receive buffers are reused by the fabric)', async (t) => {
  const epoch = new OpenEpoch(7, Buffer.alloc(1024));
  const receive = Buffer.from('hello');
  epoch.append(4096, [receive.subarray(0, 2), receive.subarray(2)]);
  receive.fill(0);
  const sealed = epoch.seal();
  t.equal(sealed.epoch, 7);
  t.equal(sealed.bytes, 5);
  t.same(flat(sealed.extents), [[4096, 'hello']]);
});

t.test('many random overlapping writes match a byte-by-byte model', async (t) => {
  const size = 512;
  const model = Buffer.alloc(size);
  const known = new Uint8Array(size);
  const writes: Extent[] = [];
  let seed = 1;
  const rand = (n: number) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  for (let i = 0; i < 300; i++) {
    const offset = rand(size - 1);
    const length = 1 + rand(Math.min(64, size - offset));
    const data = Buffer.alloc(length, i & 0xff);
    data.copy(model, offset);
    known.fill(1, offset, offset + length);
    writes.push({ offset, data });
  }
  const rebuilt = Buffer.alloc(size);
  let previousEnd = 0;
  for (const extent of lastWriteWins(writes)) {
    t.ok(extent.offset >= previousEnd, 'extents do not overlap');
    extent.data!.copy(rebuilt, extent.offset);
    previousEnd = extent.offset + extent.data!.length;
  }
  for (let i = 0; i < size; i++) if (!known[i]) model[i] = 0;
  t.ok(rebuilt.equals(model));
});
