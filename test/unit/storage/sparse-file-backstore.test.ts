import { closeSync, openSync, readSync } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { SparseFileBackstore } from '../../../src/storage/sparse-file-backstore.ts';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'backstore-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const TIB = 2 ** 40;

t.test('a 10 TiB LUN is created sparse: right size, ~0 blocks on disk', async (t) => {
  const dir = await tempDir(t);
  const b = await SparseFileBackstore.open({ path: join(dir, 'big.img'), sizeBytes: 10 * TIB, blockSize: 4096 });
  t.teardown(() => b.close());
  const info = await stat(b.path);
  t.equal(info.size, 10 * TIB);
  t.ok(info.blocks * 512 < 1024 * 1024, `allocated ${info.blocks * 512} bytes`);
  t.same(await b.read(5 * TIB, 4096), Buffer.alloc(4096), 'holes read as zeros');
});

t.test('writes land at their offset; chunks are written back to back', async (t) => {
  const dir = await tempDir(t);
  const b = await SparseFileBackstore.open({ path: join(dir, 'a.img'), sizeBytes: 1 << 20 });
  t.teardown(() => b.close());
  await b.write(4096, [Buffer.alloc(100, 1), Buffer.alloc(412, 2)], { fua: false });
  const back = await b.read(4096, 512);
  t.same(back.subarray(0, 100), Buffer.alloc(100, 1));
  t.same(back.subarray(100), Buffer.alloc(412, 2));
  await b.write(0, [Buffer.alloc(512, 3)], { fua: true });
  t.same(await b.read(0, 512), Buffer.alloc(512, 3), 'FUA write readable');
  await t.rejects(b.read((1 << 20) - 256, 512), RangeError, 'reads past the end are refused');
  await t.rejects(b.write(1 << 20, [Buffer.alloc(512)], { fua: false }), RangeError);
});

t.test('readNow: what the page cache holds comes back at once in the caller\'s buffer, else undefined; bad ranges throw', async (t) => {
  const dir = await tempDir(t);
  const b = await SparseFileBackstore.open({ path: join(dir, 'now.img'), sizeBytes: 1 << 20 });
  t.teardown(() => b.close());
  await b.write(8192, [Buffer.alloc(4096, 9)], { fua: false }); // just written: in the page cache
  const target = Buffer.alloc(4096);
  const now = b.readNow(8192, 4096, target);
  // Where preadv2(RWF_NOWAIT) is missing every read waits (cached-read.ts): undefined is the honest answer.
  t.ok(now === undefined || now === target, 'the caller\'s buffer itself when it has the length');
  if (now !== undefined) t.same(now, Buffer.alloc(4096, 9));
  t.throws(() => b.readNow((1 << 20) - 512, 4096), RangeError, 'past the end is refused, as read() refuses it');
});

t.test('unmap punches a hole that allocation() reports and that reads as zeros', async (t) => {
  const dir = await tempDir(t);
  const b = await SparseFileBackstore.open({ path: join(dir, 'h.img'), sizeBytes: 64 << 20 });
  t.teardown(() => b.close());
  t.ok(b.capabilities.deallocate && b.capabilities.allocationMap, 'punch-hole and SEEK_DATA available on this platform');
  await b.write(1 << 20, [Buffer.alloc(1 << 20, 9)], { fua: false });
  await b.flush();
  const before = await b.allocatedBytes();
  t.ok(before >= 1 << 20, 'data allocated');
  t.same(await b.allocation(0, 4 << 20), [
    { offset: 0, length: 1 << 20, mapped: false },
    { offset: 1 << 20, length: 1 << 20, mapped: true },
    { offset: 2 << 20, length: 2 << 20, mapped: false },
  ]);
  await b.unmap(1 << 20, 1 << 20);
  t.ok((await b.allocatedBytes()) < before, 'allocated blocks shrink');
  t.same(await b.read(1 << 20, 4096), Buffer.alloc(4096));
  t.same(await b.allocation(0, 4 << 20), [{ offset: 0, length: 4 << 20, mapped: false }]);
});

t.test('an existing smaller file is grown; bad sizes are refused', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'g.img');
  const small = await SparseFileBackstore.open({ path, sizeBytes: 1 << 20 });
  await small.write(0, [Buffer.alloc(512, 5)], { fua: false });
  await small.close();
  const grown = await SparseFileBackstore.open({ path, sizeBytes: 2 << 20 });
  t.equal((await stat(path)).size, 2 << 20);
  t.same(await grown.read(0, 512), Buffer.alloc(512, 5), 'data kept');
  await grown.close();
  await t.rejects(SparseFileBackstore.open({ path: join(dir, 'x.img'), sizeBytes: 1000 }), /multiple of 512/);
  await t.rejects(SparseFileBackstore.open({ path: join(dir, 'missing.img'), sizeBytes: 1 << 20, create: false }), /ENOENT/);
});

