import t, { type Test } from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32c } from '@node-rs/crc32';
import { ApplyJournal, type PreparedEpoch } from '../../../../src/replication/apply/apply-journal.ts';
import { encodePayload } from '../../../../src/replication/pipeline/payload.ts';
import type { Backstore } from '../../../../src/storage/backstore.ts';
import { fileBackstore, tempDir } from '../helpers.ts';

const SIZE = 1024 * 1024;

/** A replica LUN and a new journal (at <dir>/pair) in a temp dir. */
async function journalRig(t: Test): Promise<{ dir: string; backstore: Backstore; journal: ApplyJournal }> {
  const dir = await tempDir(t);
  return { dir, backstore: await fileBackstore(t, dir, 'replica.img', SIZE), journal: await ApplyJournal.open(join(dir, 'pair')) };
}

t.test('applies epochs and records the position durably', async (t) => {
  const { backstore, journal } = await journalRig(t);
  t.same(await journal.position(), { generation: 0, epoch: 0 });
  await journal.apply(backstore, 1700000000000, 1, encodePayload([{ offset: 512, data: Buffer.from('abc') }]));
  await journal.apply(backstore, 1700000000000, 2, encodePayload([{ offset: 513, data: Buffer.from('X') }, { offset: 4096, zeroLength: 512 }]));
  t.same(await journal.position(), { generation: 1700000000000, epoch: 2 });
  t.equal((await backstore.read(512, 3)).toString(), 'aXc');
  await journal.close();
});

t.test('a crash in the middle of writing an epoch recovers to the epoch boundary', async (t) => {
  const { dir, backstore, journal } = await journalRig(t);
  await journal.apply(backstore, 7, 1, encodePayload([{ offset: 0, data: Buffer.alloc(512, 1) }]));
  // A backstore that dies after the first extent of the next epoch: a torn epoch on disk.
  let writes = 0;
  const crashing: Backstore = Object.create(backstore, {
    write: { value: async (offset: number, chunks: readonly Buffer[], options: { fua: boolean }) => {
      if (writes++ > 0) throw new Error('power cut');
      return backstore.write(offset, chunks, options);
    } },
  });
  const epoch2 = encodePayload([{ offset: 0, data: Buffer.alloc(512, 2) }, { offset: 8192, data: Buffer.alloc(512, 2) }]);
  await t.rejects(journal.apply(crashing, 7, 2, epoch2));
  t.same(await journal.position(), { generation: 7, epoch: 1 }, 'epoch 2 not recorded');
  t.equal((await backstore.read(8192, 1))[0], 0, 'torn: second extent missing');
  await journal.close();

  const restarted = await ApplyJournal.open(join(dir, 'pair'));
  t.same(await restarted.recover(backstore), { generation: 7, epoch: 2 }, 'journalled epoch replayed');
  t.equal((await backstore.read(8192, 1))[0], 2);
  t.same(await restarted.recover(backstore), { generation: 7, epoch: 2 }, 'recovery is idempotent');
  await restarted.close();
});

t.test('a torn journal record is ignored', async (t) => {
  const { dir, backstore, journal } = await journalRig(t);
  await journal.apply(backstore, 7, 1, encodePayload([{ offset: 0, data: Buffer.alloc(512, 1) }]));
  await journal.close();
  const { open } = await import('node:fs/promises');
  const handle = await open(join(dir, 'pair.journal'), 'r+');
  await handle.write(Buffer.from([0xde, 0xad]), 0, 2, 30);
  await handle.close();
  const restarted = await ApplyJournal.open(join(dir, 'pair'));
  t.same(await restarted.recover(backstore), { generation: 7, epoch: 1 });
  await restarted.close();
});

t.test('payloads writing beyond the replica are refused before anything is written', async (t) => {
  const { backstore, journal } = await journalRig(t);
  await t.rejects(journal.apply(backstore, 1, 1, encodePayload([{ offset: SIZE - 1, data: Buffer.alloc(2) }])));
  await t.rejects(journal.apply(backstore, 1, 1, Buffer.from('not msgpack at all')));
  t.same(await journal.position(), { generation: 0, epoch: 0 });
  await journal.close();
});

// --- group commit: a batch of consecutive epochs, three fdatasyncs, crash at every step -------------

