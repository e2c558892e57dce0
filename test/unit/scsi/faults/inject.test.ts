/**
 * Fault rules in the SCSI core: CHECK CONDITION with the rule's sense and the first bad LBA, BUSY,
 * no response until the task is aborted, drop-connection handed to the fabric, a thin pool's UA
 * then DATA PROTECT; and in the storage decorator: bad blocks that heal on rewrite, dropped writes.
 */
import t, { type Test } from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultBoard } from '../../../../src/scsi/faults/fault-board.ts';
import { FaultyBackstore } from '../../../../src/scsi/faults/faulty-backstore.ts';
import { LogicalUnit } from '../../../../src/scsi/logical-unit.ts';
import { createScsiTarget } from '../../../../src/scsi/scsi-target.ts';
import { ObservedBackstore } from '../../../../src/storage/observed-backstore.ts';
import { SparseFileBackstore } from '../../../../src/storage/sparse-file-backstore.ts';
import { cdbRead10, cdbWrite10 } from '../helpers/cdb.ts';
import { nexus, TARGET_IQN } from '../helpers/harness.ts';

async function rig(t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'faults-test-'));
  const file = await SparseFileBackstore.open({ path: join(dir, 'lun0.img'), sizeBytes: 2048 * 512, blockSize: 512 });
  const board = new FaultBoard();
  const faults = board.register(TARGET_IQN, 0, () => 2048);
  const backstore = new ObservedBackstore(new FaultyBackstore(file, faults));
  const unit = new LogicalUnit({ lun: 0, backstore, serial: 'FAULTS0001', faults });
  const target = createScsiTarget({ targetIqn: TARGET_IQN, units: [unit] });
  const main = nexus();
  target.nexusAdded(main);
  unit.unitAttentions.clear(main.id);
  t.teardown(async () => {
    await backstore.close();
    await rm(dir, { recursive: true, force: true });
  });
  const run = (cdb: Buffer, dataOut: Buffer[] = [], signal = new AbortController().signal) => Promise.resolve(target.execute({
    cdb, lun: 0, nexus: main, taskAttribute: 1, expectedLength: dataOut.reduce((n, b) => n + b.length, 0) || 512 * (cdb.readUInt16BE(7) || 1),
    readFlag: dataOut.length === 0, writeFlag: dataOut.length > 0, dataOut, dataOutLength: dataOut.reduce((n, b) => n + b.length, 0), signal,
  }));
  return { board, run, file, unit, main };
}

function senseOf(response: { sense?: Buffer }): string {
  const s = response.sense ?? Buffer.alloc(18);
  return `${(s[2] ?? 0) & 0xf}/${(s[12] ?? 0).toString(16)}/${(s[13] ?? 0).toString(16)}`;
}

t.test('check-condition: the rule\'s sense with the first bad LBA in INFORMATION; good reads elsewhere', async (t) => {
  const { board, run } = await rig(t);
  const rule = board.add({ action: 'check-condition', sense: 'unrecovered-read-error', op: 'read', lba: '100-103' });
  t.equal(rule.id, 'f1');
  const bad = await run(cdbRead10({ lba: 98, blocks: 4 }));
  t.equal(bad.status, 0x02);
  t.equal(senseOf(bad), '3/11/0');
  t.equal(bad.sense?.[0], 0xf0, 'VALID + fixed current');
  t.equal(bad.sense?.readUInt32BE(3), 100, 'INFORMATION = first bad LBA');
  const good = await run(cdbRead10({ lba: 104, blocks: 4 }));
  t.equal(good.status, 0);
  good.release?.();
  t.equal(board.get('f1')?.fired, 1);
});

t.test('raw sense, BUSY, TASK SET FULL', async (t) => {
  const { board, run } = await rig(t);
  board.add({ action: 'check-condition', key: 2, asc: 4, ascq: 1, count: 1 });
  t.equal(senseOf(await run(cdbRead10({ lba: 0, blocks: 1 }))), '2/4/1', 'NOT READY / BECOMING READY');
  board.clear();
  board.add({ action: 'busy', count: 1 });
  t.equal((await run(cdbRead10({ lba: 0, blocks: 1 }))).status, 0x08);
  board.add({ action: 'task-set-full', count: 1 });
  t.equal((await run(cdbRead10({ lba: 0, blocks: 1 }))).status, 0x28);
  const after = await run(cdbRead10({ lba: 0, blocks: 1 }));
  t.equal(after.status, 0, 'both rules used up');
  after.release?.();
});

