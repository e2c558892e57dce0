import t from 'tap';
import { crc32c } from '@node-rs/crc32';
import { bhs, read10, startDuplexFabric, TestInitiator } from './helpers/initiator.ts';

function tmf(i: TestInitiator, fn: number, referencedItt = 0xffffffff, lun = 0): number {
  const itt = i.itt++;
  i.send(bhs({ opcode: 0x02, immediate: true, flags: 0x80 | fn, lun, itt, f20: referencedItt, f24: i.cmdSN, f32: i.cmdSN }, 0));
  return itt;
}

t.test('ABORT TASK on a pending command: the task gets no response, the TMF completes', async (t) => {
  const h = startDuplexFabric(t);
  h.device.hold = 0x28;
  const i = h.connect();
  await i.loginNormal();
  const victim = i.command(read10(0, 1), { read: true, edtl: 512 });
  await h.device.whenHeld(1);
  t.equal(h.device.held.length, 1);
  const tmfItt = tmf(i, 1, victim);
  const reply = await i.next();
  t.equal(reply?.bhs[0], 0x22);
  t.equal(reply?.bhs.readUInt32BE(16), tmfItt);
  t.equal(reply?.bhs[2], 0, 'Function complete');
  t.ok(h.device.held[0].command.signal.aborted, 'AbortSignal fired');
  h.device.held[0].release();
  // One event-loop turn lets the device's completion run through the fabric (promise callbacks), so
  // a response it wrongly sent would be written before the ping below is even read.
  await new Promise((resolve) => setImmediate(resolve));
  t.same(await i.pdusBeforePing(), [], 'no response for the aborted task');
  tmf(i, 1, 0x12345);
  t.equal((await i.next())?.bhs[2], 1, 'unknown task: Task does not exist');
});

t.test('LUN RESET aborts tasks and reaches the device; bad LUN answers LUN does not exist', async (t) => {
  const h = startDuplexFabric(t);
  h.device.hold = 0x28;
  const i = h.connect();
  await i.loginNormal();
  i.command(read10(0, 1), { read: true, edtl: 512 });
  i.command(read10(1, 1), { read: true, edtl: 512 });
  await h.device.whenHeld(2);
  tmf(i, 5);
  t.equal((await i.next())?.bhs[2], 0);
  t.ok(h.device.held.every((x) => x.command.signal.aborted));
  t.same(h.device.resets, ['lun:0']);
  tmf(i, 5, 0xffffffff, 9);
  t.equal((await i.next())?.bhs[2], 2);
  tmf(i, 6);
  t.equal((await i.next())?.bhs[2], 0, 'target warm reset');
  tmf(i, 8);
  t.equal((await i.next())?.bhs[2], 4, 'task reassign unsupported at ERL 0');
  t.same(h.device.resets, ['lun:0', 'target-warm:-']);
});

t.test('NOP-Out ping is echoed; SNACK and unknown opcodes are rejected', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  await i.loginNormal();
  const ping = Buffer.from('ping-data');
  i.send(bhs({ opcode: 0x00, immediate: true, itt: 99, f20: 0xffffffff, f24: i.cmdSN }, ping.length), ping);
  const pong = await i.next();
  t.equal(pong?.bhs[0], 0x20);
  t.equal(pong?.bhs.readUInt32BE(16), 99);
  t.equal(pong?.bhs.readUInt32BE(20), 0xffffffff);
  t.same(pong?.data, ping);
  i.send(bhs({ opcode: 0x10, itt: 5 }, 0));
  const snack = await i.next();
  t.equal(snack?.bhs[0], 0x3f);
  t.equal(snack?.bhs[2], 0x03, 'SNACK reject');
  t.equal(snack?.data.readUInt32BE(16), 5, 'rejected header echoed');
  i.send(bhs({ opcode: 0x1c, itt: 6 }, 0));
  t.equal((await i.next())?.bhs[2], 0x05, 'command not supported');
});

t.test('keep-alive NOP-In on an idle connection; unanswered pings close it', async (t) => {
  const h = startDuplexFabric(t, { fabric: { keepAlive: { idleMs: 50, timeoutMs: 100 } } });
  const i = h.connect();
  await i.loginNormal();
  const ping = await i.next();
  t.equal(ping?.bhs[0], 0x20);
  t.equal(ping?.bhs.readUInt32BE(16), 0xffffffff);
  const ttt = ping!.bhs.readUInt32BE(20);
  i.send(bhs({ opcode: 0x00, immediate: true, itt: 0xffffffff, f20: ttt, f24: i.cmdSN }, 0));
  const second = await i.next();
  t.equal(second?.bhs[0], 0x20, 'pings again after the next idle period');
  t.ok(await i.waitClosed(), 'closed once a ping went unanswered');
});

