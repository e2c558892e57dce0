import t from 'tap';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { BLOCK } from './helpers/fake-device.ts';
import { read10, startDuplexFabric, TestInitiator, write10 } from './helpers/initiator.ts';
import type { Pdu } from '../../../src/iscsi/pdu.ts';

const pattern = (n: number, seed: number) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
};

t.test('write with immediate data, unsolicited Data-Out and R2T-solicited bursts', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  await i.loginNormal(undefined, [
    ['InitialR2T', 'No'], ['ImmediateData', 'Yes'], ['FirstBurstLength', '2048'], ['MaxBurstLength', '4096'],
    ['MaxOutstandingR2T', '2'], ['MaxRecvDataSegmentLength', '1024'],
  ]);
  const blocks = 32; // 16 KiB: 1 KiB immediate + 1 KiB unsolicited + 14 KiB in R2Ts of ≤ 4 KiB
  const data = pattern(blocks * BLOCK, 3);
  const itt = i.command(write10(10, blocks), { write: true, edtl: data.length, final: false, data: data.subarray(0, 1024) });
  i.dataOut(itt, 0xffffffff, 0, 1024, data.subarray(1024, 2048), true);
  const r2ts: Pdu[] = [];
  let response: Pdu | undefined;
  for (let n = 0; n < 20 && !response; n++) {
    const pdu = await i.next();
    if (!pdu) break;
    if (pdu.bhs[0] === 0x31) {
      r2ts.push(pdu);
      const ttt = pdu.bhs.readUInt32BE(20);
      const offset = pdu.bhs.readUInt32BE(40);
      const length = pdu.bhs.readUInt32BE(44);
      t.ok(length <= 4096, 'R2T within MaxBurstLength');
      for (let sent = 0, sn = 0; sent < length; sent += 1024, sn++) {
        const size = Math.min(1024, length - sent);
        i.dataOut(itt, ttt, sn, offset + sent, data.subarray(offset + sent, offset + sent + size), sent + size === length);
      }
    } else if (pdu.bhs[0] === 0x21) response = pdu;
  }
  t.same(r2ts.map((p) => p.bhs.readUInt32BE(40)), [2048, 6144, 10240, 14336], 'R2T offsets');
  t.same(r2ts.map((p) => p.bhs.readUInt32BE(36)), [0, 1, 2, 3], 'R2TSN');
  t.equal(response?.bhs[3], 0, 'GOOD');
  t.equal(response?.bhs.readUInt32BE(36), 4, 'ExpDataSN counts R2Ts');
  t.same(h.device.disk.subarray(10 * BLOCK, 10 * BLOCK + data.length), data);
  const command = h.device.commands.at(-1);
  t.equal(command?.dataOutLength, data.length, 'every Data-Out byte handed over');
  t.equal(command?.dataOut.length, 0, 'the payload buffer went back to the pool once the command finished');
});

t.test('a wrong DataSN fails the command but keeps the connection', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  await i.loginNormal(undefined, [['InitialR2T', 'No'], ['ImmediateData', 'No']]);
  const itt = i.command(write10(0, 2), { write: true, edtl: 1024, final: false });
  i.dataOut(itt, 0xffffffff, 0, 0, Buffer.alloc(512), false);
  i.dataOut(itt, 0xffffffff, 0, 512, Buffer.alloc(512), true);
  const reply = await i.next();
  t.equal(reply?.bhs[0], 0x21);
  t.equal(reply?.bhs[3], 2, 'CHECK CONDITION');
  t.equal(reply?.data[2 + 2], 0x0b, 'ABORTED COMMAND');
  i.command(Buffer.alloc(6), { edtl: 0 });
  const tur = await i.next();
  t.equal(tur?.bhs[3], 0, 'next command still works');
});

