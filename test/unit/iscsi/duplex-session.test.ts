/**
 * Whole sessions over a duplex pair, no socket anywhere (aedes style): the fabric's Connection takes
 * any Duplex. Login, a write solicited by R2T, Data-In split over several PDUs, task management and
 * logout, plus the session binding (TSIH, reinstatement) that moved out of connection.ts.
 */
import t from 'tap';
import { TargetOpcode } from '../../../src/iscsi/constants.ts';
import {
  bufferOffsetOf, dataSNOf, desiredLengthOf, expCmdSNOf, finalBit, ittOf, loginStatusOf, opcodeOf, responseCodeOf, statusOf, tsihOf, tttOf,
  type Pdu,
} from '../../../src/iscsi/pdu.ts';
import { ScsiStatus } from '../../../src/scsi/command.ts';
import { BLOCK } from './helpers/fake-device.ts';
import { bhs, ISID, loginAndConnect, read10, startDuplexFabric, TestInitiator, write10 } from './helpers/initiator.ts';

const pattern = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed) & 0xff;
  return b;
};

async function nextPdu(i: TestInitiator): Promise<Pdu> {
  const pdu = await i.next();
  if (!pdu) throw new Error('connection closed');
  return pdu;
}

/** TMF request (RFC 7143 §11.5), immediate. */
function tmf(i: TestInitiator, fn: number, referencedItt = 0xffffffff, lun = 0): number {
  const itt = i.itt++;
  i.send(bhs({ opcode: 0x02, immediate: true, flags: 0x80 | fn, lun, itt, f20: referencedItt, f24: i.cmdSN, f32: i.cmdSN }, 0));
  return itt;
}

t.test('login over a duplex pair opens a session with a TSIH and the transport peer', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  const login = await i.login([['InitiatorName', 'iqn.2026-11.test:init'], ['SessionType', 'Normal'], ['TargetName', 'iqn.2026-11.org.iscsi-sim:test0']]);
  t.equal(login.status, 0, 'login succeeds');
  t.equal(opcodeOf(login.pdu.bhs), TargetOpcode.LoginResponse);
  t.ok(finalBit(login.pdu.bhs), 'T bit: moved to full feature phase');
  const tsih = tsihOf(login.pdu.bhs);
  t.not(tsih, 0, 'TSIH allocated');
  t.equal(login.keys.get('MaxRecvDataSegmentLength') !== undefined, true, 'target declares its MaxRecvDataSegmentLength');
  const [session] = h.fabric.sessions();
  t.equal(session?.tsih, tsih);
  t.equal(session?.initiatorAddress, 'duplex-pair:1', 'peer comes from the transport info');
  t.equal(h.device.nexuses.size, 1, 'the SCSI device saw the new I_T nexus');
  i.command(Buffer.alloc(6), { edtl: 0 });
  const tur = await nextPdu(i);
  t.equal(opcodeOf(tur.bhs), TargetOpcode.ScsiResponse);
  t.equal(statusOf(tur.bhs), ScsiStatus.Good, 'TEST UNIT READY is GOOD');
});

t.test('a failed login answers with a status and closes the stream', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  const login = await i.login([['InitiatorName', 'iqn.2026-11.test:init'], ['SessionType', 'Normal'], ['TargetName', 'iqn.2026-11.org.iscsi-sim:nope']]);
  t.equal(login.status, 0x0203, 'Target not found');
  t.ok(await i.waitClosed(), 'target closed the connection');
  t.equal(h.fabric.sessions().length, 0);
});

t.test('write with InitialR2T=Yes and ImmediateData=No is solicited by R2Ts of MaxBurstLength', async (t) => {
  const { h, i } = await loginAndConnect(t, {
    keys: [['InitialR2T', 'Yes'], ['ImmediateData', 'No'], ['MaxBurstLength', '4096'], ['MaxOutstandingR2T', '1'], ['MaxRecvDataSegmentLength', '2048']],
  });
  const data = pattern(12 * 1024, 5);
  const itt = i.command(write10(8, data.length / BLOCK), { write: true, edtl: data.length });
  const offsets: number[] = [];
  let response: Pdu | undefined;
  while (!response) {
    const pdu = await nextPdu(i);
    if (opcodeOf(pdu.bhs) === TargetOpcode.ScsiResponse) {
      response = pdu;
      break;
    }
    t.equal(opcodeOf(pdu.bhs), TargetOpcode.ReadyToTransfer, 'R2T');
    t.equal(ittOf(pdu.bhs), itt);
    const offset = bufferOffsetOf(pdu.bhs);
    const length = desiredLengthOf(pdu.bhs);
    t.equal(dataSNOf(pdu.bhs), offsets.length, 'R2TSN counts up');
    offsets.push(offset);
    for (let sent = 0, sn = 0; sent < length; sent += 2048, sn++) {
      const size = Math.min(2048, length - sent);
      i.dataOut(itt, tttOf(pdu.bhs), sn, offset + sent, data.subarray(offset + sent, offset + sent + size), sent + size === length);
    }
  }
  t.same(offsets, [0, 4096, 8192], 'one R2T per 4 KiB burst, one at a time (MaxOutstandingR2T=1)');
  t.equal(statusOf(response.bhs), ScsiStatus.Good);
  t.equal(dataSNOf(response.bhs), 3, 'ExpDataSN = R2Ts sent');
  t.same(h.device.disk.subarray(8 * BLOCK, 8 * BLOCK + data.length), data, 'data reached the device in order');
});

