import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { LogicalUnit } from '../../../../src/scsi/logical-unit.ts';
import { createScsiTarget } from '../../../../src/scsi/scsi-target.ts';
import { SparseFileBackstore } from '../../../../src/storage/sparse-file-backstore.ts';
import { nexus, TARGET_IQN } from '../helpers/harness.ts';

function identificationDescriptor(naa: string): Buffer {
  const d = Buffer.alloc(32);
  d[0] = 0xe4;
  d[4] = 0x01; // binary
  d[5] = 0x03; // NAA
  d[7] = 8;
  Buffer.from(naa, 'hex').copy(d, 8);
  d.writeUIntBE(512, 29, 3);
  return d;
}

function blockToBlock(o: { source: number; destination: number; blocks: number; sourceLba: number; destinationLba: number }): Buffer {
  const d = Buffer.alloc(28);
  d[0] = 0x02;
  d.writeUInt16BE(0x18, 2);
  d.writeUInt16BE(o.source, 4);
  d.writeUInt16BE(o.destination, 6);
  d.writeUInt16BE(o.blocks, 10);
  d.writeBigUInt64BE(BigInt(o.sourceLba), 12);
  d.writeBigUInt64BE(BigInt(o.destinationLba), 20);
  return d;
}

/** An EXTENDED COPY (LID1) parameter list and its CDB; `listId` is byte 0 of the header, `usage` byte 1. */
function extendedCopy(targets: Buffer, segments: Buffer, head: { listId?: number; usage?: number }): { list: Buffer; cdb: Buffer } {
  const header = Buffer.alloc(16);
  header[0] = head.listId ?? 0;
  header[1] = head.usage ?? 0;
  header.writeUInt16BE(targets.length, 2);
  header.writeUInt32BE(segments.length, 8);
  const list = Buffer.concat([header, targets, segments]);
  const cdb = Buffer.alloc(16);
  cdb[0] = 0x83;
  cdb.writeUInt32BE(list.length, 10);
  return { list, cdb };
}

t.test('EXTENDED COPY copies between two LUNs identified by their NAA designators', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'xcopy-test-'));
  const stores = await Promise.all([0, 1].map((i) => SparseFileBackstore.open({ path: join(dir, `lun${i}.img`), sizeBytes: 4 << 20 })));
  t.teardown(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await rm(dir, { recursive: true, force: true });
  });
  const units = stores.map((backstore, lun) => new LogicalUnit({ lun, backstore }));
  const target = createScsiTarget({ targetIqn: TARGET_IQN, units });
  const who = nexus();
  target.nexusAdded(who);
  units.forEach((u) => u.unitAttentions.clear(who.id));
  const pattern = Buffer.alloc(64 * 512);
  for (let i = 0; i < pattern.length; i++) pattern[i] = i % 251;
  await stores[0].write(0, [pattern], { fua: false });

  const targets = Buffer.concat([identificationDescriptor(units[0].naa), identificationDescriptor(units[1].naa)]);
  const segments = blockToBlock({ source: 0, destination: 1, blocks: 64, sourceLba: 0, destinationLba: 100 });
  const { list, cdb } = extendedCopy(targets, segments, { listId: 7 }); // usage 00b: keep results
  const run = (c: Buffer, dataOut: Buffer[] = []) => target.execute({
    cdb: c, lun: 0, nexus: who, taskAttribute: 1, expectedLength: list.length, readFlag: dataOut.length === 0,
    writeFlag: dataOut.length > 0, dataOut, dataOutLength: dataOut.reduce((n, b) => n + b.length, 0), signal: new AbortController().signal,
  });
  t.equal((await run(cdb, [list])).status, 0);
  t.same(await stores[1].read(100 * 512, pattern.length), pattern, 'copied byte for byte');
  t.equal(target.copyOperations.count, 1);
  t.equal(target.copyOperations.bytes, pattern.length);

  const status = Buffer.alloc(16);
  status[0] = 0x84;
  status[2] = 7;
  status.writeUInt32BE(64, 10);
  const result = await run(status);
  t.equal(result.status, 0);
  t.equal(result.dataIn![0][4], 0x01, 'copy completed without error');

  const badSegment = blockToBlock({ source: 0, destination: 5, blocks: 1, sourceLba: 0, destinationLba: 0 });
  const { list: badList } = extendedCopy(targets, badSegment, { listId: 7 });
  const aborted = await run(cdb, [badList]);
  t.equal(aborted.status, 2);
  t.equal(aborted.sense![2] & 0x0f, 0x0a, 'COPY ABORTED');
});

