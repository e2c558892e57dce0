import t from 'tap';
import { join } from 'node:path';
import { DirtyMap, NEEDS_RESYNC } from '../../../../src/replication/capture/dirty-map.ts';
import { tempDir } from '../helpers.ts';

const GRAIN = 64 * 1024;
const SIZE = 64 * GRAIN;

t.test('first write to a grain persists its bit before resolving; later writes cost nothing', async (t) => {
  const path = join(await tempDir(t), 'lun.dirty');
  const map = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: GRAIN });
  const first = map.mark(GRAIN + 10, 100, 1);
  t.ok(first instanceof Promise, 'first write waits for the on-disk bit');
  await first;
  t.equal(map.mark(GRAIN + 500, 100, 2), undefined, 'grain already dirty on disk');
  t.equal(map.pendingEpoch(1), 2, 'last epoch wins');
  await map.close();
});

t.test('after a crash every persisted bit comes back as needing a resync', async (t) => {
  const path = join(await tempDir(t), 'lun.dirty');
  const map = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: GRAIN });
  await map.mark(0, 3 * GRAIN, 4);      // grains 0,1,2
  await map.mark(10 * GRAIN - 1, 2, 5); // straddles grains 9 and 10
  // no close(): simulate kill -9 by reopening the same file
  const again = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: GRAIN });
  t.same(again.grainsNeedingResync(), [0, 1, 2, 9, 10]);
  t.equal(again.pendingEpoch(9), NEEDS_RESYNC);
  await again.close();
  await map.close();
});

t.test('cleaning after the replica confirmed is lazy and persisted', async (t) => {
  const path = join(await tempDir(t), 'lun.dirty');
  const map = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: GRAIN, cleanPersistMs: 10 });
  await map.mark(0, GRAIN, 1);
  await map.mark(5 * GRAIN, GRAIN, 2);
  await map.mark(7 * GRAIN, GRAIN, NEEDS_RESYNC);
  map.cleanUpTo(1);
  t.equal(map.pendingCount, 2);
  await map.persist();
  const reopened = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: GRAIN });
  t.same(reopened.grainsNeedingResync(), [5, 7], 'grain 0 was cleaned on disk');
  map.markAllForResync();
  t.same(map.grainsNeedingResync(), [5, 7]);
  await reopened.close();
  await map.close();
});

t.test('a map with another geometry marks the whole LUN dirty (conservative)', async (t) => {
  const path = join(await tempDir(t), 'lun.dirty');
  const map = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: GRAIN });
  await map.close();
  const other = await DirtyMap.open(path, SIZE, GRAIN / 2, { extentBytes: GRAIN / 2 });
  t.equal(other.grainsNeedingResync().length, 128);
  await other.close();
});

t.test('activity-log extents: one on-disk mark per extent, a crash resyncs whole extents', async (t) => {
  const path = join(await tempDir(t), 'lun.dirty');
  const map = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: 8 * GRAIN, cleanPersistMs: 10 });
  t.ok(map.mark(0, GRAIN, 1) instanceof Promise, 'first grain of extent 0 waits');
  await map.persist();
  t.equal(map.mark(3 * GRAIN, GRAIN, 1), undefined, 'another grain of a marked extent does not');
  await map.mark(9 * GRAIN, 10, 2);
  const crashed = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: 8 * GRAIN });
  t.same(crashed.grainsNeedingResync(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], 'both extents, every grain');
  await crashed.close();
  map.cleanUpTo(1);
  await map.persist();
  const later = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: 8 * GRAIN });
  t.same(later.grainsNeedingResync(), [8, 9, 10, 11, 12, 13, 14, 15], 'extent 0 cleared once all its grains were confirmed');
  await later.close();
  await map.close();
});

t.test('resyncSince: the age of what no epoch carries, kept across a restart (map header)', async (t) => {
  const path = join(await tempDir(t), 'lun.dirty');
  const map = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: GRAIN });
  t.equal(map.resyncSince, undefined, 'clean: nothing waits');
  await map.mark(0, GRAIN, 3);
  t.equal(map.resyncSince, undefined, 'carried by epoch 3: the epoch says its age, not the map');
  const before = Date.now();
  await map.mark(4 * GRAIN, GRAIN, NEEDS_RESYNC, before - 5000);
  t.equal(map.resyncSince, before - 5000, 'an older write time given by the caller is kept');
  map.markAllForResync(before - 9000);
  t.equal(map.resyncSince, before - 9000, 'a new generation: the discarded epochs\' age counts');
  const recovered = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: GRAIN });
  t.ok(recovered.resyncSince !== undefined && recovered.resyncSince <= before, `after a crash the recovered grains are at least as old as the map's first mark (${recovered.resyncSince} ≤ ${before})`);
  await recovered.close();
  await map.forgetAll();
  t.equal(map.resyncSince, undefined, 'all clean again');
  await map.close();
  const clean = await DirtyMap.open(path, SIZE, GRAIN, { extentBytes: GRAIN });
  t.equal(clean.resyncSince, undefined, 'a clean map on disk has no age');
  await clean.close();
});
