/**
 * Issue 8, point 7: a dirty-map persist that fails is a value. The write it guarded gets CHECK
 * CONDITION (HARDWARE ERROR / WRITE ERROR), the bits stay set and are retried, and no write that was
 * answered GOOD is left unmarked on disk. The failure is injected through the map's file operations.
 */
import t from 'tap';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { ChangeCapture } from '../../../../src/replication/capture/change-capture.ts';
import { DirtyMap, NEEDS_RESYNC, type DirtyMapFile } from '../../../../src/replication/capture/dirty-map.ts';
import { WriteRecordError } from '../../../../src/storage/backstore.ts';
import { harness } from '../../scsi/helpers/harness.ts';
import { cdbWrite10 } from '../../scsi/helpers/cdb.ts';
import { expectGood, expectSenseOf } from '../../scsi/helpers/expect-sense.ts';
import { tempDir } from '../helpers.ts';

const BLOCK = 512;
const GRAIN = 4096;
const EXTENT = 4 * GRAIN;

/** The real map file, whose writes and syncs fail while `failing` says so (ENOSPC, as a full disk). */
function faultyFile() {
  const control = { failing: (_op: 'write' | 'datasync'): boolean => false };
  const openFile = async (path: string): Promise<DirtyMapFile> => {
    await (await open(path, 'a+')).close();
    const handle = await open(path, 'r+');
    const fault = () => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return {
      read: (buffer, offset, length, position) => handle.read(buffer, offset, length, position),
      write: async (buffer, offset, length, position) => {
        if (control.failing('write')) throw fault();
        return handle.write(buffer, offset, length, position);
      },
      datasync: async () => {
        if (control.failing('datasync')) throw fault();
        return handle.datasync();
      },
      truncate: (length) => handle.truncate(length),
      stat: () => handle.stat(),
      close: () => handle.close(),
    };
  };
  return { control, openFile };
}

t.test('a failed persist rejects its waiters, keeps the bits and a later persist writes them', async (t) => {
  const path = join(await tempDir(t), 'lun.dirty');
  const { control, openFile } = faultyFile();
  const map = await DirtyMap.open(path, 64 * EXTENT, GRAIN, { extentBytes: EXTENT, openFile });
  t.teardown(() => map.close().catch(() => undefined));
  await map.mark(3 * EXTENT, 100, 1);
  control.failing = () => true;
  await t.rejects(map.mark(5 * EXTENT, 100, 2)!, WriteRecordError, 'the mark that needed a new on-disk bit fails');
  t.match(map.persistFailure, /ENOSPC/, 'the failure is visible (status says it)');
  t.equal(map.pendingEpoch(5 * EXTENT / GRAIN), 2, 'the grain stays pending in memory');
  const second = map.mark(5 * EXTENT + 200, 100, 3);
  t.ok(second instanceof Promise, 'a second write into the not-durable extent waits for a persist too');
  await t.rejects(second!, WriteRecordError, 'and fails while the disk does');
  const meanwhile = await DirtyMap.open(path, 64 * EXTENT, GRAIN, { extentBytes: EXTENT });
  t.equal(meanwhile.pendingEpoch(5 * EXTENT / GRAIN), undefined, 'not on disk while the disk fails');
  await meanwhile.close();
  control.failing = () => false;
  await map.persist();
  t.equal(map.persistFailure, undefined, 'cleared once a persist succeeds');
  const recovered = await DirtyMap.open(path, 64 * EXTENT, GRAIN, { extentBytes: EXTENT });
  t.equal(recovered.pendingEpoch(5 * EXTENT / GRAIN), NEEDS_RESYNC, 'the kept bit was retried and is on disk now');
  t.equal(recovered.pendingEpoch(3 * EXTENT / GRAIN), NEEDS_RESYNC);
  await recovered.close();
});

t.test('WRITE(10) whose dirty bit cannot be persisted gets HARDWARE ERROR / WRITE ERROR and writes nothing', async (t) => {
  const h = await harness(t, { blocks: 64 * EXTENT / BLOCK });
  const { control, openFile } = faultyFile();
  const map = await DirtyMap.open(join(h.dir, 'lun.dirty'), h.backstore.sizeBytes, GRAIN, { extentBytes: EXTENT, openFile });
  const capture = new ChangeCapture(h.backstore, map, { epochMaxMs: 60_000, epochMaxBytes: 1 << 20 }, { sealed: () => undefined });
  capture.attach();
  t.teardown(async () => { capture.detach(); await map.close().catch(() => undefined); });
  expectGood(t, await h.run(cdbWrite10({ lba: 0, blocks: 1 }), { dataOut: [Buffer.alloc(BLOCK, 1)] }), 'first extent marked, GOOD');
  control.failing = () => true;
  const lba = (7 * EXTENT) / BLOCK;
  expectSenseOf.hardwareWriteError(t, await h.run(cdbWrite10({ lba, blocks: 1 }), { dataOut: [Buffer.alloc(BLOCK, 2)] }));
  t.same(await h.backstore.read(lba * BLOCK, BLOCK), Buffer.alloc(BLOCK), 'the data was not written (the intent failed first)');
  expectGood(t, await h.run(cdbWrite10({ lba: 1, blocks: 1 }), { dataOut: [Buffer.alloc(BLOCK, 3)] }), 'an extent durable on disk needs no persist: GOOD');
  control.failing = () => false;
  expectGood(t, await h.run(cdbWrite10({ lba, blocks: 1 }), { dataOut: [Buffer.alloc(BLOCK, 2)] }), 'the retry succeeds once the disk does');
});

t.test('under intermittent persist failures no write answered GOOD is left unmarked on disk', async (t) => {
  const h = await harness(t, { blocks: 256 * EXTENT / BLOCK });
  const { control, openFile } = faultyFile();
  const path = join(h.dir, 'lun.dirty');
  const map = await DirtyMap.open(path, h.backstore.sizeBytes, GRAIN, { extentBytes: EXTENT, openFile, cleanPersistMs: 5 });
  const capture = new ChangeCapture(h.backstore, map, { epochMaxMs: 60_000, epochMaxBytes: 1 << 20 }, { sealed: () => undefined });
  capture.attach();
  t.teardown(async () => { capture.detach(); await map.close().catch(() => undefined); });
  let calls = 0;
  control.failing = (op) => op === 'datasync' && ++calls % 3 === 0; // every third sync of the map fails
  const good: number[] = [];
  let failed = 0;
  // 256 writes, 16 in flight at a time, each into its own extent (so each needs a new on-disk bit).
  for (let round = 0; round < 16; round++) {
    await Promise.all(Array.from({ length: 16 }, async (_, i) => {
      const extent = round * 16 + i;
      const response = await h.run(cdbWrite10({ lba: (extent * EXTENT) / BLOCK, blocks: 1 }), { dataOut: [Buffer.alloc(BLOCK, 9)] });
      if (response.status === 0) good.push(extent);
      else { expectSenseOf.hardwareWriteError(t, response); failed++; }
    }));
  }
  t.ok(failed > 0 && good.length > 0, `both outcomes happened (${good.length} GOOD, ${failed} CHECK CONDITION)`);
  // kill -9 now: what does the map on disk say?
  const onDisk = await DirtyMap.open(path, h.backstore.sizeBytes, GRAIN, { extentBytes: EXTENT });
  const unmarked = good.filter((extent) => onDisk.pendingEpoch((extent * EXTENT) / GRAIN) === undefined);
  t.same(unmarked, [], 'every GOOD write is dirty on disk');
  await onDisk.close();
});