function blockToBlockWithOffsets(o: { bytes: number; sourceLba: number; destinationLba: number; sourceOffset?: number; destinationOffset?: number }): Buffer {
  const d = Buffer.alloc(32);
  d[0] = 0x0a;
  d.writeUInt16BE(0x1c, 2);
  d.writeUInt16BE(0, 4);
  d.writeUInt16BE(0, 6);
  d.writeUInt32BE(o.bytes, 8);
  d.writeBigUInt64BE(BigInt(o.sourceLba), 12);
  d.writeBigUInt64BE(BigInt(o.destinationLba), 20);
  d.writeUInt16BE(o.sourceOffset ?? 0, 28);
  d.writeUInt16BE(o.destinationOffset ?? 0, 30);
  return d;
}

// libiscsi ExtendedCopy.Large (newest suite): a type 0x0A segment of MAXIMUM SEGMENT LENGTH bytes, once
// RECEIVE COPY RESULTS / OPERATING PARAMETERS lists 0x0A among the implemented descriptor codes.
t.test('segment descriptor 0x0A (byte count, byte offsets) copies whole blocks; inexact segments are refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'xcopy-test-'));
  const backstore = await SparseFileBackstore.open({ path: join(dir, 'lun0.img'), sizeBytes: 8 << 20 });
  t.teardown(async () => {
    await backstore.close();
    await rm(dir, { recursive: true, force: true });
  });
  const unit = new LogicalUnit({ lun: 0, backstore });
  const target = createScsiTarget({ targetIqn: TARGET_IQN, units: [unit] });
  const who = nexus();
  target.nexusAdded(who);
  unit.unitAttentions.clear(who.id);
  const run = (cdb: Buffer, dataOut: Buffer[] = []) => target.execute({
    cdb, lun: 0, nexus: who, taskAttribute: 1, expectedLength: dataOut.reduce((n, b) => n + b.length, 0) || 1024, readFlag: dataOut.length === 0,
    writeFlag: dataOut.length > 0, dataOut, dataOutLength: dataOut.reduce((n, b) => n + b.length, 0), signal: new AbortController().signal,
  });

  const parameters = Buffer.alloc(16);
  parameters[0] = 0x84;
  parameters[1] = 0x03;
  parameters.writeUInt32BE(1024, 10);
  const operating = (await run(parameters)).dataIn![0];
  const codes = [...operating.subarray(44, 44 + operating[43])];
  t.same(codes, [0x02, 0x0a, 0xe4], 'implemented descriptor type codes');
  const maxSegment = operating.readUInt32BE(16);

  const pattern = Buffer.alloc(3 << 20);
  for (let i = 0; i < pattern.length; i++) pattern[i] = (i * 13) % 251;
  await backstore.write(0, [pattern], { fua: false });
  const copy = (segment: Buffer) => {
    const { list, cdb } = extendedCopy(identificationDescriptor(unit.naa), segment, { usage: 0x18 }); // LIST ID USAGE 11b: no results kept
    return run(cdb, [list]);
  };
  const bytes = Math.min(pattern.length, maxSegment);
  const destinationLba = 8192;
  t.equal((await copy(blockToBlockWithOffsets({ bytes, sourceLba: 0, destinationLba }))).status, 0, 'GOOD');
  t.same(await backstore.read(destinationLba * 512, bytes), pattern.subarray(0, bytes), `${bytes} bytes copied`);

  for (const inexact of [{ bytes: 700 }, { bytes: 512, sourceOffset: 4 }, { bytes: 512, destinationOffset: 100 }]) {
    const response = await copy(blockToBlockWithOffsets({ sourceLba: 0, destinationLba: 7000, ...inexact }));
    t.equal(response.status, 2, `${JSON.stringify(inexact)}: CHECK CONDITION`);
    t.same([response.sense![2] & 0x0f, response.sense![12], response.sense![13]], [0x0a, 0x26, 0x0a], 'COPY ABORTED / UNEXPECTED INEXACT SEGMENT');
  }
  t.same(await backstore.read(7000 * 512, 1024), Buffer.alloc(1024), 'nothing written by a refused segment');
});