t.test('a broken Data-Out sequence ends the command with ABORTED COMMAND / DATA PHASE ERROR', async (t) => {
  const { i } = await loginAndConnect(t, { keys: [['InitialR2T', 'Yes'], ['ImmediateData', 'No']] });
  const itt = i.command(write10(0, 2), { write: true, edtl: 2 * BLOCK });
  const r2t = await nextPdu(i);
  i.dataOut(itt, tttOf(r2t.bhs), 1, 0, Buffer.alloc(2 * BLOCK), true);
  const reply = await nextPdu(i);
  t.equal(statusOf(reply.bhs), ScsiStatus.CheckCondition);
  const sense = reply.data.subarray(2);
  t.same([sense[2] & 0x0f, sense[12], sense[13]], [0x0b, 0x4b, 0x00], 'ABORTED COMMAND, ASC/ASCQ 4B/00');
});

t.test('Data-In is split by MaxRecvDataSegmentLength with status in the last PDU', async (t) => {
  const { h, i } = await loginAndConnect(t, { keys: [['MaxRecvDataSegmentLength', '512']] });
  pattern(h.device.disk.length, 3).copy(h.device.disk);
  const blocks = 7;
  const itt = i.command(read10(2, blocks), { read: true, edtl: blocks * BLOCK });
  const pieces: Pdu[] = [];
  for (;;) {
    const pdu = await nextPdu(i);
    t.equal(opcodeOf(pdu.bhs), TargetOpcode.DataIn);
    t.equal(ittOf(pdu.bhs), itt);
    pieces.push(pdu);
    if (pdu.bhs[1] & 0x01) break;
  }
  t.equal(pieces.length, blocks, 'one Data-In per 512 bytes');
  t.same(pieces.map((p) => dataSNOf(p.bhs)), pieces.map((_, n) => n), 'DataSN in order');
  t.same(pieces.map((p) => bufferOffsetOf(p.bhs)), pieces.map((_, n) => n * 512), 'offsets in order');
  t.same(Buffer.concat(pieces.map((p) => p.data)), h.device.disk.subarray(2 * BLOCK, (2 + blocks) * BLOCK));
  t.equal(statusOf(pieces[pieces.length - 1].bhs), ScsiStatus.Good, 'status in the last Data-In');
});

t.test('ABORT TASK and LOGICAL UNIT RESET on pending commands', async (t) => {
  const { h, i } = await loginAndConnect(t);
  h.device.hold = 0x28;
  const victim = i.command(read10(0, 1), { read: true, edtl: BLOCK });
  await h.device.whenHeld(1);
  const abortItt = tmf(i, 1, victim);
  const aborted = await nextPdu(i);
  t.equal(opcodeOf(aborted.bhs), TargetOpcode.TaskManagementResponse);
  t.equal(ittOf(aborted.bhs), abortItt);
  t.equal(responseCodeOf(aborted.bhs), 0, 'Function complete');
  t.ok(h.device.held[0].command.aborted, 'the SCSI layer sees the abort');

  i.command(read10(1, 1), { read: true, edtl: BLOCK });
  i.command(read10(2, 1), { read: true, edtl: BLOCK });
  await h.device.whenHeld(3);
  tmf(i, 5);
  const reset = await nextPdu(i);
  t.equal(responseCodeOf(reset.bhs), 0, 'LUN RESET complete');
  t.ok(h.device.held.every((x) => x.command.aborted), 'every task on the LUN aborted');
  t.same(h.device.resets, ['lun:0']);
  for (const x of h.device.held) x.release();
  h.device.hold = undefined;
  i.command(Buffer.alloc(6), { edtl: 0 });
  const next = await nextPdu(i);
  t.equal(opcodeOf(next.bhs), TargetOpcode.ScsiResponse, 'aborted tasks send nothing; the next command answers');
  t.equal(statusOf(next.bhs), ScsiStatus.Good);
});

t.test('logout answers, closes the stream and ends the session', async (t) => {
  const { h, i } = await loginAndConnect(t);
  i.send(bhs({ opcode: 0x06, immediate: true, flags: 0x80, itt: 77, f24: i.cmdSN }, 0));
  const reply = await nextPdu(i);
  t.equal(opcodeOf(reply.bhs), TargetOpcode.LogoutResponse);
  t.equal(ittOf(reply.bhs), 77);
  t.equal(responseCodeOf(reply.bhs), 0, 'closed successfully');
  t.equal(expCmdSNOf(reply.bhs), i.cmdSN, 'immediate logout takes no CmdSN');
  t.ok(await i.waitClosed(), 'the target ended the stream');
  t.equal(h.fabric.sessions().length, 0, 'session removed');
  t.equal(h.device.nexuses.size, 0, 'the SCSI device saw the nexus go');
});

t.test('a second login with the same ISID reinstates the session on a new TSIH', async (t) => {
  const h = startDuplexFabric(t);
  const first = h.connect();
  const a = await first.login([['InitiatorName', 'iqn.2026-11.test:init'], ['SessionType', 'Normal'], ['TargetName', 'iqn.2026-11.org.iscsi-sim:test0']], { isid: ISID });
  const second = h.connect();
  const b = await second.login([['InitiatorName', 'iqn.2026-11.test:init'], ['SessionType', 'Normal'], ['TargetName', 'iqn.2026-11.org.iscsi-sim:test0']], { isid: ISID });
  t.equal(loginStatusOf(b.pdu.bhs), 0);
  t.not(tsihOf(b.pdu.bhs), tsihOf(a.pdu.bhs), 'a new TSIH');
  t.ok(await first.waitClosed(), 'the old connection is closed');
  t.same(h.fabric.sessions().map((s) => s.tsih), [tsihOf(b.pdu.bhs)], 'only the new session remains');
});
