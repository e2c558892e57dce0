import t, { type Test } from 'tap';
import { targetAddress } from '../../../src/iscsi/discovery.ts';
import { encodeKeys, parseKeys } from '../../../src/iscsi/text-keys.ts';
import { iqnOf } from './helpers/fake-device.ts';
import { bhs, startFabric, TestInitiator } from './helpers/initiator.ts';

t.test('TargetAddress formatting: IPv6 brackets, wildcard replaced by the local address', async (t) => {
  t.equal(targetAddress('192.0.2.1', 3260, 1, '127.0.0.1'), '192.0.2.1:3260,1');
  t.equal(targetAddress('::1', 3260, 2, '127.0.0.1'), '[::1]:3260,2');
  t.equal(targetAddress('0.0.0.0', 3260, 1, '::ffff:10.0.0.5'), '10.0.0.5:3260,1');
  t.equal(targetAddress('::', 3261, 1, 'fe80::1'), '[fe80::1]:3261,1');
});

async function discover(t: Test, port: number, value: string, maxRecv: number) {
  const i = await TestInitiator.connect(t, port);
  const login = await i.login([['InitiatorName', 'iqn.2026-11.test:init'], ['SessionType', 'Discovery'], ['MaxRecvDataSegmentLength', String(maxRecv)]]);
  t.equal(login.status, 0);
  const text = encodeKeys([['SendTargets', value]]);
  let ttt = 0xffffffff;
  const pieces: Buffer[] = [];
  for (let round = 0; round < 100; round++) {
    const body = round === 0 ? text : Buffer.alloc(0);
    i.send(bhs({ opcode: 0x04, flags: 0x80, itt: 50, f20: ttt, f24: i.cmdSN++ }, body.length), body);
    const reply = await i.next();
    if (!reply) throw new Error('closed');
    t.equal(reply.bhs[0], 0x24);
    t.ok(reply.data.length <= maxRecv, 'each piece fits MaxRecvDataSegmentLength');
    pieces.push(reply.data);
    const final = (reply.bhs[1] & 0x80) !== 0;
    const more = (reply.bhs[1] & 0x40) !== 0;
    t.equal(final, !more);
    ttt = reply.bhs.readUInt32BE(20);
    if (final) {
      t.equal(ttt, 0xffffffff);
      return { pairs: parseKeys(Buffer.concat(pieces)).pairs, rounds: round + 1 };
    }
    t.not(ttt, 0xffffffff, 'continuation carries a TTT');
  }
  throw new Error('no final text response');
}

t.test('SendTargets=All over several PDUs with continuation', async (t) => {
  const h = await startFabric(t, { targets: 40 });
  const { pairs, rounds } = await discover(t, h.port, 'All', 512);
  t.ok(rounds > 1, `reply took ${rounds} PDUs`);
  const names = pairs.filter(([k]) => k === 'TargetName').map(([, v]) => v);
  t.equal(names.length, 40);
  t.equal(names[39], iqnOf(39));
  const addresses = pairs.filter(([k]) => k === 'TargetAddress').map(([, v]) => v);
  t.equal(addresses[0], `127.0.0.1:${h.port},1`);
});

t.test('SendTargets=<iqn> answers only that target; unknown names answer nothing', async (t) => {
  const h = await startFabric(t, { targets: 3 });
  const one = await discover(t, h.port, iqnOf(2), 8192);
  t.same(one.pairs.map(([k, v]) => `${k}=${v}`), [`TargetName=${iqnOf(2)}`, `TargetAddress=127.0.0.1:${h.port},1`]);
  const none = await discover(t, h.port, 'iqn.2026-11.nope:x', 8192);
  t.same(none.pairs, []);
});

t.test('SendTargets hides targets whose ACL excludes the initiator', async (t) => {
  const h = await startFabric(t, { targets: 2, allowedInitiators: ['iqn.2026-11.test:other'] });
  const all = await discover(t, h.port, 'All', 8192);
  t.same(all.pairs, []);
});

