import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectGood, expectSenseOf } from '../helpers/expect-sense.ts';
import { cdbRead10, cdbWrite10 } from '../helpers/cdb.ts';

// libiscsi iSCSIResiduals.Write10Residuals, 1.19 (test_write10_residuals.c) and newest
// (test_write_residuals.c write_residuals_test): EDTL < SCSI transfer length writes exactly EDTL bytes
// with GOOD when EDTL is whole blocks, and refuses (nothing written) when it would end inside a block.
t.test('Data-Out shorter than the CDB length by whole blocks writes exactly what arrived', async (t) => {
  const h = await harness(t);
  expectGood(t, await h.run(cdbWrite10({ lba: 0, blocks: 2 }), { dataOut: [Buffer.alloc(1024, 0x61)] }));
  const response = await h.run(cdbWrite10({ lba: 0, blocks: 2 }), { dataOut: [Buffer.alloc(512, 0x62)] });
  expectGood(t, response);
  t.equal(response.transferLength, 1024, 'transfer length reported for the residual');
  t.same(h.data(await h.run(cdbRead10({ lba: 0, blocks: 2 }))), Buffer.concat([Buffer.alloc(512, 0x62), Buffer.alloc(512, 0x61)]));
});

t.test('EDTL 0 for a one-block WRITE: GOOD, nothing written', async (t) => {
  const h = await harness(t);
  expectGood(t, await h.run(cdbWrite10({ lba: 0, blocks: 1 }), { dataOut: [Buffer.alloc(512, 0x61)] }));
  const response = await h.run(cdbWrite10({ lba: 0, blocks: 1 }), { dataOut: [] });
  expectGood(t, response);
  t.equal(response.transferLength, 512);
  t.same(h.data(await h.run(cdbRead10({ lba: 0, blocks: 1 }))), Buffer.alloc(512, 0x61));
});

t.test('Data-Out ending inside a block: INVALID FIELD IN INFORMATION UNIT, nothing written, residual kept', async (t) => {
  const h = await harness(t);
  expectGood(t, await h.run(cdbWrite10({ lba: 4, blocks: 2 }), { dataOut: [Buffer.alloc(1024, 0x61)] }));
  for (const [blocks, edtl] of [[1, 200], [2, 700]] as const) {
    const response = await h.run(cdbWrite10({ lba: 4, blocks }), { dataOut: [Buffer.alloc(edtl, 0x62)] });
    expectSenseOf.invalidFieldInInformationUnit(t, response);
    t.equal(response.transferLength, blocks * 512, `${blocks} block(s), EDTL ${edtl}: transfer length kept for the residual`);
    t.same(h.data(await h.run(cdbRead10({ lba: 4, blocks: 2 }))), Buffer.alloc(1024, 0x61), 'nothing written');
  }
});

t.test('WRITE AND VERIFY follows the same rule', async (t) => {
  const h = await harness(t);
  const cdb = cdbWrite10({ lba: 0, blocks: 1 });
  cdb[0] = 0x2e;
  expectSenseOf.invalidFieldInInformationUnit(t, await h.run(cdb, { dataOut: [Buffer.alloc(200, 0x62)] }));
  expectGood(t, await h.run(cdb, { dataOut: [Buffer.alloc(1024, 0x62)] }));
  t.same(h.data(await h.run(cdbRead10({ lba: 0, blocks: 2 }))), Buffer.concat([Buffer.alloc(512, 0x62), Buffer.alloc(512)]));
});

t.test('WRITE SAME with a Data-Out longer than one block is refused', async (t) => {
  const h = await harness(t);
  const cdb = Buffer.from([0x41, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
  expectSenseOf.invalidFieldInInformationUnit(t, await h.run(cdb, { dataOut: [Buffer.alloc(1024)] }));
});

t.test('Data-Out longer than the CDB length writes only the CDB length', async (t) => {
  const h = await harness(t);
  const response = await h.run(cdbWrite10({ lba: 0, blocks: 1 }), { dataOut: [Buffer.alloc(1024, 9)] });
  expectGood(t, response);
  t.equal(response.transferLength, 512);
  t.same(h.data(await h.run(cdbRead10({ lba: 1, blocks: 1 }))), Buffer.alloc(512));
});