/** Counts fdatasyncs of every FileHandle (journal, applied record; the file backstore's flush too). */
async function countDatasyncs(t: { teardown(fn: () => unknown): void }, dir: string): Promise<{ count: number }> {
  const { open } = await import('node:fs/promises');
  const probe = await open(join(dir, 'probe'), 'w');
  const proto = Object.getPrototypeOf(probe) as { datasync: () => Promise<void> };
  await probe.close();
  const original = proto.datasync;
  const tally = { count: 0 };
  proto.datasync = function (this: unknown) { tally.count++; return original.call(this); };
  t.teardown(() => { proto.datasync = original; });
  return tally;
}

/** Three epochs that all write offset 0 (the last one must win) plus one extent each of their own. */
function threeEpochs(backstore: Backstore, first: number): PreparedEpoch[] {
  return [0, 1, 2].map((i) => ApplyJournal.prepare(backstore, first + i, encodePayload([
    { offset: 0, data: Buffer.alloc(512, first + i) },
    { offset: 4096 * (first + i), data: Buffer.alloc(512, first + i) },
  ])));
}

/** A backstore whose `step` fails (as a power cut there would stop the process) after `after` calls. */
function failing(backstore: Backstore, step: 'write' | 'flush', after = 0): Backstore {
  let calls = 0;
  const inner = backstore as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  return Object.create(backstore, {
    [step]: { value: async (...args: unknown[]) => {
      if (calls++ >= after) throw new Error('power cut');
      return inner[step]!.apply(backstore, args);
    } },
  }) as Backstore;
}

t.test('a batch applies its epochs in order with three fdatasyncs and records the last one', async (t) => {
  const { dir, backstore, journal } = await journalRig(t);
  const syncs = await countDatasyncs(t, dir);
  await journal.applyBatch(backstore, 7, threeEpochs(backstore, 1));
  t.equal(syncs.count, 3, 'journal, backstore, record: one each for the whole batch');
  t.same(await journal.position(), { generation: 7, epoch: 3 });
  t.equal((await backstore.read(0, 1))[0], 3, 'the last epoch wins');
  for (const n of [1, 2, 3]) t.equal((await backstore.read(4096 * n, 1))[0], n);
  t.same(await journal.recover(failing(backstore, 'write')), { generation: 7, epoch: 3 }, 'a recorded batch is not replayed');
  await t.rejects(journal.applyBatch(backstore, 7, [...threeEpochs(backstore, 4).slice(0, 1), ...threeEpochs(backstore, 6).slice(0, 1)]), /not consecutive/);
  await journal.close();
});

for (const crash of [
  { at: 'after the journal, before any write', step: 'write' as const, after: 0 },
  { at: 'between the epochs of the batch', step: 'write' as const, after: 3 },
  { at: 'after the writes, before the flush', step: 'flush' as const, after: 0 },
]) {
  t.test(`a crash ${crash.at} replays the whole batch`, async (t) => {
    const { dir, backstore, journal } = await journalRig(t);
    await journal.applyBatch(backstore, 7, threeEpochs(backstore, 1));
    await t.rejects(journal.applyBatch(failing(backstore, crash.step, crash.after), 7, threeEpochs(backstore, 4)), /power cut/);
    t.same(await journal.position(), { generation: 7, epoch: 3 }, 'nothing of the batch recorded');
    await journal.close();

    const restarted = await ApplyJournal.open(join(dir, 'pair'));
    t.same(await restarted.recover(backstore), { generation: 7, epoch: 6 }, 'journalled batch replayed');
    t.equal((await backstore.read(0, 1))[0], 6);
    for (const n of [4, 5, 6]) t.equal((await backstore.read(4096 * n, 1))[0], n);
    t.same(await restarted.recover(backstore), { generation: 7, epoch: 6 }, 'recovery is idempotent');
    await restarted.close();
  });
}

t.test('a crash after the flush, before the record, replays the batch (idempotent)', async (t) => {
  const { dir, backstore, journal } = await journalRig(t);
  await journal.applyBatch(backstore, 7, threeEpochs(backstore, 1));
  const recordBefore = await readFile(join(dir, 'pair.applied'));
  await journal.applyBatch(backstore, 7, threeEpochs(backstore, 4));
  await journal.close();
  await writeFile(join(dir, 'pair.applied'), recordBefore); // the record write never reached the disk
  const restarted = await ApplyJournal.open(join(dir, 'pair'));
  t.same(await restarted.position(), { generation: 7, epoch: 3 });
  t.same(await restarted.recover(backstore), { generation: 7, epoch: 6 });
  t.equal((await backstore.read(0, 1))[0], 6);
  await restarted.close();
});

