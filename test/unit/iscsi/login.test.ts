import t, { type Test } from 'tap';
import { chapResponse } from '../../../src/iscsi/chap.ts';
import { iqnOf } from './helpers/fake-device.ts';
import { encodeKeys } from '../../../src/iscsi/text-keys.ts';
import { bhs, ISID, keysOf, startDuplexFabric, type DuplexHarness } from './helpers/initiator.ts';

const INITIATOR = 'iqn.2026-11.test:init';
const CHAP = { user: 'alice', secret: 'alicesecret12', mutualUser: 'target', mutualSecret: 'targetsecret1' };

t.test('normal login: TPGT and alias in the first response, answers only to offered keys', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  const keys = await i.loginNormal(iqnOf(0), [['HeaderDigest', 'None'], ['MaxBurstLength', '65536'], ['InitialR2T', 'No']]);
  t.equal(keys.get('TargetPortalGroupTag'), '1');
  t.equal(keys.get('TargetAlias'), 'alias0');
  t.equal(keys.get('HeaderDigest'), 'None');
  t.equal(keys.get('MaxBurstLength'), '65536');
  t.equal(keys.get('MaxRecvDataSegmentLength'), '262144');
  t.notOk(keys.has('DataDigest'), 'no key the initiator did not offer');
  const [s] = h.fabric.sessions();
  t.equal(s.initiatorName, INITIATOR);
  t.equal(s.isid, ISID.toString('hex'));
  t.equal(s.target, iqnOf(0));
  t.ok(s.tsih > 0);
  t.equal(h.device.nexuses.size, 1);
});

t.test('login failures carry the right status class and detail', async (t) => {
  const h = startDuplexFabric(t, { allowedInitiators: ['iqn.2026-11.test:someone-else'] });
  const cases: [string, [string, string][], number, number?][] = [
    ['unknown target', [['InitiatorName', INITIATOR], ['TargetName', 'iqn.2026-11.nope:x']], 0x0203],
    ['ACL', [['InitiatorName', INITIATOR], ['TargetName', iqnOf(0)]], 0x0202],
    ['no InitiatorName', [['TargetName', iqnOf(0)]], 0x0207],
    ['no TargetName', [['InitiatorName', INITIATOR]], 0x0207],
    ['bad version', [['InitiatorName', INITIATOR], ['TargetName', iqnOf(0)]], 0x0205, 1],
  ];
  for (const [name, keys, status, versionMin] of cases) {
    const i = h.connect();
    i.loginPdu(keys, { versionMin });
    const reply = await i.next();
    t.equal(reply?.bhs[0], 0x23, `${name}: login response`);
    t.equal(reply?.bhs.readUInt16BE(36), status, name);
    t.ok(await i.waitClosed(), `${name}: connection closed`);
  }
  t.equal(h.fabric.sessions().length, 0);
});

t.test('discovery session: session-only keys are Irrelevant', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  const r = await i.login([['InitiatorName', INITIATOR], ['SessionType', 'Discovery'], ['MaxBurstLength', '4096'], ['X-foo', 'bar']]);
  t.equal(r.status, 0);
  t.equal(r.keys.get('MaxBurstLength'), 'Irrelevant');
  t.equal(r.keys.get('X-foo'), 'NotUnderstood');
  t.notOk(r.keys.has('TargetPortalGroupTag'));
});

async function chapLogin(t: Test, h: DuplexHarness, secret: string, mutual: boolean) {
  const i = h.connect();
  i.loginPdu([['InitiatorName', INITIATOR], ['TargetName', iqnOf(0)], ['AuthMethod', 'CHAP,None']], { csg: 0, nsg: 1 });
  const first = await i.next();
  t.equal(keysOf(first!).get('AuthMethod'), 'CHAP');
  t.equal(first!.bhs[1] & 0x80, 0, 'no transit before authentication');
  i.loginPdu([['CHAP_A', '7,5']], { csg: 0, nsg: 1 });
  const challenge = keysOf((await i.next())!);
  t.equal(challenge.get('CHAP_A'), '7', 'SHA-256 preferred as offered');
  const id = Number(challenge.get('CHAP_I'));
  const c = Buffer.from(challenge.get('CHAP_C')!.slice(2), 'hex');
  const response: [string, string][] = [['CHAP_N', CHAP.user], ['CHAP_R', `0x${chapResponse(7, id, secret, c).toString('hex')}`]];
  const myChallenge = Buffer.alloc(32, 0x5a);
  if (mutual) response.push(['CHAP_I', '77'], ['CHAP_C', `0x${myChallenge.toString('hex')}`]);
  i.loginPdu(response, { csg: 0, nsg: 1 });
  const final = (await i.next())!;
  return { i, final, expectedMutual: chapResponse(7, 77, CHAP.mutualSecret, myChallenge).toString('hex') };
}

