import t from 'tap';
import { join } from 'node:path';
import { ChangeCapture } from '../../../../src/replication/capture/change-capture.ts';
import { DirtyMap, NEEDS_RESYNC } from '../../../../src/replication/capture/dirty-map.ts';
import type { SealedEpoch } from '../../../../src/replication/capture/open-epoch.ts';
import { fileBackstore, tempDir, waitFor, type TapLike } from '../helpers.ts';

const GRAIN = 4096;
const SIZE = 256 * GRAIN;

async function setup(t: TapLike, options: { epochMaxMs?: number; epochMaxBytes?: number } = {}) {
  const dir = await tempDir(t);
  const backstore = await fileBackstore(t, dir, 'lun.img', SIZE);
  const dirty = await DirtyMap.open(join(dir, 'lun.dirty'), SIZE, GRAIN);
  t.teardown(() => dirty.close());
  const sealed: SealedEpoch[] = [];
  const capture = new ChangeCapture(backstore, dirty, { epochMaxMs: options.epochMaxMs ?? 60_000, epochMaxBytes: options.epochMaxBytes ?? 1 << 20 }, {
    sealed: (epoch) => sealed.push(epoch),
  });
  capture.attach();
  t.teardown(() => capture.detach());
  return { backstore, dirty, capture, sealed };
}

t.test('not streaming: writes only mark the dirty map', async (t) => {
  const { backstore, dirty, sealed } = await setup(t);
  await backstore.write(3 * GRAIN, [Buffer.alloc(100, 1)], { fua: false });
  t.equal(sealed.length, 0);
  t.equal(dirty.pendingEpoch(3), NEEDS_RESYNC);
});

t.test('epochs close on SYNCHRONIZE CACHE and on FUA, numbered in order', async (t) => {
  const { backstore, capture, sealed, dirty } = await setup(t);
  capture.startGeneration();
  await backstore.write(0, [Buffer.from('aaaa')], { fua: false });
  await backstore.write(2, [Buffer.from('BB')], { fua: false });
  t.equal(sealed.length, 0, 'still open');
  await backstore.flush();
  t.equal(sealed.length, 1);
  t.same(sealed[0].extents.map((e) => [e.offset, e.data?.toString()]), [[0, 'aa'], [2, 'BB']], 'last write wins');
  await backstore.write(GRAIN * 10, [Buffer.from('fua')], { fua: true });
  t.equal(sealed.length, 2);
  t.same(sealed.map((e) => e.epoch), [1, 2]);
  t.equal(dirty.pendingEpoch(10), 2);
});

t.test('epochs close by size and by time', async (t) => {
  const { backstore, capture, sealed } = await setup(t, { epochMaxBytes: 8192, epochMaxMs: 5 });
  capture.startGeneration();
  await backstore.write(0, [Buffer.alloc(4096, 1)], { fua: false });
  await backstore.write(4096, [Buffer.alloc(4096, 2)], { fua: false });
  t.equal(sealed.length, 1, 'closed at 8 KiB');
  await backstore.write(0, [Buffer.alloc(512, 3)], { fua: false });
  t.ok(await waitFor(() => sealed.length === 2), 'closed by the timer');
});

t.test('reserving an epoch seals the open one first so later writes get later numbers', async (t) => {
  const { backstore, capture, sealed } = await setup(t);
  capture.startGeneration();
  await backstore.write(0, [Buffer.alloc(512, 1)], { fua: false });
  const reserved = capture.reserveEpoch();
  t.equal(sealed[0].epoch, 1);
  t.equal(reserved, 2);
  await backstore.write(0, [Buffer.alloc(512, 2)], { fua: true });
  t.equal(sealed[1].epoch, 3);
});

t.test('stopping the stream drops the open epoch into the dirty map', async (t) => {
  const { backstore, capture, sealed, dirty } = await setup(t);
  capture.startGeneration();
  await backstore.write(5 * GRAIN, [Buffer.alloc(512, 1)], { fua: false });
  t.equal(dirty.pendingEpoch(5), 1);
  capture.stopStreaming();
  t.equal(sealed.length, 0);
  t.equal(dirty.pendingEpoch(5), NEEDS_RESYNC);
});

t.test('sync mode: the write completes only when the replica confirmed its epoch', async (t) => {
  const { backstore, capture, dirty } = await setup(t);
  const waits: Array<{ epoch: number; release: () => void }> = [];
  const syncCapture = new ChangeCapture(backstore, dirty, { epochMaxMs: 60_000, epochMaxBytes: 1 << 20 }, {
    sealed: () => undefined,
    waitForReplica: (epoch) => new Promise((release) => waits.push({ epoch, release })),
  });
  capture.detach();
  syncCapture.attach();
  t.teardown(() => syncCapture.detach());
  syncCapture.syncMode = true;
  syncCapture.startGeneration();
  let released = false;
  // The order of events proves it: the write settles only after the replica released its epoch.
  const write = backstore.write(0, [Buffer.alloc(512, 1)], { fua: false }).then(() => released);
  await waitFor(() => waits.length === 1);
  released = true;
  waits[0].release();
  t.equal(await write, true, 'the write completed only after the replica confirmed its epoch');
});
