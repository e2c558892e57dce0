/** Change capture over a memory LUN: the ObservedBackstore decorator gives any backstore the same hooks. */
import t from 'tap';
import { join } from 'node:path';
import { ChangeCapture } from '../../../../src/replication/capture/change-capture.ts';
import { DirtyMap, NEEDS_RESYNC } from '../../../../src/replication/capture/dirty-map.ts';
import type { SealedEpoch } from '../../../../src/replication/capture/open-epoch.ts';
import { MemoryBackstore } from '../../../../src/storage/memory-backstore.ts';
import { ObservedBackstore } from '../../../../src/storage/observed-backstore.ts';
import { tempDir } from '../helpers.ts';
import { expectUnmapAsDeallocation } from './unmap-epoch.ts';

const GRAIN = 4096;
const SIZE = 256 * GRAIN;

t.test('writes and UNMAPs on a memory LUN become epochs; the intent is on disk before the data', async (t) => {
  const dir = await tempDir(t);
  const backstore = new ObservedBackstore(new MemoryBackstore({ sizeBytes: SIZE }));
  const path = join(dir, 'lun.dirty');
  const dirty = await DirtyMap.open(path, SIZE, GRAIN);
  t.teardown(() => dirty.close());
  const sealed: SealedEpoch[] = [];
  const capture = new ChangeCapture(backstore, dirty, { epochMaxMs: 60_000, epochMaxBytes: 1 << 20 }, { sealed: (epoch) => sealed.push(epoch) });
  capture.attach();
  t.teardown(() => capture.detach());
  const observed: Array<{ pending: number | undefined; data: number }> = [];
  const stopObserving = backstore.addWriteIntentListener(async (offset) => {
    const onDisk = await DirtyMap.open(path, SIZE, GRAIN);
    observed.push({ pending: onDisk.pendingEpoch(Math.floor(offset / GRAIN)), data: (await backstore.read(offset, 1))[0] });
    await onDisk.close();
  });
  await backstore.write(5 * GRAIN, [Buffer.alloc(512, 7)], { fua: false });
  stopObserving();
  t.same(observed, [{ pending: NEEDS_RESYNC, data: 0 }], 'dirty on disk, data not yet in memory');

  await expectUnmapAsDeallocation(t, backstore, capture, sealed, 2 * GRAIN);
  t.equal(backstore.inner.allocatedBytes, 2 * GRAIN, 'the unmapped chunk was freed (chunks 0 and 5 remain)');
});