t.test('a small write with nothing in flight lands before write() returns; mixed writes in flight all land', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'i.img');
  const b = await SparseFileBackstore.open({ path, sizeBytes: 8 << 20 });
  t.teardown(() => b.close());
  const fd = openSync(path, 'r');
  t.teardown(() => closeSync(fd));
  const peek = (offset: number, length: number): Buffer => {
    const out = Buffer.alloc(length);
    readSync(fd, out, 0, length, offset);
    return out;
  };

  const lone = b.write(8192, [Buffer.alloc(4096, 7)], { fua: false });
  t.same(peek(8192, 4096), Buffer.alloc(4096, 7), 'written inline, on the event loop');
  await lone;

  // One inline write a turn: the rest of a burst goes to the pool.
  const burst = [];
  for (let i = 0; i < 8; i++) burst.push(b.write((6 << 20) + i * 4096, [Buffer.alloc(4096, 40 + i)], { fua: false }));
  t.same(peek(6 << 20, 4096), Buffer.alloc(4096, 40), 'the first of a burst inline');
  await Promise.all(burst);
  for (let i = 0; i < 8; i++) t.same(await b.read((6 << 20) + i * 4096, 4096), Buffer.alloc(4096, 40 + i), `burst block ${i}`);

  // A large write goes to the thread pool; small writes issued while it is in flight follow it there.
  const writes = [b.write(1 << 20, [Buffer.alloc(2 << 20, 1)], { fua: false })];
  for (let i = 0; i < 16; i++) writes.push(b.write(i * 4096, [Buffer.alloc(2048, i + 10), Buffer.alloc(2048, i + 100)], { fua: i % 4 === 0 }));
  await Promise.all(writes);
  t.same(await b.read(1 << 20, 2 << 20), Buffer.alloc(2 << 20, 1));
  for (let i = 0; i < 16; i++) t.same(await b.read(i * 4096, 4096), Buffer.concat([Buffer.alloc(2048, i + 10), Buffer.alloc(2048, i + 100)]), `block ${i}`);

  const after = b.write(4 << 20, [Buffer.alloc(4096, 3)], { fua: false });
  t.same(peek(4 << 20, 4096), Buffer.alloc(4096, 3), 'inline again once the pool writes are done');
  await after;
});

t.test('write refusals are rejections, never synchronous throws', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'r.img');
  const rw = await SparseFileBackstore.open({ path, sizeBytes: 1 << 20 });
  await rw.close();
  const ro = await SparseFileBackstore.open({ path, readOnly: true });
  t.teardown(() => ro.close());
  await t.rejects(ro.write(0, [Buffer.alloc(512)], { fua: false }), /read-only/);
  await t.rejects(ro.write(-512, [Buffer.alloc(512)], { fua: false }), RangeError);
  await t.rejects(rw.write(0, [Buffer.alloc(512)], { fua: false }), /closed/);
});

t.test('LBA-contiguous writes queued in one turn leave as one pwritev; others each alone', async (t) => {
  const dir = await tempDir(t);
  const b = await SparseFileBackstore.open({ path: join(dir, 'c.img'), sizeBytes: 8 << 20 });
  t.teardown(() => b.close());
  const block = (i: number): Buffer => Buffer.alloc(4096, i + 1);
  const first = b.write(0, [block(0)], { fua: false }); // inline: the first of the turn
  const run = [1, 2, 3, 4].map((i) => b.write(i * 4096, [block(i)], { fua: false }));
  t.equal(new Set(run).size, 1, 'blocks 1-4 share one pool write');
  const strided = [10, 20].map((i) => b.write(i * 4096, [block(i)], { fua: false }));
  t.not(strided[0], strided[1], 'non-contiguous writes are separate');
  t.not(strided[0], run[0]);
  const fua = b.write(21 * 4096, [block(21)], { fua: true });
  t.not(fua, strided[1], 'a FUA write (the O_DSYNC descriptor) never joins a plain one');
  await Promise.all([first, ...run, ...strided, fua]);
  for (const i of [0, 1, 2, 3, 4, 10, 20, 21]) t.same(await b.read(i * 4096, 4096), block(i), `block ${i}`);
  t.same(await b.read(5 * 4096, 4096), Buffer.alloc(4096), 'nothing beyond the run');

  const next = b.write(5 * 4096, [block(5)], { fua: false });
  const later = await Promise.resolve().then(() => b.write(6 * 4096, [block(6)], { fua: false }));
  await Promise.all([next, later]);
  t.same(await b.read(5 * 4096, 8192), Buffer.concat([block(5), block(6)]), 'writes of later turns land too');
});
