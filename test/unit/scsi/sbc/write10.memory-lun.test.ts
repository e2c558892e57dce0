/** A memory LUN under the SCSI core: thin by default, GET LBA STATUS from its chunk map, the memory limit as a SCSI error. */
import t from 'tap';
import { LogicalUnit } from '../../../../src/scsi/logical-unit.ts';
import { createScsiTarget } from '../../../../src/scsi/scsi-target.ts';
import { MemoryBackstore } from '../../../../src/storage/memory-backstore.ts';
import { MemoryBudget } from '../../../../src/storage/memory-budget.ts';
import { ObservedBackstore } from '../../../../src/storage/observed-backstore.ts';
import { cdbGetLbaStatus, cdbRead10, cdbUnmap, cdbWrite10, unmapParameters } from '../helpers/cdb.ts';
import { expectGood, expectSenseOf } from '../helpers/expect-sense.ts';
import { nexus, TARGET_IQN } from '../helpers/harness.ts';

function memoryTarget(limitBytes: number) {
  const memory = new MemoryBackstore({ sizeBytes: 8192 * 512, budget: new MemoryBudget(limitBytes), label: 'memory LUN 0' });
  const unit = new LogicalUnit({ lun: 0, backstore: new ObservedBackstore(memory), naa: '3000000000000abc' });
  const target = createScsiTarget({ targetIqn: TARGET_IQN, units: [unit] });
  const main = nexus();
  target.nexusAdded(main);
  unit.unitAttentions.clear(main.id);
  const run = (cdb: Buffer, dataOut: Buffer[] = []) => target.execute({
    cdb, lun: 0, nexus: main, taskAttribute: 1, expectedLength: dataOut.reduce((n, b) => n + b.length, 0) || 64 * 1024,
    readFlag: dataOut.length === 0, writeFlag: dataOut.length > 0, dataOut, dataOutLength: dataOut.reduce((n, b) => n + b.length, 0), signal: new AbortController().signal,
  });
  return { memory, unit, run };
}

t.test('thin by default; UNMAP frees chunks and GET LBA STATUS reports the chunk map', async (t) => {
  const { memory, unit, run } = memoryTarget(1 << 30);
  t.equal(unit.thinProvisioning, true, 'LBPME on: the memory backstore deallocates');
  t.equal(unit.persistentReservations.aptpl, false);
  expectGood(t, await run(cdbWrite10({ lba: 0, blocks: 2048 }), [Buffer.alloc(2048 * 512, 0x11)]));
  t.equal(memory.allocatedBytes, 1 << 20);
  const list = unmapParameters([{ lba: 1024, blocks: 1024 }]);
  expectGood(t, await run(cdbUnmap(list.length), [list]));
  t.equal(memory.allocatedBytes, 512 << 10, 'half the chunks freed');
  const zeros = await run(cdbRead10({ lba: 1024, blocks: 1 }));
  t.same(Buffer.concat((zeros.dataIn ?? []).map((b) => Buffer.from(b))).subarray(0, 512), Buffer.alloc(512), 'LBPRZ: reads zeros');
  zeros.release?.();
  const response = await run(cdbGetLbaStatus(0));
  const status = Buffer.concat((response.dataIn ?? []).map((b) => Buffer.from(b)));
  response.release?.();
  const read = (i: number) => ({ lba: Number(status.readBigUInt64BE(8 + i * 16)), blocks: status.readUInt32BE(16 + i * 16), state: status[20 + i * 16] });
  t.equal((status.readUInt32BE(0) - 4) / 16, 2, 'two descriptors');
  t.same(read(0), { lba: 0, blocks: 1024, state: 0 }, 'mapped');
  t.same(read(1), { lba: 1024, blocks: 8192 - 1024, state: 1 }, 'deallocated');
});

t.test('a write past the memory limit: CHECK CONDITION, DATA PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT, nothing written', async (t) => {
  const { memory, run } = memoryTarget(64 * 1024);
  expectGood(t, await run(cdbWrite10({ lba: 0, blocks: 128 }), [Buffer.alloc(128 * 512, 1)]), '64 KiB fit');
  expectSenseOf.spaceAllocationFailed(t, await run(cdbWrite10({ lba: 4096, blocks: 8 }), [Buffer.alloc(8 * 512, 2)]));
  t.equal(memory.allocatedBytes, 64 * 1024, 'nothing allocated by the failed write');
  expectGood(t, await run(cdbWrite10({ lba: 0, blocks: 8 }), [Buffer.alloc(8 * 512, 3)]), 'overwrites need no new memory');
  const list = unmapParameters([{ lba: 0, blocks: 64 }]);
  expectGood(t, await run(cdbUnmap(list.length), [list]));
  expectGood(t, await run(cdbWrite10({ lba: 4096, blocks: 8 }), [Buffer.alloc(8 * 512, 2)]), 'UNMAP made room');
});
