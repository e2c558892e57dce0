/**
 * CIM-XML over HTTPS: the self-signed pair made in the state dir on first start (and kept), a
 * certificate from config, the project's client trusting it (CA file) or not (refused, unless
 * insecure), basic auth, and basic auth over plain HTTP refused unless allowed.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import type { NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import { CimClient } from '../../../../src/cim/client/client.ts';
import { startCimServer } from '../../../../src/cim/index.ts';
import { selfSignedCertificateFiles, subjectAltNames } from '../../../../src/cim/server/certificate.ts';
import { CLS } from '../../../../src/cim/model/paths.ts';
import { TARGET_NAMESPACE } from '../../../../src/cim/types.ts';
import type { CimConfig } from '../../../../src/config/types.ts';
import { tempDir } from '../../replication/helpers.ts';
import { fakeView } from '../support/fake-view.ts';

const HTTPS: CimConfig = { enabled: true, address: '127.0.0.1', port: 0, https: {} };

async function systemNames(client: CimClient): Promise<string[]> {
  return (await client.enumerateInstanceNames(TARGET_NAMESPACE, CLS.system)).map((p) => String(p.keys.Name));
}

t.test('https: true makes a self-signed certificate in the state dir on first start and keeps it', async (t) => {
  const stateDir = await tempDir(t, 'iscsi-sim-https-');
  const files = selfSignedCertificateFiles(stateDir);
  const first = await startCimServer(fakeView({ name: 'sysa', stateDir }), HTTPS, { persist: false });
  t.match(first.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  t.equal(first.certificateFile, files.cert);
  const cert = new X509Certificate(readFileSync(files.cert));
  t.match(cert.subject, /CN=sysa/);
  t.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
  t.match(cert.subjectAltName ?? '', /DNS:localhost/);
  t.equal(statSync(files.key).mode & 0o777, 0o600, 'the key is readable by its owner only');

  t.same(await systemNames(new CimClient({ url: first.url, caFile: files.cert })), ['sysa'], 'a client trusting the certificate gets answers');
  await t.rejects(systemNames(new CimClient({ url: first.url })), /self-signed certificate.*trust the server's certificate/, 'an unverified self-signed certificate is refused by default');
  t.same(await systemNames(new CimClient({ url: first.url, insecure: true })), ['sysa'], 'insecure accepts it');
  await first.close();

  const second = await startCimServer(fakeView({ name: 'sysa', stateDir }), HTTPS, { persist: false });
  t.teardown(() => second.close());
  t.equal(new X509Certificate(readFileSync(files.cert)).fingerprint256, cert.fingerprint256, 'a restart keeps the same certificate');
  t.same(await systemNames(new CimClient({ url: second.url, caFile: files.cert })), ['sysa']);
});

t.test('https: {cert, key} serves the configured certificate', async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-https-');
  const cert = join(dir, 'mine.pem');
  const key = join(dir, 'mine.key');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-keyout', key, '-out', cert, '-subj', '/CN=configured', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const server = await startCimServer(fakeView({ name: 'sysb', stateDir: join(dir, 'state') }), { ...HTTPS, https: { cert, key } }, { persist: false });
  t.teardown(() => server.close());
  t.equal(server.certificateFile, cert);
  t.same(await systemNames(new CimClient({ url: server.url, caFile: cert })), ['sysb']);
});

t.test('a configured certificate file that does not exist stops the start naming it', async (t) => {
  const dir = await tempDir(t, 'iscsi-sim-https-');
  await t.rejects(startCimServer(fakeView({ name: 'sysc', stateDir: dir }), { ...HTTPS, https: { cert: join(dir, 'nope.pem'), key: join(dir, 'nope.key') } }, { persist: false }),
    /cim\.https\.cert: .*nope\.pem does not exist/);
});

t.test('basic auth over HTTPS; over plain HTTP only when allowed explicitly', async (t) => {
  const stateDir = await tempDir(t, 'iscsi-sim-https-');
  const server = await startCimServer(fakeView({ name: 'sysd', stateDir }), { ...HTTPS, user: 'admin', password: 'secret-pw' }, { persist: false });
  t.teardown(() => server.close());
  const caFile = server.certificateFile;
  t.same(await systemNames(new CimClient({ url: server.url, caFile, user: 'admin', password: 'secret-pw' })), ['sysd']);
  await t.rejects(systemNames(new CimClient({ url: server.url, caFile, user: 'admin', password: 'wrong' })), /answered HTTP 401/);

  await t.rejects(startCimServer(fakeView({ name: 'syse', stateDir }), { enabled: true, address: '127.0.0.1', port: 0, user: 'admin', password: 'secret-pw' }, { persist: false }),
    /basic auth over plain HTTP .* clear text/, 'plain HTTP with basic auth is refused');
  const plain = await startCimServer(fakeView({ name: 'syse', stateDir }), { enabled: true, address: '127.0.0.1', port: 0, user: 'admin', password: 'secret-pw', allowBasicAuthOverHttp: true }, { persist: false });
  t.teardown(() => plain.close());
  t.match(plain.url, /^http:\/\//);
  t.same(await systemNames(new CimClient({ url: plain.url, user: 'admin', password: 'secret-pw' })), ['syse'], 'allowed explicitly');
});

t.test('the self-signed certificate names loopback, the host and a specific bind address', async (t) => {
  t.match(subjectAltNames('127.0.0.1'), ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']);
  t.notOk(subjectAltNames('0.0.0.0').includes('IP:0.0.0.0'), 'not the wildcard address');
  t.ok(subjectAltNames('10.1.2.3').includes('IP:10.1.2.3'));
  t.ok(subjectAltNames('storage.example.org').includes('DNS:storage.example.org'));
  t.equal(new Set(subjectAltNames('::1')).size, subjectAltNames('::1').length, 'no duplicates');
});

t.test('a wildcard bind names every interface address, so a peer on another host can verify it', async (t) => {
  const info = (address: string, family: 'IPv4' | 'IPv6', internal = false) => ({ address, family, internal, netmask: '', mac: '', cidr: null, ...(family === 'IPv6' ? { scopeid: 0 } : {}) }) as NetworkInterfaceInfo;
  const interfaces = {
    lo: [info('127.0.0.1', 'IPv4', true), info('::1', 'IPv6', true)],
    eth0: [info('198.51.100.7', 'IPv4'), info('2001:db8::7', 'IPv6'), info('fe80::1', 'IPv6')],
  };
  for (const wildcard of ['0.0.0.0', '::']) {
    const names = subjectAltNames(wildcard, interfaces);
    t.ok(names.includes('IP:198.51.100.7') && names.includes('IP:2001:db8::7'), `${wildcard}: the interface addresses`);
    t.notOk(names.includes('IP:fe80::1'), `${wildcard}: not a link-local address`);
    t.notOk(names.includes(`IP:${wildcard}`), `${wildcard}: not the wildcard itself`);
  }
  t.notOk(subjectAltNames('198.51.100.9', interfaces).includes('IP:198.51.100.7'), 'a specific bind names only its own address');
});