t.test('CHAP: right secret (with mutual CHAP) logs in, wrong secret fails 0x0201', async (t) => {
  const h = startDuplexFabric(t, { chap: CHAP });
  const good = await chapLogin(t, h, CHAP.secret, true);
  t.equal(good.final.bhs.readUInt16BE(36), 0);
  t.equal(good.final.bhs[1] & 0x80, 0x80, 'transit to operational');
  const keys = keysOf(good.final);
  t.equal(keys.get('CHAP_N'), CHAP.mutualUser);
  t.equal(keys.get('CHAP_R'), `0x${good.expectedMutual}`);
  good.i.loginPdu([['MaxRecvDataSegmentLength', '65536']], { csg: 1, nsg: 3 });
  const op = (await good.i.next())!;
  t.equal(op.bhs.readUInt16BE(36), 0);
  t.ok(op.bhs.readUInt16BE(14) > 0, 'TSIH assigned');

  const bad = await chapLogin(t, h, 'wrong-secret', false);
  t.equal(bad.final.bhs.readUInt16BE(36), 0x0201);

  const skip = h.connect();
  const r = await skip.login([['InitiatorName', INITIATOR], ['TargetName', iqnOf(0)]]);
  t.equal(r.status, 0x0201, 'skipping the security stage is refused');
});

t.test('session reinstatement: same initiator + ISID replaces the old session', async (t) => {
  const h = startDuplexFabric(t);
  const a = h.connect();
  await a.loginNormal();
  const b = h.connect();
  await b.loginNormal();
  t.ok(await a.waitClosed(), 'old connection closed');
  const other = h.connect();
  await other.loginNormal(iqnOf(0), [], { isid: Buffer.from([0x80, 0, 0, 0, 0, 9]) });
  t.equal(h.fabric.sessions().length, 2, 'a different ISID is a second session');
});

t.test('login text continued over two PDUs (C bit) and a non-login PDU before login', async (t) => {
  const h = startDuplexFabric(t);
  const i = h.connect();
  const text = encodeKeys([['InitiatorName', INITIATOR], ['TargetName', iqnOf(0)], ['SessionType', 'Normal']]);
  const bytes8 = Buffer.alloc(8);
  ISID.copy(bytes8);
  const first = text.subarray(0, 20);
  i.send(bhs({ opcode: 0x03, immediate: true, flags: 0x40 | (1 << 2) | 3, bytes8, itt: 1, f24: 1 }, first.length), first);
  const ack = await i.next();
  t.equal(ack?.bhs[0], 0x23);
  t.equal(ack?.data.length, 0, 'empty response asks for the rest');
  const rest = text.subarray(20);
  i.send(bhs({ opcode: 0x03, immediate: true, flags: 0x80 | (1 << 2) | 3, bytes8, itt: 1, f24: 1 }, rest.length), rest);
  const done = await i.next();
  t.equal(done?.bhs.readUInt16BE(36), 0);
  t.equal(keysOf(done!).get('TargetPortalGroupTag'), '1');

  const early = h.connect();
  // A SCSI command header announcing data that never comes: refused at once, not waited for.
  early.send(bhs({ opcode: 0x01, itt: 3 }, 100000));
  const refused = await early.next();
  t.equal(refused?.bhs[0], 0x23);
  t.equal(refused?.bhs.readUInt16BE(36), 0x020b, 'invalid during login');
  t.ok(await early.waitClosed());
});

t.test('discovery CHAP protects SendTargets sessions', async (t) => {
  const h = startDuplexFabric(t, { discoveryChap: { user: 'disc', secret: 'discoverysecret' } });
  const plain = h.connect();
  const r = await plain.login([['InitiatorName', INITIATOR], ['SessionType', 'Discovery']]);
  t.equal(r.status, 0x0201);
  const normal = h.connect();
  await normal.loginNormal();
  t.pass('normal sessions are unaffected by discovery CHAP');
});
