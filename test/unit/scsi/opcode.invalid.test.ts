import t from 'tap';
import { harness, nexus } from './helpers/harness.ts';
import { expectSenseOf } from './helpers/expect-sense.ts';
import { cdbReportLuns } from './helpers/cdb.ts';

t.test('unknown opcodes and LUNs get ILLEGAL REQUEST', async (t) => {
  const h = await harness(t);
  expectSenseOf.invalidOpcode(t, await h.run(Buffer.from([0xc7, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
  expectSenseOf.invalidOpcode(t, await h.run(Buffer.alloc(3)));
  expectSenseOf.lunNotSupported(t, await h.run(Buffer.alloc(6), { lun: 3 }));
  const luns = h.data(await h.run(cdbReportLuns(), { lun: 3 }));
  t.equal(luns.readUInt32BE(0), 8, 'REPORT LUNS works on a missing LUN');
  expectSenseOf.invalidFieldInCdb(t, await h.run(Buffer.from([0x9e, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])));
});

t.test('a command aborted before it runs gets TASK ABORTED and does not write', async (t) => {
  const h = await harness(t);
  const controller = new AbortController();
  controller.abort();
  const cdb = Buffer.from([0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
  const response = await h.target.execute({
    cdb, lun: 0, nexus: nexus(), taskAttribute: 1, expectedLength: 512, readFlag: false, writeFlag: true,
    dataOut: [Buffer.alloc(512, 1)], dataOutLength: 512, signal: controller.signal,
  });
  t.equal(response.status, 0x40);
  t.same(await h.backstore.read(0, 512), Buffer.alloc(512));
});
