/** Change capture as a decorator: the hooks' contract holds over every backstore plug-in. */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Backstore, WriteRecordError } from '../../../src/storage/backstore.ts';
import { MemoryBackstore } from '../../../src/storage/memory-backstore.ts';
import { ObservedBackstore } from '../../../src/storage/observed-backstore.ts';
import { SparseFileBackstore } from '../../../src/storage/sparse-file-backstore.ts';

const SIZE = 1 << 20;

const plugins: Record<string, (t: Test) => Promise<Backstore>> = {
  file: async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'observed-'));
    const b = await SparseFileBackstore.open({ path: join(dir, 'l.img'), sizeBytes: SIZE });
    t.teardown(async () => { await b.close(); await rm(dir, { recursive: true, force: true }); });
    return b;
  },
  memory: async () => new MemoryBackstore({ sizeBytes: SIZE }),
};

for (const [kind, open] of Object.entries(plugins)) {
  t.test(`${kind}: write intent settles before the data is written, write listeners run after it`, async (t) => {
    const b = new ObservedBackstore(await open(t));
    const seen: string[] = [];
    let releaseIntent: (() => void) | undefined;
    b.addWriteIntentListener(async (offset, length) => {
      seen.push(`intent ${offset}+${length}`);
      t.same(await b.read(offset, 512), Buffer.alloc(512), 'the data is not there while the intent is pending');
      await new Promise<void>((resolve) => { releaseIntent = resolve; });
    });
    b.addWriteListener(async (offset, chunks, options) => {
      seen.push(`write ${offset} ${chunks.length} ${options.fua}`);
      t.same(await b.read(offset, 512), Buffer.alloc(512, 4), 'the data is there when the write listener runs');
    });
    const pending = b.write(4096, [Buffer.alloc(256, 4), Buffer.alloc(256, 4)], { fua: true });
    // Bounded by the listener's own progress: it reaches its await after one read.
    while (!releaseIntent) await new Promise((resolve) => setImmediate(resolve));
    t.same(await b.read(4096, 512), Buffer.alloc(512), 'still not written');
    releaseIntent();
    await pending;
    t.same(seen, ['intent 4096+512', 'write 4096 2 true']);
  });

  t.test(`${kind}: a rejected intent fails the write with nothing written`, async (t) => {
    const b = new ObservedBackstore(await open(t));
    const writes: number[] = [];
    b.addWriteListener((offset) => { writes.push(offset); });
    const remove = b.addWriteIntentListener(() => Promise.reject(new WriteRecordError('dirty map could not be persisted')));
    await t.rejects(b.write(0, [Buffer.alloc(512, 1)], { fua: false }), WriteRecordError);
    await t.rejects(b.unmap(0, 512), WriteRecordError);
    t.same(await b.read(0, 512), Buffer.alloc(512), 'nothing reached the backstore');
    t.same(writes, [], 'no write listener ran');
    remove();
    await b.write(0, [Buffer.alloc(512, 1)], { fua: false });
    t.same(writes, [0], 'writes go through once the listener is gone');
  });

  t.test(`${kind}: a write listener delays completion; UNMAP reaches listeners as a deallocation; flush listeners after the flush`, async (t) => {
    const b = new ObservedBackstore(await open(t));
    const seen: string[] = [];
    let releaseWrite: (() => void) | undefined;
    const remove = b.addWriteListener(async () => { await new Promise<void>((resolve) => { releaseWrite = resolve; }); });
    let done = false;
    const pending = b.write(0, [Buffer.alloc(512, 4)], { fua: false }).then(() => { done = true; });
    while (!releaseWrite) await new Promise((resolve) => setImmediate(resolve));
    t.equal(done, false, 'the write waits for its listener');
    releaseWrite();
    await pending;
    remove();
    b.addWriteIntentListener((offset, length) => { seen.push(`intent ${offset}+${length}`); });
    b.addWriteListener((offset, chunks, options) => {
      seen.push(`write ${offset} ${chunks.reduce((n, c) => n + c.length, 0)} deallocate=${options.deallocate === true} zeros=${chunks.every((c) => c.every((byte) => byte === 0))}`);
    });
    b.addFlushListener(() => { seen.push('flush'); });
    await b.unmap(0, 8192);
    await b.flush();
    t.same(seen, ['intent 0+8192', 'write 0 8192 deallocate=true zeros=true', 'flush']);
    t.same(await b.read(0, 512), Buffer.alloc(512));
    await t.rejects(b.write(SIZE, [Buffer.alloc(512)], { fua: false }), RangeError, 'out of range: refused before any listener');
    t.equal(seen.length, 3);
  });
}

t.test('the decorator passes identity and capabilities through', async (t) => {
  const inner = new MemoryBackstore({ sizeBytes: SIZE, blockSize: 4096, label: 'memory LUN 0' });
  const b = new ObservedBackstore(inner);
  t.equal(b.label, 'memory LUN 0');
  t.equal(b.blockSize, 4096);
  t.same(b.capabilities, inner.capabilities);
  await b.resize(2 * SIZE);
  t.equal(b.sizeBytes, 2 * SIZE);
});