t.test('Data-In is split by MaxRecvDataSegmentLength with status in the last PDU', async (t) => {
  const h = startDuplexFabric(t);
  pattern(h.device.disk.length, 9).copy(h.device.disk);
  const i = h.connect();
  await i.loginNormal(undefined, [['MaxRecvDataSegmentLength', '1000'], ['MaxBurstLength', '4096']]);
  const blocks = 17;
  const itt = i.command(read10(4, blocks), { read: true, edtl: blocks * BLOCK });
  const pieces: Pdu[] = [];
  for (;;) {
    const pdu = await i.next();
    if (!pdu) break;
    t.equal(pdu.bhs[0], 0x25);
    t.equal(pdu.bhs.readUInt32BE(16), itt);
    pieces.push(pdu);
    if (pdu.bhs[1] & 0x01) break;
  }
  t.ok(pieces.every((p) => p.data.length <= 1000));
  t.same(pieces.map((p) => p.bhs.readUInt32BE(36)), pieces.map((_, n) => n), 'DataSN in order');
  let offset = 0;
  for (const p of pieces) {
    t.equal(p.bhs.readUInt32BE(40), offset);
    offset += p.data.length;
  }
  t.equal(offset, blocks * BLOCK);
  t.same(Buffer.concat(pieces.map((p) => p.data)), h.device.disk.subarray(4 * BLOCK, (4 + blocks) * BLOCK));
  const last = pieces.at(-1)!;
  t.equal(last.bhs[1] & 0x81, 0x81, 'F and S on the last Data-In');
  t.equal(last.bhs[3], 0);
  const burstEnds = pieces.filter((p) => (p.bhs[1] & 0x80) !== 0).map((p) => p.bhs.readUInt32BE(40) + p.data.length);
  t.same(burstEnds, [4096, 8192, 8704], 'F bit at each MaxBurstLength boundary');
});

t.test('residual overflow and underflow', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  await i.loginNormal();
  i.command(read10(0, 1), { read: true, edtl: 200 });
  const over = await i.next();
  t.equal(over?.data.length, 200);
  t.equal((over?.bhs[1] ?? 0) & 0x06, 0x04, 'O bit');
  t.equal(over?.bhs.readUInt32BE(44), BLOCK - 200);
  i.command(read10(0, 1), { read: true, edtl: 10000 });
  const under = await i.next();
  t.equal(under?.data.length, BLOCK);
  t.equal((under?.bhs[1] ?? 0) & 0x06, 0x02, 'U bit');
  t.equal(under?.bhs.readUInt32BE(44), 10000 - BLOCK);
  i.command(read10(0, 1), { read: true, edtl: 0 });
  const none = await i.next();
  t.equal(none?.bhs[0], 0x21, 'SCSI Response when nothing is sent');
  t.equal((none?.bhs[1] ?? 0) & 0x06, 0x04);
  t.equal(none?.bhs.readUInt32BE(44), BLOCK);
  i.command(write10(0, 1), { write: true, edtl: 2 * BLOCK, data: Buffer.alloc(2 * BLOCK) });
  const writeUnder = await i.next();
  t.equal((writeUnder?.bhs[1] ?? 0) & 0x06, 0x02, 'write EDTL above the CDB length: underflow');
  t.equal(writeUnder?.bhs.readUInt32BE(44), BLOCK);
});

t.test('sense data goes in a SCSI Response after the data', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  await i.loginNormal();
  i.command(Buffer.from([0xff, 0, 0, 0, 0, 0]), { read: true, edtl: 64 });
  const reply = await i.next();
  t.equal(reply?.bhs[0], 0x21);
  t.equal(reply?.bhs[3], 2);
  t.equal(reply?.data.readUInt16BE(0), 18, 'SenseLength prefix');
  t.equal(reply?.data[2 + 2], 0x05);
});

t.test('CmdSN: out-of-window commands are ignored, early ones wait for the gap', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  await i.loginNormal();
  const tur = Buffer.alloc(6);
  const executed = h.device.commands.length;
  i.command(tur, { edtl: 0, cmdSN: i.cmdSN - 1 });
  i.command(tur, { edtl: 0, cmdSN: i.cmdSN + 100000 });
  t.same(await i.pdusBeforePing(), [], 'no answer to stale or far-future CmdSN');
  t.equal(h.device.commands.length, executed, 'neither reached the device');
  const base = i.cmdSN;
  const late = i.command(tur, { edtl: 0, cmdSN: base + 1 });
  t.same(await i.pdusBeforePing(), [], 'held until CmdSN base arrives');
  t.equal(h.device.commands.length, executed, 'the early command waits before the device');
  const first = i.command(tur, { edtl: 0, cmdSN: base });
  const a = await i.next();
  const b = await i.next();
  t.same([a?.bhs.readUInt32BE(16), b?.bhs.readUInt32BE(16)], [first, late]);
  t.equal(b?.bhs.readUInt32BE(28), base + 2, 'ExpCmdSN advanced past both');
});

