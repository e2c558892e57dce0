import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { LinkPartitionedError, LinkShaper, MAX_ATTEMPTS } from '../../../../src/replication/link/link-shaper.ts';
import { LinkTable } from '../../../../src/replication/link/link-table.ts';
import { shapedShipper, type ShippingPath } from '../../../../src/replication/link/shaped-shipper.ts';
import { CLEAR_LINK } from '../../../../src/replication/link/link-conditions.ts';

/** A shipping path that records what reached it. */
function recordingPath(): ShippingPath & { shipped: number[]; up: boolean } {
  const path = {
    shipped: [] as number[],
    up: true,
    ship: async (_generation: number, epoch: number) => { path.shipped.push(epoch); },
    announceGeneration: async () => undefined,
    previousGeneration: async () => 7,
    linkUp: async () => path.up,
    discard: async () => undefined,
    close: async () => undefined,
  };
  return path;
}

t.test('a clear link passes transmissions straight through', async (t) => {
  const shaper = new LinkShaper('m-1');
  const path = recordingPath();
  await shapedShipper(path, shaper).ship(1, 1, Buffer.alloc(10), false);
  t.same(path.shipped, [1]);
  t.same(shaper.counters.refused + shaper.counters.lost + shaper.counters.bytes, 0, 'nothing counted: nothing emulated');
});

t.test('a partition refuses every transmission and every probe; heal lets them through', async (t) => {
  const shaper = new LinkShaper('m-1');
  const path = recordingPath();
  const shipper = shapedShipper(path, shaper);
  shaper.set({ ...CLEAR_LINK, partitioned: true });
  await t.rejects(shipper.ship(1, 1, Buffer.alloc(10), false), LinkPartitionedError);
  await t.rejects(shipper.announceGeneration(2), /partitioned/);
  t.equal(await shipper.linkUp(), false, 'the ahead pair\'s probe fails');
  t.same(path.shipped, []);
  t.equal(shaper.counters.refused, 2);
  shaper.set(CLEAR_LINK);
  t.equal(await shipper.linkUp(), true);
  await shipper.ship(1, 2, Buffer.alloc(10), false);
  t.same(path.shipped, [2]);
});

t.test('a partition that begins while a transmission waits for the cap refuses it', async (t) => {
  const shaper = new LinkShaper('m-1');
  const path = recordingPath();
  shaper.set({ ...CLEAR_LINK, rateBytesPerSecond: 100_000 });
  const pending = shapedShipper(path, shaper).ship(1, 1, Buffer.alloc(20_000), false); // 200 ms on the wire
  shaper.set({ ...shaper.conditions, partitioned: true });
  await t.rejects(pending, LinkPartitionedError);
  t.same(path.shipped, []);
});

t.test('the bandwidth cap serialises payload bytes: 5 × 100 kB at 1 MB/s take at least 0.5 s, in order', async (t) => {
  const shaper = new LinkShaper('m-1');
  const path = recordingPath();
  const shipper = shapedShipper(path, shaper);
  shaper.set({ ...CLEAR_LINK, rateBytesPerSecond: 1_000_000 });
  const started = Date.now();
  await Promise.all([1, 2, 3, 4, 5].map((epoch) => shipper.ship(1, epoch, Buffer.alloc(100_000), false)));
  t.ok(Date.now() - started >= 495, `took ${Date.now() - started} ms`);
  t.same(path.shipped, [1, 2, 3, 4, 5]);
  t.equal(shaper.counters.bytes, 500_000);
});

t.test('latency delays each delivery by at least its value', async (t) => {
  const shaper = new LinkShaper('m-1');
  const path = recordingPath();
  shaper.set({ ...CLEAR_LINK, latencyMs: 120 });
  const started = Date.now();
  await shapedShipper(path, shaper).ship(1, 1, Buffer.alloc(10), false);
  t.ok(Date.now() - started >= 118, `took ${Date.now() - started} ms`);
  t.equal(shaper.counters.delaySeconds, 0.12);
});

t.test('a lost transmission is retransmitted; one lost every time fails after MAX_ATTEMPTS', async (t) => {
  const draws = [0.1, 0.9]; // lost, then through
  const shaper = new LinkShaper('m-1', { random: () => draws.shift() ?? 0.9 });
  const path = recordingPath();
  shaper.set({ ...CLEAR_LINK, loss: 0.5 });
  await shapedShipper(path, shaper).ship(1, 1, Buffer.alloc(1000), false);
  t.same(path.shipped, [1], 'delivered once');
  t.same([shaper.counters.lost, shaper.counters.retransmitted, shaper.counters.bytes], [1, 1, 2000], 'the lost copy used the link too');

  const unlucky = new LinkShaper('m-2', { random: () => 0 });
  unlucky.set({ ...CLEAR_LINK, loss: 0.99 });
  await t.rejects(shapedShipper(recordingPath(), unlucky).ship(1, 1, Buffer.alloc(10), false), new RegExp(`lost the same transmission ${MAX_ATTEMPTS} times`));
  t.equal(unlucky.counters.failed, 1);
});

t.test('the link table keeps conditions across a restart and refuses an unreadable file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'links-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const table = new LinkTable(dir);
  await table.change('m-1', { partitioned: true, latencyMs: 30 });
  await table.change('m-2', { rateBytesPerSecond: 20e6 });
  await table.clear('m-2');
  const again = new LinkTable(dir);
  await again.load();
  t.same(again.shaper('m-1').conditions, { partitioned: true, latencyMs: 30, loss: 0 });
  t.ok(again.shaper('m-2').clear, 'a cleared link is not kept');
  const file = join(dir, 'replication', 'links.json');
  t.match(await readFile(file, 'utf8'), /"m-1"/);
  await writeFile(file, '{"links": {"m-1": {"loss": 3}}}');
  await t.rejects(new LinkTable(dir).load(), /links\.json is unreadable \(links\.m-1\.loss: must be a probability/);
});