t.test('logout closes the session', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  await i.loginNormal();
  i.send(bhs({ opcode: 0x06, immediate: true, flags: 0x80, itt: 77, f24: i.cmdSN }, 0));
  const reply = await i.next();
  t.equal(reply?.bhs[0], 0x26);
  t.equal(reply?.bhs[2], 0);
  // The nexus (its reservation, PREVENT state) is gone when the initiator reads the response, not
  // when the socket's close is noticed later (libiscsi's Sanitize.Reservations met the old RESERVE).
  t.equal(h.device.nexuses.size, 0, 'nexus ended before the Logout Response');
  t.ok(await i.waitClosed());
  t.equal(h.fabric.sessions().length, 0);
  t.equal(h.device.nexuses.size, 0);
});

t.test('digests end to end; a bad data digest drops the connection', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  const keys = await i.loginNormal(undefined, [['HeaderDigest', 'CRC32C'], ['DataDigest', 'CRC32C']]);
  t.equal(keys.get('HeaderDigest'), 'CRC32C');
  t.equal(keys.get('DataDigest'), 'CRC32C');
  i.command(read10(0, 3), { read: true, edtl: 1536 });
  const data = await i.next();
  t.equal(data?.data.length, 1536, 'read through digests');
  t.equal(i.parseError, undefined);
  const itt = i.command(Buffer.from([0x2a, 0, 0, 0, 0, 0, 0, 0, 1, 0]), { write: true, edtl: 512, final: true, data: Buffer.alloc(512, 1) });
  t.equal((await i.next())?.bhs.readUInt32BE(16), itt, 'write through digests');
  i.digests = { header: true, data: false };
  const frameWithBadDigest = Buffer.concat([
    bhs({ opcode: 0x00, immediate: true, itt: 5, f20: 0xffffffff }, 4),
  ]);
  const hd = Buffer.alloc(4);
  hd.writeUInt32LE(crc32c(frameWithBadDigest));
  i.sendRaw(Buffer.concat([frameWithBadDigest, hd, Buffer.from('abcd'), Buffer.alloc(4)]));
  const rejectPdu = await i.next();
  t.equal(rejectPdu?.bhs[0], 0x3f);
  t.equal(rejectPdu?.bhs[2], 0x02, 'data digest error');
  t.ok(await i.waitClosed());
});

t.test('bad input on one connection leaves another session working', async (t) => {
  const h = startDuplexFabric(t);
  const good = h.connect();
  await good.loginNormal();
  for (const junk of [Buffer.alloc(48, 0xff), Buffer.from('GET / HTTP/1.0\r\n\r\n'), bhs({ opcode: 0x05 }, 0xffffff)]) {
    const bad = h.connect();
    bad.sendRaw(junk);
    bad.stream.end();
    await bad.waitClosed();
  }
  good.command(read10(0, 1), { read: true, edtl: 512 });
  t.equal((await good.next())?.data.length, 512);
});

t.test('close() asks logged-in initiators to log out before dropping them', async (t) => {
  const h = startDuplexFabric(t, { fabric: { logoutWaitMs: 1000 } });
  const i = h.connect();
  await i.loginNormal();
  const closing = h.fabric.close();
  const async = await i.next();
  t.equal(async?.bhs[0], 0x32, 'Async Message');
  t.equal(async?.bhs[36], 1, 'event: logout requested');
  i.send(bhs({ opcode: 0x06, immediate: true, flags: 0x80, itt: 78, f24: i.cmdSN }, 0));
  t.equal((await i.next())?.bhs[0], 0x26, 'logout answered while closing');
  await closing;
  t.ok(await i.waitClosed());
});

t.test('a write larger than the fabric buffers is refused up front', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  await i.loginNormal();
  i.command(Buffer.from([0x2a, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0]), { write: true, edtl: 0x7fffffff, final: true });
  const reply = await i.next();
  t.equal(reply?.bhs[3], 2);
  t.equal(reply?.data[2 + 12], 0x24, 'INVALID FIELD IN CDB');
  t.equal(h.device.commands.length, 0, 'never reached the device');
});

t.test('TARGET COLD RESET answers, then closes every connection to the target', async (t) => {
  const h = startDuplexFabric(t);
  const a = h.connect();
  await a.loginNormal();
  const b = h.connect();
  await b.loginNormal(undefined, [], { isid: Buffer.from([0x80, 0, 0, 0, 0, 2]) });
  tmf(a, 7);
  const reply = await a.next();
  t.equal(reply?.bhs[0], 0x22);
  t.equal(reply?.bhs[2], 0);
  t.ok(await a.waitClosed(), 'resetting connection closed after its response');
  t.ok(await b.waitClosed(), 'other session closed too');
  t.same(h.device.resets, ['target-cold:-']);
});
