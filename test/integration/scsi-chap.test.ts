/**
 * CHAP with a real initiator (issue 3): libiscsi's URL form `iscsi://user%secret@host:port/iqn/lun`
 * logs in with the configured secret and is refused with a wrong one or none; mutual CHAP through
 * libiscsi's `target_user` / `target_password` URL arguments; discovery CHAP through iscsi-ls.
 */
import t from 'tap';
import { startSystem, type RunningSystem } from './support/system-process.ts';
import { missingTools, run } from './support/tools.ts';

const IQN = 'iqn.2026-11.org.iscsi-sim:it.chap';
const CHAP = { user: 'alice', secret: 'alice-secret-1', mutualUser: 'sim-target', mutualSecret: 'target-secret-2' };
const skip = missingTools({ 'iscsi-inq': 'libiscsi-bin', 'iscsi-ls': 'libiscsi-bin' });

function chapSystem(): Promise<RunningSystem> {
  return startSystem({
    config: {
      name: 'chap',
      portals: ['127.0.0.1:0'],
      discoveryChap: { user: CHAP.user, secret: CHAP.secret },
      targets: [{ iqn: IQN, chap: CHAP, luns: [{ size: '16M' }] }],
      cim: { enabled: false },
    },
  });
}

function lunUrl(system: RunningSystem, credentials: string, args = ''): string {
  return `iscsi://${credentials}${system.portal()}/${IQN}/0${args}`;
}

t.test('libiscsi CHAP URL: the right secret logs in, a wrong one or none does not', { skip }, async (t) => {
  const system = await chapSystem();
  t.teardown(() => system.stop());

  const good = await run('iscsi-inq', [lunUrl(system, `${CHAP.user}%${CHAP.secret}@`)], 60_000);
  t.equal(good.code, 0, 'iscsi-inq with user%secret exits 0', { stderr: good.stderr });
  t.match(good.stdout, /Peripheral Device Type:DIRECT_ACCESS/, 'and reads the INQUIRY data');

  const wrong = await run('iscsi-inq', [lunUrl(system, `${CHAP.user}%not-the-secret@`)], 60_000);
  t.not(wrong.code, 0, 'a wrong secret is refused');
  t.notMatch(wrong.stdout, /Peripheral Device Type/, 'no INQUIRY data with a wrong secret');

  const otherUser = await run('iscsi-inq', [lunUrl(system, `mallory%${CHAP.secret}@`)], 60_000);
  t.not(otherUser.code, 0, 'an unknown user is refused');

  const none = await run('iscsi-inq', [lunUrl(system, '')], 60_000);
  t.not(none.code, 0, 'no credentials: refused (the target requires CHAP)');

  // RFC 7143 §11.13.5: status class 2, detail 1 = authentication failure; one log line per refusal.
  t.match(system.output(), /"reason":"CHAP response of alice does not match","status":"0x0201"/, 'the wrong secret is logged as an authentication failure (0x0201)');
  t.ok(system.alive(), 'target still running');
});

// libiscsi's newest iSCSICHAP.HexName / Base64Name log in with such names; CI's 1.19 logs in the same way.
t.test('CHAP user names that look like 0x / 0b encoded values are plain strings', { skip }, async (t) => {
  for (const user of ['0x6368617075736572', '0bY2hhcHVzZXI=']) {
    const system = await startSystem({
      config: { name: 'chapname', portals: ['127.0.0.1:0'], targets: [{ iqn: IQN, chap: { user, secret: CHAP.secret }, luns: [{ size: '16M' }] }], cim: { enabled: false } },
    });
    try {
      const good = await run('iscsi-inq', [lunUrl(system, `${user}%${CHAP.secret}@`)], 60_000);
      t.equal(good.code, 0, `${user}: logs in`, { stderr: good.stderr });
      const decoded = await run('iscsi-inq', [lunUrl(system, `chapuser%${CHAP.secret}@`)], 60_000);
      t.not(decoded.code, 0, `${user}: the decoded name "chapuser" is another user`);
    } finally {
      await system.stop();
    }
  }
});

t.test('mutual CHAP: the target proves the secret libiscsi expects', { skip }, async (t) => {
  const system = await chapSystem();
  t.teardown(() => system.stop());
  const credentials = `${CHAP.user}%${CHAP.secret}@`;

  const mutual = await run('iscsi-inq', [lunUrl(system, credentials, `?target_user=${CHAP.mutualUser}&target_password=${CHAP.mutualSecret}`)], 60_000);
  t.equal(mutual.code, 0, 'mutual CHAP with the configured target secret logs in', { stderr: mutual.stderr });
  t.match(mutual.stdout, /Peripheral Device Type:DIRECT_ACCESS/);

  // The initiator checks the target's CHAP_R against the secret it was given: a different one fails.
  const wrongTarget = await run('iscsi-inq', [lunUrl(system, credentials, `?target_user=${CHAP.mutualUser}&target_password=some-other-secret`)], 60_000);
  t.not(wrongTarget.code, 0, 'the initiator rejects a target response computed with another secret');
  t.ok(system.alive(), 'target still running');
});

t.test('discovery CHAP through iscsi-ls', { skip }, async (t) => {
  const system = await chapSystem();
  t.teardown(() => system.stop());
  const good = await run('iscsi-ls', [`iscsi://${CHAP.user}%${CHAP.secret}@${system.portal()}`], 60_000);
  t.equal(good.code, 0, 'iscsi-ls with the discovery secret', { stderr: good.stderr });
  t.match(good.stdout, IQN, 'lists the target');
  const wrong = await run('iscsi-ls', [`iscsi://${CHAP.user}%wrong-secret-9@${system.portal()}`], 60_000);
  t.not(wrong.code, 0, 'a wrong discovery secret is refused');
  t.notMatch(wrong.stdout, IQN, 'and lists nothing');
});
