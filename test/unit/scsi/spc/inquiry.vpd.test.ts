import t from 'tap';
import { harness } from '../helpers/harness.ts';
import { expectGood, expectSenseOf } from '../helpers/expect-sense.ts';
import { DEFAULT_OPCODE_TABLE } from '../../../../src/scsi/opcode-table.ts';
import { cdbInquiry } from '../helpers/cdb.ts';

t.test('VPD pages: supported list, serial, device identification, block limits', async (t) => {
  const h = await harness(t);
  const supported = h.data(await h.run(cdbInquiry({ evpd: true, page: 0x00 })));
  const pages = [...supported.subarray(4, 4 + supported.readUInt16BE(2))];
  t.same(pages, [0x00, 0x80, 0x83, 0x8f, 0xb0, 0xb1, 0xb2], 'ascending; 0x8F because the target does EXTENDED COPY');
  for (const page of pages) expectGood(t, await h.run(cdbInquiry({ evpd: true, page })));
  const serial = h.data(await h.run(cdbInquiry({ evpd: true, page: 0x80 })));
  t.equal(serial.subarray(4).toString('ascii'), 'TESTSERIAL0001');
  const id = h.data(await h.run(cdbInquiry({ evpd: true, page: 0x83 })));
  t.equal(id[4] & 0x0f, 1, 'first designator is binary');
  t.equal(id[5] & 0x0f, 3, 'NAA');
  t.equal(id.subarray(8, 16).toString('hex'), h.unit.naa);
  const limits = h.data(await h.run(cdbInquiry({ evpd: true, page: 0xb0 })));
  t.equal(limits.length, 0x3c + 4);
});

// libiscsi ReceiveCopyResults.CopyStatus (newest suite) looks for RECEIVE COPY RESULTS / COPY STATUS in
// the Supported Commands descriptor of the Third-party Copy page before it runs.
t.test('VPD 0x8F Third-party Copy: Supported Commands lists EXTENDED COPY and RECEIVE COPY RESULTS', async (t) => {
  const h = await harness(t);
  const data = h.data(await h.run(cdbInquiry({ evpd: true, page: 0x8f, allocationLength: 1024 })));
  t.equal(data[1], 0x8f);
  t.equal(data.readUInt16BE(2), data.length - 4, 'page length');
  t.equal(data.readUInt16BE(4), 0x0001, 'SUPPORTED COMMANDS descriptor');
  const descriptorLength = data.readUInt16BE(6);
  t.equal((descriptorLength + 4) % 4, 0, 'descriptor padded to 4 bytes');
  const listLength = data[8];
  const commands = new Map<number, number[]>();
  for (let p = 9; p < 9 + listLength; p += 2 + data[p + 1]) commands.set(data[p], [...data.subarray(p + 2, p + 2 + data[p + 1])]);
  t.same(commands.get(0x83), [0x00], 'EXTENDED COPY (LID1)');
  t.same(commands.get(0x84), [0x00, 0x03], 'RECEIVE COPY RESULTS: COPY STATUS, OPERATING PARAMETERS');
});

t.test('VPD 0x8F is neither listed nor answered without EXTENDED COPY', async (t) => {
  const opcodes = new Map(DEFAULT_OPCODE_TABLE);
  opcodes.delete(0x83);
  opcodes.delete(0x84);
  const h = await harness(t, { opcodes });
  const supported = h.data(await h.run(cdbInquiry({ evpd: true, page: 0x00 })));
  t.notOk([...supported.subarray(4)].includes(0x8f));
  expectSenseOf.invalidFieldInCdb(t, await h.run(cdbInquiry({ evpd: true, page: 0x8f })));
});