t.test('writes beyond the session write budget wait for their R2T until earlier writes finish', async (t) => {
  const h = startDuplexFabric(t, { fabric: { writeBudgetBytes: 8192 } });
  const i = h.connect();
  await i.loginNormal(undefined, [['InitialR2T', 'Yes'], ['ImmediateData', 'No']]);
  const a = i.command(write10(0, 16), { write: true, edtl: 8192 });
  const r2tA = await i.next();
  t.equal(r2tA?.bhs[0], 0x31);
  t.equal(r2tA?.bhs.readUInt32BE(16), a);
  const b = i.command(write10(16, 16), { write: true, edtl: 8192 });
  t.same(await i.pdusBeforePing(), [], 'no R2T for the second write while the first holds the budget');
  i.dataOut(a, r2tA!.bhs.readUInt32BE(20), 0, 0, Buffer.alloc(8192, 0xaa), true);
  const seen: number[] = [];
  let r2tB: Buffer | undefined;
  for (let n = 0; n < 2; n++) {
    const pdu = await i.next();
    seen.push(pdu!.bhs[0]);
    if (pdu!.bhs[0] === 0x31) r2tB = pdu!.bhs;
  }
  t.same(seen.sort(), [0x21, 0x31], 'response for the first, then R2T for the second');
  t.equal(r2tB?.readUInt32BE(16), b);
  i.dataOut(b, r2tB!.readUInt32BE(20), 0, 0, Buffer.alloc(8192, 0xbb), true);
  t.equal((await i.next())?.bhs[3], 0);
  t.equal(h.device.disk[16 * 512], 0xbb);
});

t.test('an initiator that stops reading responses stops the target reading its commands', async (t) => {
  // Over TCP on purpose: this is about socket buffers filling up. Over a duplex pair the 200 commands
  // (beyond the 128-command window) reach the target as one in-memory chunk, parsed at once. The test
  // holds the target's end of the socket (fabric.handle) to see the moment the target stops reading.
  const h = startDuplexFabric(t, { blocks: 4096, fabric: { sendBacklogBytes: 256 * 1024 } });
  const server = createServer();
  const targetEnd = new Promise<Socket>((resolve) => server.once('connection', (socket) => {
    socket.setNoDelay(true);
    h.fabric.handle(socket, { peer: `${socket.remoteAddress}:${socket.remotePort}`, localAddress: socket.localAddress }, h.portal);
    resolve(socket);
  }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const i = await TestInitiator.connect(t, (server.address() as AddressInfo).port);
  await i.loginNormal(undefined, [['MaxRecvDataSegmentLength', '262144']]);
  const socket = await targetEnd;
  i.stream.pause();
  const paused = once(socket, 'pause');
  /**
   * Deliberate time, to prove a negative: the count of commands taken must stay still for 4 × 50 ms
   * while the target's socket is paused. The kernel absorbs a few MiB before the backlog stays above
   * the limit, so the target may pause and resume (on 'drain') a few times first; a target that kept
   * reading would take the rest of a batch within one period. Bounded by 100 periods.
   */
  const settled = async (): Promise<number> => {
    let still = 0;
    let before = h.device.commands.length;
    for (let n = 0; n < 100 && still < 4; n++) {
      // eslint-disable-next-line no-restricted-syntax -- the deliberate window described above
      await new Promise((resolve) => setTimeout(resolve, 50));
      const now = h.device.commands.length;
      still = now === before && socket.isPaused() ? still + 1 : 0;
      before = now;
    }
    return before;
  };
  const batch = 100; // 100 × 1 MiB of Data-In: far more than loopback socket buffers hold
  for (let n = 0; n < batch; n++) i.command(read10(0, 2048), { read: true, edtl: 1 << 20 });
  await paused;
  const first = await settled();
  for (let n = 0; n < batch; n++) i.command(read10(0, 2048), { read: true, edtl: 1 << 20 });
  const second = await settled();
  t.equal(socket.isPaused(), true, 'the target stopped reading once its send backlog passed the limit');
  t.ok(second < 2 * batch, `target stopped reading: ${first} then ${second} of ${2 * batch} commands taken`);
  i.stream.resume();
  let finished = 0;
  while (finished < 2 * batch) {
    const pdu = await i.next();
    if (!pdu) break;
    if (pdu.bhs[1] & 0x01) finished += 1;
  }
  t.equal(finished, 2 * batch, 'every command completes once the initiator reads again');
});
