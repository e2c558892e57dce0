// CHAP as libiscsi's iSCSICHAP family checks it (test_iscsi_chap.c, test_iscsi_chap_base64.c): CHAP_A
// lists, user names that look like encoded values, a Base64 CHAP_R, and a Base64 CHAP_R with extra bytes.
import t, { type Test } from 'tap';
import { chapResponse, decodeBinary, pickAlgorithm } from '../../../src/iscsi/chap.ts';
import { iqnOf } from './helpers/fake-device.ts';
import { keysOf, startDuplexFabric, type DuplexHarness } from './helpers/initiator.ts';

const INITIATOR = 'iqn.2026-11.test:init';
const SECRET = 'chap-secret-12';

t.test('CHAP_A: the first supported whole number of the list; anything else offers nothing', async (t) => {
  t.equal(pickAlgorithm('5'), 5);
  t.equal(pickAlgorithm('5,6,7,8'), 5, 'the initiator\'s order');
  t.equal(pickAlgorithm('99,7'), 7);
  t.equal(pickAlgorithm('56'), undefined, 'a value starting with 5 is not MD5');
  t.equal(pickAlgorithm('5x'), undefined);
  t.equal(pickAlgorithm(' 5'), undefined);
  t.equal(pickAlgorithm(''), undefined);
});

t.test('CHAP binary values: 0x hex and 0b Base64 decode to the same bytes', async (t) => {
  const bytes = Buffer.from('8b7d03143f8757656473162b02def366', 'hex');
  t.same(decodeBinary('0x8B7D03143F8757656473162B02DEF366'), bytes);
  t.same(decodeBinary('0bi30DFD+HV2VkcxYrAt7zZg=='), bytes);
  t.equal(decodeBinary('0bb3ZlcnNpemUKi30DFD+HV2VkcxYrAt7zZg==')?.length, 25, 'an oversize Base64 value keeps its extra bytes');
  t.equal(decodeBinary('8b7d'), undefined, 'no prefix');
  t.equal(decodeBinary('0b!!'), undefined);
});

interface ChapAttempt {
  readonly user: string;
  readonly chapA?: string;
  /** Turns the right response into what is sent as CHAP_R. */
  readonly encode?: (response: Buffer) => string;
}

/** Security stage with CHAP; the status of the login response that ends it. */
async function chapLogin(t: Test, h: DuplexHarness, attempt: ChapAttempt): Promise<number> {
  const i = h.connect();
  i.loginPdu([['InitiatorName', INITIATOR], ['TargetName', iqnOf(0)], ['AuthMethod', 'CHAP']], { csg: 0, nsg: 1 });
  const first = (await i.next())!;
  t.equal(keysOf(first).get('AuthMethod'), 'CHAP');
  i.loginPdu([['CHAP_A', attempt.chapA ?? '5']], { csg: 0, nsg: 1 });
  const challengePdu = (await i.next())!;
  const status = challengePdu.bhs.readUInt16BE(36);
  if (status !== 0) return status;
  const challenge = keysOf(challengePdu);
  const algorithm = Number(challenge.get('CHAP_A'));
  const response = chapResponse(algorithm, Number(challenge.get('CHAP_I')), SECRET, Buffer.from(challenge.get('CHAP_C')!.slice(2), 'hex'));
  const chapR = (attempt.encode ?? ((r: Buffer) => `0x${r.toString('hex')}`))(response);
  i.loginPdu([['CHAP_N', attempt.user], ['CHAP_R', chapR]], { csg: 0, nsg: 1 });
  return (await i.next())!.bhs.readUInt16BE(36);
}

const AUTH_FAILED = 0x0201;
const INITIATOR_ERROR = 0x0200;

for (const user of ['0x6368617075736572', '0bY2hhcHVzZXI=']) {
  t.test(`CHAP user name ${user} is a plain string, compared as such`, async (t) => {
    const h = startDuplexFabric(t, { chap: { user, secret: SECRET } });
    t.equal(await chapLogin(t, h, { user }), 0, 'logs in');
    t.equal(await chapLogin(t, h, { user: user.toUpperCase() }), AUTH_FAILED, 'another spelling is another user');
  });
}

t.test('CHAP_A lists: 5,6,7,8 picks MD5; 56 and an empty list fail the login', async (t) => {
  const h = startDuplexFabric(t, { chap: { user: 'alice', secret: SECRET } });
  t.equal(await chapLogin(t, h, { user: 'alice', chapA: '5,6,7,8' }), 0);
  t.equal(await chapLogin(t, h, { user: 'alice', chapA: '56' }) & 0xff00, INITIATOR_ERROR, 'CHAP_A=56 refused');
  t.equal(await chapLogin(t, h, { user: 'alice', chapA: '' }) & 0xff00, INITIATOR_ERROR, 'CHAP_A= refused');
});

t.test('CHAP_R in Base64 is accepted; with extra Base64 bytes in front it is refused', async (t) => {
  const h = startDuplexFabric(t, { chap: { user: 'alice', secret: SECRET } });
  t.equal(await chapLogin(t, h, { user: 'alice', encode: (r) => `0b${r.toString('base64')}` }), 0);
  t.equal(await chapLogin(t, h, { user: 'alice', encode: (r) => `0bb3ZlcnNpemUK${r.toString('base64')}` }), AUTH_FAILED);
  t.equal(await chapLogin(t, h, { user: 'alice', encode: (r) => `0x00${r.toString('hex')}` }), AUTH_FAILED, 'a hex value one byte long too');
});
