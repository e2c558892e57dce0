import t from 'tap';
import { join } from 'node:path';
import { ChangeCapture } from '../../../../src/replication/capture/change-capture.ts';
import { DirtyMap, NEEDS_RESYNC } from '../../../../src/replication/capture/dirty-map.ts';
import type { SealedEpoch } from '../../../../src/replication/capture/open-epoch.ts';
import type { FlushListener, ObservableBackstore, WriteIntentListener, WriteListener } from '../../../../src/storage/backstore.ts';
import { fileBackstore, tempDir } from '../helpers.ts';
import { expectUnmapAsDeallocation } from './unmap-epoch.ts';

const GRAIN = 4096;
const EXTENT = 16 * GRAIN;
const SIZE = 64 * EXTENT;

/** A backstore whose hooks the test fires by hand, so a crash can be placed between them. */
function hookBackstore() {
  const intents = new Set<WriteIntentListener>();
  const writes = new Set<WriteListener>();
  const flushes = new Set<FlushListener>();
  const backstore: ObservableBackstore = {
    label: 'fake', sizeBytes: SIZE, blockSize: 512,
    capabilities: { deallocate: false, allocationMap: false, resize: false, persistent: true },
    read: async (_offset, length) => Buffer.alloc(length),
    write: async () => undefined,
    flush: async () => undefined,
    unmap: async () => undefined,
    allocation: async (offset, length) => [{ offset, length, mapped: true }],
    resize: async () => { throw new Error('fixed size'); },
    addWriteListener: (listener) => { writes.add(listener); return () => writes.delete(listener); },
    addWriteIntentListener: (listener) => { intents.add(listener); return () => intents.delete(listener); },
    addFlushListener: (listener) => { flushes.add(listener); return () => flushes.delete(listener); },
    close: async () => undefined,
  };
  const intent = async (offset: number, length: number) => { for (const listener of intents) await listener(offset, length); };
  return { backstore, intent };
}

async function openMap(path: string): Promise<DirtyMap> {
  return DirtyMap.open(path, SIZE, GRAIN, { extentBytes: EXTENT });
}

t.test('kill -9 between the write intent and the data write: the range is dirty on disk', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'lun.dirty');
  const dirty = await openMap(path);
  t.teardown(() => dirty.close());
  const { backstore, intent } = hookBackstore();
  const capture = new ChangeCapture(backstore, dirty, { epochMaxMs: 60_000, epochMaxBytes: 1 << 20 }, { sealed: () => undefined });
  capture.attach();
  capture.startGeneration();
  await intent(5 * EXTENT + 100, 512);
  // The process dies here: the data may be in the LUN file, the after-write hook never ran.
  const recovered = await openMap(path);
  t.teardown(() => recovered.close());
  t.equal(recovered.pendingEpoch(5 * EXTENT / GRAIN), NEEDS_RESYNC, 'the grain written is recovered as needing a resync');
  t.equal(recovered.pendingEpoch(6 * EXTENT / GRAIN), undefined, 'untouched extents stay clean');
  capture.detach();
});

t.test('the intent is persisted before the data reaches the file (real backstore)', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'lun.dirty');
  const backstore = await fileBackstore(t, dir, 'lun.img', SIZE);
  const dirty = await openMap(path);
  t.teardown(() => dirty.close());
  const capture = new ChangeCapture(backstore, dirty, { epochMaxMs: 60_000, epochMaxBytes: 1 << 20 }, { sealed: () => undefined });
  capture.attach();
  t.teardown(() => capture.detach());
  const observed: Array<{ pending: number | undefined; data: number }> = [];
  backstore.addWriteIntentListener(async () => {
    const onDisk = await openMap(path);
    observed.push({ pending: onDisk.pendingEpoch(3 * EXTENT / GRAIN), data: (await backstore.read(3 * EXTENT, 1))[0] });
    await onDisk.close();
  });
  await backstore.write(3 * EXTENT, [Buffer.alloc(512, 7)], { fua: false });
  t.same(observed, [{ pending: NEEDS_RESYNC, data: 0 }], 'dirty on disk, data not yet written');
});

t.test('a held extent is not cleared by the replica confirming other grains in it', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'lun.dirty');
  const dirty = await openMap(path);
  t.teardown(() => dirty.close());
  await dirty.mark(0, GRAIN, 1);
  await dirty.hold(GRAIN, GRAIN);
  dirty.cleanUpTo(1);
  await dirty.persist();
  const onDisk = await openMap(path);
  t.equal(onDisk.pendingEpoch(1), NEEDS_RESYNC, 'extent still dirty on disk while the write is under way');
  await onDisk.close();
  dirty.release(GRAIN, GRAIN);
  await dirty.persist();
  const after = await openMap(path);
  t.equal(after.pendingEpoch(1), undefined, 'cleared once released with nothing pending');
  await after.close();
});

t.test('UNMAP reaches the epoch as a deallocation range, not zero bytes', async (t) => {
  const dir = await tempDir(t);
  const backstore = await fileBackstore(t, dir, 'lun.img', SIZE);
  const dirty = await openMap(join(dir, 'lun.dirty'));
  t.teardown(() => dirty.close());
  const sealed: SealedEpoch[] = [];
  const capture = new ChangeCapture(backstore, dirty, { epochMaxMs: 60_000, epochMaxBytes: 1 << 20 }, { sealed: (epoch) => sealed.push(epoch) });
  capture.attach();
  t.teardown(() => capture.detach());
  await expectUnmapAsDeallocation(t, backstore, capture, sealed, 2 * EXTENT);
  t.equal(sealed[0].bytes, 4096, 'only the written bytes count');
  t.equal(dirty.pendingEpoch(2 * EXTENT / GRAIN), 1);
});

t.test('a second write into an extent whose dirty bit is not durable yet waits for it too', async (t) => {
  const dir = await tempDir(t);
  const dirty = await openMap(join(dir, 'lun.dirty'));
  t.teardown(() => dirty.close());
  const first = dirty.hold(0, 512);
  const second = dirty.hold(512, 512);
  t.ok(first, 'the first write persists the bit');
  t.ok(second, 'the second write waits for that persist instead of racing it');
  await Promise.all([first, second]);
  t.equal(dirty.hold(1024, 512), undefined, 'once durable, further writes pay nothing');
  for (const offset of [0, 512, 1024]) dirty.release(offset, 512);
});