t.test('SCSI commands in a discovery session are rejected', async (t) => {
  const h = await startFabric(t);
  const i = await TestInitiator.connect(t, h.port);
  await i.login([['InitiatorName', 'iqn.2026-11.test:init'], ['SessionType', 'Discovery']]);
  i.command(Buffer.from([0, 0, 0, 0, 0, 0]), { edtl: 0 });
  const reply = await i.next();
  t.equal(reply?.bhs[0], 0x3f);
  t.equal(reply?.bhs[2], 0x04);
});

t.test('a text request continued over two PDUs (C bit) is answered once complete', async (t) => {
  const h = await startFabric(t, { targets: 2 });
  const i = await TestInitiator.connect(t, h.port);
  await i.loginNormal();
  const whole = encodeKeys([['SendTargets', iqnOf(1)]]);
  const first = whole.subarray(0, 7);
  i.send(bhs({ opcode: 0x04, flags: 0x40, itt: 60, f20: 0xffffffff, f24: i.cmdSN++ }, first.length), first);
  const ack = await i.next();
  t.equal(ack?.bhs[0], 0x24);
  t.equal(ack?.data.length, 0, 'empty acknowledgement');
  t.equal((ack?.bhs[1] ?? 0) & 0x80, 0, 'F=0');
  const ttt = ack!.bhs.readUInt32BE(20);
  t.not(ttt, 0xffffffff);
  const rest = whole.subarray(7);
  i.send(bhs({ opcode: 0x04, flags: 0x80, itt: 60, f20: ttt, f24: i.cmdSN++ }, rest.length), rest);
  const reply = await i.next();
  t.equal((reply?.bhs[1] ?? 0) & 0x80, 0x80);
  t.same(parseKeys(reply!.data).pairs[0], ['TargetName', iqnOf(1)]);
});

// libiscsi's iSCSISendTargets.Invalid (test_iscsi_sendtargets.c): each of these must fail without
// breaking the connection, and a valid request on the same connection must then succeed.
t.test('text requests without a valid SendTargets key get a Reject PDU and the session goes on', async (t) => {
  const h = await startFabric(t, { targets: 1 });
  const i = await TestInitiator.connect(t, h.port);
  await i.loginNormal();
  let itt = 70;
  const ask = async (text: string) => {
    const body = Buffer.from(`${text}\0`);
    const header = bhs({ opcode: 0x04, immediate: true, flags: 0x80, itt: itt++, f20: 0xffffffff, f24: i.cmdSN }, body.length);
    i.send(header, body);
    return { reply: await i.next(), header };
  };
  for (const text of ['SendTargetsPlease=All', 'SendTargets=Alle', 'SendTargets=A', 'sENDtARGETS=aLL', 'SendTargets', 'X-org.example.k=v']) {
    const { reply, header } = await ask(text);
    t.equal(reply?.bhs[0], 0x3f, `${text}: Reject PDU`);
    t.equal(reply?.bhs[2], 0x04, `${text}: reason Protocol Error`);
    t.same(reply?.data.subarray(0, 48), header, `${text}: the rejected header is returned`);
  }
  const { reply } = await ask('SendTargets=All');
  t.equal(reply?.bhs[0], 0x24, 'a valid SendTargets afterwards is answered');
  t.same(parseKeys(reply!.data).pairs.map(([k]) => k), ['TargetName', 'TargetAddress']);
});

t.test('keys next to a valid SendTargets are answered NotUnderstood', async (t) => {
  const h = await startFabric(t, { targets: 1 });
  const i = await TestInitiator.connect(t, h.port);
  await i.loginNormal();
  const body = encodeKeys([['X-org.example.k', 'v'], ['SendTargets', iqnOf(0)]]);
  i.send(bhs({ opcode: 0x04, immediate: true, flags: 0x80, itt: 80, f20: 0xffffffff, f24: i.cmdSN }, body.length), body);
  const reply = await i.next();
  t.equal(reply?.bhs[0], 0x24);
  t.same(parseKeys(reply!.data).pairs.map(([k, v]) => `${k}=${v}`), ['X-org.example.k=NotUnderstood', `TargetName=${iqnOf(0)}`, `TargetAddress=127.0.0.1:${h.port},1`]);
});
