import t from 'tap';
import { join } from 'node:path';
import { ApplyJournal } from '../../../../src/replication/apply/apply-journal.ts';
import { encodePayload } from '../../../../src/replication/pipeline/payload.ts';
import type { Backstore } from '../../../../src/storage/backstore.ts';
import { fileBackstore, tempDir } from '../helpers.ts';

const SIZE = 1024 * 1024;

t.test('applies epochs and records the position durably', async (t) => {
  const dir = await tempDir(t);
  const backstore = await fileBackstore(t, dir, 'replica.img', SIZE);
  const journal = await ApplyJournal.open(join(dir, 'pair'));
  t.same(await journal.position(), { generation: 0, epoch: 0 });
  await journal.apply(backstore, 1700000000000, 1, encodePayload([{ offset: 512, data: Buffer.from('abc') }]));
  await journal.apply(backstore, 1700000000000, 2, encodePayload([{ offset: 513, data: Buffer.from('X') }, { offset: 4096, zeroLength: 512 }]));
  t.same(await journal.position(), { generation: 1700000000000, epoch: 2 });
  t.equal((await backstore.read(512, 3)).toString(), 'aXc');
  await journal.close();
});

t.test('a crash in the middle of writing an epoch recovers to the epoch boundary', async (t) => {
  const dir = await tempDir(t);
  const backstore = await fileBackstore(t, dir, 'replica.img', SIZE);
  const journal = await ApplyJournal.open(join(dir, 'pair'));
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
  const dir = await tempDir(t);
  const backstore = await fileBackstore(t, dir, 'replica.img', SIZE);
  const journal = await ApplyJournal.open(join(dir, 'pair'));
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
  const dir = await tempDir(t);
  const backstore = await fileBackstore(t, dir, 'replica.img', SIZE);
  const journal = await ApplyJournal.open(join(dir, 'pair'));
  await t.rejects(journal.apply(backstore, 1, 1, encodePayload([{ offset: SIZE - 1, data: Buffer.alloc(2) }])));
  await t.rejects(journal.apply(backstore, 1, 1, Buffer.from('not msgpack at all')));
  t.same(await journal.position(), { generation: 0, epoch: 0 });
  await journal.close();
});