t.test('no-response: nothing until the task is aborted, then TASK ABORTED (the fabric sends nothing)', async (t) => {
  const { board, run } = await rig(t);
  board.add({ action: 'no-response', count: 1 });
  const abort = new AbortController();
  let settled = false;
  const pending = run(cdbRead10({ lba: 0, blocks: 1 }), [], abort.signal).then((r) => { settled = true; return r; });
  await new Promise((resolve) => setImmediate(resolve));
  t.notOk(settled, 'still hung');
  abort.abort();
  t.equal((await pending).status, 0x40);
  const next = await run(cdbRead10({ lba: 0, blocks: 1 }));
  t.equal(next.status, 0, 'the next command is served');
  next.release?.();
});

t.test('drop-connection is handed to the fabric', async (t) => {
  const { board, run } = await rig(t);
  board.add({ action: 'drop-connection', opcodes: ['0x2a'] });
  t.match(await run(cdbWrite10({ lba: 0, blocks: 1 }), [Buffer.alloc(512)]), { dropConnection: /fault rule f1/ });
});

t.test('delay is aborted with the task', async (t) => {
  const { board, run } = await rig(t);
  board.add({ action: 'delay', delayMs: 600_000 });
  const abort = new AbortController();
  const pending = run(cdbRead10({ lba: 0, blocks: 1 }), [], abort.signal);
  abort.abort();
  t.equal((await pending).status, 0x40);
});

t.test('bad blocks in the backstore decorator: MEDIUM ERROR until rewritten, then the new data reads back', async (t) => {
  const { board, run } = await rig(t);
  board.add({ action: 'bad-blocks', lba: '10-11' });
  const bad = await run(cdbRead10({ lba: 8, blocks: 8 }));
  t.equal(senseOf(bad), '3/11/0');
  t.equal(bad.sense?.readUInt32BE(3), 10);
  t.equal((await run(cdbWrite10({ lba: 10, blocks: 1 }), [Buffer.alloc(512, 0xaa)])).status, 0, 'rewrite LBA 10');
  const still = await run(cdbRead10({ lba: 8, blocks: 8 }));
  t.equal(still.sense?.readUInt32BE(3), 11, 'LBA 11 still bad');
  await run(cdbWrite10({ lba: 11, blocks: 1 }), [Buffer.alloc(512, 0xbb)]);
  const healed = await run(cdbRead10({ lba: 10, blocks: 2 }));
  t.equal(healed.status, 0);
  const data = Buffer.concat((healed.dataIn ?? []).map((b) => Buffer.from(b)));
  healed.release?.();
  t.equal(data[0], 0xaa);
  t.equal(data[512], 0xbb);
  t.equal(board.get('f1')?.badBlocksLeft, 0);
});

t.test('drop-writes: GOOD, the medium unchanged, change capture still sees the write', async (t) => {
  const { board, run, file } = await rig(t);
  board.add({ action: 'drop-writes', lba: '0-9' });
  t.equal((await run(cdbWrite10({ lba: 0, blocks: 1 }), [Buffer.alloc(512, 0x55)])).status, 0);
  t.same(await file.read(0, 512), Buffer.alloc(512), 'nothing written');
  t.equal((await run(cdbWrite10({ lba: 20, blocks: 1 }), [Buffer.alloc(512, 0x55)])).status, 0);
  t.equal((await file.read(20 * 512, 1))[0], 0x55, 'outside the range written');
});

t.test('thin exhaustion: soft-threshold UA to every nexus, then DATA PROTECT / SPACE ALLOCATION FAILED WRITE PROTECT', async (t) => {
  const { board, run } = await rig(t);
  board.add({ action: 'thin-exhaustion', softThresholdBlocks: 2, limitBlocks: 3 });
  t.equal((await run(cdbWrite10({ lba: 0, blocks: 2 }), [Buffer.alloc(1024)])).status, 0, 'crosses the soft threshold, still written');
  t.equal(senseOf(await run(cdbRead10({ lba: 0, blocks: 1 }))), '6/38/7', 'UA THIN PROVISIONING SOFT THRESHOLD REACHED');
  t.equal((await run(cdbWrite10({ lba: 2, blocks: 1 }), [Buffer.alloc(512)])).status, 0);
  t.equal(senseOf(await run(cdbWrite10({ lba: 3, blocks: 1 }), [Buffer.alloc(512)])), '7/27/7');
});

t.test('the board: target/lun defaults and errors naming the field', async (t) => {
  const { board } = await rig(t);
  t.throws(() => board.add({ lun: 3, action: 'busy' }), /^lun: 3 is not a LUN of iqn/);
  t.throws(() => board.add({ target: 'iqn.nope:x', action: 'busy' }), /^target: "iqn.nope:x" is not a target/);
  t.throws(() => board.add({ action: 'busy', lba: 5000 }), /^lba: LBA 5000 is past the end/);
  t.match(board.add({ action: 'busy' }), { id: 'f1', target: TARGET_IQN, lun: 0, action: 'busy', op: 'any', seen: 0, fired: 0 });
  t.match(board.remove('f1'), { id: 'f1' });
  t.equal(board.remove('f1'), undefined);
});
