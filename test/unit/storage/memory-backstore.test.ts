import t from 'tap';
import { SpaceAllocationError } from '../../../src/storage/backstore.ts';
import { MemoryBackstore } from '../../../src/storage/memory-backstore.ts';
import { MemoryBudget } from '../../../src/storage/memory-budget.ts';

const KIB = 1024;
const MIB = 1024 * KIB;
const TIB = 1024 ** 4;

t.test('a 10 TiB memory LUN takes no memory until written; unwritten ranges read as zeros', async (t) => {
  const b = new MemoryBackstore({ sizeBytes: 10 * TIB, blockSize: 4096 });
  t.same(b.capabilities, { deallocate: true, allocationMap: true, resize: true, persistent: false });
  t.equal(b.allocatedBytes, 0);
  t.same(await b.read(10 * TIB - 8192, 8192), Buffer.alloc(8192));
  await b.write(10 * TIB - 4096, [Buffer.alloc(4096, 0xee)], { fua: true });
  t.equal(b.allocatedBytes, 4096, 'one chunk');
  t.same(await b.read(10 * TIB - 8192, 8192), Buffer.concat([Buffer.alloc(4096), Buffer.alloc(4096, 0xee)]));
  t.same(await b.allocation(0, 10 * TIB), [
    { offset: 0, length: 10 * TIB - 4096, mapped: false },
    { offset: 10 * TIB - 4096, length: 4096, mapped: true },
  ], 'allocation over the whole LUN costs the chunk count, not the size');
});

t.test('writes across chunk edges from several buffers; reads into a target', async (t) => {
  const b = new MemoryBackstore({ sizeBytes: 1 * MIB });
  const first = Buffer.alloc(3000, 1);
  const second = Buffer.alloc(6000, 2);
  await b.write(2048, [first, second], { fua: false });
  const target = Buffer.alloc(16 * KIB, 0xff);
  const out = await b.read(0, 12 * KIB, target);
  t.equal(out.buffer, target.buffer, 'the caller\'s buffer is used');
  t.same(out, Buffer.concat([Buffer.alloc(2048), first, second, Buffer.alloc(12 * KIB - 2048 - 9000)]));
  t.equal(b.allocatedBytes, 3 * 4096, 'bytes 2048..11048 touch chunks 0, 1, 2');
  await t.rejects(b.write(MIB - 512, [Buffer.alloc(1024)], { fua: false }), RangeError);
  await t.rejects(b.read(-512, 512), RangeError);
});

t.test('readNow: memory always has the bytes at once', async (t) => {
  const b = new MemoryBackstore({ sizeBytes: 1 * MIB });
  await b.write(4096, [Buffer.alloc(4096, 4)], { fua: false });
  t.same(b.readNow(0, 8192), Buffer.concat([Buffer.alloc(4096), Buffer.alloc(4096, 4)]));
  t.throws(() => b.readNow(MIB, 512), RangeError);
});

t.test('UNMAP frees whole chunks and a chunk it leaves all zeros; partial unmaps zero the range', async (t) => {
  const b = new MemoryBackstore({ sizeBytes: 1 * MIB });
  await b.write(0, [Buffer.alloc(64 * KIB, 7)], { fua: false });
  t.equal(b.allocatedBytes, 64 * KIB);
  await b.unmap(4 * KIB, 8 * KIB);
  t.equal(b.allocatedBytes, 56 * KIB, 'two whole chunks freed');
  await b.unmap(16 * KIB + 512, 1024);
  t.equal(b.allocatedBytes, 56 * KIB, 'a partial unmap keeps the chunk');
  t.same(await b.read(16 * KIB, 2048), Buffer.concat([Buffer.alloc(512, 7), Buffer.alloc(1024), Buffer.alloc(512, 7)]));
  await b.unmap(16 * KIB, 512);
  await b.unmap(16 * KIB + 1536, 4096 - 1536);
  t.equal(b.allocatedBytes, 52 * KIB, 'freed once the pieces left nothing but zeros');
  t.same(await b.allocation(0, 64 * KIB), [
    { offset: 0, length: 4 * KIB, mapped: true },
    { offset: 4 * KIB, length: 8 * KIB, mapped: false },
    { offset: 12 * KIB, length: 4 * KIB, mapped: true },
    { offset: 16 * KIB, length: 4 * KIB, mapped: false },
    { offset: 20 * KIB, length: 44 * KIB, mapped: true },
  ]);
  t.same(await b.allocation(6 * KIB, 8 * KIB), [
    { offset: 6 * KIB, length: 6 * KIB, mapped: false },
    { offset: 12 * KIB, length: 2 * KIB, mapped: true },
  ], 'extents are clipped to the range asked');
});

t.test('the memory limit: a write past it fails whole with SpaceAllocationError; UNMAP and close give memory back', async (t) => {
  const budget = new MemoryBudget(16 * KIB);
  const a = new MemoryBackstore({ sizeBytes: 1 * MIB, budget, label: 'LUN 0 of iqn.x' });
  const b = new MemoryBackstore({ sizeBytes: 1 * MIB, budget, label: 'LUN 1 of iqn.x' });
  await a.write(0, [Buffer.alloc(8 * KIB, 1)], { fua: false });
  await b.write(0, [Buffer.alloc(4 * KIB, 2)], { fua: false });
  t.equal(budget.usedBytes, 12 * KIB, 'shared by the LUNs');
  const error = await b.write(64 * KIB, [Buffer.alloc(8 * KIB, 3)], { fua: false }).catch((e: unknown) => e);
  t.ok(error instanceof SpaceAllocationError, 'SpaceAllocationError');
  t.match((error as Error).message, /^LUN 1 of iqn\.x: writing 8192 bytes at 65536 needs 8192 more bytes of memory; 12288 of the memoryLimit 16384/);
  t.same(await b.read(64 * KIB, 8 * KIB), Buffer.alloc(8 * KIB), 'nothing of the failed write was stored');
  t.equal(budget.usedBytes, 12 * KIB, 'and nothing reserved');
  await b.write(0, [Buffer.alloc(4 * KIB, 9)], { fua: false });
  t.equal(budget.usedBytes, 12 * KIB, 'overwriting allocated chunks needs no memory');
  await a.unmap(0, 8 * KIB);
  await b.write(64 * KIB, [Buffer.alloc(8 * KIB, 3)], { fua: false });
  t.equal(budget.usedBytes, 12 * KIB, 'the unmapped chunks were reused');
  await b.close();
  t.equal(budget.usedBytes, 0, 'close gives everything back');
  await t.rejects(b.read(0, 512), /closed/);
});

t.test('resize grows (the new range reads zeros), never shrinks; bad geometry is refused', async (t) => {
  const b = new MemoryBackstore({ sizeBytes: 1 * MIB });
  await b.resize(2 * MIB);
  t.equal(b.sizeBytes, 2 * MIB);
  t.same(await b.read(2 * MIB - 512, 512), Buffer.alloc(512));
  await t.rejects(b.resize(MIB), /at least/);
  t.throws(() => new MemoryBackstore({ sizeBytes: 1000 }), /multiple of 512/);
  t.throws(() => new MemoryBackstore({ sizeBytes: MIB, blockSize: 4096, chunkBytes: 2048 }), /power of two/);
});
