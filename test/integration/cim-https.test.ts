/**
 * CIM-XML over HTTPS with real clients against a real `iscsi-sim serve`: its self-signed
 * certificate (made on first start in the state dir), the sblim wbemcli (`-noverify`, `-cacert`)
 * for `ei` and `cm`, basic auth, the project's own CLI (`iscsi-sim cim` with -k or --cacert), and
 * basic auth over plain HTTP refused at start unless allowed explicitly.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { cliPath, startSystem } from './support/system-process.ts';
import { missingTools, run } from './support/tools.ts';

const NS = 'root/cimv2/storage/iscsitarget';
const IQN = 'iqn.2026-11.org.iscsi-sim:tls.disk';
const USER = 'admin';
const PASSWORD = 'tls-test-password';

function systemConfig(cim: Record<string, unknown>): Record<string, unknown> {
  return { name: 'tls1', portals: ['127.0.0.1:0'], targets: [{ iqn: IQN, luns: [{ size: '16M' }] }], cim: { address: '127.0.0.1', port: 0, ...cim } };
}

function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [cliPath, ...args], { timeout: 60_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

t.test('wbemcli and iscsi-sim cim over HTTPS with basic auth', { skip: missingTools({ wbemcli: 'sblim-wbemcli', openssl: 'openssl' }) }, async (t) => {
  const system = await startSystem({ config: systemConfig({ https: true, user: USER, password: PASSWORD }) });
  t.teardown(() => system.stop());
  const url = system.summary.cimUrl ?? '';
  const certificate = system.summary.cimCertificate ?? '';
  t.match(url, /^https:\/\/127\.0\.0\.1:\d+$/, 'the ready line names an https URL');
  t.match(certificate, /\/cim-tls\/cert\.pem$/, 'and the self-signed certificate made in the state dir');
  const hostPort = url.replace(/^https:\/\//, '');
  const base = `https://${USER}:${PASSWORD}@${hostPort}/${NS}`;

  await t.test('wbemcli -noverify ei', async (t) => {
    const r = await run('wbemcli', ['-noverify', 'ei', `${base}:MSISCSITARGET_iSCSIProtocolEndpoint`]);
    t.equal(r.code, 0, 'exits 0', { stderr: r.stderr });
    t.match(r.stdout, `Name="${IQN},t,0x1"`, 'lists the portal group endpoint');
    t.match(r.stdout, /TargetName="?iqn\.2026-11\.org\.iscsi-sim:tls\.disk/);
  });

  await t.test('wbemcli -noverify cm', async (t) => {
    const services = await run('wbemcli', ['-noverify', 'ein', `${base}:MSISCSITARGET_ReplicationService`]);
    t.equal(services.code, 0, 'ein of the ReplicationService', { stderr: services.stderr });
    const service = services.stdout.trim().split('\n')[0].replace(/^[^/]+\//, `${USER}:${PASSWORD}@${hostPort}/`);
    const r = await run('wbemcli', ['-noverify', 'cm', `https://${service}`, 'CreateRemoteReplicationCollection.ElementName="over-https"']);
    t.equal(r.code, 0, 'exits 0', { stderr: r.stderr });
    t.match(r.stdout, /CreateRemoteReplicationCollection: 0/, 'the method ran (0 = completed)');
    t.match(r.stdout, /RemoteReplicationCollection\.InstanceID=/, 'and returned the new collection');
  });

  await t.test('wbemcli verifies the certificate unless told otherwise; -cacert trusts it', async (t) => {
    const refused = await run('wbemcli', ['ein', `${base}:CIM_ComputerSystem`]);
    t.not(refused.code, 0, 'an unknown self-signed certificate is refused');
    t.match(`${refused.stdout}${refused.stderr}`, /certificate/i);
    const trusted = await run('wbemcli', ['-cacert', certificate, 'ein', `${base}:CIM_ComputerSystem`]);
    t.equal(trusted.code, 0, 'exits 0 with -cacert', { stderr: trusted.stderr });
    t.match(trusted.stdout, /Name="tls1"/);
  });

  await t.test('a wrong password gets no answer', async (t) => {
    const r = await run('wbemcli', ['-noverify', 'ein', `https://${USER}:wrong@${hostPort}/${NS}:CIM_ComputerSystem`]);
    t.not(r.code, 0);
    t.match(`${r.stdout}${r.stderr}`, /username\/password/i);
  });

  await t.test('iscsi-sim cim: -k or --cacert; without either a clear refusal', async (t) => {
    const auth = ['--user', USER, '--password', PASSWORD];
    const insecure = await cli(['cim', '-u', url, '-k', ...auth, 'ei', 'CIM_ComputerSystem']);
    t.equal(insecure.code, 0, '-k', { stderr: insecure.stderr });
    t.match(insecure.stdout, /Name=tls1/);
    const trusted = await cli(['cim', '-u', url, '--cacert', certificate, ...auth, 'ei', 'CIM_RemoteReplicationCollection']);
    t.equal(trusted.code, 0, '--cacert', { stderr: trusted.stderr });
    t.match(trusted.stdout, /ElementName=over-https/, 'sees the collection wbemcli created');
    const refused = await cli(['cim', '-u', url, ...auth, 'ei', 'CIM_ComputerSystem']);
    t.equal(refused.code, 1, 'refused without trust');
    t.match(refused.stderr, /self-signed certificate/);
    t.match(refused.stderr, /--cacert FILE .* -k/, 'and says how to trust it');
  });

  await t.test('iscsi-sim pair and verify take --cacert / -k for an https --cim', async (t) => {
    const untrusted = await cli(['pair', 'list', '--cim', url, '--system', 'tls1']);
    t.match(untrusted.stderr, /self-signed certificate/, 'pair: refused without trust');
    // Past TLS the server asks for basic auth, which pair and verify do not send: HTTP 401 shows TLS was accepted.
    const trusted = await cli(['pair', 'list', '--cim', url, '--system', 'tls1', '--cacert', certificate]);
    t.match(trusted.stderr, /answered HTTP 401/, 'pair --cacert gets through TLS');
    const verify = await cli(['verify', '--cim', url, '--system', 'tls1', '-k']);
    t.match(verify.stderr, /answered HTTP 401/, 'verify -k gets through TLS');
  });

  await t.test('iscsi-sim pair and verify send --user/--password (basic auth, as cim does)', async (t) => {
    const auth = ['--user', USER, '--password', PASSWORD];
    const list = await cli(['pair', 'list', '--cim', url, '--system', 'tls1', '-k', ...auth]);
    t.equal(list.code, 0, 'pair list with the credentials exits 0', { stderr: list.stderr });
    t.notMatch(list.stderr, /401/);
    const verify = await cli(['verify', '--cim', url, '--system', 'tls1', '--cacert', certificate, ...auth]);
    t.notMatch(verify.stderr, /401/, 'verify with the credentials is not refused', { stderr: verify.stderr });
    t.equal(verify.code, 0, 'verify exits 0', { stdout: verify.stdout, stderr: verify.stderr });
    const wrong = await cli(['pair', 'list', '--cim', url, '--system', 'tls1', '-k', '--user', USER, '--password', 'wrong']);
    t.match(wrong.stderr, /answered HTTP 401/, 'a wrong password is refused');
  });
});

t.test('basic auth over plain HTTP: refused at start unless allowBasicAuthOverHttp', { skip: missingTools({ wbemcli: 'sblim-wbemcli' }) }, async (t) => {
  const started = Date.now();
  await t.rejects(startSystem({ config: systemConfig({ user: USER, password: PASSWORD }) }),
    /cim\.user: basic auth over plain HTTP sends the password in clear text/, 'serve exits naming the field');
  t.ok(Date.now() - started < 30_000, 'within seconds');

  const allowed = await startSystem({ config: systemConfig({ user: USER, password: PASSWORD, allowBasicAuthOverHttp: true }) });
  t.teardown(() => allowed.stop());
  t.match(allowed.summary.cimUrl, /^http:\/\//);
  const r = await run('wbemcli', ['ein', `http://${USER}:${PASSWORD}@${(allowed.summary.cimUrl ?? '').replace(/^http:\/\//, '')}/${NS}:CIM_ComputerSystem`]);
  t.equal(r.code, 0, 'wbemcli over plain HTTP when allowed explicitly', { stderr: r.stderr });
  t.match(r.stdout, /Name="tls1"/);
});

t.test('serve quick form: --cim-https', { skip: missingTools({ wbemcli: 'sblim-wbemcli', openssl: 'openssl' }) }, async (t) => {
  const system = await startSystem({ luns: ['16M'], extraArgs: ['--cim', '127.0.0.1:0', '--cim-https'] });
  t.teardown(() => system.stop());
  t.match(system.summary.cimUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  const r = await run('wbemcli', ['-noverify', 'ein', `${system.summary.cimUrl}/${NS}:CIM_ComputerSystem`]);
  t.equal(r.code, 0, 'wbemcli -noverify ein', { stderr: r.stderr });
  t.match(r.stdout, /Name="it"/);
});
