/**
 * What libiscsi's newest conformance suite (1.20.3+, issue 14) checks beyond Debian's 1.19, tested
 * over the wire against a real `iscsi-sim serve` with the raw initiator (test/support/iscsi-wire),
 * because CI has only 1.19. One subtest per behaviour, each naming the libiscsi test it stands for.
 */
import t from 'tap';
import { decodeKeys, Op } from '../support/iscsi-wire/pdu.ts';
import type { TestSession } from '../support/iscsi-wire/session.ts';
import { rawSession } from './support/raw-session.ts';
import { startSystem, type RunningSystem } from './support/system-process.ts';
import { write10 } from '../support/cdbs.ts';

let system: RunningSystem;
let session: TestSession;

t.before(async () => {
  system = await startSystem({ luns: ['64M'] });
  session = await rawSession(system);
});
t.teardown(async () => {
  await session.logout().catch(() => undefined);
  await system.stop();
});

async function fill(lba: number, blocks: number, byte: number): Promise<void> {
  const r = await session.write10(lba, Buffer.alloc(blocks * 512, byte));
  if (r.status !== 0) throw new Error(`fill: status ${r.status}`);
}

async function read(lba: number, blocks: number): Promise<Buffer> {
  return (await session.read10(lba, blocks)).data;
}

t.test('iSCSISendTargets.Invalid: bad key, value or case gets a Reject, then SendTargets=All still answers', async (t) => {
  for (const text of ['SendTargetsPlease=All', 'SendTargets=Alle', 'SendTargets=A', 'sENDtARGETS=aLL']) {
    const answer = await session.text(text);
    t.equal(answer.opcode, Op.Reject, `${text}: Reject PDU`);
    t.equal(answer.header[2], 0x04, `${text}: reason Protocol Error`);
  }
  const answer = await session.text('SendTargets=All');
  t.equal(answer.opcode, Op.TextResponse);
  t.equal(decodeKeys(answer.data).get('TargetName'), system.summary.targets[0].iqn);
});

t.test('ReportTargetPortGroups.Simple: byte 0 of each group reads active/optimized (00h)', async (t) => {
  const cdb = Buffer.alloc(12);
  cdb[0] = 0xa3;
  cdb[1] = 0x0a;
  cdb.writeUInt32BE(512, 6);
  const r = await session.command(cdb, { inLength: 512 });
  t.equal(r.status, 0);
  const length = r.data.readUInt32BE(0);
  const groups: number[] = [];
  for (let p = 4; p + 8 <= 4 + length; p += 8 + 4 * r.data[p + 7]) groups.push(r.data[p]);
  t.ok(groups.length > 0, `${groups.length} group(s)`);
  t.same(groups, groups.map(() => 0x00), 'PREF=0, ASYMMETRIC ACCESS STATE active/optimized');
});

t.test('iSCSIResiduals.Write10Residuals: EDTL ≠ transfer length', async (t) => {
  await fill(0, 4, 0x61);
  // EDTL 200 < one block: refused with nothing written, the residual still reported.
  let r = await session.command(write10(0, 1), { out: Buffer.alloc(200, 0x62) });
  t.equal(r.status, 0x02, 'EDTL 200, one block: CHECK CONDITION');
  t.same([r.sense[2] & 0x0f, r.sense[12], r.sense[13]], [0x05, 0x0e, 0x03], 'ILLEGAL REQUEST / INVALID FIELD IN INFORMATION UNIT');
  t.same(r.residual, { overflow: true, underflow: false, count: 312 }, 'residual overflow 312');
  t.same(await read(0, 1), Buffer.alloc(512, 0x61), 'nothing written');
  // EDTL one block, CDB two: exactly one block written.
  r = await session.command(write10(0, 2), { out: Buffer.alloc(512, 0x62) });
  t.equal(r.status, 0, 'EDTL one block, two in the CDB: GOOD');
  t.same(r.residual, { overflow: true, underflow: false, count: 512 });
  t.same(await read(0, 2), Buffer.concat([Buffer.alloc(512, 0x62), Buffer.alloc(512, 0x61)]), 'first block written, second untouched');
  // EDTL two blocks, CDB one: one block written.
  r = await session.command(write10(2, 1), { out: Buffer.alloc(1024, 0x63) });
  t.equal(r.status, 0);
  t.same(r.residual, { overflow: false, underflow: true, count: 512 });
  t.same(await read(2, 2), Buffer.concat([Buffer.alloc(512, 0x63), Buffer.alloc(512, 0x61)]));
  // EDTL 0, CDB one block: GOOD (libiscsi 1.19 requires it), nothing written.
  r = await session.command(write10(3, 1), {});
  t.equal(r.status, 0, 'EDTL 0: GOOD');
  t.same(r.residual, { overflow: true, underflow: false, count: 512 });
  t.same(await read(3, 1), Buffer.alloc(512, 0x61));
});

t.test('ReceiveCopyResults.CopyStatus: VPD 0x8F lists RECEIVE COPY RESULTS / COPY STATUS', async (t) => {
  const cdb = Buffer.from([0x12, 0x01, 0x8f, 0x04, 0x00, 0x00]);
  const r = await session.command(cdb, { inLength: 1024 });
  t.equal(r.status, 0);
  t.equal(r.data[1], 0x8f);
  t.equal(r.data.readUInt16BE(4), 0x0001, 'Supported Commands descriptor');
  const list = r.data.subarray(9, 9 + r.data[8]);
  t.ok(list.includes(Buffer.from([0x84, 0x02, 0x00, 0x03])), 'RECEIVE COPY RESULTS with service actions 00h and 03h');
});