t.test('a torn batch record or a damaged header is ignored (the batch before it stays recorded)', async (t) => {
  const { dir, backstore, journal } = await journalRig(t);
  await journal.applyBatch(backstore, 7, threeEpochs(backstore, 1));
  const recordBefore = await readFile(join(dir, 'pair.applied'));
  await t.rejects(journal.applyBatch(failing(backstore, 'write'), 7, threeEpochs(backstore, 4)));
  await journal.close();
  await writeFile(join(dir, 'pair.applied'), recordBefore);
  const journalBytes = await readFile(join(dir, 'pair.journal'));

  const torn = Buffer.from(journalBytes);
  torn[torn.length - 10] ^= 0xff; // last sector of the body never written
  await writeFile(join(dir, 'pair.journal'), torn);
  let restarted = await ApplyJournal.open(join(dir, 'pair'));
  t.same(await restarted.recover(backstore), { generation: 7, epoch: 3 }, 'torn body');
  await restarted.close();

  const huge = Buffer.from(journalBytes);
  huge.writeUInt32BE(0xfffffff0, 20); // total payload bytes: far beyond the file
  await writeFile(join(dir, 'pair.journal'), huge);
  restarted = await ApplyJournal.open(join(dir, 'pair'));
  t.same(await restarted.recover(backstore), { generation: 7, epoch: 3 }, 'damaged length: no 4 GiB read');
  await restarted.close();
});

t.test('a single-epoch journal record written before group commit is still replayed', async (t) => {
  const { dir, backstore, journal } = await journalRig(t);
  await journal.applyBatch(backstore, 7, threeEpochs(backstore, 1));
  await journal.close();
  // The layout of the older format: magic 'ISJL', generation, epoch, payload length, crc32c; payload.
  const payload = encodePayload([{ offset: 0, data: Buffer.alloc(512, 4) }]);
  const header = Buffer.alloc(24);
  header.writeUInt32BE(0x49534a4c, 0);
  header.writeDoubleBE(7, 4);
  header.writeUInt32BE(4, 12);
  header.writeUInt32BE(payload.length, 16);
  header.writeUInt32BE(crc32c(payload, crc32c(header.subarray(0, 20))), 20);
  await writeFile(join(dir, 'pair.journal'), Buffer.concat([header, payload]));
  const restarted = await ApplyJournal.open(join(dir, 'pair'));
  t.same(await restarted.recover(backstore), { generation: 7, epoch: 4 });
  t.equal((await backstore.read(0, 1))[0], 4);
  await restarted.close();
});

// A damaged applied-epoch record was read as "nothing applied yet": the replica then waited for
// epochs long gone and the pair stalled with no reason given.
t.test('a damaged applied-epoch record stops the replica naming the file; an empty one is a fresh replica', async (t) => {
  const dir = await tempDir(t);
  const backstore = await fileBackstore(t, dir, 'replica.img', SIZE);
  const journal = await ApplyJournal.open(join(dir, 'pair'));
  await journal.apply(backstore, 7, 1, encodePayload([{ offset: 0, data: Buffer.alloc(512, 1) }]));
  await journal.close();
  const record = await readFile(join(dir, 'pair.applied'));
  for (const [what, bytes] of [['flipped bit', Buffer.from(record.map((b, i) => (i === 13 ? b ^ 1 : b)))], ['truncated', record.subarray(0, 11)], ['garbage', Buffer.from('not a record at all!')]] as const) {
    await writeFile(join(dir, 'pair.applied'), bytes);
    const reopened = await ApplyJournal.open(join(dir, 'pair'));
    await t.rejects(reopened.recover(backstore), { name: 'StateFileError', message: /pair\.applied .*not a valid applied-epoch record.*resync/ }, what);
    await reopened.close();
  }
  await writeFile(join(dir, 'pair.applied'), Buffer.alloc(0));
  const fresh = await ApplyJournal.open(join(dir, 'pair'));
  t.same(await fresh.position(), { generation: 0, epoch: 0 });
  await fresh.close();
});
